"""Run an ONNX graph in torch: the catalog's models on a CUDA GPU (or on the CPU, for parity).

The graph is read once into a plan: initializers and every node whose inputs are all constant
are folded at load time (so quantised weights are dequantised once, and shape arithmetic on
constants disappears), BatchNormalizations with constant statistics become one multiply-add
(folded in float64, so no statistic overflows a float16), Identity nodes become aliases, and
what remains runs node by node with the ops of `senri.models.torch_ops`. Float weights are cast
to the compute dtype (float32, float16 or bfloat16) and moved to the device once.

`TorchSession` answers the calls operators make on an ONNX Runtime session (`run`,
`get_inputs`, `get_outputs`), so an operator's pre- and post-processing are the same on both
backends, and `run_tensors` keeps inputs and outputs as device tensors for callers that chain
GPU work without a round trip through NumPy.

Why an interpreter and not a converter: onnx2torch 1.5 refuses half the catalog (SAME_UPPER
auto_pad, initializers listed as graph inputs, `If`), and a plan of torch calls is small enough
to own and test op by op against ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from senri.errors import ModelError

FLOAT_DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class ValueInfo:
    """What `get_inputs()`/`get_outputs()` return: a name, a shape (str for a free dim)."""

    name: str
    shape: list[int | str]
    type: str = "tensor(float)"


@dataclass(frozen=True)
class ModelMeta:
    """What `get_modelmeta()` returns: the graph's metadata properties (OCR's alphabet)."""

    custom_metadata_map: dict[str, str]


@dataclass(frozen=True)
class _Step:
    op: str
    fn: Any
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]


def unsupported_ops(model: Any) -> list[str]:
    """The op types of `model` that the torch backend does not implement (sorted)."""
    from senri.models.torch_ops import OPS

    return sorted({n.op_type for n in model.graph.node} - set(OPS))


class TorchSession:
    """An ONNX graph as a plan of torch calls on one device, in one float dtype.

    Example:
        >>> s = TorchSession(Path("centernet.onnx"), "cuda:0", "float16")  # doctest: +SKIP
        >>> heat, wh = s.run(["keypoints", "wh"], {"tower_0/images": batch})  # doctest: +SKIP
    """

    def __init__(self, path: Path | str, device: str = "cpu", dtype: str = "float32") -> None:
        import onnx
        import torch
        from onnx import helper, numpy_helper

        from senri.models.torch_ops import OPS, channel_affine, fold_batch_norm

        if dtype not in FLOAT_DTYPES:
            raise ModelError(f"torch dtype must be one of {', '.join(FLOAT_DTYPES)}; got {dtype}")
        self.path = Path(path)
        self.device = torch.device(device)
        self.dtype: torch.dtype = getattr(torch, dtype)
        model = onnx.load(str(self.path))
        missing = unsupported_ops(model)
        if missing:
            raise ModelError(
                f"{self.path.name}: the torch backend has no {', '.join(missing)}; "
                "run this model on ONNX Runtime (device: cpu)"
            )
        self._meta = ModelMeta({p.key: p.value for p in model.metadata_props})
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        consts: dict[str, Any] = {
            t.name: torch.from_numpy(np.array(numpy_helper.to_array(t)))
            for t in model.graph.initializer
        }
        self._inputs = [
            ValueInfo(i.name, _dims(i), _type(i)) for i in model.graph.input if i.name not in consts
        ]
        shapes = onnx.shape_inference.infer_shapes(model).graph.output  # as ORT reports them
        self._outputs = [ValueInfo(o.name, _dims(o), _type(o)) for o in shapes]
        self._np_types = {
            o.name: helper.tensor_dtype_to_np_dtype(o.type.tensor_type.elem_type)
            for o in model.graph.output
            if o.type.tensor_type.elem_type
        }
        alias: dict[str, str] = {}
        steps: list[_Step] = []
        for node in model.graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            attrs["_op"], attrs["_opset"] = node.op_type, opset
            names = tuple(alias.get(n, n) for n in node.input)
            if node.op_type == "Identity":
                alias[node.output[0]] = names[0]
                continue
            step = _Step(node.op_type, OPS[node.op_type], names, tuple(node.output), attrs)
            if node.op_type == "BatchNormalization" and all(n in consts for n in names[1:5]):
                folded = (f"{node.output[0]}#mul", f"{node.output[0]}#add")
                args = [None, *(consts[n] for n in names[1:5])]
                consts.update(zip(folded, fold_batch_norm(args, attrs), strict=True))
                step = _Step(node.op_type, channel_affine, (names[0], *folded), step.outputs, attrs)
            if node.op_type != "Shape" and all(n == "" or n in consts for n in names):
                with torch.inference_mode():
                    out = step.fn([consts[n] if n else None for n in names], attrs)
                consts.update(zip(step.outputs, out, strict=False))
            else:
                steps.append(step)
        self._alias = alias
        self._steps = steps
        self._consts = {name: self._place(t) for name, t in consts.items()}

    def _place(self, t: Any) -> Any:
        """Float tensors go to the device in the compute dtype; integer ones (shapes, indices)
        stay on the CPU, where they are read as Python ints."""
        if t.is_floating_point():
            return t.to(self.device, self.dtype)
        return t

    def get_inputs(self) -> list[ValueInfo]:
        return list(self._inputs)

    def get_outputs(self) -> list[ValueInfo]:
        return list(self._outputs)

    def get_modelmeta(self) -> ModelMeta:
        return self._meta

    def run_tensors(self, feeds: Mapping[str, Any]) -> dict[str, Any]:
        """Run on tensors already on the device; returns every graph output as a tensor."""
        import torch

        env: dict[str, Any] = dict(self._consts)
        for info in self._inputs:
            if info.name not in feeds:
                raise ModelError(f"{self.path.name}: missing input {info.name!r}")
            t = feeds[info.name]
            env[info.name] = t.to(self.dtype) if t.is_floating_point() else t
        with torch.inference_mode():
            for step in self._steps:
                args = [env[n] if n else None for n in step.inputs]
                try:
                    out = step.fn(args, step.attrs)
                except (RuntimeError, IndexError, TypeError, ValueError) as exc:
                    raise ModelError(f"{self.path.name}: {step.op} failed: {exc}") from exc
                env.update(zip(step.outputs, out, strict=False))
        return {o.name: env[self._alias.get(o.name, o.name)] for o in self._outputs}

    def run(self, output_names: Sequence[str] | None, feeds: Mapping[str, np.ndarray]) -> list[Any]:
        """ONNX Runtime's `run`: NumPy in, NumPy out (float outputs as float32)."""
        import torch

        tensors = {
            name: torch.from_numpy(np.ascontiguousarray(a)).to(self.device, non_blocking=True)
            for name, a in feeds.items()
        }
        out = self.run_tensors(tensors)
        names = list(output_names) if output_names else [o.name for o in self._outputs]
        result = []
        for name in names:
            if name not in out:
                raise ModelError(f"{self.path.name}: no output {name!r}")
            array = out[name].float().cpu().numpy()
            result.append(array.astype(self._np_types.get(name, np.float32), copy=False))
        return result


def _dims(info: Any) -> list[int | str]:
    dims: list[int | str] = []
    for d in info.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else d.dim_param or "?")
    return dims


def _type(info: Any) -> str:
    from onnx import helper

    elem = info.type.tensor_type.elem_type
    if not elem:
        return "tensor(float)"
    name = helper.tensor_dtype_to_np_dtype(elem).name
    return "tensor(float)" if name == "float32" else f"tensor({name})"

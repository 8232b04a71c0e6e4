"""Convert a TensorFlow.js graph model (model.json + weight shards) to ONNX, with no TensorFlow.

A TFJS graph model is a TF GraphDef written as JSON (``modelTopology``) plus a weights
manifest naming every constant's shape, dtype and quantisation, stored back to back in
``.bin`` shards. We map each TF op to ONNX nodes, keeping every 4-D activation in NCHW
(ONNX's layout): the NHWC input is transposed once, NHWC outputs are transposed back at the
end, and constants used along the channel axis are reshaped to broadcast in NCHW. Graphs
converted from ONNX by onnx-tf (NanoDet) are NCHW with a Transpose around every convolution;
those Transposes become no-ops where the layouts line up. TFJS's fused
ops (``_FusedConv2D``, ``FusedDepthwiseConv2dNative``, ``_FusedMatMul`` with ``fused_ops`` such
as BiasAdd + Relu6) are split into their ONNX parts. TF ``SAME`` padding is ONNX
``SAME_UPPER``; ``ResizeBilinear`` without align-corners/half-pixel is ONNX "asymmetric".

`convert` keeps only the part of the graph the named outputs need, so post-processing (TopK,
gathers) can be cut off and done in numpy. The batch dimension is left dynamic.

Example:
    >>> convert(Path("centernet.json"), Path("centernet.onnx"),
    ...         outputs=["tower_0/keypoints", "tower_0/wh"])   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from senri.errors import MissingDependencyError, ModelUnavailableError

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}
_TO_NCHW = (0, 3, 1, 2)
"""Axis i of a 4-D activation held in NCHW is axis ``_TO_NCHW[i]`` of TF's NHWC tensor."""
_AS_IS = (0, 1, 2, 3)


def read_weights(model_json: Path) -> dict[str, np.ndarray]:
    """Every constant of the manifest by name, dequantised to its original dtype."""
    manifest = json.loads(model_json.read_text())["weightsManifest"]
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            dtype = _DTYPES[spec["dtype"]]
            values: np.ndarray
            if quant:
                qtype = _QUANT[quant["dtype"]]
                raw = np.frombuffer(data, qtype, count, offset)
                offset += raw.nbytes
                if qtype is np.float16:
                    values = raw.astype(dtype)
                else:  # affine uint8/uint16: value = q * scale + min
                    values = (raw * quant["scale"] + quant["min"]).astype(dtype)
            else:
                values = np.frombuffer(data, dtype, count, offset).copy()
                offset += values.nbytes
            out[spec["name"]] = values.reshape(shape)
    return out


def _attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    """A node attribute as a plain value (strings base64-decoded, lists of ints as ints)."""
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "b" in value:
        return bool(value["b"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "list" in value:
        lst = value["list"]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        return [int(i) for i in lst.get("i", [])]
    return default


class _Builder:
    """Walks the TF graph in dependency order and emits ONNX nodes (NCHW inside)."""

    def __init__(self, graph: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes_by_name = {n["name"]: n for n in graph["node"]}
        self.weights = weights
        self.onnx_nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self.rank4: set[str] = set()  # TF tensors that are 4-D activations (NCHW in ONNX)
        self.counter = 0

    # -- helpers ---------------------------------------------------------------------------
    def const(self, value: np.ndarray, hint: str = "c") -> str:
        self.counter += 1
        name = f"{hint}__{self.counter}"
        self.initializers[name] = self.numpy_helper.from_array(np.asarray(value), name)
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        self.counter += 1
        out = output or f"{op}__{self.counter}"
        self.onnx_nodes.append(self.helper.make_node(op, inputs, [out], **attrs))
        return out

    def is_const(self, name: str) -> bool:
        return name.split(":")[0] in self.weights

    def value(self, name: str) -> np.ndarray:
        return self.weights[name.split(":")[0]]

    def operand(self, name: str, nchw: bool) -> str:
        """An elementwise operand; with `nchw`, constants are reshaped to broadcast in NCHW."""
        if not self.is_const(name):
            return name
        v = self.value(name).astype(np.float32)
        if nchw and v.ndim == 4:
            v = v.transpose(0, 3, 1, 2)
        elif nchw and v.ndim == 1 and v.size > 1:
            v = v.reshape(-1, 1, 1)
        return self.const(v, "k")

    def nchw(self, name: str) -> str:
        """A 4-D NHWC activation in NCHW, as convolutions, pools and resizes take it."""
        if name in self.rank4:
            return name
        return self.node("Transpose", [name], perm=list(_TO_NCHW))

    def fused(self, node: dict[str, Any], x: str, inputs: list[str], nchw: bool) -> str:
        """Apply a fused op list (BiasAdd, Relu, Relu6, ...) to a convolution's or matmul's `x`."""
        out = x
        extra = iter(inputs[2:])
        for op in _attr(node, "fused_ops", []):
            if op == "BiasAdd":
                out = self.node("Add", [out, self.operand(next(extra), nchw)])
            elif op == "Relu":
                out = self.node("Relu", [out])
            elif op == "Relu6":
                out = self.node(
                    "Clip",
                    [out, self.const(np.array(0, np.float32)), self.const(np.array(6, np.float32))],
                )
            elif op == "Elu":
                out = self.node("Elu", [out])
            elif op == "Prelu":
                out = self.node("PRelu", [out, self.operand(next(extra), nchw)])
            elif op == "LeakyRelu":
                out = self.node("LeakyRelu", [out], alpha=_attr(node, "leakyrelu_alpha", 0.2))
            elif op == "Sigmoid":
                out = self.node("Sigmoid", [out])
            else:
                raise ModelUnavailableError(f"{node['name']}: unsupported fused op {op}")
        return out

    def conv(self, node: dict[str, Any], inputs: list[str], depthwise: bool) -> str:
        if _attr(node, "data_format", "NHWC") != "NHWC":
            raise ModelUnavailableError(f"{node['name']}: only NHWC convolutions are supported")
        w = self.value(inputs[1]).astype(np.float32)
        kh, kw = w.shape[:2]
        if depthwise:  # [kh, kw, in, mult] -> [in * mult, 1, kh, kw], one group per channel
            group = w.shape[2]
            w = w.transpose(2, 3, 0, 1).reshape(-1, 1, kh, kw)
        else:  # [kh, kw, in, out] -> [out, in, kh, kw]
            group = 1
            w = w.transpose(3, 2, 0, 1)
        strides = _attr(node, "strides", [1, 1, 1, 1])[1:3]
        dilations = _attr(node, "dilations", [1, 1, 1, 1])[1:3]
        padding = _attr(node, "padding", "VALID")
        pad = {"SAME": "SAME_UPPER", "VALID": "VALID"}.get(padding)
        if pad is None:
            raise ModelUnavailableError(f"{node['name']}: unsupported padding {padding}")
        y = self.node(
            "Conv",
            [self.nchw(inputs[0]), self.const(w, "w")],
            kernel_shape=[kh, kw],
            strides=strides,
            dilations=dilations,
            group=group,
            auto_pad=pad,
        )
        return self.fused(node, y, inputs, nchw=True)

    # -- the walk --------------------------------------------------------------------------
    def emit(self, name: str) -> str:
        """The ONNX tensor holding TF node `name`'s output (emitting it if needed)."""
        node = self.nodes_by_name[name]
        op = node["op"]
        inputs = [i for i in node.get("input", []) if not i.startswith("^")]
        handler = _OPS.get(op)
        if handler is None:
            raise ModelUnavailableError(f"TFJS op {op} ({name}) is not supported by the converter")
        out = handler(self, node, inputs)
        if out != name:
            self.node("Identity", [out], name)
        return name


def _activation(onnx_op: str) -> Callable[[_Builder, dict[str, Any], list[str]], str]:
    def run(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
        b.rank4 |= {node["name"]} if inputs[0] in b.rank4 else set()
        return b.node(onnx_op, [inputs[0]])

    return run


def _binary(onnx_op: str) -> Callable[[_Builder, dict[str, Any], list[str]], str]:
    def run(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
        nchw = any(i in b.rank4 for i in inputs)
        if nchw:
            b.rank4.add(node["name"])
        return b.node(onnx_op, [b.operand(i, nchw) for i in inputs[:2]])

    return run


def _conv(depthwise: bool) -> Callable[[_Builder, dict[str, Any], list[str]], str]:
    def run(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
        b.rank4.add(node["name"])
        return b.conv(node, inputs, depthwise)

    return run


def _relu6(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    b.rank4 |= {node["name"]} if inputs[0] in b.rank4 else set()
    return b.node(
        "Clip", [inputs[0], b.const(np.array(0, np.float32)), b.const(np.array(6, np.float32))]
    )


def _mean(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    axes = [int(a) for a in np.atleast_1d(b.value(inputs[1]))]
    if inputs[0] in b.rank4:
        axes = [(0, 2, 3, 1)[a % 4] for a in axes]
    keep = _attr(node, "keep_dims", False)
    if keep and inputs[0] in b.rank4:
        b.rank4.add(node["name"])
    return b.node("ReduceMean", [inputs[0]], axes=sorted(axes), keepdims=int(keep))


def _sum(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    axes = [int(a) for a in np.atleast_1d(b.value(inputs[1]))]
    if inputs[0] in b.rank4:
        axes = [(0, 2, 3, 1)[a % 4] for a in axes]
    keep = _attr(node, "keep_dims", False)
    if keep and inputs[0] in b.rank4:
        b.rank4.add(node["name"])
    axes_in = b.const(np.array(sorted(axes), np.int64), "axes")
    return b.node("ReduceSum", [inputs[0], axes_in], keepdims=int(keep))


def _squeeze(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    dims = _attr(node, "squeeze_dims", [])
    if not dims:
        raise ModelUnavailableError(f"{node['name']}: Squeeze without squeeze_dims")
    if inputs[0] in b.rank4:
        dims = [(0, 2, 3, 1)[d % 4] for d in dims]
        if sorted(dims) != [2, 3]:  # only H, W may go, or the NCHW/NHWC orders would differ
            raise ModelUnavailableError(f"{node['name']}: Squeeze of a non-spatial axis")
    return b.node("Squeeze", [inputs[0], b.const(np.array(sorted(dims), np.int64), "axes")])


def _square(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    if inputs[0] in b.rank4:
        b.rank4.add(node["name"])
    return b.node("Mul", [inputs[0], inputs[0]])


def _rsqrt(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    if inputs[0] in b.rank4:
        b.rank4.add(node["name"])
    return b.node("Reciprocal", [b.node("Sqrt", [inputs[0]])])


def _concat(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    axis = int(b.value(inputs[-1]))
    parts = inputs[:-1]
    nchw = any(p in b.rank4 for p in parts)
    if nchw:
        b.rank4.add(node["name"])
        axis = (0, 2, 3, 1)[axis % 4]
    return b.node("Concat", [b.operand(p, nchw) for p in parts], axis=axis)


def _resize(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    if _attr(node, "align_corners", False):
        mode = "align_corners"
    elif _attr(node, "half_pixel_centers", False):
        mode = "half_pixel"
    else:
        mode = "asymmetric"
    x = b.nchw(inputs[0])
    b.rank4.add(node["name"])
    shape = b.node("Shape", [x])
    nc = b.node("Slice", [shape, b.const(np.array([0])), b.const(np.array([2]))])
    hw = b.const(b.value(inputs[1]).astype(np.int64), "hw")
    sizes = b.node("Concat", [nc, hw], axis=0)
    onnx_mode = "nearest" if node["op"] == "ResizeNearestNeighbor" else "linear"
    return b.node(
        "Resize",
        [x, "", "", sizes],
        mode=onnx_mode,
        coordinate_transformation_mode=mode,
        nearest_mode="floor",
    )


def _pool(onnx_op: str) -> Callable[[_Builder, dict[str, Any], list[str]], str]:
    def run(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
        x = b.nchw(inputs[0])
        b.rank4.add(node["name"])
        pad = {"SAME": "SAME_UPPER", "VALID": "VALID"}[_attr(node, "padding", "VALID")]
        return b.node(
            onnx_op,
            [x],
            kernel_shape=_attr(node, "ksize")[1:3],
            strides=_attr(node, "strides")[1:3],
            auto_pad=pad,
        )

    return run


def _matmul(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    w = b.value(inputs[1]).astype(np.float32) if b.is_const(inputs[1]) else None
    right = b.const(w, "w") if w is not None else inputs[1]
    if _attr(node, "transpose_b", False):
        right = b.node("Transpose", [right], perm=[1, 0])
    y = b.node("MatMul", [inputs[0], right])
    return b.fused(node, y, inputs, nchw=False) if node["op"] == "_FusedMatMul" else y


def _identity(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    if inputs[0] in b.rank4:
        b.rank4.add(node["name"])
    return inputs[0]


def _leaky_relu(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    b.rank4 |= {node["name"]} if inputs[0] in b.rank4 else set()
    return b.node("LeakyRelu", [inputs[0]], alpha=_attr(node, "alpha", 0.2))


def _pad(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    """Pad and PadV2 (constant padding; PadV2's value may be -inf, before a max-pool)."""
    pads = b.value(inputs[1]).astype(np.int64)  # [rank, 2] (before, after) per TF axis
    if inputs[0] in b.rank4:
        pads = pads[list(_TO_NCHW)]
        b.rank4.add(node["name"])
    value = b.value(inputs[2]) if len(inputs) > 2 else np.array(0)
    return b.node(
        "Pad",
        [inputs[0], b.const(pads.T.ravel(), "pads"), b.const(value.astype(np.float32), "pad")],
        mode="constant",
    )


def _transpose(b: _Builder, node: dict[str, Any], inputs: list[str]) -> str:
    """onnx-tf wraps every NHWC convolution of an NCHW graph in a pair of Transposes: the
    result is held in whichever layout makes the ONNX transpose a no-op, or else in NCHW
    (where the next convolution wants it)."""
    perm = [int(p) for p in b.value(inputs[1])]
    if len(perm) != 4:
        return b.node("Transpose", [inputs[0]], perm=perm)
    held = np.argsort(_TO_NCHW if inputs[0] in b.rank4 else _AS_IS)  # TF axis -> held axis

    def onnx_perm(layout: tuple[int, ...]) -> list[int]:
        # output axis i holds TF output axis layout[i], which is TF input axis perm[layout[i]]
        return [int(held[perm[axis]]) for axis in layout]

    if onnx_perm(_AS_IS) == list(_AS_IS):
        return inputs[0]
    b.rank4.add(node["name"])
    if onnx_perm(_TO_NCHW) == list(_AS_IS):
        return inputs[0]
    return b.node("Transpose", [inputs[0]], perm=onnx_perm(_TO_NCHW))


_OPS: dict[str, Callable[[_Builder, dict[str, Any], list[str]], str]] = {
    "Identity": _identity,
    "Relu": _activation("Relu"),
    "Sigmoid": _activation("Sigmoid"),
    "Tanh": _activation("Tanh"),
    "Abs": _activation("Abs"),
    "Softmax": _activation("Softmax"),
    "Relu6": _relu6,
    "LeakyRelu": _leaky_relu,
    "Pad": _pad,
    "PadV2": _pad,
    "Transpose": _transpose,
    "Square": _square,
    "Rsqrt": _rsqrt,
    "Sum": _sum,
    "Squeeze": _squeeze,
    "Add": _binary("Add"),
    "AddV2": _binary("Add"),
    "BiasAdd": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "RealDiv": _binary("Div"),
    "Maximum": _binary("Max"),
    "Minimum": _binary("Min"),
    "Conv2D": _conv(depthwise=False),
    "_FusedConv2D": _conv(depthwise=False),
    "DepthwiseConv2dNative": _conv(depthwise=True),
    "FusedDepthwiseConv2dNative": _conv(depthwise=True),
    "MaxPool": _pool("MaxPool"),
    "AvgPool": _pool("AveragePool"),
    "Mean": _mean,
    "ConcatV2": _concat,
    "ResizeBilinear": _resize,
    "ResizeNearestNeighbor": _resize,
    "MatMul": _matmul,
    "_FusedMatMul": _matmul,
}


def _order(nodes: dict[str, dict[str, Any]], outputs: list[str]) -> list[str]:
    """Names of the non-constant nodes `outputs` depend on, each after its inputs."""
    seen: set[str] = set()
    order: list[str] = []
    stack: list[tuple[str, bool]] = [(o, False) for o in reversed(outputs)]
    while stack:
        name, done = stack.pop()
        if done:
            order.append(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        if name not in nodes:
            raise ModelUnavailableError(f"the graph has no node {name!r}")
        stack.append((name, True))
        for i in nodes[name].get("input", []):
            stack.append((i.lstrip("^").split(":")[0], False))
    return [n for n in order if nodes[n]["op"] != "Const"]


def convert(model_json: Path, out: Path, *, outputs: list[str], opset: int = 17) -> Path:
    """Write the ONNX equivalent of the TFJS graph model's sub-graph that yields `outputs`."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise MissingDependencyError("onnx", "converting TFJS models") from None
    model = json.loads(model_json.read_text())
    if model.get("format") != "graph-model":
        raise ModelUnavailableError(f"{model_json} is not a TFJS graph model")
    graph = model["modelTopology"]
    b = _Builder(graph, read_weights(model_json))
    order = _order(b.nodes_by_name, outputs)
    graph_inputs = []
    for name in order:
        node = b.nodes_by_name[name]
        if node["op"] != "Placeholder":
            continue
        dims = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
        shape: list[Any] = ["N", *dims[1:]]
        graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        if len(dims) == 4:
            b.node("Transpose", [name], f"{name}__nchw", perm=[0, 3, 1, 2])
            b.rank4.add(name)
    for name in order:
        if b.nodes_by_name[name]["op"] == "Placeholder":
            continue
        b.emit(name)
    # Inputs were consumed under their TF names; point them at the NCHW copies instead.
    placeholders = {n for n in order if b.nodes_by_name[n]["op"] == "Placeholder"}
    for onnx_node in b.onnx_nodes:
        if onnx_node.op_type == "Transpose" and onnx_node.output[0].endswith("__nchw"):
            continue
        for k, i in enumerate(onnx_node.input):
            if i in placeholders:
                onnx_node.input[k] = f"{i}__nchw"
    graph_outputs = []
    for name in outputs:
        final = name.rsplit("/", 1)[-1]  # "tower_0/keypoints" -> "keypoints"
        if final in b.nodes_by_name:
            final += "_out"  # the short name is taken by a TF node ("embeddings")
        if name in b.rank4:
            b.node("Transpose", [name], final, perm=[0, 2, 3, 1])
        else:
            b.node("Identity", [name], final)
        shape_out: list[Any] | None = ["N", None, None, None] if name in b.rank4 else None
        graph_outputs.append(helper.make_tensor_value_info(final, TensorProto.FLOAT, shape_out))
    onnx_graph = helper.make_graph(
        b.onnx_nodes, model_json.stem, graph_inputs, graph_outputs, list(b.initializers.values())
    )
    onnx_model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="senri.models.tfjs",
    )
    onnx_model.ir_version = 8
    # Outputs whose rank the walk does not track get their type from ONNX shape inference.
    inferred = onnx.shape_inference.infer_shapes(onnx_model)
    types = {v.name: v.type for v in inferred.graph.value_info}
    for tf_name, out_info in zip(outputs, onnx_model.graph.output, strict=True):
        if not out_info.type.tensor_type.HasField("shape") and tf_name in types:
            out_info.type.CopyFrom(types[tf_name])
    onnx.checker.check_model(onnx_model, full_check=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(onnx_model.SerializeToString())
    return out


# -- models shipped as browserify bundles (nsfwjs: ``model.min.js`` + ``group1-shard*.min.js``) --


_JS_TOKEN = re.compile(
    r'\s*(?:([{}\[\],:])|("(?:[^"\\]|\\.)*")|(!0|!1|(?:true|false|null)\b)|(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([A-Za-z_$][\w$]*))'
)
_JS_WORDS = {"!0": "true", "!1": "false", "true": "true", "false": "false", "null": "null"}


def _js_literal(text: str, start: int) -> tuple[Any, int]:
    """Parse the minified JavaScript literal at `text[start]` (objects, arrays, double-quoted
    strings, numbers such as ``.5``, ``!0``/``!1``, unquoted keys). Returns (value, end)."""
    parts: list[str] = []
    depth, i = 0, start
    while True:
        m = _JS_TOKEN.match(text, i)
        if m is None:
            raise ModelUnavailableError(f"bad JS literal near offset {i}: {text[i : i + 20]!r}")
        punct, string, word, number, ident = m.groups()
        i = m.end()
        if punct:
            depth += {"{": 1, "[": 1, "}": -1, "]": -1}.get(punct, 0)
            parts.append(punct)
        elif number:
            parts.append(repr(float(number)) if any(c in number for c in ".eE") else number)
        else:
            parts.append(string or _JS_WORDS.get(word, "") or json.dumps(ident))
        if depth == 0:
            return json.loads("".join(parts)), i


def _bundle_export(path: Path) -> Any:
    """The literal a browserify bundle's single module assigns to ``module.exports``."""
    text = path.read_text()
    marker = text.find("({1:[function(")
    at = text.find(".exports=", marker)
    if marker < 0 or at < 0:
        raise ModelUnavailableError(f"{path.name} is not a browserify bundle of one literal")
    value, _ = _js_literal(text, at + len(".exports="))
    return value


def unbundle(model_js: Path, target_dir: Path) -> Path:
    """Turn a bundled TFJS model (``model.min.js`` + ``<shard>.min.js`` beside it, base64
    weights) into a plain ``model.json`` + ``.bin`` shards in `target_dir`; returns model.json."""
    model = _bundle_export(model_js)
    target_dir.mkdir(parents=True, exist_ok=True)
    for group in model.get("weightsManifest", []):
        for shard in group["paths"]:
            data = _bundle_export(model_js.parent / f"{shard}.min.js")
            (target_dir / shard).write_bytes(base64.b64decode(data))
    out = target_dir / "model.json"
    out.write_text(json.dumps(model))
    return out

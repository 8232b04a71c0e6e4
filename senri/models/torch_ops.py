"""ONNX operators written in torch, with ONNX's semantics (pads, opset defaults, rounding).

Each function takes the node's inputs (a missing optional input is None) and its attributes,
and returns its outputs as a tuple. `senri.models.torch_graph` runs a graph node by node with
them. The table covers what the catalog's vision and audio graphs use; an op outside it makes
the graph refuse to load with the op's name, so no model is ever half-converted.

Integer tensors that describe shapes stay on the CPU (they are read back as Python ints);
float tensors live on the graph's device in its compute dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (torch's own convention)

Attrs = dict[str, Any]
Op = Callable[[list[Any], Attrs], tuple[Any, ...]]
OPS: dict[str, Op] = {}

# onnx.TensorProto element types → torch dtypes (the ones Cast meets in the catalog's graphs)
DTYPES: dict[int, torch.dtype] = {
    1: torch.float32,
    2: torch.uint8,
    3: torch.int8,
    6: torch.int32,
    7: torch.int64,
    9: torch.bool,
    10: torch.float16,
    11: torch.float64,
    16: torch.bfloat16,
}


def op(*names: str) -> Callable[[Op], Op]:
    def register(fn: Op) -> Op:
        for name in names:
            OPS[name] = fn
        return fn

    return register


def ints(x: Any) -> list[int]:
    """A shape-like input as Python ints."""
    if isinstance(x, torch.Tensor):
        return [int(v) for v in x.reshape(-1).tolist()]
    return [int(v) for v in np.asarray(x).reshape(-1)]


def _same(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring two operands to one device (a shape constant may meet a device tensor)."""
    if a.device != b.device:
        if a.dim() == 0 or a.device.type == "cpu":
            a = a.to(b.device)
        else:
            b = b.to(a.device)
    return a, b


def _binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Op:
    def run(x: list[Any], _: Attrs) -> tuple[Any, ...]:
        a, b = _same(x[0], x[1])
        return (fn(a, b),)

    return run


OPS["Add"] = _binary(torch.add)
OPS["Sub"] = _binary(torch.sub)
OPS["Mul"] = _binary(torch.mul)
OPS["Pow"] = _binary(torch.pow)
OPS["Equal"] = _binary(torch.eq)
OPS["MatMul"] = _binary(torch.matmul)


@op("Div")
def _div(x: list[Any], _: Attrs) -> tuple[Any, ...]:
    a, b = _same(x[0], x[1])
    if a.is_floating_point() or b.is_floating_point():
        return (a / b,)
    return (torch.div(a, b, rounding_mode="trunc"),)


@op("Min", "Max")
def _minmax(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    fn = torch.minimum if a["_op"] == "Min" else torch.maximum
    out = x[0]
    for y in x[1:]:
        out, y = _same(out, y)
        out = fn(out, y)
    return (out,)


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Op:
    return lambda x, _: (fn(x[0]),)


OPS["Relu"] = _unary(torch.relu)
OPS["Sigmoid"] = _unary(torch.sigmoid)
OPS["Sqrt"] = _unary(torch.sqrt)
OPS["Identity"] = _unary(lambda t: t)


@op("LeakyRelu")
def _leaky(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    return (F.leaky_relu(x[0], a.get("alpha", 0.01)),)


@op("HardSigmoid")
def _hard_sigmoid(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    return ((x[0] * a.get("alpha", 0.2) + a.get("beta", 0.5)).clamp(0.0, 1.0),)


@op("Clip")
def _clip(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    lo = x[1] if len(x) > 1 and x[1] is not None else a.get("min")
    hi = x[2] if len(x) > 2 and x[2] is not None else a.get("max")
    lo = float(lo) if lo is not None else None
    hi = float(hi) if hi is not None else None
    return (x[0].clamp(lo, hi),)


@op("Softmax")
def _softmax(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t = x[0]
    if a["_opset"] >= 13:
        return (torch.softmax(t, a.get("axis", -1)),)
    # before opset 13: the input is seen as 2-D [prod(shape[:axis]), prod(shape[axis:])]
    axis = a.get("axis", 1) % t.dim()
    flat = t.reshape(math.prod(t.shape[:axis]), -1)
    return (torch.softmax(flat, -1).reshape(t.shape),)


def _reduce_axes(x: list[Any], a: Attrs) -> list[int] | None:
    if a["_opset"] >= 18:
        return ints(x[1]) if len(x) > 1 and x[1] is not None else None
    return a.get("axes")


@op("ReduceMean")
def _reduce_mean(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    axes = _reduce_axes(x, a)
    keep = bool(a.get("keepdims", 1))
    if not axes:
        if a.get("noop_with_empty_axes", 0):
            return (x[0],)
        axes = list(range(x[0].dim()))
    return (x[0].mean(dim=axes, keepdim=keep),)


@op("GlobalAveragePool")
def _global_avg(x: list[Any], _: Attrs) -> tuple[Any, ...]:
    return (x[0].mean(dim=list(range(2, x[0].dim())), keepdim=True),)


def _pads(t: torch.Tensor, w_spatial: Sequence[int], a: Attrs) -> list[int]:
    """ONNX pads [b1, b2, ..., e1, e2, ...] for the spatial dims, resolving auto_pad."""
    n = t.dim() - 2
    strides = a.get("strides", [1] * n)
    dilations = a.get("dilations", [1] * n)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(n):
            size = t.shape[2 + i]
            out = -(-size // strides[i])
            total = max((out - 1) * strides[i] + (w_spatial[i] - 1) * dilations[i] + 1 - size, 0)
            small = total // 2
            begins.append(small if auto == "SAME_UPPER" else total - small)
            ends.append(total - begins[-1])
        return begins + ends
    if auto == "VALID":
        return [0] * (2 * n)
    return list(a.get("pads", [0] * (2 * n)))


def _padded(t: torch.Tensor, pads: list[int]) -> tuple[torch.Tensor, list[int]]:
    """Symmetric pads go to the op; asymmetric ones are applied here with F.pad."""
    n = len(pads) // 2
    begins, ends = pads[:n], pads[n:]
    if begins == ends:
        return t, begins
    flat: list[int] = []
    for i in reversed(range(n)):
        flat += [begins[i], ends[i]]
    return F.pad(t, flat), [0] * n


@op("Conv")
def _conv(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t, w = x[0], x[1]
    bias = x[2] if len(x) > 2 else None
    n = t.dim() - 2
    t, pad = _padded(t, _pads(t, list(w.shape[2:]), a))
    conv = F.conv1d if n == 1 else F.conv2d
    strides = a.get("strides", [1] * n)
    dilations = a.get("dilations", [1] * n)
    return (conv(t, w, bias, strides, pad, dilations, a.get("group", 1)),)


@op("ConvTranspose")
def _conv_transpose(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t, w = x[0], x[1]
    bias = x[2] if len(x) > 2 else None
    n = t.dim() - 2
    pads = list(a.get("pads", [0] * (2 * n)))
    if pads[:n] != pads[n:] or "output_shape" in a:
        raise NotImplementedError("ConvTranspose with asymmetric pads or output_shape")
    return (
        F.conv_transpose2d(
            t,
            w,
            bias,
            a.get("strides", [1] * n),
            pads[:n],
            a.get("output_padding", [0] * n),
            a.get("group", 1),
            a.get("dilations", [1] * n),
        ),
    )


@op("AveragePool")
def _avg_pool(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t = x[0]
    kernel = a["kernel_shape"]
    t, pad = _padded(t, _pads(t, kernel, a))
    return (
        F.avg_pool2d(
            t,
            kernel,
            a.get("strides", [1] * len(kernel)),
            pad,
            ceil_mode=bool(a.get("ceil_mode", 0)),
            count_include_pad=bool(a.get("count_include_pad", 0)),
        ),
    )


@op("MaxPool")
def _max_pool(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t = x[0]
    kernel = a["kernel_shape"]
    pads = _pads(t, kernel, a)
    n = len(kernel)
    if pads[:n] != pads[n:]:  # asymmetric: pad with -inf here, as the op itself would
        flat = [p for i in reversed(range(n)) for p in (pads[i], pads[n + i])]
        t, pads = F.pad(t, flat, value=float("-inf")), [0] * (2 * n)
    return (
        F.max_pool2d(
            t,
            kernel,
            a.get("strides", [1] * n),
            pads[:n],
            a.get("dilations", [1] * n),
            ceil_mode=bool(a.get("ceil_mode", 0)),
        ),
    )


@op("Pad")
def _pad(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    mode = a.get("mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
        raise NotImplementedError(f"Pad mode={mode}")
    if len(x) > 3 and x[3] is not None:
        raise NotImplementedError("Pad with axes")
    t, pads = x[0], ints(x[1])
    n = len(pads) // 2
    value = float(x[2].reshape(-1)[0]) if len(x) > 2 and x[2] is not None else 0.0
    flat = [p for i in reversed(range(n)) for p in (pads[i], pads[n + i])]
    return (F.pad(t, flat, value=value),)


@op("BatchNormalization")
def _batch_norm(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t, scale, bias, mean, var = x[:5]
    return (F.batch_norm(t, mean, var, scale, bias, False, 0.0, a.get("epsilon", 1e-5)),)


def fold_batch_norm(x: list[Any], a: Attrs) -> tuple[Any, Any]:
    """A BatchNormalization's constant (scale, bias, mean, var) as one per-channel multiplier
    and offset, computed in float64. Graphs in float16 need this: a running variance above
    65504 (PP-OCR's text detector has them) is infinite there, and the channel reads 0."""
    scale, bias, mean, var = (t.double() for t in x[1:5])
    mul = scale / torch.sqrt(var + a.get("epsilon", 1e-5))
    return mul.float(), (bias - mean * mul).float()


def channel_affine(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    """`x * mul + add` over axis 1: a BatchNormalization folded by `fold_batch_norm`."""
    t, mul, add = x
    shape = (1, -1) + (1,) * (t.dim() - 2)
    return (torch.addcmul(add.view(shape), t, mul.view(shape)),)


@op("Gemm")
def _gemm(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    p, q = x[0], x[1]
    if a.get("transA", 0):
        p = p.t()
    if a.get("transB", 0):
        q = q.t()
    out = (p @ q) * a.get("alpha", 1.0)
    if len(x) > 2 and x[2] is not None:
        out = out + x[2] * a.get("beta", 1.0)
    return (out,)


@op("Transpose")
def _transpose(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    perm = a.get("perm", list(reversed(range(x[0].dim()))))
    return (x[0].permute(*perm),)


@op("Reshape")
def _reshape(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    shape = ints(x[1])
    if not a.get("allowzero", 0):
        shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return (x[0].reshape(shape),)


@op("Flatten")
def _flatten(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    """Two dimensions: the ones before `axis` (default 1; negative counts from the end), then
    the rest; axis 0 gives (1, everything)."""
    t = x[0]
    axis = a.get("axis", 1)
    axis = axis + t.dim() if axis < 0 else axis
    return (t.reshape(math.prod(t.shape[:axis]), math.prod(t.shape[axis:])),)


def _axes(x: list[Any], a: Attrs) -> list[int] | None:
    if a["_opset"] >= 13:
        return ints(x[1]) if len(x) > 1 and x[1] is not None else None
    return a.get("axes")


@op("Squeeze")
def _squeeze(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    axes = _axes(x, a)
    if axes is None:
        return (x[0].squeeze(),)
    return (x[0].squeeze(tuple(ax % x[0].dim() for ax in axes)),)


@op("Unsqueeze")
def _unsqueeze(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    axes = _axes(x, a) or []
    rank = x[0].dim() + len(axes)
    t = x[0]
    for ax in sorted(ax % rank for ax in axes):
        t = t.unsqueeze(ax)
    return (t,)


@op("Concat")
def _concat(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    parts = [t for t in x if t is not None]
    device = next((t.device for t in parts if t.device.type != "cpu"), parts[0].device)
    return (torch.cat([t.to(device) for t in parts], a["axis"]),)


@op("Shape")
def _shape(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    dims = list(x[0].shape)[a.get("start", 0) : a.get("end", None)]
    return (torch.tensor(dims, dtype=torch.int64),)


@op("Gather")
def _gather(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    data, idx = x[0], x[1]
    axis = a.get("axis", 0) % data.dim()
    size = data.shape[axis]
    flat = (idx.reshape(-1).long() % size).to(data.device)
    out = data.index_select(axis, flat)
    return (out.reshape((*data.shape[:axis], *idx.shape, *data.shape[axis + 1 :])),)


@op("Slice")
def _slice(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t = x[0]
    if a["_opset"] >= 10:
        starts, ends = ints(x[1]), ints(x[2])
        axes = ints(x[3]) if len(x) > 3 and x[3] is not None else list(range(len(starts)))
        steps = ints(x[4]) if len(x) > 4 and x[4] is not None else [1] * len(starts)
    else:
        starts, ends = a["starts"], a["ends"]
        axes = a.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis %= t.dim()
        begin, stop, stride = slice(start, end, step).indices(t.shape[axis])
        if stride > 0:
            index: list[Any] = [slice(None)] * t.dim()
            index[axis] = slice(begin, stop, stride)
            t = t[tuple(index)]
        else:
            rows = torch.arange(begin, stop, stride, device=t.device)
            t = t.index_select(axis, rows)
    return (t,)


@op("Cast")
def _cast(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    dtype = DTYPES[a["to"]]
    if dtype.is_floating_point and x[0].is_floating_point():
        return (x[0],)  # float to float keeps the graph's compute dtype
    return (x[0].to(dtype),)


@op("Constant")
def _constant(_: list[Any], a: Attrs) -> tuple[Any, ...]:
    from onnx import numpy_helper

    if "value" in a:
        return (torch.from_numpy(np.array(numpy_helper.to_array(a["value"]))),)
    for key, dtype in (
        ("value_float", torch.float32),
        ("value_floats", torch.float32),
        ("value_int", torch.int64),
        ("value_ints", torch.int64),
    ):
        if key in a:
            return (torch.tensor(a[key], dtype=dtype),)
    raise NotImplementedError(f"Constant attributes {sorted(a)}")


def _linear_axis(t: torch.Tensor, axis: int, out: int, scale: float) -> torch.Tensor:
    """Linear interpolation along `axis`, asymmetric coordinates (src = dst / scale)."""
    size = t.shape[axis]
    src = torch.arange(out, device=t.device, dtype=torch.float32) / scale
    src = src.clamp(0, size - 1)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=size - 1)
    shape = [1] * t.dim()
    shape[axis] = out
    w = (src - lo).to(t.dtype).reshape(shape)
    return t.index_select(axis, lo) * (1 - w) + t.index_select(axis, hi) * w


@op("Resize")
def _resize(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t = x[0]
    sizes = x[3] if len(x) > 3 and x[3] is not None and x[3].numel() else None
    scales_in = x[2] if len(x) > 2 and x[2] is not None and x[2].numel() else None
    if sizes is not None:
        out = ints(sizes)
        scales = [o / i for o, i in zip(out, t.shape, strict=True)]
    elif scales_in is not None:
        scales = [float(s) for s in scales_in.reshape(-1).tolist()]
        out = [math.floor(i * s) for i, s in zip(t.shape, scales, strict=True)]
    else:
        raise NotImplementedError("Resize without scales or sizes")
    if out[:2] != list(t.shape[:2]):
        raise NotImplementedError("Resize over batch or channel dims")
    mode = _text(a.get("mode", b"nearest"))
    coords = _text(a.get("coordinate_transformation_mode", b"half_pixel"))
    if mode == "nearest" and coords == "asymmetric" and _text(a.get("nearest_mode")) == "floor":
        return (F.interpolate(t, size=out[2:], mode="nearest"),)
    if mode == "linear" and coords == "asymmetric":
        for axis in range(2, t.dim()):
            t = _linear_axis(t, axis, out[axis], scales[axis])
        return (t,)
    if mode == "linear" and coords in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        spatial = {3: "linear", 4: "bilinear"}[t.dim()]
        aligned = coords == "align_corners"
        return (F.interpolate(t, size=out[2:], mode=spatial, align_corners=aligned),)
    raise NotImplementedError(f"Resize mode={mode} coordinate_transformation_mode={coords}")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _per_axis(p: torch.Tensor, t: torch.Tensor, axis: int) -> torch.Tensor:
    """A per-channel quantisation parameter shaped to broadcast along `axis` of `t`."""
    if p.dim() == 0 or p.numel() == 1:
        return p.reshape(())
    shape = [1] * t.dim()
    shape[axis % t.dim()] = -1
    return p.reshape(shape)


@op("QuantizeLinear")
def _quantize(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    """Integer values carried as floats (exact up to 2^11 in fp16), so the DequantizeLinear
    that follows needs no integer kernels; saturation and round-half-to-even as ONNX says."""
    t, scale = x[0], x[1]
    zero = x[2] if len(x) > 2 and x[2] is not None else torch.zeros((), dtype=torch.uint8)
    lo, hi = (0, 255) if zero.dtype == torch.uint8 else (-128, 127)
    axis = a.get("axis", 1)
    s = _per_axis(scale, t, axis).to(t.device, t.dtype)
    z = _per_axis(zero, t, axis).to(t.device, t.dtype)
    return ((torch.round(t / s) + z).clamp(lo, hi),)


@op("DequantizeLinear")
def _dequantize(x: list[Any], a: Attrs) -> tuple[Any, ...]:
    t, scale = x[0], x[1]
    axis = a.get("axis", 1)
    dtype = scale.dtype if scale.is_floating_point() else torch.float32
    q = t.to(dtype) if not t.is_floating_point() else t
    zero = x[2] if len(x) > 2 and x[2] is not None else None
    s = _per_axis(scale, q, axis).to(q.device, q.dtype)
    if zero is not None:
        q = q - _per_axis(zero, q, axis).to(q.device, q.dtype)
    return (q * s,)

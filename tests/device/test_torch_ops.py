"""The torch backend's ops against ONNX Runtime, on one-node graphs built here.

Each case is an edge the catalog's graphs hit (SAME_UPPER pads on odd sizes, asymmetric pads,
asymmetric linear resize, opset-11 softmax, per-channel quantisation...). A wrong convention
shows as a shape mismatch or a difference far above float32 rounding. The torch side runs on
``SENRI_TEST_DEVICE`` (float32; TF32 off there, so a GPU's rounding stays float32's, and the
tolerance grows from 1e-5 to 1e-4 for its other summation order).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.unit
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from senri.errors import ModelError  # noqa: E402
from senri.models.torch_graph import TorchSession  # noqa: E402

RNG = np.random.default_rng(7)
DEVICE = os.environ.get("SENRI_TEST_DEVICE", "cpu")
if DEVICE.startswith("cuda"):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
SLACK = 10.0 if DEVICE.startswith("cuda") else 1.0


def _graph(
    tmp_path: Path,
    node: Any,
    inputs: dict[str, np.ndarray],
    consts: dict[str, np.ndarray],
    opset: int,
    out_type: int = TensorProto.FLOAT,
) -> Path:
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for k, v in inputs.items()
        ],
        [helper.make_tensor_value_info(node.output[0], out_type, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / f"{node.op_type}.onnx"
    onnx.save(model, str(path))
    return path


def _both(path: Path, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    (want,) = ref.run(None, feeds)
    (got,) = TorchSession(path, DEVICE).run(None, feeds)
    return want, got


def _check(
    tmp_path: Path,
    node: Any,
    inputs: dict[str, np.ndarray],
    consts: dict[str, Any],
    opset: int = 17,
    atol: float = 1e-5,
    out_type: int = TensorProto.FLOAT,
) -> None:
    want, got = _both(_graph(tmp_path, node, inputs, consts, opset, out_type), inputs)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, atol=atol * SLACK, rtol=1e-5 * SLACK)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(("size", "stride", "kernel"), [(7, 2, 3), (8, 2, 3), (9, 2, 5), (6, 1, 4)])
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_conv_auto_pad_matches(
    tmp_path: Path, size: int, stride: int, kernel: int, auto_pad: str
) -> None:
    node = helper.make_node(
        "Conv",
        ["x", "w"],
        ["y"],
        auto_pad=auto_pad,
        strides=[stride, stride],
        dilations=[1, 1],
        group=1,
    )
    _check(tmp_path, node, {"x": _x(2, 3, size, size + 1)}, {"w": _x(4, 3, kernel, kernel)})


def test_conv_asymmetric_pads_groups_and_bias(tmp_path: Path) -> None:
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], pads=[0, 0, 1, 1], strides=[2, 2], group=4
    )
    _check(tmp_path, node, {"x": _x(1, 8, 9, 10)}, {"w": _x(8, 2, 3, 3), "b": _x(8)})


def test_conv_transpose_and_batch_norm(tmp_path: Path) -> None:
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], pads=[0, 0, 0, 0])
    _check(tmp_path, node, {"x": _x(1, 4, 5, 6)}, {"w": _x(4, 3, 2, 2)})
    bn = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)
    var = np.abs(_x(4)) + 0.1
    _check(
        tmp_path,
        bn,
        {"x": _x(2, 4, 3, 3)},
        {"s": _x(4), "b": _x(4), "m": _x(4), "v": var.astype(np.float32)},
    )


def test_batch_norm_statistics_beyond_float16_range_still_normalise_in_float16(
    tmp_path: Path,
) -> None:
    """PP-OCR's text detector has running variances near 1e8, above float16's 65504: cast
    as they are, they are infinite and the channel reads its bias alone (no text found)."""
    bn = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-5)
    mean = np.array([500.0, -300.0, 0.0, 20.0], np.float32)
    var = np.array([1e8, 4e7, 1.0, 9e4], np.float32)
    x = (mean[None, :, None, None] + np.sqrt(var)[None, :, None, None] * _x(2, 4, 3, 3)) / 4
    consts = {"s": _x(4), "b": _x(4), "m": mean, "v": var}
    path = _graph(tmp_path, bn, {"x": x.astype(np.float32)}, consts, 17)
    want, _ = _both(path, {"x": x.astype(np.float32)})
    (got,) = TorchSession(path, DEVICE, "float16").run(None, {"x": x.astype(np.float32)})
    assert np.isfinite(got).all()
    # float16 keeps ~3 significant digits of x; the outputs are O(1)
    np.testing.assert_allclose(got, want, atol=2e-2 * np.abs(want).max())


@pytest.mark.parametrize(
    ("mode", "coords", "nearest"),
    [
        ("linear", "asymmetric", "floor"),
        ("nearest", "asymmetric", "floor"),
        ("linear", "half_pixel", "round_prefer_floor"),
        ("linear", "align_corners", "round_prefer_floor"),
    ],
)
def test_resize_by_scales(tmp_path: Path, mode: str, coords: str, nearest: str) -> None:
    node = helper.make_node(
        "Resize",
        ["x", "", "scales"],
        ["y"],
        mode=mode,
        coordinate_transformation_mode=coords,
        nearest_mode=nearest,
    )
    scales = np.array([1, 1, 2, 2], np.float32)
    _check(tmp_path, node, {"x": _x(1, 2, 5, 7)}, {"scales": scales}, opset=13)


def test_resize_by_sizes(tmp_path: Path) -> None:
    node = helper.make_node(
        "Resize",
        ["x", "", "", "sizes"],
        ["y"],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )
    sizes = np.array([1, 2, 10, 21], np.int64)
    _check(tmp_path, node, {"x": _x(1, 2, 5, 7)}, {"sizes": sizes}, opset=13)


def test_softmax_before_opset_13_flattens(tmp_path: Path) -> None:
    node = helper.make_node("Softmax", ["x"], ["y"], axis=1)
    _check(tmp_path, node, {"x": _x(2, 3, 4)}, {}, opset=11)


def test_softmax_from_opset_13_is_per_axis(tmp_path: Path) -> None:
    node = helper.make_node("Softmax", ["x"], ["y"], axis=1)
    _check(tmp_path, node, {"x": _x(2, 3, 4)}, {}, opset=13)


def test_slice_with_negative_steps_and_clamped_ends(tmp_path: Path) -> None:
    node = helper.make_node("Slice", ["x", "s", "e", "a", "p"], ["y"])
    consts = {
        "s": np.array([-1, 1], np.int64),
        "e": np.array([-(2**62), 2**62], np.int64),
        "a": np.array([1, 2], np.int64),
        "p": np.array([-2, 3], np.int64),
    }
    _check(tmp_path, node, {"x": _x(2, 7, 11)}, consts)


def test_gather_with_scalar_and_negative_indices(tmp_path: Path) -> None:
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=1)
    _check(tmp_path, node, {"x": _x(2, 5, 3)}, {"i": np.array([[-1, 0], [2, 2]], np.int64)})
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=0)
    _check(tmp_path, node, {"x": _x(4, 3)}, {"i": np.array(-2, np.int64)})


def test_average_pool_without_counting_pads(tmp_path: Path) -> None:
    node = helper.make_node(
        "AveragePool",
        ["x"],
        ["y"],
        kernel_shape=[3, 2],
        strides=[3, 2],
        pads=[1, 0, 1, 0],
        count_include_pad=0,
    )
    _check(tmp_path, node, {"x": _x(1, 2, 8, 9)}, {})


def test_constant_pad_and_max_pool_with_asymmetric_pads(tmp_path: Path) -> None:
    """NanoDet pads with -inf before a VALID max-pool; SAME_UPPER on an even size is lopsided."""
    node = helper.make_node("Pad", ["x", "p", "v"], ["y"], mode="constant")
    pads = np.array([0, 0, 1, 2, 0, 1, 0, 3], np.int64)
    _check(tmp_path, node, {"x": _x(1, 2, 5, 6)}, {"p": pads, "v": np.array(-np.inf, np.float32)})
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
    _check(tmp_path, node, {"x": _x(1, 2, 9, 9)}, {})
    node = helper.make_node(
        "MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"
    )
    _check(tmp_path, node, {"x": _x(1, 2, 8, 10) - 5}, {})  # all negative: pads must be -inf


def test_reduce_mean_gemm_and_hard_sigmoid(tmp_path: Path) -> None:
    node = helper.make_node("ReduceMean", ["x"], ["y"], axes=[-1], keepdims=0)
    _check(tmp_path, node, {"x": _x(2, 3, 4)}, {})
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5, beta=2.0)
    _check(tmp_path, node, {"x": _x(3, 4)}, {"w": _x(5, 4), "b": _x(5)})
    node = helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.3, beta=0.4)
    _check(tmp_path, node, {"x": _x(3, 4) * 4}, {})


def test_per_channel_quantisation_round_trip(tmp_path: Path) -> None:
    """QuantizeLinear rounds half to even and saturates; per-axis scales broadcast."""
    x = (_x(2, 3, 4) * 40).astype(np.float32)
    x[0, 0, 0] = 2.5  # a tie: round half to even gives 2, not 3
    scale = np.array([1.0, 0.5, 2.0], np.float32)
    zero = np.array([128, 10, 250], np.uint8)
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1)
    _check(
        tmp_path,
        node,
        {"x": x},
        {"s": scale, "z": zero},
        opset=13,
        atol=0,
        out_type=TensorProto.UINT8,
    )
    q = RNG.integers(-128, 128, (2, 3, 4)).astype(np.int8)
    node = helper.make_node("DequantizeLinear", ["q", "s"], ["y"], axis=1)
    _check(tmp_path, node, {"q": q}, {"s": scale}, opset=13)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, 4])
def test_flatten_keeps_the_leading_axes_as_one(tmp_path: Path, axis: int) -> None:
    """The dialect CNN ends its pooling with a Flatten."""
    node = helper.make_node("Flatten", ["x"], ["y"], axis=axis)
    _check(tmp_path, node, {"x": _x(2, 3, 4, 5)}, {}, opset=13)


def test_a_graph_with_an_op_it_lacks_is_refused_by_name(tmp_path: Path) -> None:
    node = helper.make_node("Einsum", ["x", "w"], ["y"], equation="ij,jk->ik")
    path = _graph(tmp_path, node, {"x": _x(2, 3)}, {"w": _x(3, 4)}, 17)
    with pytest.raises(ModelError, match="has no Einsum"):
        TorchSession(path)


def test_fp16_graph_keeps_float32_outputs_close(tmp_path: Path) -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER")
    x = _x(1, 3, 16, 16)
    path = _graph(tmp_path, node, {"x": x}, {"w": _x(4, 3, 3, 3)}, 17)
    (full,) = TorchSession(path).run(None, {"x": x})
    (half,) = TorchSession(path, "cpu", "bfloat16").run(None, {"x": x})
    assert half.dtype == np.float32
    assert np.abs(half - full).max() < 0.05 * np.abs(full).max()
    assert np.abs(half - full).max() > 0  # bfloat16 really ran: it rounds

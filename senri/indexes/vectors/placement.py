"""Where a `FaissCollection` searches: CPU FAISS, GPU FAISS, or an exact torch scan.

Chosen once, when the collection is made, from its `Device` and `search_backend`, so that a GPU
that was asked for and is not there fails then, with the reason, instead of every search
quietly running on the CPU.
"""

from __future__ import annotations

from typing import Literal

from senri.device import Device
from senri.errors import DeviceError
from senri.indexes.vectors import backend
from senri.indexes.vectors.torch_knn import cuda_problem
from senri.indexes.vectors.types import VectorError

SearchBackend = Literal["auto", "faiss", "torch"]
"""``auto``: FAISS on the CPU, GPU FAISS or torch on a GPU; ``faiss`` or ``torch``: only that."""
Engine = Literal["faiss", "faiss-gpu", "torch"]


def search_engine(device: Device, search_backend: SearchBackend = "auto") -> Engine:
    """What answers a collection's searches on `device` (see `FaissCollection`): ``faiss`` (on
    the CPU), ``faiss-gpu`` or ``torch``. A CUDA device that neither can use raises
    `DeviceError` saying why: a GPU asked for is never silently replaced by the CPU."""
    if search_backend not in ("auto", "faiss", "torch"):
        raise VectorError(
            f"search_backend must be 'auto', 'faiss' or 'torch'; got {search_backend!r}"
        )
    if device.kind == "cpu":
        return "torch" if search_backend == "torch" else "faiss"
    if search_backend == "torch":
        if (why := cuda_problem(device)) is not None:
            raise DeviceError(
                f"device {device} asked for, but a CUDA torch does not see it ({why})"
            )
        return "torch"
    if backend.GpuMirror.available(device):
        return "faiss-gpu"
    faiss = backend.load_faiss()
    if hasattr(faiss, "StandardGpuResources"):
        faiss_why = f"faiss-gpu sees {faiss.get_num_gpus()} GPU(s)"
    else:
        faiss_why = "faiss is a CPU-only build"
    if search_backend == "faiss":
        raise DeviceError(f"device {device} asked for with search_backend='faiss', but {faiss_why}")
    torch_why = cuda_problem(device)
    if torch_why is None:
        return "torch"
    raise DeviceError(
        f"device {device} asked for, but neither faiss-gpu nor a CUDA torch sees a GPU "
        f"({faiss_why}; {torch_why}); use device cpu to search on the CPU"
    )

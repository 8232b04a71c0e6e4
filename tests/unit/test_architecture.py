"""Who may import whom (docs/architecture.md), checked on the source: a layer that reaches up, or
product code that reaches into the sample worlds and evaluations, fails here.

Every import counts, also those inside functions (the lazy ones): a lazy import is still a
dependency, only a cheaper one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "senri"

TOOLING = ("senri.worlds", "senri.evaluation", "senri.models.training")
"""Sample worlds, evaluations, benchmarks and training: they may import the product, never the
other way round."""

INTERFACES = ("senri.cli", "senri.__main__")
"""The `senri` command wires everything, tooling included (``senri demo``, ``senri eval``)."""

BASE = ("senri", "senri.records", "senri.codec", "senri.errors", "senri.config", "senri.boxes")
BASE += ("senri.device",)

LAYERS: dict[str, tuple[str, ...]] = {
    # package → what it may import besides itself and the base modules
    "senri.connectors": (),
    "senri.services": (),
    "senri.models": (),
    "senri.indexes": ("senri.connectors",),
    "senri.engine": ("senri.connectors", "senri.indexes", "senri.operators", "senri.models"),
    "senri.operators": ("senri.engine", "senri.models"),
    "senri.ingest": ("senri.connectors",),
}
"""The runtime's layers, bottom up. The engine imports `senri.operators` only to register the
built-in operators when it builds a graph; operators import only its contract."""


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "senri":
                found |= {f"senri.{a.name}" for a in node.names}
            elif node.module.startswith("senri."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("senri")}
    return found


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(
        module == p or module.startswith(p if p.endswith("_") else p + ".") for p in prefixes
    )


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}


def test_product_code_never_imports_the_sample_worlds_or_evaluations() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, path in MODULES.items()
        if not _within(module, TOOLING + INTERFACES)
        for target in sorted(_imports(path))
        if _within(target, TOOLING)
    ]
    assert wrong == []


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_each_layer_imports_only_what_is_below_it(package: str) -> None:
    allowed = (package, *BASE, *LAYERS[package])
    wrong = [
        f"{module} imports {target}"
        for module, path in MODULES.items()
        if _within(module, (package,)) and not _within(module, TOOLING)
        for target in sorted(_imports(path))
        if not any(target == a or target.startswith(a + ".") for a in allowed)
    ]
    assert wrong == []


def test_importing_the_runtime_loads_no_sample_world_or_evaluation() -> None:
    code = (
        "import sys, senri.engine, senri.operators, senri.indexes, senri.engine.graph\n"
        "import senri.engine.local, senri.engine.kafka_runtime, senri.engine.session\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('senri'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert "senri.engine.kafka_runtime" in out
    assert [m for m in out if _within(m, TOOLING)] == []


def _drives_an_operator(path: Path) -> list[str]:
    """Calls of ``x.setup(...)``, ``x.process(...)`` or ``x.finish(...)`` on something other
    than ``self`` or a `GraphSession` (``session.setup()``)."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("setup", "process", "finish"):
            continue
        receiver = ast.unparse(node.func.value)
        if receiver == "self" or receiver.startswith("self.") or "session" in receiver.lower():
            continue
        calls.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {ast.unparse(node)}")
    return calls


def test_only_the_engine_drives_operators() -> None:
    """Models run as operators in graphs; request-time code builds a `GraphSession`."""
    wrong = [
        call
        for module, path in MODULES.items()
        if not _within(module, ("senri.engine", "senri.operators", *TOOLING))
        for call in _drives_an_operator(path)
    ]
    assert wrong == []


def test_model_sessions_are_opened_only_in_the_models_layer() -> None:
    """Operators and request paths name a model card; `senri.models.onnx.load` opens it."""
    wrong = [
        f"{path.relative_to(ROOT.parent)}:{n}"
        for module, path in MODULES.items()
        if not module.startswith("senri.models")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "onnx.session(" in line or "InferenceSession(" in line
    ]
    assert wrong == []

"""Dependencies between reqspec's layers point one way only.

    cmd  ->  lifecycle / conductor / scheduler  ->  objects  ->  db
    context, conf, exception: leaves that anyone may import

A module may import its own layer and any layer below it; an import that
goes up (the db layer reaching for objects, objects for the conductor...)
fails this test. The orchestration layers also stay away from the db
layer: they work through objects and never open a transaction.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "reqspec"

RANKS = {
    "exception": 0,
    "conf": 0,
    "context": 0,
    "db": 1,
    "objects": 2,
    # The wire: serializers for objects and contexts, used by the RPC
    # clients and servers of the orchestration layers.
    "rpc": 2,
    "scheduler": 3,
    "conductor": 3,
    "lifecycle": 3,
    "compute_api": 3,
    "cmd": 4,
}
ORCHESTRATION = {"scheduler", "conductor", "lifecycle", "compute_api"}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<package>"


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _reqspec_imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}: use absolute imports")
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] == "reqspec"}


MODULES = sorted(ROOT.rglob("*.py"))


def test_every_layer_has_a_rank() -> None:
    layers = {_layer(_module_name(p)) for p in MODULES} - {"<package>"}
    assert layers <= set(RANKS), layers - set(RANKS)


def violations(module: str, imports: set[str]) -> list[str]:
    """What is wrong with ``module`` importing ``imports``."""
    layer = _layer(module)
    if layer == "<package>":
        return []
    found = []
    for target in sorted(imports):
        target_layer = _layer(target)
        if target_layer not in RANKS:
            continue  # the package itself, or a name imported from it
        if RANKS[target_layer] > RANKS[layer]:
            found.append(
                f"{module} ({layer}) imports {target}, a higher layer"
            )
        if layer in ORCHESTRATION and target_layer == "db":
            found.append(
                f"{module} orchestrates; it must use objects, not {target}"
            )
    return found


@pytest.mark.parametrize(
    "path", MODULES, ids=lambda p: _module_name(p) or "reqspec"
)
def test_imports_point_down(path: pathlib.Path) -> None:
    module = _module_name(path)
    assert violations(module, _reqspec_imports(path)) == []


def test_the_check_catches_upward_and_orchestration_imports() -> None:
    assert violations("reqspec.db.request_specs", {"reqspec.objects.base"})
    assert violations("reqspec.objects.base", {"reqspec.cmd.manage"})
    assert violations("reqspec.conductor.tasks", {"reqspec.db.engines"})
    assert not violations("reqspec.cmd.manage", {"reqspec.db.migration"})
    assert not violations("reqspec.objects.base", {"reqspec.exception"})

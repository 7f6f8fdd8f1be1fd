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


def _private_defs() -> set[str]:
    """The underscore-prefixed functions and methods reqspec defines."""
    return {
        node.name
        for path in MODULES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("_")
    }


PRIVATE = _private_defs()


def back_doors(source: str, private: set[str] = PRIVATE) -> list[str]:
    """Uses of another class's or module's private function in ``source``:
    ``thing._name`` where ``thing`` is not ``self``, ``cls``, ``super()``
    or the enclosing class, and is not an instance inside a class that
    defines ``_name`` itself (another object of one's own class is fine).
    A capitalised ``Thing`` is taken to be a class."""
    found: list[str] = []

    def mine(value: ast.expr, cls_name: str, defines: bool) -> bool:
        if isinstance(value, ast.Call):
            return (
                isinstance(value.func, ast.Name) and value.func.id == "super"
            )
        if isinstance(value, ast.Name):
            if value.id in {"self", "cls", cls_name}:
                return True
            if value.id[:1].isupper():
                return False
        return defines

    def visit(node: ast.AST, cls_name: str, own: frozenset[str]) -> None:
        if isinstance(node, ast.ClassDef):
            cls_name = node.name
            own = frozenset(
                n.name
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            )
        if (
            isinstance(node, ast.Attribute)
            and node.attr in private
            and not node.attr.startswith("__")
            and not mine(node.value, cls_name, node.attr in own)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        for child in ast.iter_child_nodes(node):
            visit(child, cls_name, own)

    visit(ast.parse(source), "", frozenset())
    return found


@pytest.mark.parametrize(
    "path", MODULES, ids=lambda p: _module_name(p) or "reqspec"
)
def test_no_back_doors(path: pathlib.Path) -> None:
    assert back_doors(path.read_text()) == []


def test_the_check_catches_back_doors() -> None:
    private = {"_load", "_helper"}
    assert back_doors("RequestSpec._load(ctx, row)", private)
    assert back_doors("spec._load()", private)
    assert back_doors("codec._helper(x)", private)
    assert back_doors("f = Other._load", private)
    assert not back_doors("self._load(); cls._load()", private)
    assert not back_doors("super()._load()", private)
    assert not back_doors("_helper(x)", private)
    assert not back_doors("obj.__init__()", private | {"__init__"})
    assert not back_doors("row._mapping; point._fields", private)
    # Another instance of the class that defines the method.
    own = "class A:\n def _load(self): ...\n def f(self, o): o._load()\n"
    assert not back_doors(own, private)
    assert not back_doors(own.replace("o._load", "A._load"), private)
    assert back_doors(own.replace("o._load", "B._load"), private)

"""Dependencies between reqspec's modules point one way only.

    cmd                                      parsing, printing, services
    demo                                     the scenario of the demo command
    compute_api                              the API facade
    conductor                                builds and moves servers
    lifecycle                                a spec's journey between databases
    scheduler                                chooses hosts
    objects, rpc                             versioned objects, the wire
    db                                       tables, engines, SQL
    context, conf, exception                 leaves that anyone may import

A module may import its own layer and any layer below it; an import that
goes up (the db layer reaching for objects, the lifecycle for the
conductor...) fails this test. The orchestration layers (scheduler to
demo) also stay away from the db layer: they work through objects and
never open a transaction. Inside a layer, the modules import each other
without a cycle: no module needs another that needs it back, even
through a function-level import.
"""

import ast
from collections.abc import Iterable
from collections.abc import Mapping
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
    # The orchestration tier, each layer on the ones before it.
    "scheduler": 3,
    "lifecycle": 4,
    "conductor": 5,
    "compute_api": 6,
    "demo": 7,
    "cmd": 8,
}
ORCHESTRATION = {"scheduler", "lifecycle", "conductor", "compute_api", "demo"}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<package>"


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _reqspec_imports(source: str, filename: str = "<source>") -> set[str]:
    """Every reqspec name ``source`` imports, at any depth (function
    bodies and ``if TYPE_CHECKING:`` blocks included): for ``from a
    import b``, both ``a`` and ``a.b``."""
    found = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{filename}: use absolute imports")
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] == "reqspec"}


MODULES = sorted(ROOT.rglob("*.py"))
SOURCES = {_module_name(p): p.read_text() for p in MODULES}


def test_every_layer_has_a_rank() -> None:
    layers = {_layer(m) for m in SOURCES} - {"<package>"}
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


@pytest.mark.parametrize("module", sorted(SOURCES), ids=lambda m: m)
def test_imports_point_down(module: str) -> None:
    imports = _reqspec_imports(SOURCES[module], module)
    assert violations(module, imports) == []


def test_the_check_catches_upward_and_orchestration_imports() -> None:
    assert violations("reqspec.db.request_specs", {"reqspec.objects.base"})
    assert violations("reqspec.objects.base", {"reqspec.cmd.manage"})
    assert violations("reqspec.conductor.tasks", {"reqspec.db.engines"})
    assert not violations("reqspec.cmd.manage", {"reqspec.db.migration"})
    assert not violations("reqspec.objects.base", {"reqspec.exception"})
    # Inside the orchestration tier, only downwards.
    assert violations("reqspec.lifecycle.demo", {"reqspec.conductor.build"})
    assert violations("reqspec.lifecycle.views", {"reqspec.compute_api"})
    assert violations("reqspec.scheduler.x", {"reqspec.lifecycle.transfer"})
    assert violations("reqspec.conductor.build", {"reqspec.demo"})
    assert violations("reqspec.demo", {"reqspec.cmd.output"})
    assert not violations(
        "reqspec.conductor.build", {"reqspec.lifecycle.transfer"}
    )
    assert not violations("reqspec.demo", {"reqspec.conductor.api"})


def dependency_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Module -> the modules of ``sources`` it imports. ``from pkg import
    name`` depends on ``pkg.name`` when that is a module, else on
    ``pkg``; importing ``pkg.mod`` does not count as depending on
    ``pkg`` (Python runs ``pkg/__init__`` first, but that is the
    package's own business, and counting it would make every package
    whose ``__init__`` re-exports a module a cycle)."""
    graph: dict[str, set[str]] = {}
    for module, source in sources.items():
        deps = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in sources else node.module)
        graph[module] = {d for d in deps if d in sources and d != module}
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> set[frozenset[str]]:
    """The sets of modules that import each other, directly or through
    others (the strongly connected components of more than one module,
    by Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _a_loop(
    graph: Mapping[str, Iterable[str]], members: frozenset[str]
) -> str:
    """One import path through a cycle, for the failure message."""
    start = min(members)
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                return " -> ".join([*paths[v], start])
            if w in members and w not in paths:
                paths[w] = [*paths[v], w]
                todo.append(w)
    raise AssertionError(f"{sorted(members)} is not a cycle")


GRAPH = dependency_graph(SOURCES)


def test_no_import_cycles() -> None:
    found = cycles(GRAPH)
    assert not found, [_a_loop(GRAPH, c) for c in found]


def test_the_check_catches_cycles() -> None:
    sources = {
        "reqspec.a": "from reqspec import b\n",
        "reqspec.b": "def f():\n    import reqspec.c\n",
        "reqspec.c": "from reqspec.a import thing\n",
        "reqspec.d": "from reqspec import a\n",
        "reqspec.pkg": "from reqspec.pkg import mod\n",
        "reqspec.pkg.mod": "import reqspec.c\n",
    }
    graph = dependency_graph(sources)
    # A function-level import, and "from a import name" meaning module a.
    assert graph["reqspec.b"] == {"reqspec.c"}
    assert graph["reqspec.c"] == {"reqspec.a"}
    # "from pkg import mod" is the module; pkg.mod does not need pkg.
    assert graph["reqspec.pkg"] == {"reqspec.pkg.mod"}
    loop = frozenset({"reqspec.a", "reqspec.b", "reqspec.c"})
    assert cycles(graph) == {loop}
    assert _a_loop(graph, loop) == (
        "reqspec.a -> reqspec.b -> reqspec.c -> reqspec.a"
    )
    del sources["reqspec.b"]
    assert cycles(dependency_graph(sources)) == set()


def _private_defs() -> set[str]:
    """The underscore-prefixed functions and methods reqspec defines."""
    return {
        node.name
        for source in SOURCES.values()
        for node in ast.walk(ast.parse(source))
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


@pytest.mark.parametrize("module", sorted(SOURCES), ids=lambda m: m)
def test_no_back_doors(module: str) -> None:
    assert back_doors(SOURCES[module]) == []


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

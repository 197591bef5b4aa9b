"""The layers' imports: the loop's stage modules never import loop/rounds.py, and the loop and core
layers have no import cycle (imports read with `ast` over src/selftaught, lazy ones included)."""

import ast
from pathlib import Path

import selftaught

SRC = Path(selftaught.__file__).parent
OWN = ("selftaught.core", "selftaught.loop")  # the layers checked for cycles


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """selftaught modules that `path` imports anywhere in its body (a package import counts as its __init__)."""
    name, out = module_name(path), set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in modules and t != name)
    return out


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in SRC.rglob("*.py")}
    return {name: imports(path, set(paths)) for name, path in paths.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_reader_sees_the_imports():
    g = graph()
    assert "selftaught.loop.context" in g["selftaught.loop.rounds"]
    assert "selftaught.core.seeds" in g["selftaught.loop.context"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_loop_stage_imports_the_round_loop():
    offenders = [name for name, deps in graph().items()
                 if name.startswith("selftaught.loop.") and name != "selftaught.loop.rounds"
                 and "selftaught.loop.rounds" in deps]
    assert offenders == []


def test_no_import_cycle_in_the_loop_and_core_layers():
    g = graph()
    own = {name: {d for d in deps if d.startswith(OWN)} for name, deps in g.items() if name.startswith(OWN)}
    assert find_cycle(own) is None, f"import cycle: {' -> '.join(find_cycle(own))}"


def test_core_imports_no_layer_above_it():
    above = [(name, d) for name, deps in graph().items() if name.startswith("selftaught.core")
             for d in deps if not d.startswith("selftaught.core")]
    assert above == []


# Back-edges that may close a cycle (a call-time import each, with its reason); none is needed today.
ALLOWED_BACK_EDGES: set[tuple[str, str]] = set()


def test_no_import_cycle_in_the_package_beyond_the_named_back_edges():
    g = {name: {d for d in deps if (name, d) not in ALLOWED_BACK_EDGES} for name, deps in graph().items()}
    cycle = find_cycle(g)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"

"""The TUI's modules import each other without cycles, counting imports inside functions (a
cycle hidden behind a function-level import is still a cycle); ``if TYPE_CHECKING:`` imports
are for the type checker only and are left out."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "opencode.tui"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT / "tui").with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _runtime_imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (ROOT / "tui").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        imports = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {m for m in imports if m in files and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := walk(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_tui_modules_have_no_import_cycle() -> None:
    graph = import_graph()
    assert "opencode.tui.screens.chat" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_no_screen_or_widget_imports_the_app() -> None:
    graph = import_graph()
    offenders = sorted(
        name
        for name, targets in graph.items()
        if name != "opencode.tui.app" and "opencode.tui.app" in targets
    )
    assert offenders == []


def test_cycle_finder_sees_a_function_level_cycle() -> None:
    tree = ast.parse("def f():\n    from opencode.tui.app import App\n")
    assert "opencode.tui.app" in _runtime_imports(tree)
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]

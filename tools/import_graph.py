"""The module import graph of ``src/chainrule``: every ``import`` of a chainrule module, at the
top of a file or inside a function, and the cycles it contains.

Run ``python tools/import_graph.py`` to print the counts (modules, edges, imports inside
functions, strongly connected components with more than one module) and list each circle and
each import inside a function with its comment. ``tests/test_imports.py`` asserts on the same data,
so a new circle fails the suite. Reads source with ``ast`` only: nothing is imported or executed."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "chainrule"


@dataclass(frozen=True)
class Import:
    """One import statement of a chainrule module, resolved to the module it names."""

    source: str
    target: str
    line: int
    inside_function: bool
    comment: str
    type_checking: bool


def module_name(path: Path, root: Path = ROOT) -> str:
    """``chainrule.core.node`` for ``src/chainrule/core/node.py`` (the package for ``__init__``)."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _existing(name: str, modules: set[str]) -> str | None:
    """The longest prefix of a dotted name that is a chainrule module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                for sub in node.body:
                    for inner in ast.walk(sub):
                        if hasattr(inner, "lineno"):
                            lines.add(inner.lineno)
    return lines


def imports(root: Path = ROOT) -> list[Import]:
    """Every import of one chainrule module by another, each resolved to a module."""
    files = sorted(root.rglob("*.py"))
    modules = {module_name(p, root) for p in files}
    found: list[Import] = []
    for path in files:
        source = module_name(path, root)
        is_package = path.name == "__init__.py"
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        guarded = _type_checking_lines(tree)
        inside: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        inside.add(id(sub))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(source, is_package, node.level, node.module)
                names = [f"{base}.{alias.name}" for alias in node.names] or [base]
            else:
                continue
            targets = {t for n in names if (t := _existing(n, modules)) and t != source}
            line = lines[node.lineno - 1]
            comment = line.split("#", 1)[1].strip() if "#" in line else ""
            if not comment and node.lineno >= 2:
                above = lines[node.lineno - 2].strip()
                comment = above[1:].strip() if above.startswith("#") else ""
            for target in sorted(targets):
                found.append(
                    Import(
                        source,
                        target,
                        node.lineno,
                        id(node) in inside,
                        comment,
                        node.lineno in guarded,
                    )
                )
    return found


@dataclass(frozen=True)
class InnerImport:
    """An import statement inside a function, of any module (chainrule's own or a library)."""

    module: str
    line: int
    text: str
    comment: str


def inner_imports(root: Path = ROOT) -> list[InnerImport]:
    """Every import statement written inside a function, with the comment on its line or the
    line above (the reason it is not at the top of its module)."""
    out: list[InnerImport] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        seen: set[int] = set()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)) and sub.lineno not in seen:
                    seen.add(sub.lineno)
                    line = lines[sub.lineno - 1]
                    comment = line.split("#", 1)[1].strip() if "#" in line else ""
                    above = lines[sub.lineno - 2].strip() if sub.lineno >= 2 else ""
                    if not comment and above.startswith("#"):
                        comment = above[1:].strip()
                    out.append(
                        InnerImport(module_name(path, root), sub.lineno, line.strip(), comment)
                    )
    return sorted(out, key=lambda i: (i.module, i.line))


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative,
    so a deep import chain does not recurse), each sorted; TYPE_CHECKING imports are left out
    because they never run."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.type_checking:
            continue
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


# The house of docs/architecture.md, bottom to top: a module imports only from its own floor
# or the floors below it. Modules not named here are outer features (the top floor).
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "core.errors",
            "core.values",
            "core.limits",
            "core.lazy",
            "core.precision_lock",
            "core.seed",
            "core.backends",
            "core.blas",
            "core.kernels",
            "io.files",
            "io.jsonout",
            "io.table",
        ),
    ),
    ("op catalogue", ("ops",)),
    (
        "engine",
        (
            "core.node",
            "core.replay",
            "core.display",
            "core.gradmode",
            "core.node_math",
            "core.autodiff",
            "lang.typography",
            "lang.writing",
            "lang.naming",
            "core.graph",
            "core.graph_load",
            "core.pickling",
            "core.batch",
            "core.anomaly",
            "core.snapshot",
        ),
    ),
    ("text", ("lang",)),
    ("API", ("functions", "tensor", "tensor_methods", "")),
)


def floor(module: str) -> int:
    """The floor of a module (0 is the base); the outer features are above every named one."""
    name = module.removeprefix("chainrule").removeprefix(".")
    best = len(FLOORS)
    for level, (_, members) in enumerate(FLOORS):
        for m in members:
            if name == m or (m and name.startswith(m + ".")):
                best = min(best, level)
    if name in ("core", "lang", "io", "ops"):  # the packages' own (empty) __init__
        return 0
    return best


def upward(edges: list[Import]) -> list[Import]:
    """Imports that go up the house (a lower floor importing a higher one)."""
    return [
        e
        for e in edges
        if not e.type_checking and not _is_package_edge(e) and floor(e.source) < floor(e.target)
    ]


def _is_package_edge(e: Import) -> bool:
    """A package importing its own submodule (``draw/__init__`` → ``draw.model``) is how a package
    exposes its parts, and a submodule importing its package's ``__init__`` is the same
    relation seen from below; such edges are counted but are not layering cycles."""
    return e.target.startswith(e.source + ".") or e.source.startswith(e.target + ".")


def main() -> int:
    edges = imports()
    real = [e for e in edges if not _is_package_edge(e)]
    found = cycles(real)
    up = upward(edges)
    print(f"imports that go up the house (docs/architecture.md): {len(up)}")
    for e in up:
        print(f"  {e.source}:{e.line} → {e.target}")
    inner = [e for e in edges if e.inside_function]
    statements = {(e.source, e.line) for e in inner}
    print(f"modules: {len({module_name(p) for p in ROOT.rglob('*.py')})}")
    print(f"import edges: {len(edges)}")
    print(f"import circles (strongly connected groups): {len(found)}")
    for group in found:
        print("  " + " ↔ ".join(group))
    print(f"imports of chainrule modules inside functions: {len(statements)}")
    every = inner_imports()
    print(f"import statements inside functions (any module): {len(every)}")
    print(f"  of which without a comment saying why: {sum(1 for i in every if not i.comment)}")
    if "-v" in sys.argv:
        for i in every:
            print(f"  {i.module}:{i.line}  {i.text.split('#')[0].strip()}  # {i.comment or '-'}")
    return 1 if found or up else 0


if __name__ == "__main__":
    sys.exit(main())

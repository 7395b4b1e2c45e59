"""The module layering: no import circle among chainrule's modules (imports inside functions
count too), and ``import chainrule`` or a float ``eval`` loads none of the heavy libraries a
feature may need later (sympy, rich, matplotlib, torch)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
assert _spec is not None and _spec.loader is not None
import_graph = importlib.util.module_from_spec(_spec)
sys.modules["import_graph"] = import_graph
_spec.loader.exec_module(import_graph)


def _real(edges: list) -> list:
    return [e for e in edges if not import_graph._is_package_edge(e)]


def test_no_import_circles() -> None:
    edges = import_graph.imports()
    assert len(edges) > 300  # the graph was really read
    assert import_graph.cycles(_real(edges)) == []


def test_imports_go_down_the_house_only() -> None:
    """docs/architecture.md draws the layers; no module imports from a floor above its own."""
    assert import_graph.upward(import_graph.imports()) == []
    assert import_graph.floor("chainrule.core.values") < import_graph.floor("chainrule.ops.table")
    assert import_graph.floor("chainrule.ops.table") < import_graph.floor("chainrule.core.node")
    assert import_graph.floor("chainrule.core.node") < import_graph.floor("chainrule.lang.language")
    assert import_graph.floor("chainrule.functions") < import_graph.floor("chainrule.draw.model")


def test_the_cycle_finder_finds_circles(tmp_path: Path) -> None:
    """The same finder, on a made-up package with a circle through a function-level import."""
    pkg = tmp_path / "chainrule"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("from . import b\n")
    (pkg / "core" / "b.py").write_text("def f():\n    from .c import x\n")
    (pkg / "core" / "c.py").write_text("from .a import y\n")
    (pkg / "core" / "d.py").write_text("from .a import y\n")
    edges = import_graph.imports(pkg)
    inner = [e for e in edges if e.inside_function]
    assert [(e.source, e.target) for e in inner] == [("chainrule.core.b", "chainrule.core.c")]
    assert import_graph.cycles(_real(edges)) == [
        ["chainrule.core.a", "chainrule.core.b", "chainrule.core.c"]
    ]


def test_every_import_inside_a_function_says_why() -> None:
    """An import inside a function is there to keep start-up fast (or because its library is
    optional); the comment on its line, or the line above, says which. The rest go at the top."""
    bare = [f"{i.module}:{i.line}  {i.text}" for i in import_graph.inner_imports() if not i.comment]
    assert bare == []


def test_the_reason_finder_sees_a_bare_import(tmp_path: Path) -> None:
    """The same reader, on a made-up module: a reason on the line or the line above counts."""
    pkg = tmp_path / "chainrule"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "m.py").write_text(
        "def f():\n"
        "    import json\n"
        "    import csv  # only for rosters\n"
        "    # torch is optional\n"
        "    import torch\n"
    )
    found = {i.text.split()[1]: i.comment for i in import_graph.inner_imports(pkg)}
    assert found == {"json": "", "csv": "only for rosters", "torch": "torch is optional"}


HEAVY = ("sympy", "rich", "matplotlib", "torch", "mpmath")


def _loaded_after(code: str, names: tuple[str, ...] = HEAVY) -> set[str]:
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import sys
        print("HEAVY:", *(m for m in {names!r} if m in sys.modules))
        """
    )
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    last = out.stdout.splitlines()[-1].split()
    assert last[0] == "HEAVY:"
    return set(last[1:])


def test_import_chainrule_loads_no_heavy_library() -> None:
    assert _loaded_after("import chainrule") == set()


def test_the_check_sees_a_heavy_library() -> None:
    """The check itself can fail: exact mode does need sympy."""
    code = "import chainrule\nchainrule.functions.sqrt(chainrule.var(2, exact=True))"
    assert "sympy" in _loaded_after(code)


def _float_eval(tmp_path: Path) -> str:
    program = tmp_path / "p.cr"
    program.write_text("x = 2.0\ny = sin(x) * x + exp(x)\n")
    return f"""
        import sys
        sys.argv = ["chainrule", "eval", {str(program)!r}]
        from chainrule.cli import main
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
    """


def test_a_float_eval_loads_no_heavy_library(tmp_path: Path) -> None:
    assert _loaded_after(_float_eval(tmp_path)) == set()


#: standard modules only other commands use (TOML bundles, file writing, a misspelt function's
#: suggestion, argparse's terminal width through shutil): each costs a float eval 1-4 ms of a
#: start-up whose goal is within 1.5x of importing numpy (benchmarks/startup.py)
NOT_FOR_EVAL = ("tomllib", "pathlib", "difflib", "shutil")


def test_a_float_eval_loads_only_what_it_uses(tmp_path: Path) -> None:
    assert _loaded_after(_float_eval(tmp_path), NOT_FOR_EVAL) == set()


def test_the_start_up_check_sees_a_module_loaded(tmp_path: Path) -> None:
    code = textwrap.dedent(_float_eval(tmp_path)) + "import shutil\n"
    assert _loaded_after(code, NOT_FOR_EVAL) == {"shutil"}


@pytest.mark.parametrize("module", HEAVY[:3])
def test_heavy_names_are_real_modules(module: str) -> None:
    assert importlib.util.find_spec(module) is not None

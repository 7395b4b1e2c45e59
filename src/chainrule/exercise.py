"""Exercise files (TOML) and their solution bundles.

An exercise names a program (a file next to it, or the text itself), the values to use, and what
is asked: values, gradients with respect to which names, which drawings. ``solve`` writes the
whole solution into a directory: solution.md, solution.tex, the drawings (SVG and PNG), and the
values and gradients as JSON. A directory that is not empty is never overwritten without
``force``::

    title = "Exercise 3"
    program = "seed-exercise.cr"
    exact = true
    digits = 5

    [values]            # optional: override inputs, as --at does
    y = "1"

    [ask]
    values = ["z", "ŷ", "L"]
    gradients = ["x", "w", "b₀"]
    drawings = ["forward", "gradients"]   # or "all" (these two); "backward" too by name
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .check.names import Resolver
from .core.errors import ChainruleError, ValueInputError
from .core.graph import Graph, encode_value
from .core.values import read_value, to_float
from .explain import derive
from .explain import latex as latex_writer
from .explain import markdown as markdown_writer
from .explain.document import Heading, Paragraph, Table, build
from .explain.formulas import derivative, element_derivative, element_label, exact_num, label, num
from .io.files import bundle, load_toml, read_text, write_file
from .io.jsonout import strict_dumps
from .lang.language import parse

MARKER = ".chainrule-bundle"
VIEWS = ("forward", "gradients")  # drawn when [ask] drawings is "all" (the default)
# the views an exercise may ask for by name: the gradient graph too (draw --view backward)
DRAWABLE = (*VIEWS, "backward")


@dataclass
class Exercise:
    """What an exercise file says."""

    source: str
    title: str | None = None
    exact: bool = False
    digits: int = 5
    values: dict[str, Any] = field(default_factory=dict)
    ask_values: list[str] | None = None  # None: every named node
    ask_gradients: list[str] | None = None  # None: every input
    drawings: list[str] = field(default_factory=lambda: list(VIEWS))
    filename: str | None = None

    def graph(self) -> Graph:
        graph = parse(self.source, exact=self.exact, at=self.values or None)
        graph.backward()
        return graph


def ask_names(data: dict[str, Any], key: str, where: str) -> list[str] | None:
    """An [ask] list as names: one name, a list of names, or "all" (None)."""
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, str):
        return None if value == "all" else [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueInputError(f'{where}: [ask] {key} must be a list of names (or "all")')
    return list(value)


def load_exercise(path: str | Path) -> Exercise:
    """Read an exercise file; the program path is relative to the exercise file."""
    p = Path(path)
    if not p.is_file():
        raise ChainruleError(f"{path}: no such exercise file")
    return exercise_from_dict(read_toml(p, "exercise file"), base=p.parent, where=str(path))


# ------------------------------------------------------- what exercises and templates share


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """An exercise file or a template (``teach``) as a dict; a mistake names the file."""
    return load_toml(read_text(Path(path), what), str(path))


def header(data: dict[str, Any], where: str, *, exact: bool) -> tuple[str | None, bool, int]:
    """The keys an exercise and a template share, checked: title, exact (``exact`` is its
    default) and digits."""
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise ValueInputError(f'{where}: title must be text in quotes, such as title = "Ex. 3"')
    exact_mode = data.get("exact", exact)
    if not isinstance(exact_mode, bool):
        raise ValueInputError(f"{where}: exact must be true or false")
    digits = data.get("digits", 5)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ValueInputError(f"{where}: digits must be a whole number from 1 to 17")
    return title, exact_mode, digits


def ask_table(data: dict[str, Any], where: str, known: set[str]) -> dict[str, Any]:
    """The [ask] table of an exercise or a template, its keys checked against ``known``."""
    ask = data.get("ask", {})
    if not isinstance(ask, dict):
        raise ValueInputError(f"{where}: [ask] must be a table")
    unknown = sorted(set(ask) - known)
    if unknown:
        raise ValueInputError(f"{where}: unknown key(s) in [ask]: {', '.join(unknown)}")
    for key in ("values", "gradients", "drawings", "partials"):
        if key in ask:
            ask_names(ask, key, where)  # each is a name, a list of names, or "all"
    drawings = ask_names(ask, "drawings", where) or []
    bad = [d for d in drawings if d not in DRAWABLE]
    if bad:
        raise ValueInputError(
            f"{where}: unknown drawing(s) {', '.join(bad)} ({', '.join(DRAWABLE)})"
        )
    return ask


def _program_path(base: Path, name: Any, where: str) -> Path:
    """The program file named in an exercise: a relative path that stays inside the exercise
    file's folder (no absolute paths, no .., no link leading out of it)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueInputError(f'{where}: program must be a file name in quotes, such as "ex.cr"')
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or "\x00" in name:
        raise ValueInputError(
            f"{where}: program {name!r} must be a path relative to the exercise file's folder, "
            "without .. (the program is read from next to the exercise)"
        )
    prog = base / rel
    try:
        inside = prog.resolve().is_relative_to(base.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        raise ValueInputError(f"{where}: program {name!r} leads out of the exercise's folder")
    if not prog.is_file():
        if "\n" in name.strip() or "=" in name:  # the program's text, where its file goes
            raise ValueInputError(
                f'{where}: program names a file, such as "ex.cr"; to write the program in the '
                'exercise itself use source = """…""" in its place'
            )
        raise ValueInputError(f"{where}: program {name!r} not found next to it")
    return prog


_HUGE_EXPONENT = re.compile(r"[eE]\s*[+\-]?\s*0*(\d{4,})")


def _value(name: str, raw: Any, where: str) -> Any:
    """One entry of [values]: a number or a vector, written as in --at."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, list)):
        raise ValueInputError(
            f'{where}: [values] {name} must be a number, a string such as "4/5", or a list'
        )
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueInputError(f"{where}: [values] {name} = {raw}: not a finite number")
    text = raw if isinstance(raw, str) else json.dumps(raw)
    if _HUGE_EXPONENT.search(text):
        raise ValueInputError(f"{where}: [values] {name} = {text!r}: the exponent is too large")
    try:
        return read_value(text)
    except ValueInputError as exc:
        raise ValueInputError(f"{where}: [values] {name}: {exc.message}") from None
    except (ValueError, OverflowError, ArithmeticError) as exc:
        raise ValueInputError(f"{where}: [values] {name} = {text!r}: {exc}") from None


def exercise_from_dict(data: dict[str, Any], *, base: Path, where: str) -> Exercise:
    known = {"title", "program", "source", "exact", "digits", "values", "ask"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueInputError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if ("program" in data) == ("source" in data):
        raise ValueInputError(f'{where}: give either program = "FILE" or source = """…"""')
    filename = None
    if "program" in data:
        prog = _program_path(base, data["program"], where)
        source = read_text(prog, "program")
        filename = str(prog)
    else:
        if not isinstance(data["source"], str):
            raise ValueInputError(f'{where}: source must be text, such as source = """x = 1"""')
        source = data["source"]
    title, exact, digits = header(data, where, exact=False)
    raw_values = data.get("values", {})
    if not isinstance(raw_values, dict):
        raise ValueInputError(f'{where}: values must be a table: [values] then lines x = "4/5"')
    values = {name: _value(name, raw, where) for name, raw in raw_values.items()}
    ask = ask_table(data, where, {"values", "gradients", "drawings"})
    drawings = ask_names(ask, "drawings", where)
    if drawings is None:
        drawings = list(VIEWS) if ask.get("drawings", "all") == "all" else []
    return Exercise(
        source=source,
        title=title,
        exact=exact,
        digits=digits,
        values=values,
        ask_values=ask_names(ask, "values", where),
        ask_gradients=ask_names(ask, "gradients", where),
        drawings=drawings,
        filename=filename,
    )


# ------------------------------------------------------------------ answers


def _node(graph: Graph, name: str) -> Any:
    node, index = Resolver(graph).element(name, name)
    return node, index


def answers(ex: Exercise, graph: Graph) -> dict[str, Any]:
    """The asked values and gradients, as JSON-ready data (decimal and, where exact, exact)."""
    value_names = ex.ask_values or _named(graph)
    grad_names = ex.ask_gradients or _named(graph, inputs=True)
    out: dict[str, Any] = {"values": {}, "gradients": {}}
    for name in value_names:
        node, index = _node(graph, name)
        v = node.value if index is None else node.value[index]
        out["values"][name] = _entry(v)
    for name in grad_names:
        node, index = _node(graph, name)
        if node.grad is None:
            raise ValueInputError(f"{name!r} has no gradient (it is a constant)")
        g = node.grad if index is None else node.grad[index]
        out["gradients"][name] = _entry(g)
    return out


def _entry(v: Any) -> dict[str, Any]:
    plain = to_float(v)
    entry: dict[str, Any] = {
        "decimal": plain.tolist() if isinstance(plain, np.ndarray) else float(plain)
    }
    exact = exact_num(v)
    if exact is not None:
        entry["exact"] = exact.text.replace("\u2212", "-")
    elif not isinstance(plain, np.ndarray) and hasattr(v, "free_symbols"):
        entry["exact"] = str(encode_value(v).get("irrational"))
    return entry


def _named(graph: Graph, *, inputs: bool = False) -> list[str]:
    """The labels of the nodes the program named (x and x′ for a name given twice)."""
    nodes = graph.inputs if inputs else graph.nodes
    return [graph.label(n) for n in nodes if n.name]


def _answer_table(ex: Exercise, graph: Graph) -> Table:
    rows: list[list[Any]] = []
    d = ex.digits
    names = graph.naming
    for name in ex.ask_values or _named(graph):
        node, index = _node(graph, name)
        v = node.value if index is None else node.value[index]
        shown = label(node, names) if index is None else element_label(node, index, names)
        rows.append([shown, num(v, d)])
    output = graph.output
    for name in ex.ask_gradients or _named(graph, inputs=True):
        node, index = _node(graph, name)
        g = node.grad if index is None else node.grad[index]
        if isinstance(g, np.ndarray) and g.ndim and index is None:
            for k in np.ndindex(g.shape):
                rows.append([element_derivative(output, node, k, names), num(g[k], d)])
        else:
            m = (
                derivative(output, node, names)
                if index is None
                else element_derivative(output, node, index, names)
            )
            rows.append([m, num(g, d)])
    return Table(["Asked", "Answer"], rows)


def documents(ex: Exercise, graph: Graph, drawings: dict[str, str]) -> tuple[str, str]:
    """solution.md and solution.tex: the answers first, then the whole worked solution."""
    doc = build(derive(graph, ex.digits, exact=ex.exact), title=ex.title, drawings=drawings)
    doc.blocks[0:0] = [
        Heading("Answers"),
        Paragraph(["The numbers asked for; the worked solution follows."]),
        _answer_table(ex, graph),
    ]
    md = markdown_writer.write(doc)
    # LaTeX includes PNG drawings (pdflatex does not read SVG)
    tex_drawings = {k: v.replace(".svg", ".png") for k, v in drawings.items()}
    tex_doc = build(derive(graph, ex.digits, exact=ex.exact), title=ex.title, drawings=tex_drawings)
    tex_doc.blocks[0:0] = doc.blocks[0:3]
    return md, latex_writer.write(tex_doc)


# ------------------------------------------------------------------ the bundle


def draw(graph: Graph, directory: Path, views: list[str]) -> tuple[list[Path], list[str]]:
    """The drawings, when the drawing package is available; notes say what could not be drawn."""
    try:
        from .draw import render  # optional: an exercise is solved without the drawing package
    except ImportError:
        return [], ["drawings skipped: the drawing package is not available"]
    written: list[Path] = []
    notes: list[str] = []
    for view in views:
        for ext in (".svg", ".png"):
            path = directory / f"{view}{ext}"
            try:
                written.append(render(graph, path, view=view))
            except ChainruleError as exc:
                notes.append(f"{path.name} not drawn: {exc}")
    return written, notes


def solve(
    ex: Exercise,
    directory: str | Path,
    *,
    force: bool = False,
    own_marker_ok: bool = False,
    inputs: Iterable[str | Path | None] = (),
    hint: str | None = None,
    label: str = "",
) -> tuple[list[Path], list[str]]:
    """Write the solution bundle of ``ex``; returns the files written and any notes.

    The bundle is built in a staging folder and moved into ``directory`` only when complete,
    so a failure half-way leaves the directory as it was and a retry works."""
    folder = Path(directory)
    graph = ex.graph()  # before touching the directory: a bad program writes nothing
    protect = [ex.filename, *inputs]
    with bundle(
        folder,
        force=force,
        marker=MARKER,
        replace_marked=own_marker_ok,
        inputs=protect,
        hint=hint,
        label=label,
    ) as stage:
        drawn_files, notes = draw(graph, stage, ex.drawings)
        drawn = {p.stem: p.name for p in drawn_files if p.suffix == ".svg"}
        md, tex = documents(ex, graph, drawn)
        texts = {
            "solution.md": md,
            "solution.tex": tex,
            "answers.json": strict_dumps(answers(ex, graph), indent=2) + "\n",
            "graph.json": strict_dumps(graph.to_dict(), indent=2) + "\n",
        }
        names = [p.name for p in drawn_files]
        for name, text in texts.items():
            write_file(stage / name, text)
            names.append(name)
        write_file(stage / MARKER, marker_text(stage, names))
    return [folder / name for name in names], notes


MARKER_FIRST = "written by chainrule solve; safe to replace\n"


def marker_text(folder: Path, names: list[str]) -> str:
    """The marker of a bundle: chainrule wrote it, and the SHA-256 of each file it wrote, so a
    later run can tell its own untouched files from ones edited since."""
    lines = [MARKER_FIRST]
    for name in sorted(names):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        lines.append(f"sha256 {digest} {name}\n")
    return "".join(lines)


def own_bundle(directory: str | Path) -> list[str] | None:
    """Whether ``directory`` is a bundle ``solve`` wrote and may write again without --force:
    None when it is not one (no marker, a marker that is a link, or one without the files'
    digests, as bundles before them had); otherwise the files of the bundle changed since
    (edited, replaced by a link), which are not replaced without --force. Files the marker
    does not list (the user's own) are kept by every run and need no check."""
    folder = Path(directory)
    try:
        if not stat.S_ISREG(os.lstat(folder / MARKER).st_mode):
            return None
        text = (folder / MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(MARKER_FIRST):
        return None
    listed = [line.split(" ", 2) for line in text[len(MARKER_FIRST) :].splitlines()]
    if not listed or any(len(p) != 3 or p[0] != "sha256" or "/" in p[2] for p in listed):
        return None
    changed = []
    for _, digest, name in listed:
        path = folder / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue  # removed since: nothing of the user's is lost by writing it again
        except OSError:
            changed.append(name)
            continue
        if not stat.S_ISREG(st.st_mode):
            changed.append(name)
            continue
        try:
            same = hashlib.sha256(path.read_bytes()).hexdigest() == digest
        except OSError:
            same = False
        if not same:
            changed.append(name)
    return changed

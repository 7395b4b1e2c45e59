"""The learner's solution marked up: their own text, each judged number followed by ✓, ✗ or
"follows from line N", and a note at each first slip with the correct working (the working
``grade``'s feedback pages show). Markdown and LaTeX copies keep the learner's text as it is
and only insert; the HTML copy shows the lines with the marks and the notes in a margin.
Every inserted label is escaped for its format."""

from __future__ import annotations

import bisect
import html
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..core.graph import Graph
from ..explain import markdown as markdown_writer
from ..explain.document import Document, Equation, working
from ..explain.formulas import num
from ..explain.latex import text as latex_words
from ..explain.model import derive
from ..lang.typography import latex_text
from .judge import CARRIED_ROUNDING, FIRST_SLIP, FOLLOWS, RIGHT, ROUNDING, TOO_FEW, WRONG
from .report import quantity_text
from .solution import Judged, SolutionCheck

DIGITS = 5
_SHOWN_LINES = 3  # lines a mark names; more are counted ("follows from line 3, 8, 12 and 2 more")


def mark_text(j: Judged) -> str:
    """What stands after a number: ✓, ✗, or ✗ and the line it follows from."""
    v = j.verdict
    if v.verdict in (RIGHT, ROUNDING):
        return "✓"
    if v.origin == FOLLOWS and v.follows:
        lines = sorted({w.claim.line for w in v.follows if w.claim.line is not None})
        shown = ", ".join(str(n) for n in lines[:_SHOWN_LINES])
        more = len(lines) - _SHOWN_LINES
        return "✗ follows from line " + shown + (f" and {more} more" if more > 0 else "")
    if v.origin == CARRIED_ROUNDING:
        return "✗ carries the rounding of earlier numbers"
    if v.verdict == TOO_FEW:  # under a rule that asks for digits (check --sigfig N)
        return "✗ too few digits"
    return "✗"


def note_text(graph: Graph, j: Judged, fmt: str = "text") -> str:
    """The note at a first slip (the working is added by each format). ``fmt`` is "md",
    "tex", "html" or "text": words are escaped for it, and the learner's own step (LaTeX as
    they wrote it) is set as maths in Markdown and LaTeX, as code in HTML."""
    v = j.verdict
    name = quantity_text(v.quantity, graph.output, graph.naming)
    claimed = v.claim.numbers[0].text

    def words(s: str) -> str:
        if fmt == "md":
            return markdown_writer.escape(s)
        if fmt == "tex":
            return latex_words(s)
        if fmt == "html":
            return html.escape(s)
        return s

    def value(x: Any) -> str:
        m = num(x, DIGITS)
        if fmt in ("md", "tex"):
            return f"${m.latex}$"
        return words(m.text)

    # the words of grade's feedback pages ("Your first slip is …")
    out = words(f"Line {j.line}: your first slip is {name}: you wrote {claimed}; the correct "
                "value is ") + value(v.true)  # fmt: skip
    if j.step_text is not None and j.step_value is not None and v.recomputed is j.step_value:
        own = num(j.step_value, DIGITS)
        step = _flat(j.step_text)
        if fmt in ("md", "tex"):
            said = f"${step} = {own.latex}$"
        elif fmt == "html":
            said = f"<code>{html.escape(step)}</code> = {html.escape(own.text)}"
        else:
            said = f"{step} = {own.text}"
        out += words(", and from your own numbers ") + said + words(": the slip is in this step")
    elif v.recomputed is not None:
        out += words(", and from your own earlier numbers it would be ") + value(v.recomputed)
    return out + "."


def _flat(s: str) -> str:
    return " ".join(s.split())


def _slips(result: SolutionCheck) -> list[Judged]:
    return [
        j for j in result.judged if j.verdict.verdict == WRONG and j.verdict.origin == FIRST_SLIP
    ]


def _working(graph: Graph, j: Judged) -> list[Any]:
    q = j.verdict.quantity
    d = derive(graph, DIGITS, exact=False)
    mirror = d.graph.nodes
    node = mirror[graph.index(q.node)]
    top = mirror[graph.index(q.top)] if q.top is not None else None
    return working(d, node, q.claim_type, top)


def marked_copy(graph: Graph, result: SolutionCheck, out: str, *, source_name: str = "") -> str:
    """The marked copy in the format ``out``'s suffix names (.md, .tex, .html)."""
    suffix = Path(out).suffix.lower()
    if suffix == ".tex":
        return marked_latex(graph, result)
    if suffix in (".html", ".htm"):
        return marked_html(graph, result, source_name)
    return marked_markdown(graph, result)


def _insert(text: str, inserts: list[tuple[int, str]]) -> str:
    out = []
    last = 0
    for at, s in sorted(inserts, key=lambda x: x[0]):
        out.append(text[last:at])
        out.append(s)
        last = at
    out.append(text[last:])
    return "".join(out)


def _after_line(text: str, offset: int) -> int:
    k = text.find("\n", offset)
    return len(text) if k < 0 else k


_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _note_at_md(text: str, offset: int) -> int:
    """Where a note about the statement ending at ``offset`` goes: after its line, or after
    the whole table when that line is a row of a pipe table (a quote between two rows would
    end the table; the rows after it would fall out of it)."""
    end = _after_line(text, offset)
    start = text.rfind("\n", 0, offset) + 1
    if "|" not in text[start:end]:
        return end
    # the block of non-blank lines around the line: a table when it has a delimiter row
    top = start
    while top > 0:
        prev = text.rfind("\n", 0, top - 1) + 1
        if not text[prev : top - 1].strip():
            break
        top = prev
    if not any(_DELIMITER_ROW.match(ln) and "|" in ln for ln in text[top:end].split("\n")):
        return end
    while end < len(text):  # the table goes on while its lines hold a pipe
        nxt = _after_line(text, end + 1)
        line = text[end + 1 : nxt]
        if not line.strip() or "|" not in line:
            break
        end = nxt
    return end


# environments a \marginpar and a display cannot go inside (LaTeX: "Not in outer par mode")
_BLOCKS = frozenset(
    {"tabular", "tabular*", "tabularx", "tabulary", "longtable", "array", "table", "table*",
     "figure", "figure*", "minipage"}
)  # fmt: skip
_ENV = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}|(?<!\\)%[^\n]*")


def _note_at_tex(text: str, offset: int) -> int:
    """Where a note about the statement ending at ``offset`` goes: after its line, or after
    the outermost table (tabular, array, longtable, …), float or minipage around it — a
    ``\\marginpar`` and a display between the rows of a table do not compile."""
    stack: list[tuple[str, int]] = []  # open blocks: (name, where it began)
    outer: str | None = None
    for m in _ENV.finditer(text):
        if m.group(1) is None:
            continue  # a comment
        name = m.group(2).strip()
        if name not in _BLOCKS:
            continue
        if m.group(1) == "begin":
            stack.append((name, m.start()))
            continue
        while stack and stack[-1][0] != name:
            stack.pop()  # an environment left open: closed with the one around it
        if stack:
            _, began = stack.pop()
            if outer is None and began < offset <= m.start():
                outer = name
            if outer is not None and not stack:
                return _after_line(text, m.end())
    return _after_line(text, offset)


def _math_mark_md(j: Judged) -> str:
    label = mark_text(j).replace("\\", "").replace("{", "").replace("}", "").replace("$", "")
    return r"\;\text{" + label + "}"


def marked_markdown(graph: Graph, result: SolutionCheck) -> str:
    text = result.text
    inserts: list[tuple[int, str]] = [(j.end, _math_mark_md(j)) for j in result.judged]
    for j in _slips(result):
        blocks = _working(graph, j)
        note = "\n\n> ✗ " + note_text(graph, j, "md")
        if blocks:
            body = markdown_writer.write(Document("", blocks)).strip()
            note += "\n>\n> The correct working at this step:\n>\n" + "\n".join(
                "> " + line if line else ">" for line in body.splitlines()
            )
        inserts.append((_note_at_md(text, j.statement.stop), note + "\n"))
    return _insert(text, inserts)


def _math_mark_tex(j: Judged) -> str:
    v = j.verdict
    if v.verdict in (RIGHT, ROUNDING):
        return r"\;\checkmark"
    label = mark_text(j)[1:].strip()
    return r"\;\boldsymbol{\times}" + (
        r"\,\text{\small " + latex_text(label) + "}" if label else ""
    )


def _equation_tex(eq: Equation) -> str:
    rels = [r"\approx" if r == "≈" else "=" for r in eq.relations]
    body = eq.parts[0].latex + "".join(f" {r} {p.latex}" for r, p in zip(rels, eq.parts[1:]))
    return "\\[" + body + "\\]"


def marked_latex(graph: Graph, result: SolutionCheck) -> str:
    text = result.text
    inserts: list[tuple[int, str]] = [(j.end, _math_mark_tex(j)) for j in result.judged]
    for j in _slips(result):
        note = "\n\\marginpar{\\footnotesize\\raggedright " + note_text(graph, j, "tex") + "}"
        eqs = [b for b in _working(graph, j) if isinstance(b, Equation)]
        if eqs:
            note += "\n\\noindent\\textit{The correct working at this step:}\n" + "\n".join(
                _equation_tex(e) for e in eqs
            )
        inserts.append((_note_at_tex(text, j.statement.stop), note + "\n"))
    marked = _insert(text, inserts)
    if "\\documentclass" in marked and "amssymb" not in marked:
        k = marked.find("\\documentclass")
        end = _after_line(marked, k)
        marked = marked[:end] + "\n\\usepackage{amssymb}" + marked[end:]
    return marked


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
td { vertical-align: top; padding: 2px 8px; }
td.n { color: #888; text-align: right; font-size: 90%; }
td.t { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
td.m { width: 34%; font-size: 90%; }
.ok { color: #1a7f37; font-weight: bold; }
.bad { color: #c62828; font-weight: bold; }
.note { background: #fff4e5; border-left: 3px solid #c62828; padding: 4px 8px; margin: 2px 0; }
"""


def marked_html(graph: Graph, result: SolutionCheck, source_name: str = "") -> str:
    text = result.text
    by_line: dict[int, list[Judged]] = defaultdict(list)
    line_starts = [0]
    for k, ch in enumerate(text):
        if ch == "\n":
            line_starts.append(k + 1)
    for j in result.judged:
        by_line[_line_of(line_starts, j.end)].append(j)
    notes: dict[int, list[str]] = defaultdict(list)
    for j in _slips(result):
        parts = [note_text(graph, j, "html")]
        for b in _working(graph, j):
            if isinstance(b, Equation):
                rels = list(b.relations)
                eq = b.parts[0].text + "".join(f" {r} {p.text}" for r, p in zip(rels, b.parts[1:]))
                parts.append("The correct working at this step: " + html.escape(eq))
        notes[j.line].append("<div class='note'>" + "<br>".join(parts) + "</div>")
    rows = []
    lines = text.split("\n")
    for n, line in enumerate(lines, start=1):
        start = line_starts[n - 1]
        pieces = []
        last = 0
        for j in sorted(by_line.get(n, []), key=lambda j: j.end):
            cut = j.end - start
            pieces.append(html.escape(line[last:cut]))
            cls = "ok" if j.verdict.verdict in (RIGHT, ROUNDING) else "bad"
            pieces.append(f" <span class='{cls}'>{html.escape(mark_text(j))}</span>")
            last = cut
        pieces.append(html.escape(line[last:]))
        rows.append(
            f"<tr><td class='n'>{n}</td><td class='t'>{''.join(pieces)}</td>"
            f"<td class='m'>{''.join(notes.get(n, []))}</td></tr>"
        )
    title = html.escape(f"Marked: {source_name}" if source_name else "Marked solution")
    summary = html.escape(_summary(result))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{title}</h1>\n<p>{summary}</p>\n<table>\n" + "\n".join(rows) + "\n</table>\n"
        "</body></html>\n"
    )


def _line_of(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset - 1 if offset > 0 else 0)


def _summary(result: SolutionCheck) -> str:
    right = sum(j.verdict.verdict in (RIGHT, ROUNDING) for j in result.judged)
    wrong = sum(j.verdict.verdict == WRONG for j in result.judged)
    slips = len(_slips(result))
    few = sum(j.verdict.verdict == TOO_FEW for j in result.judged)
    return (
        f"{right} right, "
        + (f"{few} with too few digits, " if few else "")
        + f"{wrong} wrong ({slips} first slip{'s' if slips != 1 else ''})."
    )


__all__ = ["mark_text", "marked_copy", "marked_html", "marked_latex", "marked_markdown"]

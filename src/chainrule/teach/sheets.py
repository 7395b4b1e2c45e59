"""What a class receives on paper: one worksheet per variant, and the teacher's answer key.

Both are ``explain`` documents (headings, equations, tables), so the Markdown and LaTeX writers
escape every label for their format; nothing here writes markup by hand."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from ..check.judge import true_value
from ..check.names import Resolver, canon
from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.node import Node
from ..core.values import to_float
from ..explain import latex as latex_writer
from ..explain import markdown as markdown_writer
from ..explain.document import Document, Equation, Figure, Heading, Inline, Paragraph, Table
from ..explain.formulas import Math, exact_num, formula, label, num
from ..lang.language import parse
from .template import Template
from .variants import Variant


def submit_note(names: list[str]) -> list[Inline]:
    """How to hand answers in, with only the spellings these quantities need (a hat, a
    subscript, ∂): a sheet without a hat does not explain hats."""
    how: list[Inline] = []
    if any("\u0302" in unicodedata.normalize("NFD", n) for n in names):
        how.append("a hat is written hat, as in yhat")
    if any(ch in _SUBSCRIPT_DIGITS for n in names for ch in n):
        how.append("a subscript as a plain digit")
    pieces: list[Inline] = [
        "Hand in one line per answer, as student,variant,quantity,value, with the quantity "
        "written as in the second column"
    ]
    if how or any("∂" in n for n in names):
        pieces.append(" (" + "; ".join(str(h) for h in how))
        if any("∂" in n for n in names):
            pieces += ["; " if how else "", Math("∂", r"\partial"), " as d"]
        pieces.append(")")
    pieces.append(". Decimal commas are fine.")
    return pieces


_SUBSCRIPT_DIGITS = set("₀₁₂₃₄₅₆₇₈₉")


def ascii_name(name: str) -> str:
    """The quantity's name in plain ASCII where it has one: dL/db₀ → dL/db0, ŷ → yhat."""
    plain = canon(name.replace("∂", "d"))
    return unicodedata.normalize("NFC", plain)


def _given(graph: Graph, digits: int) -> list[Equation]:
    out = []
    for node in graph.nodes:
        if node.args or not node.name:
            continue
        shown = exact_num(node.value) or num(node.value, digits)
        out.append(Equation([label(node, graph.naming), shown], ["="]))
    return out


def _shown_graph(template: Template, variant: Variant) -> Graph:
    """The graph whose inputs the sheet shows: in exact numbers for an exact template, so
    numbers drawn as 7/5 are shown as 7/5 (answers stay in floats, as eval gives them)."""
    if not template.exact:
        return variant.graph
    return parse(variant.program, exact=True)


def _generated(graph: Graph, node: Node) -> bool:
    """A node the formulas refer to by a generated name (a₁: an unnamed value used twice):
    the sheet defines it, so no name appears that the student was not given."""
    if node.name or not node.args or not graph.naming.is_atom(node):
        return False
    return bool(re.fullmatch(r"[a-z][₀₁₂₃₄₅₆₇₈₉]+", graph.label(node)))


def _computation(graph: Graph) -> list[Equation]:
    out = []
    for node in graph.nodes:
        if not node.args or not (node.name or _generated(graph, node)):
            continue
        f = formula(node, graph.naming)
        if f is not None:
            out.append(Equation([label(node, graph.naming), f], ["="]))
    return out


def _counting_note(graph: Graph) -> str:
    """One counting convention on the sheet: elements count from 1 (p₁ is the first), and the
    program's brackets (and the graph's labels) from 0, as in Python; say so where both show."""
    for node in graph.nodes:
        if node.op.name == "index" and node.args:
            base = graph.label(node.args[0])
            raw = (node.params or {}).get("index")
            if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
                return (
                    f"Elements count from 1 here: {base}₁ is the first element of {base}. The "
                    f"program and the graph count from 0, as Python does: {base}[{raw}] is "
                    f"{base}{str(raw + 1).translate(_SUB)}."
                )
    return ""


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

BLANK_MD = " "
BLANK_TEX = Math(" ", r"\rule{0pt}{1.4em}\hspace{5cm}")  # room to write by hand on paper


def worksheet(
    template: Template, variant: Variant, blank: Inline = BLANK_MD, graph: str | None = None
) -> Document:
    """The sheet a student fills in: the numbers, the computation, and a table of blanks;
    ``graph`` is the file of the forward graph without numbers, when the template asks."""
    title = f"{template.title or 'Exercise'} (variant {variant.id})"
    blocks: list = []
    if template.instructions:
        blocks.append(Paragraph([template.instructions]))
    blocks.append(Heading("Given"))
    blocks.extend(_given(_shown_graph(template, variant), template.digits))
    blocks.append(Heading("The computation"))
    blocks.extend(_computation(variant.graph))
    note = _counting_note(variant.graph)
    if note:
        blocks.append(Paragraph([note]))
    if graph is not None:
        blocks.append(Figure(graph, "The graph: write the value of every node on it."))
    blocks.append(Heading("Your answers"))
    rows: list[list[Inline]] = [[a.math, ascii_name(a.name), blank] for a in variant.asked]
    blocks.append(Table(["Quantity", "Write it as", "Your answer"], rows))
    blocks.append(Paragraph(submit_note([a.name for a in variant.asked])))
    blocks.append(Paragraph([f"How answers are marked: {template.rule.describe()}"]))
    blocks.append(Paragraph([f"Variant {variant.id}, seed {variant.seed}."]))
    return Document(title, blocks)


def worksheet_texts(template: Template, variant: Variant, graph: bool = False) -> tuple[str, str]:
    """The worksheet in Markdown (the graph as SVG) and LaTeX (as PNG, which pdflatex reads)."""
    md = markdown_writer.write(worksheet(template, variant, graph="graph.svg" if graph else None))
    tex_doc = worksheet(template, variant, BLANK_TEX, "graph.png" if graph else None)
    return md, latex_writer.write(tex_doc)


def key_values(template: Template, variant: Variant) -> dict[str, float]:
    """The answers as the key shows them: for an exact template, the exact values (to the
    nearest float), so w·x + b that is exactly 0 is shown as 0, not −5.5511e-17."""
    values = dict(variant.answers)
    if not template.exact:
        return values
    try:
        with np.errstate(all="ignore"):
            graph = parse(variant.program, exact=True)
            graph.backward()
        resolver = Resolver(graph)
        for name in values:
            value = true_value(resolver.quantity(name))
            values[name] = float(np.asarray(to_float(value), dtype=float).reshape(-1)[0])
    except (ChainruleError, ArithmeticError, ValueError, TypeError):
        return dict(variant.answers)
    return values


def key_document(template: Template, variants: list[Variant]) -> Document:
    """The answer key: one table per variant, every number to the template's digits."""
    blocks: list = [
        Paragraph(
            [
                f"{len(variants)} variants. Answers to {template.digits} significant digits; "
                "the manifest (manifest.json) holds them in full. "
                f"How answers are marked: {template.rule.describe()}"
            ]
        )
    ]
    for v in variants:
        blocks.append(Heading(f"Variant {v.id} (seed {v.seed})", level=3))
        shown = key_values(template, v)
        rows: list[list[Inline]] = [
            [a.math, ascii_name(a.name), num(shown[a.name], template.digits)] for a in v.asked
        ]
        blocks.append(Table(["Quantity", "Written", "Answer"], rows))
    title = f"Answer key: {template.title}" if template.title else "Answer key"
    return Document(title, blocks)


def key_rows(template: Template, variants: list[Variant]) -> list[list[str]]:
    """The answer key as CSV rows: variant, seed, then one column per quantity (blank where a
    variant does not ask it: structures drawn from a pool ask different things)."""
    columns: list[str] = []
    for v in variants:
        for a in v.asked:
            if a.name not in columns:
                columns.append(a.name)
    rows = [["variant", "seed", *columns]]
    for v in variants:
        answers = key_values(template, v)
        cells = [
            num(answers[c], template.digits).text.replace("\u2212", "-") if c in answers else ""
            for c in columns
        ]
        rows.append([v.id, str(v.seed), *cells])
    return rows


__all__ = ["Math", "ascii_name", "key_document", "key_rows", "worksheet", "worksheet_texts"]

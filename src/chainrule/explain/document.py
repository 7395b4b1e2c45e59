"""A Derivation told as a document: headings, paragraphs, chains of equalities, tables, figures.

The words are chosen here once; each writer (Markdown, LaTeX, text) only lays these blocks out in
its own format and escapes what it prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..core import anomaly
from ..core.node import Node
from ..lang import symbols
from ..lang.naming import new_definition, stated
from ..lang.notation import rounding_noise
from . import formulas as f
from .formulas import Math
from .model import ROLE_CONSTANT, ROLE_INPUT, BackwardStep, Derivation, ForwardStep, Term

Inline = str | Math


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    pieces: list[Inline]


@dataclass
class Equation:
    """A chain a = b = c ≈ d: ``parts`` joined by ``relations`` ('=' or '≈')."""

    parts: list[Math]
    relations: list[str]


def in_style(eq: Equation, style: str) -> Equation:
    """``eq`` as one style writes it, without a part that repeats the one before it there: a
    long closed form refers to its inputs by their labels, and in LaTeX (longer, so it does
    so sooner) it can read exactly like the definition, h'' = tanh(a₁) = tanh(a₁)."""
    parts, relations = [eq.parts[0]], []
    for rel, part in zip(eq.relations, eq.parts[1:], strict=True):
        if rel == "=" and getattr(part, style) == getattr(parts[-1], style):
            continue
        parts.append(part)
        relations.append(rel)
    return Equation(parts, relations)


@dataclass
class Table:
    header: list[str]
    rows: list[list[Inline]]


@dataclass
class Figure:
    path: str
    caption: str


Block = Heading | Paragraph | Equation | Table | Figure


@dataclass
class Document:
    title: str | None
    blocks: list[Block] = field(default_factory=list)


def _close(value: Any, shown: Math) -> bool:
    """True when the decimal shown is the value itself (so '=' rather than '≈')."""
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        parts = _split(shown)
        return len(parts) == len(flat) and all(
            _close(v, s) for v, s in zip(flat, parts, strict=True)
        )
    written = shown.text.replace(f.MINUS, "-")
    if type(value) is float or type(value) is np.float64:
        # a decimal read as a float is the Fraction read as a float (both correctly rounded)
        try:
            return abs(value - float(written)) <= 1e-12 * max(1.0, abs(value))
        except ValueError:
            pass  # not a plain decimal: as below
    try:
        exact = Fraction(written)
    except (ValueError, ZeroDivisionError):
        return False
    try:
        if isinstance(value, Fraction):
            return value == exact
        v = float(value)
        return abs(v - float(exact)) <= 1e-12 * max(1.0, abs(v))
    except (TypeError, ValueError, OverflowError):  # e^900 exactly has no float
        return False


def _split(m: Math) -> list[Math]:
    """The elements of a written array, nested or not, in reading order."""
    inner = m.text.replace("[", "").replace("]", "")
    return [Math(p.strip(), p.strip()) for p in inner.split(",") if p.strip()]


def _chain(parts: list[Math], final: Any, digits: int) -> Equation:
    """parts[0] = parts[1] = … then the decimal value (≈ when it is rounded); repeats dropped."""
    kept: list[Math] = []
    for p in parts:
        if not kept or p.text != kept[-1].text:
            kept.append(p)
    dec = f.num(final, digits)
    relations = ["="] * (len(kept) - 1)
    if dec.text != kept[-1].text:
        kept.append(dec)
        relations.append("=" if _close(final, dec) else "≈")
    return Equation(kept, relations)


def _forward(step: ForwardStep, digits: int) -> Equation:
    parts = [step.label]
    if step.role in (ROLE_INPUT, ROLE_CONSTANT):
        if step.exact is not None:
            parts.append(step.exact)
        return _chain(parts, step.value, digits)
    if step.formula is not None:
        parts.append(step.formula)
    if step.substituted is not None:
        parts.append(step.substituted)
    if step.exact is not None:
        parts.append(step.exact)
    return _chain(parts, step.value, digits)


def _times(a: Any, b: Any) -> str:
    both_arrays = isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
    return "⊙" if both_arrays and np.ndim(a) > 0 and np.ndim(b) > 0 else "·"


def _product(term: Term, digits: int) -> Math:
    up = f.factor(term.upstream, digits)
    loc = f.factor(term.local.value, digits)
    op = _times(term.upstream, term.local.value)
    latex_op = r"\odot" if op == "⊙" else r"\cdot"
    m = Math(f"{up.text} {op} {loc.text}", f"{up.latex} {latex_op} {loc.latex}")
    if summed(term):
        m = Math(f"Σ({m.text})", rf"\sum\left({m.latex}\right)")
    return m


def summed(term: Term) -> bool:
    """Whether the edge's product was summed down to its input's shape (a broadcast input)."""
    up, loc, c = term.upstream, term.local.value, term.contribution
    if type(up) is float and type(loc) is float and type(c) is float:  # numbers: no axes
        return False
    return np.shape(np.asarray(up) * np.asarray(loc)) != np.shape(c)


def _symbolic(term: Term) -> Math:
    if term.local.value is None and term.vjp is not None:
        return term.vjp[0]
    op = _times(term.upstream, term.local.value)
    latex_op = r"\odot" if op == "⊙" else r"\cdot"
    return Math(
        f"{term.upstream_label.text} {op} {term.local.label.text}",
        f"{term.upstream_label.latex} {latex_op} {term.local.label.latex}",
    )


def _numeric(term: Term, digits: int) -> Math:
    if term.local.value is not None:
        return _product(term, digits)
    if term.vjp is not None:
        return term.vjp[1]
    return f.num(term.contribution, digits)


def _join(pieces: list[Math], sep: str = " + ") -> Math:
    return Math(sep.join(p.text for p in pieces), sep.join(p.latex for p in pieces))


def _uses(step: BackwardStep, d: Derivation) -> list[Inline]:
    """x · x (twice) and f: the operations a node feeds, each once, with how many edges."""
    counts: dict[int, tuple[Math, int]] = {}
    for t in step.terms:
        m, n = counts.get(id(t.consumer), (d.label(t.consumer), 0))
        counts[id(t.consumer)] = (m, n + 1)
    pieces: list[Inline] = []
    items = list(counts.values())
    for k, (m, n) in enumerate(items):
        if k:
            pieces.append(", " if k < len(items) - 1 else " and ")
        pieces.append(m)
        if n > 1:
            pieces.append(" (twice: both of its inputs)" if n == 2 else f" ({n} of its inputs)")
    return pieces


def _prose(top: Math) -> Math:
    """Σy rather than (Σy) in a sentence."""
    text = top.text[1:-1] if top.text.startswith("(") and top.text.endswith(")") else top.text
    return Math(text, top.latex)


def _seed(step: BackwardStep, d: Derivation) -> list[Block]:
    out = d.label(d.output)
    if not symbols.is_vector(step.value):
        return [
            Paragraph(["The seed: the output's gradient with respect to itself."]),
            Equation([step.label, Math("1", "1")], ["="]),
        ]
    ones = f.num(step.value, d.digits)
    return [
        Paragraph(
            [
                "The seed: ",
                out,
                " is a vector, so backpropagation starts from ones, the gradient of ",
                _prose(f.top_of(d.output, d.graph.naming)),
                ", the sum of its elements; every total below is a derivative of that sum.",
            ]
        ),
        Equation([step.label, ones], ["="]),
    ]


def _backward(step: BackwardStep, d: Derivation) -> list[Block]:
    digits = d.digits
    if step.seed:
        return _seed(step, d)
    blocks: list[Block] = []
    if len(step.terms) == 1 and step.terms[0].consumer is d.output:
        # the output's own partial: the chain rule would only multiply it by the seed 1
        loc = step.terms[0].local
        if loc.value is not None:
            parts = [step.label] + ([loc.formula] if loc.formula is not None else [])
            return [_chain(parts, step.value, digits)]
    for term in step.terms:
        loc = term.local
        if loc.value is not None:
            parts = [loc.label] + ([loc.formula] if loc.formula is not None else [])
            blocks.append(_chain(parts, loc.value, digits))
    symbolic = [_symbolic(t) for t in step.terms]
    numeric = [_numeric(t, digits) for t in step.terms]
    if step.fan_out:
        blocks.insert(
            0,
            Paragraph(
                [
                    d.label(step.node),
                    f" reaches the output along {len(step.terms)} edges, into ",
                    *_uses(step, d),
                    ": its total is the sum of the chain-rule products along every edge.",
                ]
            ),
        )
    if not step.terms:
        return [Equation([step.label, f.num(step.value, digits)], ["="])]
    parts = [step.label, _join(symbolic), _join(numeric)]
    if step.fan_out:
        values = [t.contribution for t in step.terms]
        carried = [  # a term zero up to rounding next to the others reads ≈0, not −5.5511e-17
            Math("≈0", r"\approx 0") if noise is True else f.num(v, digits)
            for v, noise in zip(values, rounding_noise(values), strict=True)
        ]
        parts.append(Math(_plus(carried, "text"), _plus(carried, "latex")))
    blocks.append(_chain(parts, step.value, digits))
    return blocks


def _plus(terms: list[Math], style: str) -> str:
    """3 + 3 + 1, with a negative term written as a subtraction (3 − 2)."""
    out = ""
    for k, t in enumerate(terms):
        s = t.text if style == "text" else t.latex
        negative = s.startswith((f.MINUS, "-"))
        if k == 0:
            out = s
        elif negative:
            out += (" − " if style == "text" else " - ") + s[1:]
        else:
            out += " + " + s
    return out


def _method(d: Derivation) -> list[Block]:
    out = d.output_label
    top = f.top_of(d.output, d.graph.naming)
    if symbols.is_vector(d.output.value):
        seed: list[Inline] = [
            "a seed of ones: ",
            out,
            " is a vector, so what is differentiated is ",
            _prose(top),
            ", the sum of its elements (as PyTorch does when given ones as the gradient)",
        ]
    else:
        seed = [
            "the seed ",
            Math(
                symbols.total_text(top.text, top.text) + " = 1",
                symbols.total_latex(top.latex, top.latex) + " = 1",
            ),
        ]
    pieces: list[Inline] = [
        "Backpropagation visits the nodes in reverse topological order, from ",
        out,
        " back to the inputs, so that every total is complete before it is passed on. It "
        "starts from ",
        *seed,
        ". Each edge from a node u into an operation v has a local partial derivative ",
        Math("∂v/∂u", r"\frac{\partial v}{\partial u}"),
        ", which depends only on v's operation and the values of the forward pass. By the chain "
        "rule the edge passes back the product ",
        Math(
            f"{symbols.total_text(top.text, 'v')} · ∂v/∂u",
            rf"{symbols.total_latex(top.latex, 'v')} \cdot \frac{{\partial v}}{{\partial u}}",
        ),
        ". Notation: d marks a total (the gradient of the output, summed over every path), "
        "∂ a local partial (one operation, one edge).",
    ]
    fans = d.fan_outs
    if fans:
        pieces.append(
            " Where a node is used more than once (fan-out) its total is the sum "
            "of the products coming back along each edge; here "
        )
        for k, s in enumerate(fans):
            if k:
                pieces.append("; " if k < len(fans) - 1 else " and ")
            pieces.append(d.label(s.node))
            pieces.append(" feeds ")
            pieces.extend(_uses(s, d))
        pieces.append(".")
    else:
        pieces.append(" No node here is used more than once, so each total is a single product.")
    if any(t.vjp is not None for s in d.backward for t in s.terms):
        pieces.append(
            " Operations that mix the elements of vectors pass back the whole product "
            "at once (a vector–Jacobian product), written with the rule of the "
            "operation."
        )
    return [Paragraph(pieces)]


def _gradients(d: Derivation) -> Table:
    rows: list[list[Inline]] = [[g.label, f.num(g.value, d.digits)] for g in d.gradients]
    return Table(["Gradient", "Value"], rows)


def build(
    d: Derivation, *, title: str | None = None, drawings: dict[str, str] | None = None
) -> Document:
    """The document of a derivation; ``drawings`` maps 'forward', 'gradients' and 'backward'
    to image paths."""
    doc = Document(title)
    drawings = drawings or {}
    blocks = doc.blocks
    blocks.append(Heading("Forward pass"))
    blocks.append(
        Paragraph(
            [
                "Each node in topological order (every input before the operations that use it): "
                "its definition, the numbers put in, the result."
            ]
        )
    )
    if "forward" in drawings:
        blocks.append(Figure(drawings["forward"], "The graph with the value of every node."))
    for fstep in d.forward:
        blocks.append(_forward(fstep, d.digits))
    blocks.append(Heading("How backpropagation computes the gradient"))
    blocks.extend(_method(d))
    blocks.append(Heading("Backward pass"))
    blocks.append(
        Paragraph(
            ["Each node in reverse order: the local partial on each edge, then the chain rule."]
        )
    )
    if "gradients" in drawings:
        blocks.append(
            Figure(drawings["gradients"], "The graph with the gradient of every node and edge.")
        )
    if "backward" in drawings:
        blocks.append(
            Figure(
                drawings["backward"],
                "The gradient graph: the operations that compute each gradient from the ones "
                "above it.",
            )
        )
    for step in d.backward:
        blocks.extend(_backward(step, d))
    blocks.append(Heading("Gradient with respect to every input"))
    blocks.append(_gradients(d))
    notes = _watch(d)
    if notes:
        blocks.append(Heading("Points to watch"))
        blocks.extend(notes)
    return doc


def _watch(d: Derivation) -> list[Block]:
    """Non-finite numbers traced to where they began, kinks with the convention used, and the
    nodes PyTorch computed (opaque)."""
    order = d.graph.nodes
    names = d.graph.naming
    out: list[Block] = []
    for a in anomaly.find(order, d.graph.source):
        text = a.describe(names.label(a.node), new_definition(a.node, names))
        out.append(Paragraph([text + "."]))
    for node in order:
        if node.op.name == "torch_opaque":
            out.append(
                Paragraph(
                    [
                        f"{stated(node, names)} is opaque: "
                        "PyTorch computed its value and the products passed back on its edges "
                        "(torch.autograd's vector–Jacobian product); chainrule has no formula "
                        "for it."
                    ]
                )
            )
    for node, convention in anomaly.kinks(order):
        out.append(
            Paragraph(
                [
                    f"{stated(node, names)} is evaluated exactly at a kink, a point where "
                    f"{node.op.name} has no derivative; chainrule uses {convention}."
                ]
            )
        )
    return out


def working(d: Derivation, node: Node, what: str, top: Node | None = None) -> list[Block]:
    """The lines of the worked solution that compute one quantity of ``d.graph``: the forward
    step of a value (``what="value"``), the backward step of a total (``"gradient"``), or the
    local partial ∂top/∂node of one edge (``"partial"``). Feedback shows them at a slip."""
    if what == "value":
        return [_forward(s, d.digits) for s in d.forward if s.node is node]
    if what == "gradient":
        step = d.step(node)
        return _backward(step, d) if step is not None else []
    step = d.step(node)
    for term in step.terms if step is not None else []:
        loc = term.local
        if term.consumer is top and loc.value is not None:
            parts = [loc.label] + ([loc.formula] if loc.formula is not None else [])
            return [_chain(parts, loc.value, d.digits)]
    return []

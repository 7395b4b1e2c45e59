"""A student's feedback page: every verdict, then the correct working at the first slip.

Built as an ``explain`` document, so the student's name and anything they wrote are escaped by
the Markdown writer like every other label."""

from __future__ import annotations

from ..check.kinds import KIND_SENTENCES
from ..explain import markdown as markdown_writer
from ..explain.document import Block, Document, Heading, Inline, Paragraph, Table, working
from ..explain.formulas import Math, num
from .grading import Graded, KeyVariant, Mark
from .scoring import EARLY, FIRST_SLIP, FOLLOWS, FOLLOWS_OTHER, MISSING, TOO_FEW, Scoring

_SAY = {
    FIRST_SLIP: "first slip",
    FOLLOWS: "follows from an earlier slip",
}


def points_text(x: float) -> str:
    return f"{x:g}"


def _working(variant: KeyVariant, digits: int, mark: Mark) -> list[Block]:
    """The worked solution's lines for the slipped quantity (on the derivation's own copy of
    the graph: nodes are matched by their place on the tape). The derivation is the
    variant's, made once for all its students."""
    q = mark.q
    if q is None:
        return []
    graph = variant.graph()
    d = variant.derivation(digits)
    mirror = d.graph.nodes
    node = mirror[graph.index(q.node)]
    top = mirror[graph.index(q.top)] if q.top is not None else None
    return working(d, node, q.claim_type, top)


def _verdict_cell(m: Mark) -> str:
    text = m.verdict
    if m.verdict == FOLLOWS and m.follows:
        text += " (" + ", ".join(m.follows) + ")"
    if m.detail and m.verdict not in (MISSING,):
        text += f": {m.detail}"
    return text


def feedback_document(
    g: Graded, variant: KeyVariant | None, scoring: Scoring, digits: int, title: str | None
) -> Document:
    head = f"Feedback for {g.student}"
    blocks: list[Block] = []
    who = ", ".join(x for x in (f"ID {g.id}" if g.id else "", g.email) if x)
    if who:
        blocks.append(Paragraph([who + "."]))
    if variant is None or not g.graded:
        blocks.append(Paragraph([f"Your answers could not be graded: {g.why_not}."]))
        blocks.extend(Paragraph([n]) for n in g.notes)
        blocks.extend(Paragraph([p]) for p in g.problems if p != g.why_not)
        blocks.append(Paragraph([f"The rule: {g.rule.describe()}"]))
        return Document(head, blocks)
    blocks.append(
        Paragraph(
            [
                f"{title or 'Exercise'}, variant {g.variant}. Score: "
                f"{points_text(g.score)} of {points_text(g.max_score)}."
            ]
        )
    )
    rows: list[list[Inline]] = []
    for m in g.marks:
        rows.append(
            [
                m.math,
                m.claimed if m.claimed is not None else "—",
                num(m.true, digits),
                _verdict_cell(m),
                f"{points_text(m.points)}/{points_text(m.max_points)}",
            ]
        )
    blocks.append(Table(["Quantity", "You wrote", "Correct", "Verdict", "Points"], rows))
    blocks.append(Paragraph([f"The rule: {g.rule.describe()}"]))
    for note in g.notes:
        blocks.append(Paragraph([f"Note: {note}."]))
    few = [m for m in g.marks if m.verdict == TOO_FEW]
    if few:
        pieces_: list[Inline] = ["Too few digits: "]
        for k, m in enumerate(few):
            pieces_ += [", " if k else "", m.math]
        share_ = scoring.credit[TOO_FEW]
        pieces_.append(
            f" are the right values rounded to fewer digits than the rule asks; they earn "
            f"{share_:.0%} of their points."
        )
        blocks.append(Paragraph(pieces_))
    slip = g.first_slip
    if slip is not None:
        blocks.append(Heading("Where it went wrong"))
        said: list[Inline] = [
            "Your first slip is ",
            slip.math,
            f": you wrote {slip.claimed}; the correct value is ",
            num(slip.true, digits),
        ]
        if slip.recomputed is not None:
            own = num(slip.recomputed, digits)
            said += [", and from your own earlier numbers it would be ", own]
        if slip.kind:
            said.append(f". It looks as if you {KIND_SENTENCES.get(slip.kind, slip.kind)}")
        said.append(". The correct working at this step:")
        blocks.append(Paragraph(said))
        blocks.extend(_working(variant, digits, slip))
        after = [m for m in g.marks if m.verdict == FOLLOWS]
        if after:
            share = scoring.credit[FOLLOWS_OTHER if g.other_variant else FOLLOWS]
            pieces: list[Inline] = ["These answers follow correctly from an earlier slip: "]
            for k, m in enumerate(after):
                pieces += [", " if k else "", m.math]
            pieces.append(
                f". Error carried forward: they earn {share:.0%} of their points, so only the "
                "slip itself costs you."
                if share
                else ". They carry the slip forward and earn no points this time."
            )
            blocks.append(Paragraph(pieces))
    early = [m for m in g.marks if m.verdict == EARLY]
    if early:
        pieces = ["Rounded too early: "]
        for k, m in enumerate(early):
            pieces += [", " if k else "", m.math]
        pieces.append(" follow from numbers you rounded along the way; keep more digits.")
        blocks.append(Paragraph(pieces))
    if g.problems:
        blocks.append(Heading("Lines that could not be graded"))
        blocks.extend(Paragraph([p]) for p in g.problems)
    return Document(head, blocks)


def feedback_markdown(
    g: Graded, variant: KeyVariant | None, scoring: Scoring, digits: int, title: str | None
) -> str:
    return markdown_writer.write(feedback_document(g, variant, scoring, digits, title))


__all__ = ["Math", "feedback_document", "feedback_markdown", "points_text"]

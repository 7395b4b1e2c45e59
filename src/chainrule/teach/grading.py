"""Grading one student's answers against their variant, with ``check``'s judge.

The judge says which wrong number is a first slip and which follows from an earlier one (it
re-runs the graph on the student's own numbers); this module maps its verdicts onto the answer
key, scores them, and finds the correct working to show at the first slip."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..check.claims import Claim, parse_claim
from ..check.judge import CARRIED_ROUNDING, Verdict, judge
from ..check.judge import FIRST_SLIP as JUDGE_FIRST_SLIP
from ..check.judge import FOLLOWS as JUDGE_FOLLOWS
from ..check.judge import RIGHT as JUDGE_RIGHT
from ..check.judge import ROUNDING as JUDGE_ROUNDING
from ..check.names import GRADIENT, PARTIAL, Quantity, Resolver
from ..core.errors import ChainruleError, ValueInputError
from ..core.graph import Graph
from ..core.values import decimal_text
from ..explain.formulas import (
    Math,
    derivative,
    element_derivative,
    element_label,
    element_partial,
    label,
    partial_label,
)
from ..io.files import load_json, read_text
from ..lang.notation import naming_of
from .scoring import EARLY, FIRST_SLIP, FOLLOWS, MISSING, RIGHT, ROUNDING, WRONG, Scoring
from .submissions import Submission

MANIFEST = "manifest.json"


@dataclass
class KeyVariant:
    id: str
    seed: int
    program: str
    answers: dict[str, float]
    exact: bool
    _graph: Graph | None = None

    def graph(self) -> Graph:
        if self._graph is None:
            from ..lang.language import parse

            try:
                with np.errstate(all="ignore"):
                    g = parse(self.program)  # floats, as the answers were computed
                    g.backward()
            except ChainruleError as exc:
                where = f"{MANIFEST}: variant {self.id}"
                raise ValueInputError(f"{where}: its program: {exc}") from None
            self._graph = g
        return self._graph


@dataclass
class ClassKey:
    """What ``generate`` wrote, as grading needs it."""

    title: str | None
    digits: int
    variants: dict[str, KeyVariant]


def load_class(directory: str | Path) -> ClassKey:
    """Read DIR/manifest.json, checking every field it relies on."""
    path = Path(directory) / MANIFEST
    where = str(path)
    if not Path(directory).is_dir():
        raise ValueInputError(f"{directory}: not a folder (give the folder generate wrote)")
    if not path.is_file():
        raise ValueInputError(f"{where}: not found; give the folder chainrule generate wrote")
    data = load_json(read_text(path, "manifest"), where)
    if not isinstance(data, dict) or not isinstance(data.get("variants"), list):
        raise ValueInputError(f'{where}: expected {{"variants": [...]}}')
    exact = data.get("exact", False) is True
    digits = data.get("digits", 5)
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 17:
        digits = 5
    title = data.get("title") if isinstance(data.get("title"), str) else None
    variants: dict[str, KeyVariant] = {}
    for k, item in enumerate(data["variants"]):
        at = f"{where}: variants[{k}]"
        if not isinstance(item, dict):
            raise ValueInputError(f"{at}: expected an object")
        vid, seed, program, answers = (item.get(x) for x in ("id", "seed", "program", "answers"))
        if not isinstance(vid, str) or not vid or vid in variants:
            raise ValueInputError(f"{at}: id must be a text, different for every variant")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueInputError(f"{at}: seed must be a whole number")
        if not isinstance(program, str):
            raise ValueInputError(f"{at}: program must be the program text")
        if not isinstance(answers, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in answers.values()
        ):
            raise ValueInputError(f"{at}: answers must map quantity names to numbers")
        variants[vid] = KeyVariant(
            vid,
            seed,
            program,
            {str(q): _answer(v, f"{at}: answers[{q!r}]") for q, v in answers.items()},
            exact,
        )
    return ClassKey(title, digits, variants)


def _answer(v: float, where: str) -> float:
    """An answer of the key as a float: 10**400 or 1e999 is not a number generate wrote."""
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise ValueInputError(f"{where}: {decimal_text(v)} is beyond the range of a float")
    return f


@dataclass
class Mark:
    """The verdict on one quantity of the answer key."""

    quantity: str
    math: Math
    claimed: str | None
    true: float
    verdict: str
    points: float
    max_points: float
    detail: str = ""
    recomputed: float | None = None
    follows: list[str] = field(default_factory=list)
    q: Quantity | None = None


@dataclass
class Graded:
    student: str
    variant: str
    marks: list[Mark] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # claims outside the key, judged for tracing
    graded: bool = True

    @property
    def score(self) -> float:
        return sum(m.points for m in self.marks)

    @property
    def max_score(self) -> float:
        return sum(m.max_points for m in self.marks)

    @property
    def first_slip(self) -> Mark | None:
        return next((m for m in self.marks if m.verdict == FIRST_SLIP), None)


def quantity_math(q: Quantity, output: Any) -> Math:
    """A quantity in the notation of the worked solution: ŷ, x₁, dL/dw₁, ∂ŷ/∂z, with the
    labels of the output's graph."""
    names = naming_of(output)
    if q.claim_type == GRADIENT:
        if q.index is not None:
            return element_derivative(output, q.node, q.index, names)
        return derivative(output, q.node, names)
    if q.claim_type == PARTIAL:
        assert q.top is not None
        if q.index is not None:
            return element_partial(q.top, q.node, q.index, names)
        return partial_label(q.top, q.node, names)
    if q.index is not None:
        return element_label(q.node, q.index, names)
    return label(q.node, names)


def _verdict(v: Verdict) -> str:
    if v.verdict == JUDGE_RIGHT:
        return RIGHT
    if v.verdict == JUDGE_ROUNDING:
        return ROUNDING
    return {
        CARRIED_ROUNDING: EARLY,
        JUDGE_FOLLOWS: FOLLOWS,
        JUDGE_FIRST_SLIP: FIRST_SLIP,
    }.get(v.origin or "", WRONG)


def _judge(graph: Graph, claims: list[Claim]) -> tuple[dict[int, Verdict], dict]:
    """Verdicts by claim; a claim the judge cannot take (a vector where a number belongs) is
    left out with the reason, and the rest judged together."""
    bad: dict[int, str] = {}
    try:
        verdicts = judge(graph, claims)
    except ValueInputError:
        for c in claims:
            try:
                judge(graph, [c])
            except ValueInputError as exc:
                bad[id(c)] = exc.message
        verdicts = judge(graph, [c for c in claims if id(c) not in bad])
    return {id(v.claim): v for v in verdicts}, bad


def _cell(text: str, limit: int = 40) -> str:
    """What a student wrote, on one line and of a readable length, for tables and messages."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return float(arr[0]) if arr.size == 1 else None


def grade(key: ClassKey, sub: Submission, scoring: Scoring) -> Graded:
    """The marks of one submission; never raises for what a student wrote."""
    out = Graded(sub.student, sub.variant, problems=list(sub.problems))
    variant = key.variants.get(sub.variant)
    if variant is None:
        known = ", ".join(list(key.variants)[:5]) + (" …" if len(key.variants) > 5 else "")
        out.problems.append(f"variant {sub.variant!r} is not in the manifest (known: {known})")
        out.graded = False
        return out
    graph = variant.graph()
    resolver = Resolver(graph)
    key_q: dict[Any, str] = {}
    for name in variant.answers:
        try:
            key_q[resolver.quantity(name).key()] = name
        except ChainruleError as exc:
            raise ValueInputError(f"{MANIFEST}: variant {variant.id}: answers: {exc}") from None
    claims: dict[str, Claim] = {}  # by key name
    extra: list[Claim] = []
    unreadable: dict[str, tuple[str, str]] = {}
    for e in sub.entries:
        if not e.quantity:
            out.problems.append(f"{e.where}: no quantity named; skipped")
            continue
        try:
            q = resolver.quantity(e.quantity)
        except ChainruleError as exc:
            out.problems.append(f"{e.where}: {exc.message}; skipped")
            continue
        key_name = key_q.get(q.key())
        if key_name is not None and (key_name in claims or key_name in unreadable):
            out.problems.append(f"{e.where}: {key_name} answered again; the last answer is graded")
            claims.pop(key_name, None)
            unreadable.pop(key_name, None)
        try:
            if any(sep in e.quantity for sep in "=≈"):
                raise ValueInputError("the quantity's name holds = or ≈")
            if not e.value:
                raise ValueInputError("no value given")
            claim = parse_claim(f"{e.quantity} = {e.value}")
        except ValueInputError as exc:
            if key_name is not None:
                shown = _cell(e.value)
                unreadable[key_name] = (shown, f"cannot read {shown!r} as a number")
            else:
                out.problems.append(f"{e.where}: {exc.message}; skipped")
            continue
        if key_name is None:
            extra.append(claim)
        else:
            claims[key_name] = claim
    all_claims = list(claims.values()) + extra
    verdicts, bad = _judge(graph, all_claims) if all_claims else ({}, {})
    out.extra = [c.text for c in extra if id(c) in verdicts]
    by_claim_name = {id(c): n for n, c in claims.items()}
    for name, true in variant.answers.items():
        q = resolver.quantity(name)
        math_ = quantity_math(q, graph.output)
        best = scoring.points_for(name)
        given = claims.get(name)
        if name in unreadable:
            written, why = unreadable[name]
            mark = Mark(name, math_, written, true, WRONG, 0.0, best, why, q=q)
        elif given is None:
            mark = Mark(name, math_, None, true, MISSING, 0.0, best, "not answered", q=q)
        elif id(given) in bad:
            text = _cell(given.text.split("=", 1)[1].strip())
            mark = Mark(name, math_, text, true, WRONG, 0.0, best, bad[id(given)], q=q)
        else:
            v = verdicts[id(given)]
            verdict = _verdict(v)
            follows = [by_claim_name.get(id(w.claim), w.claim.name) for w in v.follows]
            written = ", ".join(n.text for n in given.numbers)
            mark = Mark(
                name,
                math_,
                f"[{written}]" if given.vector else written,
                true,
                verdict,
                0.0,
                best,
                recomputed=_float(v.recomputed),
                follows=follows,
                q=q,
            )
        mark.points = scoring.score(name, mark.verdict)
        if not math.isfinite(mark.points):
            mark.points = 0.0
        out.marks.append(mark)
    return out

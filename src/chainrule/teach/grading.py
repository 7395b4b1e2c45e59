"""Grading one student's answers against their variant, with ``check``'s judge.

The judge says which wrong number is a first slip and which follows from an earlier one (it
re-runs the graph on the student's own numbers); this module maps its verdicts onto the answer
key, scores them, and finds the correct working to show at the first slip."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..check.claims import Claim, Number, parse_claim, read_number
from ..check.inert import inert_text
from ..check.judge import CARRIED_ROUNDING, TRIVIAL, Prepared, Verdict, as_float, judge, true_value
from ..check.judge import FIRST_SLIP as JUDGE_FIRST_SLIP
from ..check.judge import FOLLOWS as JUDGE_FOLLOWS
from ..check.judge import RIGHT as JUDGE_RIGHT
from ..check.judge import ROUNDING as JUDGE_ROUNDING
from ..check.judge import TOO_FEW as JUDGE_TOO_FEW
from ..check.judge import _grade as judge_number
from ..check.kinds import ARITHMETIC, ZERO, mistake_kind
from ..check.names import GRADIENT, PARTIAL, Quantity, Resolver, canon
from ..check.rule import SLACK, Rule, rounded_text, rule_from_dict
from ..core.errors import ChainruleError, ValueInputError
from ..core.graph import Graph
from ..core.values import decimal_text, to_float
from ..explain.formulas import (
    Math,
    derivative,
    element_derivative,
    element_label,
    element_partial,
    label,
    partial_label,
)
from ..explain.model import Derivation, derive
from ..io.files import load_json, read_text
from ..lang.language import parse
from ..lang.notation import naming_of
from .scoring import (
    EARLY,
    FIRST_SLIP,
    FOLLOWS,
    FOLLOWS_OTHER,
    MISSING,
    RIGHT,
    ROUNDING,
    TOO_FEW,
    WRONG,
    Scoring,
)
from .submissions import Submission, clip_note, variant_number

MANIFEST = "manifest.json"


@dataclass
class KeyVariant:
    """One variant of the manifest. What grading derives from its program (the graph, the
    judge's prepared copy, the quantities of the key and their notation, the worked solution)
    is derived once and kept here: every student of the variant is graded against the same."""

    id: str
    seed: int
    program: str
    answers: dict[str, float]
    exact: bool
    _graph: Graph | None = None
    _truths: dict[str, float] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def graph(self) -> Graph:
        if self._graph is None:
            try:
                with np.errstate(all="ignore"):
                    # an exact template is judged in exact numbers: w·x + b that is exactly 0
                    # is 0, not the −5.6e-17 of floats (a student's 0 is then right)
                    g = parse(self.program, exact=self.exact)
                    g.backward()
            except ChainruleError as exc:
                where = f"{MANIFEST}: variant {self.id}"
                raise ValueInputError(f"{where}: its program: {exc}") from None
            self._graph = g
        return self._graph

    def truths(self) -> dict[str, float]:
        """The key's answers as grading sees them: the manifest's floats, or for an exact
        template the exact values (to the nearest float)."""
        if self._truths is None:
            out = dict(self.answers)
            if self.exact:
                resolver = self.resolver()
                for name in self.answers:
                    try:
                        value = true_value(resolver.quantity(name))
                        out[name] = float(np.asarray(to_float(value), dtype=float).reshape(-1)[0])
                    except (ChainruleError, ArithmeticError, ValueError, TypeError):
                        continue
            self._truths = out
        return self._truths

    def resolver(self) -> Resolver:
        if "resolver" not in self._cache:
            self._cache["resolver"] = Resolver(self.graph())
        resolver: Resolver = self._cache["resolver"]
        return resolver

    def prepared(self) -> Prepared:
        """The judge's copy of the graph with its true values, shared by every student."""
        if "prepared" not in self._cache:
            self._cache["prepared"] = Prepared(self.graph())
        prepared: Prepared = self._cache["prepared"]
        return prepared

    def quantity(self, name: str) -> Quantity:
        """The quantity a name stands for (raises ChainruleError as the resolver does; names
        that resolve are kept, so a class's hundred spellings are looked up once each)."""
        known: dict[str, Quantity] = self._cache.setdefault("quantities", {})
        q = known.get(name)
        if q is None:
            q = self.resolver().quantity(name)
            if len(known) < 10_000:
                known[name] = q
        return q

    def key_names(self) -> dict[Any, str]:
        """The key's names by quantity."""
        if "key_q" not in self._cache:
            self._cache["key_q"] = _key_names(self.resolver(), self)
        key_q: dict[Any, str] = self._cache["key_q"]
        return key_q

    def math(self, name: str) -> Math:
        """A key quantity in the worked solution's notation."""
        maths: dict[str, Math] = self._cache.setdefault("math", {})
        if name not in maths:
            maths[name] = quantity_math(self.quantity(name), self.graph().output)
        return maths[name]

    def derivation(self, digits: int) -> Derivation:
        """The worked solution (floats, ``digits`` significant digits) feedback quotes."""
        done: dict[int, Derivation] = self._cache.setdefault("derivations", {})
        if digits not in done:
            done[digits] = derive(self.graph(), digits, exact=False)
        return done[digits]


@dataclass
class ClassKey:
    """What ``generate`` wrote, as grading needs it."""

    title: str | None
    digits: int
    variants: dict[str, KeyVariant]
    rule: Rule = field(default_factory=Rule)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


# what a variant id may be: it is printed on terminals, in CSVs and in exports' names
VARIANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")


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
    _refuse_brackets_from_one(data, where)
    exact = data.get("exact", False) is True
    digits = data.get("digits", 5)
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 17:
        digits = 5
    title = data.get("title") if isinstance(data.get("title"), str) else None
    rule = rule_from_dict(data.get("rule", {}), f"{where}: rule")
    variants: dict[str, KeyVariant] = {}
    for k, item in enumerate(data["variants"]):
        at = f"{where}: variants[{k}]"
        if not isinstance(item, dict):
            raise ValueInputError(f"{at}: expected an object")
        vid, seed, program, answers = (item.get(x) for x in ("id", "seed", "program", "answers"))
        if not isinstance(vid, str) or not vid or vid in variants:
            raise ValueInputError(f"{at}: id must be a text, different for every variant")
        if not VARIANT_ID.fullmatch(vid):
            raise ValueInputError(
                f"{at}: id {inert_text(vid[:40])!r}{'…' if len(vid) > 40 else ''} is not a "
                "variant id (letters, digits, '_', '.' or '-', at most 40, such as v01)"
            )
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
    return ClassKey(title, digits, variants, rule)


_FROM_ONE = re.compile(r"\[\d+(?:,\d+)*\]")


def _refuse_brackets_from_one(data: dict[str, Any], where: str) -> None:
    """A class of the first format names elements in brackets counting from 1 (dL/dW[1,2]);
    brackets now count from 0, as programs do: grading it would judge the wrong elements."""
    if data.get("format", "chainrule.class/1") != "chainrule.class/1":
        return
    for item in data["variants"]:
        answers = item.get("answers") if isinstance(item, dict) else None
        named = [q for q in answers or {} if isinstance(q, str) and _FROM_ONE.search(q)]
        if named:
            raise ValueInputError(
                f"{where}: this class was generated by an earlier chainrule, which named "
                f"elements in brackets counting from 1 ({named[0]}); brackets now count from "
                "0, as in programs, and W1,2 or w1 count from 1. Generate the class again (the "
                "same template and seed give the same variants), and rename answers written "
                "for the earlier worksheets (W[1,2] is W1,2)"
            )


def _answer(v: float, where: str) -> float:
    """An answer of the key as a float: 10**400 or 1e999 is not a number generate wrote."""
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise ValueInputError(f"{where}: {decimal_text(v)} is beyond the range of a float")
    return f


@dataclass(slots=True)  # slots: every student holds one per quantity until the report
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
    kind: str | None = None  # for a first slip: the kind of mistake it most likely is


@dataclass(slots=True)
class Graded:
    student: str
    variant: str
    marks: list[Mark] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # claims outside the key, judged for tracing
    graded: bool = True
    id: str = ""
    email: str = ""
    why_not: str = ""  # when not graded: why
    notes: list[str] = field(default_factory=list)  # for the teacher: another variant's answers
    other_variant: str | None = None  # the variant whose key these answers match
    rule: Rule = field(default_factory=Rule)

    @property
    def status(self) -> str:
        return "graded" if self.graded else "not graded"

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
    if v.verdict == JUDGE_TOO_FEW:
        return TOO_FEW
    return {
        CARRIED_ROUNDING: EARLY,
        JUDGE_FOLLOWS: FOLLOWS,
        JUDGE_FIRST_SLIP: FIRST_SLIP,
    }.get(v.origin or "", WRONG)


def find_variant(key: ClassKey, written: str) -> str | None:
    """The manifest's id for what a student wrote: the id itself, or the same number."""
    if written in key.variants:
        return written
    folded = {vid.casefold(): vid for vid in key.variants}
    if written.strip().casefold() in folded:
        return folded[written.strip().casefold()]
    n = variant_number(written)
    if n is None:
        return None
    hits = [vid for vid in key.variants if variant_number(vid) == n]
    return hits[0] if len(hits) == 1 else None


def key_matches(variant: KeyVariant, numbers: dict[str, Number], rule: Rule) -> int:
    """How many of a student's numbers (by key name) are right for ``variant``'s key."""
    hits = 0
    for name, n in numbers.items():
        true = variant.truths().get(name)
        if true is None or not math.isfinite(true):
            continue
        if judge_number(n, true, rule) in (JUDGE_RIGHT, JUDGE_ROUNDING):
            hits += 1
    return hits


Windows = dict[str, list[tuple[str, float, float, float]]]


def _windows(key: ClassKey, rule: Rule) -> Windows:
    """For each key name, every variant's (id, low, high, true): a number whose float is
    outside [low, high] is neither right nor a rounding for that variant. The bounds are the
    floats of the exact window (3 tolerances each side, as ``judge_number`` allows a rounding),
    and float() keeps order (c < low when float(c) < float(low)), so the test never turns a
    match away; the exact verdict decides the rest. Made once per class and rule."""
    cache: dict[Rule, Windows] = key._cache.setdefault("windows", {})
    if rule in cache:
        return cache[rule]
    out: Windows = {}
    for vid, v in key.variants.items():
        for name, true in v.truths().items():
            if not math.isfinite(true):
                continue
            if rule.written:  # the window is the number's own digits: no bound to use
                low, high = -math.inf, math.inf
            else:
                t = Fraction(true)
                room = 3 * rule.tolerance(t) * (1 + SLACK)
                low, high = as_float(t - room), as_float(t + room)
            out.setdefault(name, []).append((vid, low, high, true))
    cache[rule] = out
    return out


def _match_sets(key: ClassKey, numbers: dict[str, Number], rule: Rule) -> dict[str, set[str]]:
    """For every variant, the names of the numbers that are right (or a rounding) for its key:
    each number is judged exactly only against the variants whose window holds it."""
    hits: dict[str, set[str]] = {vid: set() for vid in key.variants}
    windows = _windows(key, rule)
    for name, n in numbers.items():
        spots = windows.get(name)
        if not spots:
            continue
        c = as_float(n.value) if n.finite else None
        for vid, low, high, true in spots:
            if c is not None and not low <= c <= high:
                continue
            if judge_number(n, true, rule) in (JUDGE_RIGHT, JUDGE_ROUNDING):
                hits[vid].add(name)
    return hits


def _all_matches(key: ClassKey, numbers: dict[str, Number], rule: Rule) -> dict[str, int]:
    """``key_matches`` for every variant at once."""
    return {vid: len(names) for vid, names in _match_sets(key, numbers, rule).items()}


@dataclass(frozen=True)
class OtherMatch:
    """Another variant whose key a student's numbers match better than their own's. A number
    right for both keys (the two keys agree there: the same L, the same σ′) is in ``shared``
    and counts for neither."""

    variant: str
    theirs: frozenset[str]  # right for its key and not for the student's own
    mine: frozenset[str]  # right for the student's own key and not for its
    shared: frozenset[str]
    answered: int


def whose_answers(
    key: ClassKey, numbers: dict[str, Number], own: str | None, rule: Rule
) -> OtherMatch | None:
    """Another variant whose key these numbers match clearly better than their own, counting
    only the numbers that tell the two apart: at least two more of them match its key than the
    own one's, and they are at least half of the numbers the two keys do not share (a copied
    neighbour, a wrong id). A candidate only: ``_grade`` still asks whether the student's own
    working explains the answers (``_own_working``)."""
    if len(numbers) < 2:
        return None
    sets = _match_sets(key, numbers, rule)
    mine = sets[own] if own in key.variants else set()
    best: tuple[str, set[str]] | None = None
    for vid, names in sets.items():
        if vid == own or not names:
            continue
        if best is None or len(names - mine) > len(best[1] - mine):
            best = (vid, names)
    if best is None:
        return None
    vid, names = best
    theirs, only_mine, shared = names - mine, mine - names, names & mine
    if len(theirs) >= len(only_mine) + 2 and 2 * len(theirs) >= len(numbers) - len(shared):
        return OtherMatch(
            vid, frozenset(theirs), frozenset(only_mine), frozenset(shared), len(numbers)
        )
    return None


# verdicts that a variant's key explains: its number, or carried forward from the student's
# own earlier numbers by that variant's graph
EXPLAINED = (RIGHT, ROUNDING, TOO_FEW, EARLY, FOLLOWS)
# first slips that say nothing of the student's working: not counted as explained
UNEXPLAINED_KINDS = (None, ARITHMETIC, ZERO)


def explained(variant: KeyVariant, numbers: dict[str, Number], rule: Rule) -> int:
    """How many of a student's numbers (by key name) ``variant`` explains: right for its key,
    following (as the judge traces it) from the student's own earlier numbers through its
    graph, or the first slip when a known mistake reproduces it from those numbers (a sign
    error, σ for σ′, a dropped factor: the student's own slip, not someone else's number; one
    only, the first in the worksheet's order). Every variant is granted the same, so a slip
    carried forward is no evidence for another key."""
    claims = [
        Claim(name, (n,), False, f"{name} = {n.text}")
        for name, n in numbers.items()
        if name in variant.answers
    ]
    try:
        verdicts, _bad = _judge(variant, claims, rule)
        judged = list(verdicts.values())
        count, slips = 0, 0
        for c in sorted(claims, key=lambda c: order_of(variant)(c.name)):
            v = verdicts.get(id(c))
            if v is None:
                continue
            verdict = _verdict(v)
            if verdict in EXPLAINED:
                count += 1
            elif verdict == FIRST_SLIP:
                slips += 1
                if slips == 1 and (
                    mistake_kind(variant.graph(), v, judged, rule) not in UNEXPLAINED_KINDS
                ):
                    count += 1
    except (ChainruleError, ArithmeticError, ValueError, TypeError):
        return key_matches(variant, numbers, rule)
    return count


def _names(names: Any) -> str:
    return ", ".join(names)


def _own_working(
    key: ClassKey, variant: KeyVariant, match: OtherMatch, numbers: dict[str, Number], rule: Rule
) -> tuple[list[str], int, int]:
    """Why the stated variant is kept although ``match``'s key matches more numbers: the
    reasons (empty when there are none), and how many numbers each key explains with
    carry-forward (own, other)."""
    reasons: list[str] = []
    order = [n for n in variant.answers if n in numbers]
    early: list[str] = []
    for name in order:  # the worksheet's order: the forward pass first
        if name in match.theirs:
            break
        if name in match.mine:
            early.append(name)
    if early:
        reasons.append(
            f"the student's first numbers that tell the two apart ({_names(early)}) are "
            f"{variant.id}'s, not {match.variant}'s"
        )
    mine = explained(variant, numbers, rule)
    theirs = explained(key.variants[match.variant], numbers, rule)
    if mine >= theirs:
        reasons.append(
            f"{variant.id}'s key explains {mine} of the {len(numbers)} numbers (right, or "
            f"carried forward from the student's own slips), {match.variant}'s {theirs}"
        )
    return reasons, mine, theirs


def order_of(variant: KeyVariant) -> Any:
    """A sort key putting a variant's key names in the worksheet's order."""
    at = {name: k for k, name in enumerate(variant.answers)}
    return lambda name: at.get(name, len(at))


def _judge(
    variant: KeyVariant, claims: list[Claim], rule: Rule
) -> tuple[dict[int, Verdict], dict[int, str]]:
    """Verdicts by claim; a claim the judge cannot take (a vector where a number belongs) is
    left out with the reason, and the rest judged together."""
    graph, prepared = variant.graph(), variant.prepared()
    bad: dict[int, str] = {}
    try:
        verdicts = judge(graph, claims, rule, prepared)
    except ValueInputError:
        for c in claims:
            try:
                judge(graph, [c], rule, prepared)
            except ValueInputError as exc:
                bad[id(c)] = inert_text(exc.message)
        verdicts = judge(graph, [c for c in claims if id(c) not in bad], rule, prepared)
    return {id(v.claim): v for v in verdicts}, bad


def _cell(text: str, limit: int = 40) -> str:
    """What a student wrote, on one line and of a readable length, for tables and messages."""
    one = inert_text(" ".join(text.split()))
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return float(arr[0]) if arr.size == 1 else None


def _key_names(resolver: Resolver, variant: KeyVariant) -> dict[Any, str]:
    key_q: dict[Any, str] = {}
    for name in variant.answers:
        try:
            key_q[resolver.quantity(name).key()] = name
        except ChainruleError as exc:
            raise ValueInputError(f"{MANIFEST}: variant {variant.id}: answers: {exc}") from None
    return key_q


def _split_vector(
    q: Quantity, value: str, key_q: dict[Any, str], quantity: str
) -> list[tuple[str, str]] | None:
    """A whole vector answered in one cell (``dL/dw,"[-1.641, -1.172]"``) where the key asks
    for its elements: (key name, element's text) for each element, or None."""
    if q.index is not None or not value.lstrip().startswith("["):
        return None
    shape = np.shape(q.node.value)
    if not shape:
        return None
    names = []
    for idx in np.ndindex(shape):
        k = Quantity(q.claim_type, q.node, idx, q.top).key()
        if k not in key_q:
            return None
        names.append(key_q[k])
    claim = parse_claim(f"{quantity} = {value}")  # raises for what cannot be read
    if len(claim.numbers) != len(names):
        raise ValueInputError(
            f"{len(claim.numbers)} numbers for {quantity}, which has {len(names)} elements"
        )
    return [(name, n.text) for name, n in zip(names, claim.numbers, strict=True)]


def grade(key: ClassKey, sub: Submission, scoring: Scoring) -> Graded:
    """The marks of one submission; never raises for what a student wrote. Notes quote what the
    student wrote, so each is clipped: a 100 kB cell is not echoed whole into every report."""
    out = _grade(key, sub, scoring)
    again = sum(" answered again (" in p for p in out.problems)
    if not (sub.id or sub.email) and again >= max(2, len(out.marks) // 2):
        out.notes.insert(  # first: the last note is the other variant's, when there is one
            0,
            f"{again} quantities answered twice with different numbers: these rows may be two "
            "students of the same name and variant (add an id or email column to tell them "
            "apart); the first answers are graded",
        )
    out.problems = [clip_note(p) for p in out.problems]
    out.notes = [clip_note(n) for n in out.notes]
    out.why_not = clip_note(out.why_not)
    return out


def _grade(key: ClassKey, sub: Submission, scoring: Scoring) -> Graded:
    rule = scoring.rule or key.rule
    out = Graded(
        sub.student,
        sub.variant,
        problems=list(sub.problems),
        id=sub.id,
        email=sub.email,
        rule=rule,
    )
    if sub.refused:
        out.graded, out.why_not = False, sub.refused
        return out
    vid = find_variant(key, sub.variant)
    if vid is None:
        known = ", ".join(list(key.variants)[:5]) + (" …" if len(key.variants) > 5 else "")
        why = (
            f"variant {sub.variant!r} is not in the manifest (known: {known})"
            if sub.variant
            else "no variant given"
        )
        out.problems.append(why)
        out.graded, out.why_not = False, why
        numbers = _numbers_by_name(key, sub)
        match = whose_answers(key, numbers, None, rule)
        if match is not None:
            out.other_variant = match.variant
            out.notes.append(
                f"these answers are {match.variant}'s ({len(match.theirs)} of {len(numbers)} "
                "match its key)"
            )
        return out
    if vid != sub.variant:
        out.variant = vid
    variant = key.variants[vid]
    graph = variant.graph()
    key_q = variant.key_names()
    claims: dict[str, Claim] = {}  # by key name
    extra: list[Claim] = []
    unreadable: dict[str, tuple[str, str]] = {}
    pending: list[tuple[str, str, str, Quantity | None]] = []
    for e in sub.entries:
        if not e.quantity:
            if e.value:
                out.problems.append(f"{e.where}: no quantity named; not read")
            continue
        if not e.value:
            continue  # a blank cell: not answered
        try:
            q = variant.quantity(e.quantity)
        except ChainruleError as exc:
            out.problems.append(f"{e.where}: {inert_text(exc.message)}; not read")
            continue
        try:
            parts = _split_vector(q, e.value, key_q, e.quantity)
        except ValueInputError as exc:
            out.problems.append(f"{e.where}: {inert_text(exc.message)}; not read")
            continue
        if parts is not None:
            for name, text in parts:
                pending.append((e.where, name, text, variant.quantity(name)))
        else:
            pending.append((e.where, e.quantity, e.value, q))
    for where, quantity, value, q_ in pending:
        assert q_ is not None
        key_name = key_q.get(q_.key())
        if key_name is not None and (key_name in claims or key_name in unreadable):
            before = (
                claims[key_name].text.split("=", 1)[1].strip()
                if key_name in claims
                else (unreadable[key_name][0])
            )
            if before != _cell(value):
                out.problems.append(
                    f"{where}: {key_name} answered again ({_cell(before)}, then {_cell(value)}); "
                    "the first answer is graded"
                )
            continue
        try:
            if any(sep in quantity for sep in "=≈"):
                raise ValueInputError("the quantity's name holds = or ≈")
            claim = parse_claim(f"{quantity} = {value}")
        except ValueInputError as exc:
            if key_name is not None:
                shown = _cell(value)
                unreadable[key_name] = (shown, f"cannot read {shown!r} as a number")
            else:
                out.problems.append(f"{where}: {inert_text(exc.message)}; not read")
            continue
        if key_name is None:
            extra.append(claim)
        else:
            claims[key_name] = claim
    all_claims = list(claims.values()) + extra
    verdicts, bad = _judge(variant, all_claims, rule) if all_claims else ({}, {})
    out.extra = [c.text for c in extra if id(c) in verdicts]
    by_claim_name = {id(c): n for n, c in claims.items()}
    for name, true in variant.truths().items():
        q = variant.quantity(name)
        math_ = variant.math(name)
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
            detail = ""
            if v.origin == TRIVIAL:
                detail = (
                    "it follows from your earlier numbers only trivially (a 0 carried from a 0, "
                    "or a number copied from the givens): no working to credit"
                )
            elif verdict == TOO_FEW:
                hint = rounded_text(true, rule)
                detail = "fewer digits than asked" + (f" ({hint})" if hint else "")
            mark = Mark(
                name,
                math_,
                f"[{written}]" if given.vector else written,
                true,
                verdict,
                0.0,
                best,
                detail,
                recomputed=_float(v.recomputed),
                follows=follows,
                q=q,
            )
            if verdict == FIRST_SLIP:
                try:
                    mark.kind = mistake_kind(graph, v, list(verdicts.values()), rule)
                except (ChainruleError, ArithmeticError, ValueError, TypeError):
                    mark.kind = None
        mark.points = scoring.score(name, mark.verdict)
        if not math.isfinite(mark.points):
            mark.points = 0.0
        out.marks.append(mark)
    numbers = {n: c.numbers[0] for n, c in claims.items() if len(c.numbers) == 1}
    match = whose_answers(key, numbers, vid, rule)
    if match is not None:
        reasons, mine, theirs = _own_working(key, variant, match, numbers, rule)
        shared = (
            f"; {len(match.shared)} ({_names(sorted(match.shared, key=order_of(variant)))}) are "
            "the same in both keys and count for neither"
            if match.shared
            else ""
        )
        told = sorted(match.theirs, key=order_of(variant))
        if reasons:
            out.notes.append(
                f"{len(told)} answers ({_names(told)}) match {match.variant}'s key and not "
                f"{vid}'s{shared}; they are graded as {vid}'s: " + "; ".join(reasons)
            )
            match = None
    if match is not None:
        out.other_variant = match.variant
        out.notes.append(
            f"these answers are {match.variant}'s: {len(match.theirs)} of {len(numbers)} match "
            f"its key and not {vid}'s, {len(match.mine)} match {vid}'s and not its{shared}; "
            f"with carry-forward {match.variant}'s key explains {theirs}, {vid}'s {mine} "
            "(a wrong variant id, or a neighbour's numbers)"
        )
        carried = [m for m in out.marks if m.verdict == FOLLOWS]
        share = scoring.credit[FOLLOWS_OTHER]
        if carried and share != scoring.credit[FOLLOWS]:
            for m in carried:
                m.points = scoring.points_for(m.quantity) * share
            out.notes.append(
                f"carried-forward credit is {share:.0%} for answers that are another variant's "
                f"({', '.join(m.quantity for m in carried)}): correct the variant id and grade "
                "again if it was wrong, or set [credit] follows_another_variant in a scoring file"
            )
    return out


def _numbers_by_name(key: ClassKey, sub: Submission) -> dict[str, Number]:
    """A submission's numbers by the canonical names of the key (for an unknown variant)."""
    names = {canon(n.replace("∂", "d")): n for v in key.variants.values() for n in v.answers}
    out: dict[str, Number] = {}
    for e in sub.entries:
        name = names.get(canon(e.quantity.replace("∂", "d")))
        if name is None or not e.value or name in out:
            continue
        try:
            out[name] = read_number(e.value, e.value)
        except ValueInputError:
            continue
    return out

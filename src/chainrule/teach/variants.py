"""Drawing variants of a template that meet its conditions, within a bounded number of tries.

Variant k tries the seeds ``derive_seed(S, k, 0)``, ``derive_seed(S, k, 1)``, … and keeps the
first whose draw meets every condition and differs from the variants before it: another
program, a key that differs in two answers or more, and no look-alike (``lookalikes``: one
known slip of a student of either variant, carried forward, would not make grading take it for
the other). Each seed makes exactly one draw, so the seed in the manifest rebuilds its variant
on its own. A template that no draw satisfies within ``max_tries`` is refused, naming the
conditions that failed; one whose draws cannot avoid look-alikes keeps the draw with the
fewest and names the pairs."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import anomaly
from ..core.errors import ChainruleError, DomainError, ValueInputError
from ..core.graph import Graph
from ..exercise import VIEWS, Exercise, ask_names
from ..lang.language import parse
from .lookalikes import Lookalike, Lookalikes
from .quantities import Asked, asked_quantities
from .slips import Sheet, slip_sheets
from .stream import derive_seed
from .template import Template

MAX_VARIANTS = 1000
DEFINED = "every value and gradient defined and finite"
KINKS = "no relu, abs, max or hinge exactly at its kink"
DIFFERENT = "different from every earlier variant"
NOT_LOOKALIKE = "no variant a slip makes look like another"
# draws in a row for one variant that meet every condition but each look like an earlier
# variant, after which the template's draws are taken to be too few for the class (numbers from
# a handful of values): the class is drawn without redraws and every pair is named, instead of
# drawing for minutes to no end
LOOKALIKE_TRIES = 50


@dataclass
class Variant:
    """One student's version: its id, seed, program, and the asked quantities with answers."""

    id: str
    seed: int
    program: str
    asked: list[Asked]
    graph: Graph

    @property
    def answers(self) -> dict[str, float]:
        return {a.name: a.value for a in self.asked}


def exercise_of(template: Template, program: str) -> Exercise:
    """The exercise ``solve`` would read for this variant."""
    drawings = ask_names(template.ask, "drawings", template.where)
    return Exercise(
        source=program,
        title=template.title,
        exact=template.exact,
        digits=template.digits,
        ask_values=ask_names(template.ask, "values", template.where),
        ask_gradients=ask_names(template.ask, "gradients", template.where),
        drawings=list(VIEWS) if drawings is None else drawings,
    )


def _finite(value: Any) -> bool:
    return anomaly.finite(value)


def failures(
    template: Template, graph: Graph, asked: list[Asked], numbers: list[Any], program: str
) -> list[str]:
    """The conditions this variant breaks (empty: it may be used)."""
    c = template.conditions
    failed: list[str] = []
    if c.defined:
        if not all(_finite(n.value) and _finite(n.grad) for n in graph.nodes) or not all(
            math.isfinite(a.value) for a in asked
        ):
            failed.append(DEFINED)
    if c.no_kinks and _at_kinks(template, graph, program):
        failed.append(KINKS)
    if c.min_gradient is not None:
        names = c.gradient_of or tuple(n.name for n in graph.inputs if n.name and n.requires_grad)
        for name in names:
            if name not in graph.names:
                raise ValueInputError(f"{template.where}: [conditions] gradient_of: no {name!r}")
            g = graph.names[name].grad
            arr = np.abs(np.asarray(g, dtype=float)) if g is not None else np.array([0.0])
            if not (arr >= c.min_gradient).all():
                failed.append(f"|gradient| ≥ {c.min_gradient:g} with respect to {name}")
                break
    for name, lo, hi in c.ranges:
        if name not in graph.names:
            raise ValueInputError(f"{template.where}: [conditions] range: no node named {name!r}")
        v = np.asarray(graph.names[name].value, dtype=float)
        if not ((v >= lo) & (v <= hi)).all():
            failed.append(f"{name} in [{lo:g}, {hi:g}]")
    if c.distinct_numbers and len(set(numbers)) != len(numbers):
        failed.append("the drawn numbers all different")
    return failed


def _at_kinks(template: Template, graph: Graph, program: str) -> bool:
    """A kink met in floats, or, for an exact template, in exact numbers (0.3 − 0.1 − 0.2 is 0
    there, not 5.6e-17): the exact pass runs only when the graph has an op with a kink."""
    if anomaly.kinks(graph.nodes):
        return True
    if not template.exact or not any(n.op.name in anomaly.KINK_CONVENTIONS for n in graph.nodes):
        return False
    try:
        exact = parse(program, exact=True)
    except (ChainruleError, ArithmeticError, ValueError):
        return False
    return bool(anomaly.kinks(exact.nodes))


def build_variant(template: Template, seed: int, vid: str = "") -> tuple[Variant | None, list[str]]:
    """The variant drawn from ``seed``, or None and the conditions it broke."""
    program, numbers = template.render(seed)
    try:
        with np.errstate(all="ignore"):
            graph = parse(program)  # floats: as eval gives them, and fast
            graph.backward()
    except (DomainError, ArithmeticError, OverflowError) as exc:
        if not template.conditions.defined:
            raise ValueInputError(f"{template.where}: the variant of seed {seed}: {exc}") from None
        return None, [DEFINED]
    except ChainruleError as exc:
        raise ValueInputError(
            f"{template.where}: the program of the variant of seed {seed} fails: {exc}"
        ) from None
    ex = exercise_of(template, program)
    try:
        with np.errstate(all="ignore"):
            asked = asked_quantities(graph, ex.ask_values, ex.ask_gradients, template.partials)
    except ChainruleError as exc:
        raise ValueInputError(f"{template.where}: [ask]: {exc}") from None
    failed = failures(template, graph, asked, numbers, program)
    if failed:
        return None, failed
    return Variant(vid, seed, program, asked, graph), []


def variant_id(k: int, count: int) -> str:
    return f"v{k + 1:0{max(2, len(str(count)))}d}"


@dataclass
class Drawn:
    """A class as drawn: its variants, and the look-alike pairs its template's draws left no
    way around. ``saturated`` is the first variant that found no draw unlike the earlier
    variants (the class was then drawn without redraws); ``redrawn`` the variants drawn
    again because their first draw looked like an earlier variant."""

    variants: list[Variant]
    lookalikes: list[Lookalike] = field(default_factory=list)
    saturated: str | None = None
    redrawn: list[str] = field(default_factory=list)  # ids whose first draw looked alike


def generate_variants(template: Template, count: int, class_seed: int) -> list[Variant]:
    """``count`` variants, each meeting every condition (see ``draw_class``)."""
    return draw_class(template, count, class_seed).variants


def draw_class(template: Template, count: int, class_seed: int) -> Drawn:
    """``count`` variants, each meeting every condition and, with ``distinct``, no two alike
    or (``no_lookalikes``) look-alikes; a ``ValueInputError`` when a variant cannot be found
    within ``max_tries`` seeds.

    A draw that looks like an earlier variant is drawn again from the variant's next seed,
    so every variant that needed no new draw is the one an earlier version drew. When one
    variant finds no other draw (``LOOKALIKE_TRIES`` in a row, or ``max_tries``), the template
    cannot give that many variants apart: the class is drawn again as an earlier version drew
    it, without redraws, and every look-alike pair is named (``Drawn.lookalikes``)."""
    if not 1 <= count <= MAX_VARIANTS:
        raise ValueInputError(f"--count must be from 1 to {MAX_VARIANTS}")
    if template.conditions.distinct:
        possible = possible_programs(template, count)
        if possible < count:
            raise ValueInputError(
                f"{template.where}: the template can draw at most {possible} different "
                f"program{'s' if possible != 1 else ''}, so not {count} different variants; "
                "widen the [draw] ranges, add [choose] items, or ask for fewer variants"
            )
    draws = _Draws(template, class_seed)
    check = template.conditions.distinct and template.conditions.no_lookalikes
    drawn = _draw(template, count, draws, redraw=check)
    if drawn.saturated:  # the draws cannot avoid look-alikes: as before, every pair named
        again = _draw(template, count, draws, redraw=False)
        again.saturated = drawn.saturated
        return again
    return drawn


class _Draws:
    """Each seed's draw and slip sheets, made once: a class drawn again after its template
    proved too small for redraws repeats most of the first run's draws."""

    def __init__(self, template: Template, class_seed: int) -> None:
        self.template, self.class_seed = template, class_seed
        self.made: dict[tuple[int, int], tuple[Variant | None, list[str]]] = {}
        self.sheets: dict[int, list[Sheet]] = {}

    def draw(self, k: int, attempt: int, vid: str) -> tuple[Variant | None, list[str]]:
        if (k, attempt) not in self.made:
            seed = derive_seed(self.class_seed, k, attempt)
            self.made[k, attempt] = build_variant(self.template, seed, vid)
        return self.made[k, attempt]

    def sheets_of(self, variant: Variant) -> list[Sheet]:
        if variant.seed not in self.sheets:
            self.sheets[variant.seed] = slip_sheets(variant, self.template.rule)
        return self.sheets[variant.seed]


def _draw(template: Template, count: int, draws: _Draws, redraw: bool) -> Drawn:
    """The class, variant by variant. ``redraw``: a look-alike is drawn again, and the run
    stops at the first variant that finds no other draw (``Drawn.saturated``); otherwise
    (with ``no_lookalikes``) every look-alike pair is kept and named."""
    distinct = template.conditions.distinct
    check = distinct and template.conditions.no_lookalikes
    tries = template.conditions.max_tries
    drawn = Drawn([])
    seen: set[str] = set()
    budget = _Budget(template, count)
    index = Lookalikes(template.rule)
    for k in range(count):
        vid = variant_id(k, count)
        broken: Counter[str] = Counter()
        chosen: Variant | None = None
        looked = 0
        for attempt in range(tries):
            budget.draw(len(drawn.variants), broken)
            variant, failed = draws.draw(k, attempt, vid)
            if variant is not None and distinct:
                if _canonical(variant.program) in seen or index.alike(variant) is not None:
                    variant, failed = None, [DIFFERENT]
            if variant is None:
                broken.update(failed)
                continue
            # its key against the earlier slip sheets first: that needs no sheets of its own
            if not redraw or not (
                index.theirs(variant, first=True)
                or index.mine(variant, draws.sheets_of(variant), first=True)
            ):
                chosen = variant
                break
            if not looked:
                drawn.redrawn.append(vid)
            looked += 1
            broken.update([NOT_LOOKALIKE])
            if looked >= LOOKALIKE_TRIES:
                break
        if chosen is None:
            if looked:  # every draw left looked like an earlier variant
                drawn.saturated = vid
                return drawn
            raise ValueInputError(_refusal(template, vid, tries, broken))
        if check:
            sheets = draws.sheets_of(chosen)
            if not redraw:
                drawn.lookalikes.extend(index.find(chosen, sheets))
            index.add(chosen, sheets)
        elif distinct:
            index.add(chosen, [])
        seen.add(_canonical(chosen.program))
        drawn.variants.append(chosen)
    return drawn


def possible_programs(template: Template, enough: int) -> int:
    """How many different programs the draws and choices can give at most (counted up to
    ``enough``): fewer than the variants asked for is known before a single draw."""
    total = 1
    sizes = [len(d.options) ** (d.size or 1) for d in template.draws]
    sizes += [len(items) for _, items in template.choices]
    for n in sizes:
        total *= n
        if total >= enough:
            return total
    return total


# The whole run's budget, on top of max_tries per variant: a condition met by one draw in 10⁵
# with --count 1000 ran for hours (69 s per variant) before the first refusal.
MAX_RUN_DRAWS = 200_000  # draws in one run, every variant together
EARLY_DRAWS = 2_000  # draws after which the rate of success so far is trusted to project
MAX_RUN_SECONDS = 60.0  # wall time of the drawing, a safety net whatever the machine
_clock = time.monotonic


class _Budget:
    """Counts the draws of a run and stops it, with the numbers, as soon as it cannot end
    within the budget: after ``EARLY_DRAWS`` draws, when even the optimistic rate
    (successes + 1) / draws says the variants asked would need more than ``MAX_RUN_DRAWS``
    draws; at ``MAX_RUN_DRAWS`` draws; or after ``MAX_RUN_SECONDS``."""

    def __init__(self, template: Template, count: int) -> None:
        self.template, self.count = template, count
        self.draws = 0
        self.start = _clock()

    def draw(self, found: int, broken: Counter[str]) -> None:
        self.draws += 1
        d = self.draws
        if d >= EARLY_DRAWS and d % 100 == 0:
            needed = (self.count - found) * d / (found + 1)
            if d + needed > MAX_RUN_DRAWS:
                raise ValueInputError(
                    self._message(
                        found,
                        broken,
                        f"the {self.count} variants asked would need "
                        f"about {int(d + needed):,} draws, more than the "
                        f"{MAX_RUN_DRAWS:,} one run may take",
                    )
                )
        if d > MAX_RUN_DRAWS:
            raise ValueInputError(
                self._message(found, broken, f"one run takes at most {MAX_RUN_DRAWS:,} draws")
            )
        if d % 50 == 0 and _clock() - self.start > MAX_RUN_SECONDS:
            raise ValueInputError(
                self._message(found, broken, f"drawing ran past {MAX_RUN_SECONDS:.0f} s")
            )

    def _message(self, found: int, broken: Counter[str], why: str) -> str:
        worst = ", ".join(f"{name} ({n})" for name, n in broken.most_common(3))
        failing = f"; the current variant's draws failed: {worst}" if worst else ""
        return (
            f"{self.template.where}: stopped after {self.draws - 1:,} draws, of which "
            f"{found:,} met the conditions (variants found: {found} of {self.count}): {why}"
            f"{failing}. Widen the [draw] ranges, loosen [conditions], or ask for fewer variants"
        )


def _canonical(program: str) -> str:
    return "\n".join(line.strip() for line in program.strip().splitlines())


def _refusal(template: Template, vid: str, tries: int, broken: Counter[str]) -> str:
    worst = ", ".join(f"{name} ({n} of {tries})" for name, n in broken.most_common())
    return (
        f"{template.where}: no draw met the conditions for variant {vid} in {tries} tries; "
        f"failed: {worst}. Widen the [draw] ranges, loosen [conditions], or ask for fewer "
        "variants (max_tries in [conditions] raises the bound)"
    )

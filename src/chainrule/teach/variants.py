"""Drawing variants of a template that meet its conditions, within a bounded number of tries.

Variant k tries the seeds ``derive_seed(S, k, 0)``, ``derive_seed(S, k, 1)``, … and keeps the
first whose draw meets every condition and differs from the variants before it. Each seed makes
exactly one draw, so the seed in the manifest rebuilds its variant on its own. A template that
no draw satisfies within ``max_tries`` is refused, naming the conditions that failed."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..check.rule import rounded_text
from ..core import anomaly
from ..core.errors import ChainruleError, DomainError, ValueInputError
from ..core.graph import Graph
from ..exercise import VIEWS, Exercise, ask_names
from ..lang.language import parse
from .quantities import Asked, asked_quantities
from .stream import derive_seed
from .template import Template

MAX_VARIANTS = 1000
DEFINED = "every value and gradient defined and finite"
KINKS = "no relu, abs, max or hinge exactly at its kink"


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


def generate_variants(template: Template, count: int, class_seed: int) -> list[Variant]:
    """``count`` variants, each meeting every condition; a ``ValueInputError`` when a variant
    cannot be found within ``max_tries`` seeds."""
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
    tries = template.conditions.max_tries
    out: list[Variant] = []
    seen: set[str] = set()
    budget = _Budget(template, count)
    keys: list[dict[str, str]] = []
    for k in range(count):
        vid = variant_id(k, count)
        broken: Counter[str] = Counter()
        for attempt in range(tries):
            budget.draw(len(out), broken)
            seed = derive_seed(class_seed, k, attempt)
            variant, failed = build_variant(template, seed, vid)
            if variant is not None and template.conditions.distinct:
                key = _canonical(variant.program)
                answers = _answer_key(variant, template)
                if key in seen or any(_alike(answers, k) for k in keys):
                    variant, failed = None, ["different from every earlier variant"]
                else:
                    seen.add(key)
                    keys.append(answers)
            broken.update(failed)
            if variant is not None:
                out.append(variant)
                break
        else:
            raise ValueInputError(_refusal(template, vid, tries, broken))
    return out


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


def _answer_key(variant: Variant, template: Template) -> dict[str, str]:
    """The answers as the rule tells them apart (3 significant figures by default)."""
    out = {}
    for a in variant.asked:
        shown = rounded_text(a.value, template.rule) if math.isfinite(a.value) else None
        out[a.name] = shown if shown is not None else repr(a.value)
    return out


def _alike(a: dict[str, str], b: dict[str, str]) -> bool:
    """Two answer keys a student could copy between undetected: all their answers, or all
    but one, the same (``distinct = true`` asks for distinct answer keys, not only distinct
    programs; two differences let grading name a neighbour's numbers)."""
    differ = sum(1 for name, value in a.items() if b.get(name) != value)
    differ += sum(1 for name in b if name not in a)
    return differ < 2


def _canonical(program: str) -> str:
    return "\n".join(line.strip() for line in program.strip().splitlines())


def _refusal(template: Template, vid: str, tries: int, broken: Counter[str]) -> str:
    worst = ", ".join(f"{name} ({n} of {tries})" for name, n in broken.most_common())
    return (
        f"{template.where}: no draw met the conditions for variant {vid} in {tries} tries; "
        f"failed: {worst}. Widen the [draw] ranges, loosen [conditions], or ask for fewer "
        "variants (max_tries in [conditions] raises the bound)"
    )

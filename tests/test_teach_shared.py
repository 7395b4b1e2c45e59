"""Grading a big class shares work between students: the judge's prepared copy of a variant's
graph, the float windows that find another variant's answers, the nudges ``spread`` skips, the
files written into the staging folder. Each shortcut is held here to the plain computation it
replaces, on many random students, so a shortcut that changes one verdict fails."""

from __future__ import annotations

import importlib
import json
import random
import unicodedata
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.check.claims import parse_claim, read_number
from chainrule.check.inert import inert_text
from chainrule.check.judge import Prepared, judge
from chainrule.check.rule import AS_WRITTEN, Rule
from chainrule.core.errors import ValueInputError
from chainrule.core.values import to_float
from chainrule.teach.csvout import csv_lines, csv_text
from chainrule.teach.generate import generate
from chainrule.teach.grading import _all_matches, key_matches, load_class
from chainrule.teach.staged import write_lines, write_new

judge_module = importlib.import_module("chainrule.check.judge")
ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"


def neuron() -> cr.Graph:
    x = cr.var([1, -2], name="x")
    w = cr.var([Fraction(4, 5), Fraction(-3, 5)], name="w")
    b0 = cr.var(Fraction(1, 5), name="b₀")
    z = (w.T @ x + b0).named("z")
    yhat = cr.sigmoid(z).named("ŷ")
    return cr.Graph(((yhat - 1) ** 2).named("L"))


def fan_out() -> cr.Graph:
    x = cr.var(1.5, name="x")
    w = cr.var(-0.7, name="w")
    z = (w * x).named("z")
    a = cr.tanh(z).named("a")
    return cr.Graph(((a - 0.25) ** 2 + w * w / 10).named("L"))


NAMES = {
    "neuron": ["z", "ŷ", "L", "∂ŷ/∂z", "dL/dŷ", "dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"],
    "fan_out": ["z", "a", "L", "∂a/∂z", "dL/da", "dL/dz", "dL/dw", "dL/dx"],
}


def true_numbers(graph: cr.Graph, names: list[str]) -> dict[str, float]:
    prepared = Prepared(graph)
    out = {}
    for name in names:
        _, t = prepared.quantity_and_true(name)
        out[name] = float(np.asarray(to_float(t), dtype=float).reshape(-1)[0])
    return out


def student(rng: random.Random, truths: dict[str, float]) -> list[str]:
    """A sheet with the slips students make: a sign, a factor, too few digits, 0, a blank."""
    claims = []
    for name, t in truths.items():
        roll = rng.random()
        if roll < 0.45:
            text = f"{t:#.4g}"
        elif roll < 0.55:
            text = f"{-t:#.4g}"
        elif roll < 0.65:
            text = f"{t * 1.37 + 0.01:#.4g}"
        elif roll < 0.72:
            text = f"{t:.1g}"
        elif roll < 0.77:
            text = "0"
        elif roll < 0.85:
            text = f"{t * 2:#.3g}"
        elif roll < 0.9:
            text = f"{t * (1 + rng.choice([-1, 1]) * 0.003):#.4g}"  # one unit off at 3 digits
        else:
            continue
        claims.append(f"{name} = {text}")
    return claims


def outcome(
    graph: cr.Graph, claims: list[str], rule: Rule, prepared: Prepared | None = None
) -> list[tuple[Any, ...]]:
    verdicts = judge(graph, [parse_claim(c) for c in claims], rule, prepared)
    return [
        (
            v.claim.text,
            v.verdict,
            v.origin,
            [w.claim.name for w in v.follows],
            None if v.recomputed is None else repr(np.asarray(to_float(v.recomputed)).tolist()),
        )
        for v in verdicts
    ]


@pytest.mark.parametrize("which", ["neuron", "fan_out"])
def test_the_nudges_spread_skips_change_no_verdict(
    which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = neuron() if which == "neuron" else fan_out()
    truths = true_numbers(graph, NAMES[which])
    rng = random.Random(20)
    sheets = [student(rng, truths) for _ in range(60)]
    rules = [Rule(), Rule(sigfig=4), AS_WRITTEN]
    fast = [outcome(graph, s, r) for s in sheets for r in rules]
    monkeypatch.setattr(judge_module, "influence", lambda g: lambda u, v: True)
    plain = [outcome(graph, s, r) for s in sheets for r in rules]
    assert fast == plain
    assert any(o[2] is not None for sheet in fast for o in sheet)  # slips were traced


def test_a_prepared_graph_judges_as_a_fresh_one() -> None:
    graph = neuron()
    truths = true_numbers(graph, NAMES["neuron"])
    prepared = Prepared(graph)
    rng = random.Random(4)
    for _ in range(40):
        texts = student(rng, truths)
        # the forward walks kept from earlier students are reused; fresh has none
        assert outcome(graph, texts, Rule(), prepared) == outcome(graph, texts, Rule())
        claims = [parse_claim(c) for c in texts]
        shared = judge(graph, claims, Rule(), prepared)
        assert all(v.quantity.node in graph.nodes for v in shared)  # the caller's own nodes
    assert prepared.forwards  # walks were kept
    for bad in ("q = 1", "dL/dw = 1"):  # no such node; a vector where a number belongs
        messages = []
        for p in (prepared, prepared, None):
            with pytest.raises(ValueInputError) as err:
                judge(graph, [parse_claim(bad)], Rule(), p)
            messages.append(err.value.message)
        assert len(set(messages)) == 1


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("shared") / "c"
    generate(REFERENCE, folder, count=6, seed=3, pdfs=False, solutions=False)
    return load_class(folder)


@pytest.mark.parametrize(
    "rule", [Rule(), Rule(sigfig=2), Rule(sigfig=None, decdig=2), Rule(sigfig=None, rtol=0.01)]
)
def test_the_windows_find_every_match_the_exact_verdict_finds(key: Any, rule: Rule) -> None:
    rng = random.Random(9)
    variants = list(key.variants.values())
    for _ in range(150):
        numbers = {}
        for name in variants[0].answers:
            t = rng.choice(variants).answers[name]
            unit = abs(t) * 10 ** rng.choice([-2, -3, -4]) if t else 0.01
            moved = t + rng.choice([0, 0, 1, -1, 2, -3, 0.5]) * unit
            text = rng.choice([f"{moved:#.3g}", f"{moved:#.4g}", f"{moved:.1g}", "0", "-0.0"])
            numbers[name] = read_number(text, text)
        plain = {vid: key_matches(v, numbers, rule) for vid, v in key.variants.items()}
        assert _all_matches(key, numbers, rule) == plain


def _escaped_as_before(text: str) -> str:
    """inert_text's rule, character by character, as it was written before its fast path."""
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in (
            "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        ):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def test_inert_text_of_every_character_is_as_before() -> None:
    for code in range(0x110000):
        ch = chr(code)
        assert inert_text(ch) == _escaped_as_before(ch), hex(code)
    name = "Ada Lovelace ŷ ∂L/∂w₁ = −0,25"
    assert inert_text(name) is name


def test_a_staged_file_is_new_and_never_written_through_a_link(tmp_path: Path) -> None:
    write_new(tmp_path / "a.md", "ŷ\n")
    assert (tmp_path / "a.md").read_bytes() == "ŷ\n".encode()
    with pytest.raises(FileExistsError):
        write_new(tmp_path / "a.md", "again")
    (tmp_path / "target").write_text("kept", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        write_new(tmp_path / "link.json", json.dumps({}))
    assert (tmp_path / "target").read_text(encoding="utf-8") == "kept"


def test_a_csv_written_a_line_at_a_time_is_the_csv_built_whole(tmp_path: Path) -> None:
    rng = random.Random(1)
    cells = ['Ada, "the" 1st', "=1+2", "-0,25", "ŷ\x1b[2J", "", "tab\there", "x" * 300]
    rows = [[rng.choice(cells) for _ in range(8)] for _ in range(6000)]  # over 1 MB
    write_lines(tmp_path / "a.csv", csv_lines(iter(rows)))
    assert (tmp_path / "a.csv").read_bytes() == csv_text(rows).encode("utf-8")
    assert len(csv_text(rows)) > 1 << 20

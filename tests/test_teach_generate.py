"""chainrule generate: drawn variants meet their conditions, answers equal the engine's, the same
seed gives the same bytes, and templates no draw can satisfy are refused."""

from __future__ import annotations

import json
import math
import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core.errors import ValueInputError
from chainrule.core.values import to_float
from chainrule.teach import generate_variants, load_template, template_from_dict
from chainrule.teach.generate import generate
from chainrule.teach.stream import Stream

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "examples" / "teaching" / "reference.toml"
POOL = ROOT / "examples" / "teaching" / "neuron-pool.toml"


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _engine_answers(program: str, exact: bool) -> dict[str, float]:
    """Values and gradients read straight off the engine's nodes, by name (no resolver)."""
    g = cr.parse(program, exact=exact)
    g.backward()
    out: dict[str, float] = {}
    for name, node in g.names.items():
        value = np.asarray(to_float(node.value), dtype=float)
        if value.ndim == 0:
            out[name] = float(value)
        if node.grad is not None:
            grad = np.asarray(to_float(node.grad), dtype=float)
            if grad.ndim == 0:
                out[f"dL/d{name}"] = float(grad)
            else:
                for k, v in enumerate(grad):
                    out[f"dL/d{name}{k + 1}"] = float(v)
    return out


def test_two_hundred_reference_variants_meet_every_condition_and_match_the_engine() -> None:
    template = load_template(REFERENCE)
    variants = generate_variants(template, 200, 2024)
    assert len(variants) == 200
    assert len({v.program for v in variants}) == 200  # all distinct
    for v in variants:
        g = cr.parse(v.program)
        g.backward()
        yhat = float(to_float(g["ŷ"].value))
        assert 0.05 <= yhat <= 0.95
        for name in ("x", "w", "b₀", "y"):
            assert (np.abs(np.asarray(to_float(g[name].grad))) >= 1e-3).all()
        engine = _engine_answers(v.program, exact=False)
        for name, value in v.answers.items():
            if name.startswith("∂"):
                continue  # a local partial: checked below against σ(z)(1 − σ(z))
            assert value == pytest.approx(engine[name], rel=1e-12, abs=1e-15), (v.id, name)
        assert v.answers["∂ŷ/∂z"] == pytest.approx(yhat * (1 - yhat), rel=1e-12)


def test_answers_equal_what_eval_prints(tmp_path: Path, capsys) -> None:
    template = load_template(REFERENCE)
    for v in generate_variants(template, 3, 77):
        program = tmp_path / f"{v.id}.cr"
        program.write_text(v.program, encoding="utf-8")
        assert main(["eval", str(program), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert v.answers["L"] == data["values"]["L"]
        assert v.answers["ŷ"] == data["values"]["ŷ"]
        assert v.answers["dL/dz"] == data["gradients"]["z"]
        assert v.answers["dL/db₀"] == data["gradients"]["b₀"]
        assert [v.answers["dL/dw1"], v.answers["dL/dw2"]] == data["gradients"]["w"]


def test_a_kink_in_exact_numbers_is_seen_where_floats_miss_it() -> None:
    data = {
        "source": "a = 0.3\nb = 0.1\nc = 0.2\nk = ${k}\nL = relu(a - b - c) + k * a\n",
        "draw": {"k": {"integers": [1, 3]}},
        "conditions": {"max_tries": 20},
    }
    floats = template_from_dict({**data, "exact": False}, "t.toml")
    assert len(generate_variants(floats, 2, 0)) == 2  # 0.3 − 0.1 − 0.2 is 5.6e-17 in floats
    exact = template_from_dict({**data, "exact": True}, "t.toml")
    with pytest.raises(ValueInputError, match="kink"):
        generate_variants(exact, 1, 0)


def test_drawn_numbers_are_the_declared_kinds() -> None:
    template = load_template(REFERENCE)
    for v in generate_variants(template, 40, 5):
        g = cr.parse(v.program, exact=True)
        for k in g["x"].value:
            assert Fraction(k).denominator == 1 and -2 <= k <= 2
        for k in g["w"].value:
            assert (Fraction(k) * 5).denominator == 1 and -2 <= k <= 2
        assert g["y"].value in (0, 1)


def test_structure_pool_draws_every_structure_and_keeps_logs_defined() -> None:
    template = load_template(POOL)
    variants = generate_variants(template, 40, 1)
    seen = set()
    for v in variants:
        activation = "tanh" if "tanh(" in v.program else "σ"
        inputs = 3 if v.program.count(",") >= 4 else 2
        loss = "ce" if "log(" in v.program else "se"
        seen.add((activation, inputs, loss))
        assert all(math.isfinite(a) for a in v.answers.values())
        g = cr.parse(v.program)
        assert 0.05 <= float(g["ŷ"].value) <= 0.95
    assert {s[0] for s in seen} == {"σ", "tanh"}
    assert {s[1] for s in seen} == {2, 3}
    assert {s[2] for s in seen} == {"ce", "se"}


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(REFERENCE, a, count=2, seed=11)
    generate(REFERENCE, b, count=2, seed=11)
    generate(REFERENCE, c, count=2, seed=12, solutions=False, pdfs=False)
    ta, tb = _tree(a), _tree(b)
    assert ta == tb
    assert "v01/solution/solution.md" in ta and "v02/worksheet.md" in ta
    if shutil.which("pdflatex"):
        assert ta["v01/worksheet.pdf"].startswith(b"%PDF") and "answer-key.pdf" in ta
    assert ta["manifest.json"] != _tree(c)["manifest.json"]


def test_the_seed_in_the_manifest_rebuilds_its_variant(tmp_path: Path) -> None:
    generate(REFERENCE, tmp_path / "k", count=3, seed=3, solutions=False, pdfs=False)
    manifest = json.loads((tmp_path / "k" / "manifest.json").read_text(encoding="utf-8"))
    template = load_template(REFERENCE)
    from chainrule.teach.variants import build_variant

    for item in manifest["variants"]:
        variant, failed = build_variant(template, item["seed"])
        assert variant is not None and not failed
        assert variant.program == item["program"]
        assert variant.answers == item["answers"]


def test_answer_key_csv_has_a_row_per_variant(tmp_path: Path) -> None:
    generate(REFERENCE, tmp_path / "k", count=4, seed=9, solutions=False, pdfs=False)
    lines = (tmp_path / "k" / "answer-key.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("variant,seed,z,ŷ,L,")
    assert [ln.split(",")[0] for ln in lines[1:]] == ["v01", "v02", "v03", "v04"]
    manifest = json.loads((tmp_path / "k" / "manifest.json").read_text(encoding="utf-8"))
    first = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert float(first["L"]) == pytest.approx(manifest["variants"][0]["answers"]["L"], rel=1e-4)


def test_worksheet_asks_without_giving_answers(tmp_path: Path) -> None:
    generate(REFERENCE, tmp_path / "k", count=1, seed=4, solutions=False, pdfs=False)
    sheet = (tmp_path / "k" / "v01" / "worksheet.md").read_text(encoding="utf-8")
    answers = json.loads((tmp_path / "k" / "v01" / "answers.json").read_text(encoding="utf-8"))
    assert "dL/dw1" in sheet and "yhat" in sheet
    fractions = re.findall(r"(\d+)/(\d+)", answers["program"])
    assert fractions  # numbers drawn as fractions are shown as fractions
    for top, bottom in fractions:
        assert f"\\frac{{{top}}}{{{bottom}}}" in sheet
    for name in ("L", "dL/dz"):
        shown = f"{answers['answers'][name]:.5g}"
        assert shown not in sheet


def test_the_worksheet_graph_has_no_numbers(tmp_path: Path) -> None:
    generate(REFERENCE, tmp_path / "k", count=1, seed=4, solutions=False, pdfs=False)
    folder = tmp_path / "k" / "v01"
    svg = (folder / "graph.svg").read_text(encoding="utf-8")
    assert (folder / "graph.png").read_bytes().startswith(b"\x89PNG")
    assert svg.count("= ______") == 9  # one per node: x, w, b₀, y, w @ x, z, ŷ, ŷ − y, L
    g = cr.parse(json.loads((folder / "answers.json").read_text(encoding="utf-8"))["program"])
    from chainrule.draw.render import to_svg

    def texts(s: str) -> set[str]:
        return set(re.findall(r">([^<]+)</text>", s))

    with_numbers = texts(to_svg(g, "forward"))
    values = {t for t in with_numbers - texts(svg) if any(c.isdigit() for c in t)}
    assert len(values) >= 5  # what the forward drawing shows of the values (distinct) …
    assert not values & texts(svg)  # … is not on the worksheet's graph
    assert "](<graph.svg>)" in (folder / "worksheet.md").read_text(encoding="utf-8")
    assert "graph.png" in (folder / "worksheet.tex").read_text(encoding="utf-8")


def test_impossible_conditions_are_refused_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    text = REFERENCE.read_text(encoding="utf-8").replace(
        'range = { "ŷ" = [0.05, 0.95] }', 'range = { "ŷ" = [1.5, 2] }\nmax_tries = 50'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["generate", str(bad), "--count", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no draw met the conditions" in err and "ŷ in [1.5, 2]" in err and "50" in err
    assert not out.exists()


def test_more_variants_than_the_draws_allow_are_refused() -> None:
    template = template_from_dict(
        {
            "source": "a = ${a}\nL = a * a\n",
            "draw": {"a": {"integers": [1, 3]}},
            "conditions": {"max_tries": 200},
        },
        "t.toml",
    )
    assert len(generate_variants(template, 3, 0)) == 3
    with pytest.raises(ValueInputError, match="at most 3 different programs"):
        generate_variants(template, 4, 0)


def test_undefined_logs_and_kinks_are_redrawn() -> None:
    template = template_from_dict(
        {
            "source": "a = ${a}\nb = log(a)\nc = relu(a - 1)\nL = b + c\n",
            "draw": {"a": {"integers": [-3, 3]}},
            "conditions": {"distinct": False},
        },
        "t.toml",
    )
    for v in generate_variants(template, 20, 1):
        a = cr.parse(v.program)["a"].value
        assert a > 0 and a != 1  # log defined, relu not at its kink


def test_template_mistakes_name_what_is_wrong(tmp_path: Path, capsys) -> None:
    cases = {
        'source = "x = ${q}"': "${q}",
        'source = "x = 1"\n[draw]\na = { integers = [3, 1] }': "low is above high",
        'source = "x = ${a}"\n[draw]\na = { fractions = [0, 1] }': "denominator",
        'source = "x = 1"\n[values]\nx = 2': "[values] is not used",
        'source = "x = 1"\n[conditions]\nmin_gradient = "big"': "min_gradient",
        'source = "x = 1"\n[ask]\nvalues = 1': "[ask] values must be a list of names",
        'source = "x = 1"\n[ask]\ngradients = [1, 2]': "[ask] gradients must be a list",
        'source = "x = 1"\n[ask]\ndrawings = {a = 1}': "[ask] drawings must be a list",
        'source = "x = 1"\n[ask]\ndrawings = ["sideways"]': "unknown drawing(s) sideways",
    }
    for k, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"t{k}.toml"
        path.write_text(text, encoding="utf-8")
        assert main(["generate", str(path), "-o", str(tmp_path / f"o{k}")]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err


def test_a_non_empty_folder_needs_force(tmp_path: Path, capsys) -> None:
    out = tmp_path / "class"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    args = ["generate", str(REFERENCE), "--count", "1", "--no-pdf", "--no-solutions"]
    assert main([*args, "-o", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([*args, "-o", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "v01" / "worksheet.md").is_file()
    # again with --force: the variant folders it wrote are replaced
    assert main([*args, "--seed", "5", "-o", str(out), "--force"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    program = (out / "v01" / "answers.json").read_text(encoding="utf-8")
    assert json.loads(program)["program"] == manifest["variants"][0]["program"]


def test_a_folder_of_the_users_in_the_way_is_never_replaced(tmp_path: Path, capsys) -> None:
    out = tmp_path / "class"
    (out / "v01").mkdir(parents=True)
    (out / "v01" / "mine.txt").write_text("mine", encoding="utf-8")
    args = ["generate", str(REFERENCE), "--count", "1", "--no-pdf", "--no-solutions"]
    assert main([*args, "-o", str(out), "--force"]) == 2
    assert "is a directory; it is not replaced" in capsys.readouterr().err
    assert (out / "v01" / "mine.txt").read_text(encoding="utf-8") == "mine"
    assert not (out / "manifest.json").exists()


def test_stream_is_uniform_and_fixed() -> None:
    s = Stream(1)
    counts = [0] * 5
    for _ in range(5000):
        counts[s.below(5)] += 1
    assert all(900 < c < 1100 for c in counts)
    a, b, c = Stream(42), Stream(42), Stream(43)
    first = [a.below(1000) for _ in range(10)]
    assert first == [b.below(1000) for _ in range(10)]
    assert first != [c.below(1000) for _ in range(10)]


def test_distinct_means_distinct_answer_keys() -> None:
    """Seed 7 once gave v02 and v14 with different programs and one answer key: a neighbour's
    numbers could be copied undetected. Every two keys now differ in at least two answers at
    the rule's 3 significant figures (checked here with ``decimal``)."""
    from decimal import Decimal

    from chainrule.teach.template import load_template
    from chainrule.teach.variants import generate_variants

    def three(x: float) -> str:
        if x == 0:
            return "0"
        d = Decimal(repr(x))
        return str(d.quantize(Decimal(10) ** (d.adjusted() - 2)))

    variants = generate_variants(load_template(REFERENCE), 30, 7)
    keys = [{q: three(v) for q, v in variant.answers.items()} for variant in variants]
    for i in range(len(keys)):
        for j in range(i):
            differ = sum(keys[i][q] != keys[j][q] for q in keys[i])
            assert differ >= 2, (variants[i].id, variants[j].id)

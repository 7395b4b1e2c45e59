"""A teacher's first real use: a template of their own (a tanh neuron with squared error), a
class with the mistakes real students and real spreadsheets make, and hostile files.

Each test here failed before the fix it guards. Expected numbers come from numpy on the
variant's own givens, never from chainrule's output."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule.teach.generate import generate
from tests.helpers import run_main

TANH = """
title = "Quiz 2: a tanh neuron"
exact = false
digits = 6
source = '''
x = ${x}
w = ${w}
b = ${b}
y = ${y}
z = w.T @ x + b
a = tanh(z)
L = (a - y)^2
'''
[draw]
x = { decimals = [-2, 2], places = 1, size = 3 }
w = { decimals = [-1, 1], places = 2, size = 3 }
b = { decimals = [-0.5, 0.5], places = 1 }
y = { choices = [-1, 0, 1] }
[conditions]
min_gradient = 1e-3
range = { "a" = [-0.95, 0.95] }
distinct = true
[ask]
values = ["z", "a", "L"]
partials = ["∂a/∂z"]
gradients = ["a", "z", "w", "b"]
drawings = []
"""


def numpy_answers(program: str) -> dict[str, float]:
    """The tanh neuron's answers from its givens, with numpy (independent of chainrule)."""
    given = {}
    for line in program.splitlines():
        m = re.fullmatch(r"(\w+) = (\[.*\]|-?[\d.]+)", line.strip())
        if m:
            given[m.group(1)] = np.array(json.loads(m.group(2)), dtype=float)
    x, w, b, y = given["x"], given["w"], float(given["b"]), float(given["y"])
    z = float(w @ x + b)
    a = math.tanh(z)
    dlda, dadz = 2 * (a - y), 1 - a * a
    out = {"z": z, "a": a, "L": (a - y) ** 2, "da/dz": dadz, "dL/da": dlda}
    out["dL/dz"] = out["dL/db"] = dlda * dadz
    for k in range(3):
        out[f"dL/dw{k + 1}"] = dlda * dadz * float(x[k])
    return out


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, float]]]:
    folder = tmp_path_factory.mktemp("tanh")
    template = folder / "tanh.toml"
    template.write_text(TANH, encoding="utf-8")
    generate(template, folder / "class", count=4, seed=11, pdfs=False, solutions=False)
    manifest = json.loads((folder / "class" / "manifest.json").read_text(encoding="utf-8"))
    keys = {v["id"]: numpy_answers(v["program"]) for v in manifest["variants"]}
    return folder / "class", keys


def rows_of(key: dict[str, float], student: str, variant: str) -> list[str]:
    return [f"{student},{variant},{q},{v:.4g}" for q, v in key.items()]


def grades(report: Path) -> list[dict[str, str]]:
    with open(report / "grades.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_class_key_is_numpys(klass: Any) -> None:
    folder, keys = klass
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for v in manifest["variants"]:
        ours = keys[v["id"]]
        theirs = {q.replace("∂a/∂z", "da/dz"): x for q, x in v["answers"].items()}
        assert set(ours) == set(theirs)
        for q in ours:
            assert math.isclose(ours[q], theirs[q], rel_tol=1e-12, abs_tol=1e-15)


def test_a_quote_left_open_does_not_swallow_the_students_after_it(
    klass: Any, tmp_path: Path
) -> None:
    """Ada's first value opens a quote that is never closed: Python's csv reads the rest of the
    file as one cell, and Bob vanished from grades.csv with exit status 0."""
    folder, keys = klass
    lines = rows_of(keys["v01"], "Ada", "v01") + rows_of(keys["v02"], "Bob", "v02")
    lines[0] = lines[0].replace(",z,", ',z,"')
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "report"))
    assert ran.returncode == 2, ran.stderr
    assert "line 2" in ran.stderr and "quote" in ran.stderr
    assert not (tmp_path / "report").exists()
    # a quote closed many lines later swallows the lines between: the same error
    lines[5] += '"'
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "report"))
    assert ran.returncode == 2 and "line 2" in ran.stderr and "line 7" in ran.stderr, ran.stderr


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_row_with_more_cells_than_the_header_is_reported(
    klass: Any, tmp_path: Path, delimiter: str
) -> None:
    """`Ada,v01,L,0.1864,oops,more`: the extra cells were glued onto the value (graded wrong,
    no word why) or, with `;`, dropped in silence."""
    folder, keys = klass
    lines = rows_of(keys["v01"], "Ada", "v01")
    lines = [ln.replace(",", delimiter) for ln in lines]
    lines[2] += f"{delimiter}oops{delimiter}more"  # L
    lines.append(f"Ada{delimiter}v01{delimiter}L{delimiter}0,5")  # an unquoted decimal comma
    header = delimiter.join(["student", "variant", "quantity", "value"])
    answers = tmp_path / "answers.csv"
    answers.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 0, ran.stderr
    (row,) = grades(tmp_path / "r")
    assert "line 4" in row["problems"] and "oops" in row["problems"], row
    verdicts = list(csv.DictReader(open(tmp_path / "r" / "verdicts.csv", encoding="utf-8")))
    (l_row,) = [v for v in verdicts if v["quantity"] == "L"]
    assert l_row["verdict"] == "right" and l_row["claimed"] == f"{keys['v01']['L']:.4g}"
    assert row["score"] == "10"


def test_huge_cells_are_not_echoed_whole_into_notes(klass: Any, tmp_path: Path) -> None:
    """A 100,000-character cell came back whole in the note on the terminal, in grades.csv's
    problems, in summary.md and in the student's page (150 kB per note)."""
    folder, keys = klass
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "student,variant,quantity,value\n"
        + f'Ada,v01,dL/dw,"{"[" * 100_000}"\n'
        + f"Ada,v01,{'d' * 50_000}/{'d' * 50_000},{'1' * 50_000}e\n"
        + f"Bob,{'v' * 100_000},z,1\n"
        + "\n".join(rows_of(keys["v01"], "Ada", "v01"))
        + "\n",
        encoding="utf-8",
    )
    report = tmp_path / "r"
    ran = run_main("grade", str(folder), str(answers), "-o", str(report))
    assert ran.returncode == 0, ran.stderr[:2000]
    assert len(ran.stderr) < 3000, ran.stderr[:3000]
    for name in ("grades.csv", "summary.md"):
        assert (report / name).stat().st_size < 20_000, name
    for page in (report / "students").iterdir():
        assert page.stat().st_size < 20_000, page.name
    by_name = {g["student"]: g for g in grades(report)}
    assert by_name["Ada"]["score"] == "10"
    assert by_name["Bob"]["status"] == "not graded"


def _template(source: str) -> str:
    return f"title = 'x'\nsource = '''\n{source}\n'''\n[draw]\nx = {{ integers = [1, 3] }}\n"


@pytest.mark.parametrize(
    "source",
    [
        "x = ${x}\ny = ${" + "a" * 100_000 + "}\nL = x^2",
        "x = ${x}\ny = " + "${" * 50_000 + "\nL = x^2",  # took 82 s (a quadratic regex scan)
    ],
    ids=["long-name", "unclosed-placeholders"],
)
def test_hostile_placeholders(tmp_path: Path, source: str) -> None:
    template = tmp_path / "t.toml"
    template.write_text(_template(source), encoding="utf-8")
    ran = run_main("generate", str(template), "--count", "1", "-o", str(tmp_path / "c"))
    assert ran.returncode == 2
    assert len(ran.stderr) < 2000, ran.stderr[:300]
    assert "line 2" in ran.stderr, ran.stderr[:300]
    assert not (tmp_path / "c").exists()


SEED = Path(__file__).parent / "data" / "seed-exercise.md"


def test_check_solution_applies_the_rule_it_is_given() -> None:
    """`check --solution` judged on the digits written whatever rule was asked for: --sigfig 3
    was accepted and ignored (ŷ = 0,94 'right', the report stating the digits-written rule)."""
    seed = str(SEED)
    written = run_main("check", seed, "--solution", seed)
    assert "right     ŷ = 0,94" in written.stdout, written.stdout
    asked = run_main("check", seed, "--solution", seed, "--sigfig", "3")
    assert asked.returncode == 1
    assert "sigfig = 3" in asked.stdout, asked.stdout
    # sympy: ŷ = σ(14/5) = 0.94268…, to 3 significant figures 0.943: 0,94 has too few digits
    import sympy

    yhat = 1 / (1 + sympy.exp(-sympy.Rational(14, 5)))
    assert abs(float(yhat) - 0.94268) < 1e-5
    line = next(ln for ln in asked.stdout.splitlines() if "ŷ = 0,94" in ln)
    assert "too few" in line.lower(), asked.stdout
    # the slips stay where they are: L = 0,06 and dL/dz = -0,06 (line 22 and 32)
    assert "(line 22)" in asked.stdout and "(line 32)" in asked.stdout


def test_the_marked_copy_says_too_few_digits(tmp_path: Path) -> None:
    seed = str(SEED)
    out = tmp_path / "marked.md"
    ran = run_main("check", seed, "--solution", seed, "--sigfig", "3", "-o", str(out))
    assert ran.returncode == 1
    text = out.read_text(encoding="utf-8")
    assert "0,94\\;\\text{✗ too few digits}" in text, text[:3000]
    html = tmp_path / "marked.html"
    run_main("check", seed, "--solution", seed, "--sigfig", "3", "-o", str(html))
    assert re.search(r"\d+ with too few digits", html.read_text(encoding="utf-8"))


def test_moodle_grades_feedback_says_what_the_other_exports_say(klass: Any, tmp_path: Path) -> None:
    """moodle-grades.csv's Feedback was empty for every graded student: a student whose
    answers are another variant's, or whose rows were not read, got a bare number there while
    grades.csv and Gradescope's output said why."""
    folder, keys = klass
    lines = rows_of(keys["v02"], "Ada", "v01")  # v02's numbers under v01
    lines += rows_of(keys["v03"], "Bob", "v03")[:-1] + ["Bob,v03,dL/db,0.5,oops"]
    lines += rows_of(keys["v04"], "Chen", "v04")
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")
    report = tmp_path / "r"
    assert run_main("grade", str(folder), str(answers), "-o", str(report)).returncode == 0
    with open(report / "exports" / "moodle-grades.csv", encoding="utf-8", newline="") as f:
        rows = {r["Full name"]: r for r in csv.DictReader(f)}
    assert "v02's" in rows["Ada"]["Feedback"], rows["Ada"]
    assert "line" in rows["Bob"]["Feedback"] and "oops" in rows["Bob"]["Feedback"], rows["Bob"]
    assert rows["Chen"]["Grade"] == "10"


@pytest.mark.parametrize(
    "body",
    ["", "\n\n", "Ada,v01\nBob\n", ";;;\n"],
    ids=["header-only", "blank-lines", "short-rows", "empty-cells"],
)
def test_a_file_with_no_student_is_refused(klass: Any, tmp_path: Path, body: str) -> None:
    """A header and nothing else (or only unreadable rows) gave '0 students graded', exit 0
    and an empty report: most often the wrong file was exported."""
    folder, _ = klass
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + body, encoding="utf-8")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 2, ran.stdout
    assert "no student" in ran.stderr, ran.stderr
    assert not (tmp_path / "r").exists()


def test_more_variants_than_the_template_can_draw_is_refused_at_once(tmp_path: Path) -> None:
    """x drawn from {1, 2, 3} cannot give 5 different variants: generate tried 1,000 seeds for
    the 4th variant before saying so (53 s for a template whose program has 2,000 lines)."""
    template = tmp_path / "t.toml"
    template.write_text(
        _template("x = ${x}\nL = x^2") + "[choose]\nk = ['1', '2']\n[ask]\nvalues = ['L']\n"
    )
    ran = run_main("generate", str(template), "--count", "7", "-o", str(tmp_path / "c"))
    assert ran.returncode == 2
    assert "at most 6 different" in ran.stderr, ran.stderr
    assert not (tmp_path / "c").exists()
    # 6 is possible (3 numbers × 2 choices) as far as counting goes; here k is unused, so
    # only 3 programs differ, and the search says so as before
    ran = run_main("generate", str(template), "--count", "4", "-o", str(tmp_path / "c"))
    assert ran.returncode == 2 and "different from every earlier variant" in ran.stderr


TYPO = r"""Exercise 5 (with a typo).

Given $x_1 = 2$, $x_2 = -1$ and $w_1 = 0,5$, $w_2 = 1,5$:

$$h = \sigma\left(w_1 x_1 + w_2 x_2\right)$$

$$L = \left(h - 1\right^2$$
"""


def test_a_typo_in_the_last_formula_is_an_error_not_another_output(tmp_path: Path) -> None:
    """The formula of L could not be read; the exercise was then solved for h (the last
    formula read) with exit status 0 and one '# not read' comment on stderr."""
    exercise = tmp_path / "e5.md"
    exercise.write_text(TYPO, encoding="utf-8")
    for command in ("eval", "solve"):
        extra = ["-o", str(tmp_path / "out")] if command == "solve" else []
        ran = run_main(command, str(exercise), *extra)
        assert ran.returncode == 2, (command, ran.stdout, ran.stderr)
        assert "line 7" in ran.stderr and "L" in ran.stderr, ran.stderr
        assert not (tmp_path / "out").exists()
    # with the typo fixed, the numbers are sympy's
    import sympy

    exercise.write_text(TYPO.replace(r"\right^2", r"\right)^2"), encoding="utf-8")
    ran = run_main("eval", str(exercise), "--json")
    assert ran.returncode == 0, ran.stderr
    x1, x2, w1, w2 = sympy.symbols("x1 x2 w1 w2")
    loss = (1 / (1 + sympy.exp(-(w1 * x1 + w2 * x2))) - 1) ** 2
    at = {x1: 2, x2: -1, w1: sympy.Rational(1, 2), w2: sympy.Rational(3, 2)}
    data = json.loads(ran.stdout)
    text = json.dumps(data, ensure_ascii=False)
    assert f"{float(loss.subs(at)):.6g}"[:6] in text
    assert f"{float(sympy.diff(loss, w1).subs(at)):.6g}"[:7] in text


def _sympy_references() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each exercise of tests/data/teachers as sympy computes it: (values, gradients)."""
    import sympy as sp

    half = sp.Rational(1, 2)
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    w1, w2, b = sp.symbols("w1 w2 b")
    loss = half * (sp.tanh(w1 * half - w2 * 3 * half + b) - 1) ** 2
    at = {w1: 2, w2: sp.Rational(1, 4), b: sp.Rational(-3, 10)}
    out["tanh-neuron.md"] = (
        {"L": loss.subs(at)},
        {
            "w": [sp.diff(loss, w1).subs(at), sp.diff(loss, w2).subs(at)],
            "b": sp.diff(loss, b).subs(at),
        },
    )
    ws = sp.symbols("W0:6")
    s = sp.Matrix(3, 2, ws) * sp.Matrix([1, 2])
    loss = -sp.log(sp.exp(s[1]) / sum(sp.exp(v) for v in s))
    at = dict(zip(ws, [sp.Rational(k, 10) for k in (1, -2, 3, 4, -5, 6)], strict=True))
    grad = [sp.diff(loss, w).subs(at) for w in ws]
    out["softmax.tex"] = ({"L": loss.subs(at)}, {"W": [grad[0:2], grad[2:4], grad[4:6]]})
    x, y = sp.symbols("x y")
    loss = (x * y) * (x * y + x)
    out["fan-out.md"] = (
        {"L": loss.subs({x: 3, y: -2})},
        {"x": sp.diff(loss, x).subs({x: 3, y: -2}), "y": sp.diff(loss, y).subs({x: 3, y: -2})},
    )
    u, v = sp.symbols("u v")
    q = u / v + u * v
    loss = sp.exp(-sp.sqrt(q)) + sp.log(1 + q)
    at = {u: sp.Rational(3, 2), v: half}
    out["sqrt-exp-log.tex"] = (
        {"L": loss.subs(at)},
        {"u": sp.diff(loss, u).subs(at), "v": sp.diff(loss, v).subs(at)},
    )
    return out


@pytest.mark.parametrize(
    "name", ["tanh-neuron.md", "softmax.tex", "fan-out.md", "sqrt-exp-log.tex"]
)
def test_exercises_written_as_teachers_write_them(name: str) -> None:
    """align/aligned environments, \\left( … \\right), \\cdot, \\frac, bmatrix and pmatrix, a
    subscript that is an element (p_2 of softmax), prose and a % comment between formulas."""
    path = Path(__file__).parent / "data" / "teachers" / name
    ran = run_main("eval", str(path), "--json")
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    values, gradients = _sympy_references()[name]
    for node, want in values.items():
        assert data["values"][node] == pytest.approx(float(want), rel=1e-12)
    for node, want in gradients.items():
        got = np.array(data["gradients"][node], dtype=float)
        assert np.allclose(got, np.array(want, dtype=float), rtol=1e-12, atol=1e-15), node


# The pieces of maths as the one-regex reader found them (a lazy ".+?" per opening: 46 s for
# 50,000 "\[" with no "\]"); the linear scanner must find exactly the same pieces.
_OLD_ENVS = (
    "equation|equation\\*|align|align\\*|aligned|gather|gather\\*|multline|multline\\*|"
    "eqnarray|eqnarray\\*|displaymath|math|flalign|flalign\\*|alignat|alignat\\*"
)
_OLD_COMMON = (
    r"(?P<esc>\\\$)"
    r"|\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<bracket>.+?)\\\]"
    r"|\\\((?P<paren>.+?)\\\)"
    r"|(?P<env>\\begin\{(?P<ename>" + _OLD_ENVS + r")\}.*?\\end\{(?P=ename)\})"
    r"|\$(?P<d>(?:[^$\n]|\n(?![ \t]*\n))+?)\$"  # inline: across a line break, not a blank line
)
_OLD_MARKDOWN = re.compile(
    r"(?P<fence>^```+[ \t]*math[ \t]*\n(?P<fbody>.*?)^```+[ \t]*$)"
    r"|(?P<code>^```.*?^```[ \t]*$)"
    r"|(?P<icode>`[^`\n]+`)|" + _OLD_COMMON,
    re.S | re.M,
)
_OLD_LATEX = re.compile(r"(?P<comment>(?<!\\)%[^\n]*)|" + _OLD_COMMON, re.S | re.M)


def _old_segments(text: str, latex: bool) -> list[tuple[str, int, bool]]:
    out = []
    for m in (_OLD_LATEX if latex else _OLD_MARKDOWN).finditer(text):
        for group, display in (("fbody", True), ("env", True), ("dd", True), ("bracket", True),
                               ("paren", False), ("d", False)):  # fmt: skip
            if m.groupdict().get(group) is not None and (group != "fbody" or m.group("fence")):
                out.append((m.group(group), m.start(group), display))
                break
    return out


@pytest.mark.parametrize("latex", [False, True], ids=["markdown", "latex"])
def test_the_linear_maths_finder_finds_what_the_regex_found(latex: bool) -> None:
    import random

    from chainrule.lang.latex.segments import math_segments

    pieces = ["$", "$$", "\\[", "\\]", "\\(", "\\)", "\\$", "%", "\\%", "`", "```", "```math",
              "\n", " ", "x", "=", "1", "\\begin{align}", "\\end{align}", "\\begin{equation}",
              "\\end{equation}", "\\end{align*}", "{", "}", "\\"]  # fmt: skip
    rng = random.Random(2026)
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        new = [(s.text, s.offset, s.display) for s in math_segments(text, latex=latex)]
        assert new == _old_segments(text, latex), repr(text)


@pytest.mark.parametrize(
    "text",
    [
        "$L = " + "\\frac{1}{" * 3000 + "2" + "}" * 3000 + "$\n",
        "Prose first.\n\n$L = \\left(h - 1\\right^2$\n",
    ],
    ids=["too-deep", "typo"],
)
def test_when_nothing_can_be_read_the_error_says_why(tmp_path: Path, text: str) -> None:
    """Every formula unreadable: 'no definitions found: write the exercise's formulas between
    $…$' (they were), the reason and the line left unsaid."""
    exercise = tmp_path / "e.md"
    exercise.write_text(text, encoding="utf-8")
    ran = run_main("eval", str(exercise))
    assert ran.returncode == 2
    line = text[: text.index("$L")].count("\n") + 1
    assert f"line {line}" in ran.stderr, ran.stderr
    assert len(ran.stderr) < 1000


@pytest.mark.parametrize(
    "body",
    [
        "L = " + "1" * 1_000_000 + "x\n",  # echoed whole: 1 MB on the terminal
        "dL/dx = " + "[" * 100_000 + "\n",
        "d" * 100_000 + "/" + "d" * 100_000 + " = 1\n",
        "L = " + "9" * 5000 + "/" + "7" * 5000 + "q\n",
    ],
    ids=["long-number", "brackets", "long-name", "long-fraction"],
)
def test_a_hostile_claims_file_gets_a_short_error(tmp_path: Path, body: str) -> None:
    from tests.helpers import EXERCISE

    claims = tmp_path / "claims.txt"
    claims.write_text(body, encoding="utf-8")
    ran = run_main("check", str(EXERCISE), "--claims", str(claims))
    assert ran.returncode == 2
    assert "line 1" in ran.stderr
    assert len(ran.stderr) < 1000, len(ran.stderr)


def test_a_claims_file_of_thousands_of_lines_is_refused(tmp_path: Path) -> None:
    """4,000 claims took 18 s and 100,000 more than two minutes (each wrong number is traced
    through all the others): a learner's sheet has tens of numbers, not thousands."""
    from tests.helpers import EXERCISE

    claims = tmp_path / "claims.txt"
    claims.write_text("".join(f"L = {k}\n" for k in range(100_000)), encoding="utf-8")
    ran = run_main("check", str(EXERCISE), "--claims", str(claims))
    assert ran.returncode == 2 and "claims" in ran.stderr and "1000" in ran.stderr.replace(",", "")


@pytest.mark.parametrize("cell", ["=1", "=5", "@1", "=1e5", "=1,5", "@2.5"])
def test_formula_cells_that_look_numeric_after_their_first_character_are_guarded(
    cell: str,
) -> None:
    """The number test's sign was written [+-−]: a range from + to −, = and @ inside it, so
    '=1' counted as a number and reached the spreadsheet as a formula."""
    from chainrule.teach.csvout import csv_text, inert

    assert inert(cell) == "'" + cell
    assert csv_text([[cell]]).lstrip('"').startswith("'")
    for number in ("-2,2", "+5", "−0.5", "1e-3", "-0.12"):
        assert inert(number) == number


def test_another_variants_answers_are_not_counted_as_first_slips(
    klass: Any, tmp_path: Path
) -> None:
    """Students who answered another variant (a wrong id, or a neighbour's numbers) were
    counted as first slips at z, 'arithmetic slip': in a class of 200, 20 such students made
    'z' the most common slip of the class, next to the 10 real ones."""
    folder, keys = klass
    lines = rows_of(keys["v02"], "Ada", "v01") + rows_of(keys["v04"], "Bob", "v03")
    slip = dict(keys["v01"], z=keys["v01"]["z"] + 0.1)  # a real slip at z, the rest right
    lines += rows_of(slip, "Chen", "v01")
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")
    report = tmp_path / "r"
    assert run_main("grade", str(folder), str(answers), "-o", str(report)).returncode == 0
    summary = (report / "summary.md").read_text(encoding="utf-8")
    table = summary.split("## Most common first slips", 1)[1].split("##", 1)[0]
    assert "| z | forward, at z | 1 |" in table, table
    assert "2 students whose answers are another variant's" in table, table
    rows = {g["student"]: g for g in grades(report)}
    assert rows["Ada"]["first_slip"] == "z"  # still in their own row, for the teacher to see


def test_float_noise_below_a_power_of_ten_does_not_narrow_the_rule(tmp_path: Path) -> None:
    """z = 0.3 − 0.2 is 0.09999999999999998 in floats: its 3rd significant digit was taken in
    the 1e-4 place, so 0.1004 was 'wrong' (while 0.3004 for 3z was right) and the report said
    '0.1000 to 3 significant figures'. The exact value is 1/10 (fractions, not floats)."""
    from fractions import Fraction

    assert Fraction(3, 10) - Fraction(2, 10) == Fraction(1, 10)
    program = tmp_path / "p.cr"
    program.write_text("x = 0.3\ny = 0.2\nz = x - y\nL = 3 * z\n", encoding="utf-8")
    ran = run_main("check", str(program), "--claim", "z=0.1004", "--claim", "L=0.3004")
    assert ran.returncode == 0, ran.stdout
    ran = run_main("check", str(program), "--claim", "z=0.1006")
    assert "0.100 to 3 significant figures" in ran.stdout, ran.stdout


@pytest.mark.parametrize("vid", ["v0\x001", "../../etc", "v\x1b]0;x\x07", "", "v" * 300])
def test_a_hand_edited_manifest_with_a_strange_variant_id_is_refused(
    klass: Any, tmp_path: Path, vid: str
) -> None:
    """An id holding a NUL, an escape sequence or a path was accepted and echoed raw to the
    terminal in 'known: …' (a NUL, a terminal title change)."""
    import shutil

    folder, keys = klass
    mine = tmp_path / "class"
    shutil.copytree(folder, mine)
    manifest = json.loads((mine / "manifest.json").read_text(encoding="utf-8"))
    manifest["variants"][0]["id"] = vid
    (mine / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "student,variant,quantity,value\n" + "\n".join(rows_of(keys["v01"], "Ada", "v01"))
    )
    ran = run_main("grade", str(mine), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 2, ran.stdout
    assert "variants[0]" in ran.stderr and "\x00" not in ran.stderr and "\x1b" not in ran.stderr
    assert len(ran.stderr) < 500


def test_a_scoring_file_naming_no_quantity_of_the_class_is_refused(
    klass: Any, tmp_path: Path
) -> None:
    """[quantity_points] "dL/dq" = 2 (a typo) and "yhat" = 3 (another class's name) were
    ignored without a word: the class was scored out of 10, not as the teacher wrote."""
    folder, keys = klass
    scoring = tmp_path / "scoring.toml"
    scoring.write_text('[quantity_points]\n"dL/dq" = 2\n"dL/dw_1" = 2\nyhat = 3\n')
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "student,variant,quantity,value\n" + "\n".join(rows_of(keys["v01"], "Ada", "v01"))
    )
    args = ["grade", str(folder), str(answers), "-o", str(tmp_path / "r")]
    ran = run_main(*args, "--scoring", str(scoring))
    assert ran.returncode == 2
    assert "dL/dq" in ran.stderr and "yhat" in ran.stderr and "dL/dw_1" not in ran.stderr
    assert not (tmp_path / "r").exists()
    scoring.write_text('[quantity_points]\n"dL/dw_1" = 2\n"∂a/∂z" = 3\n')
    assert run_main(*args, "--scoring", str(scoring)).returncode == 0
    (row,) = grades(tmp_path / "r")
    assert row["max_score"] == "13"  # 8 quantities of 1 point, dL/dw1 2, ∂a/∂z 3


def test_a_misnamed_column_of_a_wide_csv_is_one_note_not_one_per_student(
    klass: Any, tmp_path: Path
) -> None:
    """A wide CSV (Google Forms) with a column 'dL/dq' gave one note per student (200 lines on
    the terminal for one header), none saying it was the column."""
    folder, keys = klass
    names = list(keys["v01"])
    lines = ["Name,Version," + ",".join(names) + ",dL/dq"]
    for k in range(6):
        vid = f"v0{k % 4 + 1}"
        lines.append(f"S{k},{vid}," + ",".join(f"{keys[vid][q]:.4g}" for q in names) + ",1")
    answers = tmp_path / "answers.csv"
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 0, ran.stderr
    notes = [n for n in ran.stderr.splitlines() if "dL/dq" in n]
    assert len(notes) == 1 and "column" in notes[0] and "6 students" in notes[0], notes
    assert all(g["score"] == "10" for g in grades(tmp_path / "r"))


def test_a_sheet_of_zeros_is_not_an_arithmetic_slip(klass: Any, tmp_path: Path) -> None:
    """A student who wrote 0 everywhere was counted among 'arithmetic slips' (no usual wrong
    rule gives the number): in a class of 200, 10 blank sheets swelled that count to 50."""
    folder, keys = klass
    zeros = {q: 0.0 for q in keys["v01"]}
    slip = dict(keys["v02"], z=keys["v02"]["z"] + 0.1)
    lines = rows_of(zeros, "Ada", "v01") + rows_of(slip, "Bob", "v02")
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")
    report = tmp_path / "r"
    assert run_main("grade", str(folder), str(answers), "-o", str(report)).returncode == 0
    rows = {g["student"]: g for g in grades(report)}
    assert rows["Ada"]["score"] == "0" and rows["Ada"]["mistake"] == "0 written", rows["Ada"]
    assert rows["Bob"]["mistake"] == "arithmetic slip"
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "| 0 written | 1 |" in summary and "| arithmetic slip | 1 |" in summary


def test_a_formula_of_a_worked_solution_that_cannot_be_read_is_noted(
    klass: Any, tmp_path: Path
) -> None:
    """In a folder of worked solutions, a formula with a typo (`\\right^2`) was dropped without a
    word: the student's L was 'missing', and nothing said which line was not read."""
    folder, keys = klass
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    z = keys["v02"]["z"]
    (solutions / "bob.md").write_text(
        f"variant = v02\n\n$z = {z:.4g}$\n\n$L = \\left(0.3 - 1\\right^2 = 0.49$\n",
        encoding="utf-8",
    )
    ran = run_main("grade", str(folder), str(solutions), "-o", str(tmp_path / "r"), "--anyway")
    assert ran.returncode == 0, ran.stderr
    (row,) = grades(tmp_path / "r")
    assert "bob.md line 5" in row["problems"], row


def test_a_worked_solution_with_no_answer_in_it_is_noted(klass: Any, tmp_path: Path) -> None:
    """A solution file in which no formula names a quantity (prose only, or maths never
    closed) was graded 0 with every answer 'missing' and no note about the file."""
    folder, keys = klass
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / "eve.md").write_text("variant = v01\n\n" + "\\[" * 1000, encoding="utf-8")
    z = keys["v02"]["z"]
    (solutions / "bob.md").write_text(f"variant = v02\n\n$z = {z:.4g}$\n", encoding="utf-8")
    ran = run_main("grade", str(folder), str(solutions), "-o", str(tmp_path / "r"), "--anyway")
    assert ran.returncode == 0, ran.stderr
    rows = {g["student"]: g for g in grades(tmp_path / "r")}
    assert "eve.md" in rows["eve"]["problems"] and "no answer" in rows["eve"]["problems"]
    assert rows["bob"]["problems"] == ""


def test_two_students_of_one_name_and_variant_without_ids_are_flagged(
    klass: Any, tmp_path: Path
) -> None:
    """Two 'Li Wang' on v01 without an id column are one student to the reader (name and
    variant): the second one's answers were 'answered again' problems, one per quantity, and
    nothing said that these may be two people."""
    folder, keys = klass
    other = {q: v * 1.5 for q, v in keys["v01"].items()}
    lines = rows_of(keys["v01"], "Li Wang", "v01") + rows_of(other, "Li Wang", "v01")
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 0
    (row,) = grades(tmp_path / "r")
    assert "two students" in row["notes"] and "id" in row["notes"], row["notes"]


def test_a_closed_multiline_comment_cell_is_not_taken_for_an_open_quote(
    klass: Any, tmp_path: Path
) -> None:
    """A Google Forms export with a free-text column: a quoted cell over two lines holding a
    comma is a comment, not rows swallowed by an open quote."""
    folder, keys = klass
    names = list(keys["v01"])
    lines = ["Name,Version,Comments," + ",".join(names)]
    values = ",".join(f"{keys['v01'][q]:.4g}" for q in names)
    lines.append(f'Ada,v01,"I think, maybe\nnot sure",{values}')
    lines.append(f"Bob,v01,,{values}")
    answers = tmp_path / "answers.csv"
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 0, ran.stderr
    assert [g["score"] for g in grades(tmp_path / "r")] == ["10", "10"]


def test_thousands_of_bogus_columns_are_one_note(klass: Any, tmp_path: Path) -> None:
    """20,000 columns naming nothing gave 20,000 notes (2.5 MB on the terminal) for one
    student."""
    folder, keys = klass
    bogus = [f"q{k}" for k in range(20_000)]
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "Name,Version,z," + ",".join(bogus) + "\nAda,v01,"
        f"{keys['v01']['z']:.4g}," + ",".join("1" for _ in bogus) + "\n",
        encoding="utf-8",
    )
    ran = run_main("grade", str(folder), str(answers), "-o", str(tmp_path / "r"))
    assert ran.returncode == 0
    assert len(ran.stderr) < 1000 and "20000 columns" in ran.stderr, ran.stderr[:500]
    (row,) = grades(tmp_path / "r")
    assert row["problems"] == "" and row["right_or_rounding"] == "1"


def test_carried_forward_credit_is_withheld_for_another_variants_answers(
    klass: Any, tmp_path: Path
) -> None:
    """A student holding a neighbour's numbers (or a wrong variant id) got 'follows from an
    earlier slip' on every quantity after the first difference, and its full carried-forward
    credit: another variant's numbers are no slip of theirs. By default that credit is
    withheld there and the grade says why; a scoring file restores it."""
    folder, keys = klass
    slip = dict(keys["v01"], z=keys["v01"]["z"] + 0.1)
    lines = rows_of(keys["v02"], "Ada", "v01") + rows_of(slip, "Chen", "v01")
    answers = tmp_path / "answers.csv"
    answers.write_text("student,variant,quantity,value\n" + "\n".join(lines) + "\n")

    def marks(report: Path, who: str) -> list[dict[str, Any]]:
        with open(report / "verdicts.csv", encoding="utf-8", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["student"] == who]
        return [dict(r, points=float(r["points"])) for r in rows]

    report = tmp_path / "default"
    assert run_main("grade", str(folder), str(answers), "-o", str(report)).returncode == 0
    ada, chen = marks(report, "Ada"), marks(report, "Chen")
    carried = [m for m in ada if m["verdict"] == "follows from an earlier slip"]
    assert carried, "Ada's answers carry nothing forward: the test would prove nothing"
    assert all(m["points"] == 0 for m in carried)
    assert sum(m["points"] for m in chen) == len(chen) - 1  # their own slip costs its point
    feedback = next((report / "students").glob("*ada*")).read_text(encoding="utf-8")
    assert "carried-forward credit is 0% for answers that are another variant's" in feedback

    scoring = tmp_path / "scoring.toml"
    scoring.write_text("[credit]\nfollows_another_variant = 1\n", encoding="utf-8")
    again = tmp_path / "restored"
    ran = run_main("grade", str(folder), str(answers), "-o", str(again), "--scoring", str(scoring))
    assert ran.returncode == 0, ran.stderr
    restored = marks(again, "Ada")
    assert [m["points"] for m in restored if m["verdict"] == carried[0]["verdict"]] == [1.0] * len(
        carried
    )


def test_the_worksheet_explains_only_the_spellings_its_quantities_need() -> None:
    """Every sheet said "a hat is written hat, as in yhat", also where no quantity has a hat."""
    from chainrule.teach.sheets import submit_note

    def text(names: list[str]) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in submit_note(names))

    plain = text(["z", "a", "L"])
    assert "hat" not in plain and "subscript" not in plain and "∂" not in plain
    full = text(["ŷ", "dL/dw₁", "∂ŷ/∂z"])
    assert "yhat" in full and "subscript" in full and "∂ as d" in full
    assert "hat" not in text(["∂a/∂z", "dL/dw₁"])

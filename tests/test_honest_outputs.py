"""Outputs that never mislead: shapes, names, labels, formats.

Each test is written against a class of problem (a matrix flattened, a name hidden by an alias,
a label read as a power ...), with expected numbers computed here (fractions, numpy, PyTorch),
never copied from chainrule's output."""

from __future__ import annotations

import contextlib
import io
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main

MINUS = "\u2212"


@pytest.fixture(autouse=True)
def _no_seed_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """``manual_seed`` is process-wide: each test here puts it back as it found it."""
    from chainrule.core import seed

    monkeypatch.setattr(seed, "_seeded", seed._seeded)


def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """The CLI in process: exit status, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    old = None
    if stdin is not None:
        import sys

        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        if old is not None:
            import sys

            sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def ok(*args: str, stdin: str | None = None) -> str:
    code, out, err = cli(*args, stdin=stdin)
    assert code == 0, err
    assert "Traceback" not in out + err
    return out


def fractions_text(a: np.ndarray | Fraction) -> str:
    """A nested list of fractions as people write it: [[1/2, 3], [5, 7/4]] (true minus)."""

    def one(x: Fraction) -> str:
        s = str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
        return s.replace("-", MINUS)

    if isinstance(a, Fraction):
        return one(a)
    return "[" + ", ".join(fractions_text(r) for r in a) + "]"


# ------------------------------------------------------------------ 1. matrices keep their shape

GALLERY = Path(__file__).parent / "gallery"
MATRIX = "A = [[1, 2], [3, 4]]\nv = [1/2, -3]\nL = sum(A @ v)\n"


def _matrix_truth() -> tuple[np.ndarray, np.ndarray]:
    a = np.array([[Fraction(1), Fraction(2)], [Fraction(3), Fraction(4)]], dtype=object)
    v = np.array([Fraction(1, 2), Fraction(-3)], dtype=object)
    # L = Σᵢ Σⱼ Aᵢⱼ vⱼ, so dL/dAᵢⱼ = vⱼ and dL/dvⱼ = Σᵢ Aᵢⱼ
    d_a = np.array([[v[j] for j in range(2)] for _ in range(2)], dtype=object)
    return a, d_a


def test_exact_matrix_keeps_its_shape_in_the_table_and_json(tmp_path: Path) -> None:
    prog = tmp_path / "m.cr"
    prog.write_text(MATRIX, encoding="utf-8")
    a, d_a = _matrix_truth()
    table = ok("eval", str(prog), "--exact")
    row = next(line for line in table.splitlines() if line.strip("│ ").startswith("A "))
    assert fractions_text(a) in row
    assert fractions_text(d_a) in row
    data = json.loads(ok("eval", str(prog), "--exact", "--json"))
    assert data["exact"]["A"].replace("-", MINUS) == fractions_text(a)
    assert data["exact_gradients"]["A"].replace("-", MINUS) == fractions_text(d_a)


def test_explain_exact_matrix_is_equal_not_approximately(tmp_path: Path) -> None:
    prog = tmp_path / "m.cr"
    prog.write_text(MATRIX, encoding="utf-8")
    a, _ = _matrix_truth()
    text = ok("explain", str(prog), "--exact", "--format", "txt")
    line = next(x for x in text.splitlines() if x.strip().startswith("A = "))
    assert line.strip() == f"A = {fractions_text(a)}"
    assert "≈" not in line


# ------------------------------------------------------------------ 2, 17. explain's format

SEED = Path(__file__).parent.parent / "examples" / "seed-exercise.cr"
MARKERS = {"md": "$$", "tex": "\\documentclass", "txt": "dL/dz ="}


def _format_of(text: str) -> str:
    if "\\documentclass" in text:
        return "tex"
    if "$" in text:
        return "md"
    assert MARKERS["txt"] in text
    return "txt"


@pytest.mark.parametrize(("ext", "fmt"), [(".md", "md"), (".tex", "tex"), (".txt", "txt")])
def test_explain_out_follows_the_extension(tmp_path: Path, ext: str, fmt: str) -> None:
    target = tmp_path / f"sol{ext}"
    ok("explain", str(SEED), "-o", str(target))
    assert _format_of(target.read_text(encoding="utf-8")) == fmt
    ok("explain", str(SEED), "-o", str(target), "--format", fmt)  # agreeing is fine


@pytest.mark.parametrize(("ext", "fmt"), [(".md", "tex"), (".tex", "txt"), (".txt", "md")])
def test_explain_format_contradicting_the_extension_is_an_error(
    tmp_path: Path, ext: str, fmt: str
) -> None:
    target = tmp_path / f"sol{ext}"
    code, out, err = cli("explain", str(SEED), "-o", str(target), "--format", fmt)
    assert code == 2 and "contradicts" in err and "Traceback" not in err
    assert not target.exists()


def test_explain_defaults_to_markdown_and_says_so() -> None:
    assert _format_of(ok("explain", str(SEED))) == "md"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["explain", "--help"])
    assert "md (the default" in " ".join(out.getvalue().split())


# ------------------------------------------------------------------ numbers put in for names


@pytest.mark.parametrize(
    ("program", "shown"),
    [
        ("x = 3\nz = 2*x + 1\n", ("2·3", "2 \\cdot 3")),
        ("x = 3\ny = 4\nz = x*y*2\n", ("3 · 4", "3 \\cdot 4")),
        ("x = [1, 2]\nz = sum(3*x)\n", ("3·[1, 2]", "3 \\cdot \\left[1, 2\\right]")),
    ],
)
def test_numbers_put_in_for_a_juxtaposed_name_keep_a_product_sign(
    program: str, shown: tuple[str, str]
) -> None:
    """2x at x = 3 is written 2·3: juxtaposed numbers (23) read as another number."""
    text = ok("explain", "-", "--format", "txt", stdin=program)
    md = ok("explain", "-", "--format", "md", stdin=program)
    assert shown[0] in text
    assert shown[1] in md
    assert "2 3" not in md and " 23 " not in text


def test_an_elementwise_product_of_two_arrays_is_not_written_as_a_dot_product() -> None:
    """y = [22, 28]: the forward pass wrote "y · y = [22, 28] · [22, 28] = [484, 784]", which
    reads as the dot product 1268. Two arrays multiplied element by element are written with
    ⊙, as the backward pass writes them; a number times an array keeps ·, and so does @."""
    program = "x = [1, 2, 3]\nW = [[1, 2], [3, 4], [5, 6]]\ny = x @ W\nL = sum(3 * y * y)\n"
    text = ok("explain", "-", "--format", "txt", stdin=program)
    md = ok("explain", "-", "--format", "md", stdin=program)
    table = ok("eval", "-", stdin=program)
    assert "3y ⊙ y = [66, 84] ⊙ [22, 28] = [1452, 2352]" in text
    assert "3y = 3·[22, 28] = [66, 84]" in text
    assert "[66, 84] · [22, 28]" not in text
    assert "3 y \\odot y" in md or "3y \\odot y" in md
    assert "\\left[66, 84\\right] \\odot \\left[22, 28\\right]" in md
    assert "sum(3y ⊙ y)" in table and "x @ W" in table


# ------------------------------------------------------------------ 3. a name given by an alias

ALIAS = "x = 3\ny = x\nz = 2*y + x\n"


def test_an_alias_is_a_row_of_the_table_and_the_output_title() -> None:
    rows = {}
    for line in ok("eval", "-", stdin=ALIAS).splitlines():
        cells = [c.strip() for c in line.strip("│").split("│")]
        if len(cells) == 4:
            rows[cells[0]] = cells
    # z = 2y + x with y = x is 3x, so dz/dx = dz/dy = 3 (the same node)
    assert rows["y"][2:] == ["3", "3"]
    out = ok("eval", "-", "--output", "y", stdin="x = 3\ny = x\n")
    assert "y" in out.splitlines()[0]  # the title names the output the user asked for
    assert any(line.strip("│ ").startswith("y ") for line in out.splitlines())
    data = json.loads(ok("eval", "-", "--json", stdin=ALIAS))
    assert data["values"]["y"] == 3 and data["gradients"]["y"] == 3


@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_an_alias_is_named_in_the_worked_solution(fmt: str) -> None:
    text = ok("explain", "-", "--format", fmt, stdin=ALIAS)
    assert "y = x = 3" in text


def test_an_alias_is_named_in_the_drawing() -> None:
    assert "y = x   3" in ok("draw", "-", stdin=ALIAS)


# ------------------------------------------------------------------ 11. augmented assignment


@pytest.mark.parametrize(
    ("op", "apply"),
    [
        ("+=", lambda a, b: a + b),
        ("-=", lambda a, b: a - b),
        ("*=", lambda a, b: a * b),
        ("/=", lambda a, b: a / b),
        ("**=", lambda a, b: a**b),
    ],
)
def test_augmented_assignment_is_reassignment(op: str, apply) -> None:  # type: ignore[no-untyped-def]
    x0, w0, h = 3.0, 0.5, 1e-6

    def loss(x: float, w: float) -> float:
        return apply(x, w) ** 2

    program = f"x = {x0}\nw = {w0}\nx {op} w\nL = x ** 2\n"
    data = json.loads(ok("eval", "-", "--json", stdin=program))
    assert data["values"]["L"] == pytest.approx(loss(x0, w0), rel=1e-12)
    dx = (loss(x0 + h, w0) - loss(x0 - h, w0)) / (2 * h)
    dw = (loss(x0, w0 + h) - loss(x0, w0 - h)) / (2 * h)
    assert data["gradients"]["x"] == pytest.approx(dx, rel=1e-6)
    assert data["gradients"]["w"] == pytest.approx(dw, rel=1e-6)
    assert "x′" in data["values"]  # the name given again, as for x = x + w


def test_augmented_assignment_of_an_unknown_name_is_a_clear_error() -> None:
    code, _out, err = cli("eval", "-", stdin="y += 1\n")
    assert code == 2 and "line 1, column 1" in err and "Traceback" not in err


# ------------------------------------------------------------------ 5. labels in derivatives


def _lecture_graph():  # type: ignore[no-untyped-def]
    """The micrograd lecture's neuron with its own labels (``n.label = "x1*w1 + x2*w2"``)."""
    import chainrule as cr
    from chainrule.micrograd import Value

    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return cr.Graph(o)


def test_a_label_with_operators_is_bracketed_in_every_derivative() -> None:
    from chainrule.draw import text as drawing
    from chainrule.explain import explain

    g = _lecture_graph()
    solution = explain(g, "txt")
    drawn = drawing(g, "gradients")
    for out in (solution, drawn):
        assert "do/d(x1*w1 + x2*w2)" in out
        assert "do/dx1*w1" not in out
    assert "∂n/∂(x1*w1 + x2*w2)" in solution
    assert "∂n/∂x1*w1" not in solution
    md = explain(g, "md")
    assert r"\partial \left(" in md  # ∂(x1*w1 + x2*w2) in LaTeX too


def test_an_unnamed_power_is_not_read_as_a_second_derivative() -> None:
    program = "x = 3\ny = x*2\nL = y**2 + 1\n"
    for out in (
        ok("explain", "-", "--format", "txt", stdin=program),
        ok("draw", "-", "--view", "gradients", stdin=program),
    ):
        assert "dL/d(y²)" in out
        assert "dL/dy²" not in out and "∂L/∂y²" not in out


@pytest.mark.parametrize(
    ("label", "single"),
    [
        ("x", True),
        ("b₀", True),
        ("x′", True),
        ("ŷ", True),
        ("A[1,2]", True),
        ("y²", False),
        ("x1*w1 + x2*w2", False),
        ("2", False),
        ("log(p)", False),
    ],
)
def test_what_counts_as_a_single_name(label: str, single: bool) -> None:
    from chainrule.lang.symbols import is_single_name, local_text

    assert is_single_name(label) is single
    assert local_text("f", label) == ("∂f/∂" + (label if single else f"({label})"))


# ------------------------------------------------------------------ 18. backward accumulates


def test_backward_accumulates_as_pytorch_does_and_zero_grad_clears() -> None:
    torch = pytest.importorskip("torch")
    import chainrule as cr
    from chainrule import nn, optim

    w = cr.var([1.0, 2.0], name="w")
    x = cr.var([3.0, 3.0], name="x")
    (w * x).sum().backward()
    (w * w).sum().backward()
    tw = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tx = torch.tensor([3.0, 3.0], dtype=torch.float64, requires_grad=True)
    (tw * tx).sum().backward()
    (tw * tw).sum().backward()
    np.testing.assert_array_equal(w.grad, tw.grad.numpy())  # [5, 7]
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    # a module's parameters: zero_grad clears, as in PyTorch's loop
    layer = nn.Linear(2, 1)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    inp = cr.const(np.array([[1.0, -2.0]]))
    layer(inp).sum().backward()
    once = [np.array(p.grad) for p in layer.parameters()]
    layer(inp).sum().backward()
    for p, g in zip(layer.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g)
    opt.zero_grad()
    layer(inp).sum().backward()
    for p, g in zip(layer.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, g)


def test_micrograd_values_keep_micrograds_own_semantics() -> None:
    from chainrule.micrograd import Value

    a = Value(2.0)
    b = a * 3
    b.backward()
    b.backward()
    assert a.grad == 6.0  # micrograd adds on every call (3 + 3) and sets the output's grad to 1
    assert b.grad == 1


# ------------------------------------------------------------------ 19. manual_seed


def test_manual_seed_fixes_initialisation_and_dropout() -> None:
    import chainrule as cr
    from chainrule import nn
    from chainrule import tensor as T

    def run() -> list[np.ndarray]:
        cr.manual_seed(1234)
        net = nn.MLP(3, [5, 2])
        layer = nn.Linear(2, 4)
        drop = T.dropout(cr.var(np.ones(50)), p=0.5)
        return [p.value.copy() for p in net.parameters()] + [
            layer.weight.value.copy(),
            np.array(drop.value),
        ]

    first, second = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    cr.manual_seed(99)
    other = nn.Linear(2, 4).weight.value
    assert not np.array_equal(other, first[-2])  # another seed, other weights
    # PyTorch's bound for nn.Linear(2, 4): U(±1/√2)
    assert np.all(np.abs(first[-2]) <= 1 / np.sqrt(2))
    with pytest.raises(cr.ValueInputError):
        cr.manual_seed(-1)  # type: ignore[arg-type]


# ------------------------------------------------------------------ 21. to_torch(Sequential)


def test_to_torch_of_a_sequential_is_a_torch_sequential() -> None:
    torch = pytest.importorskip("torch")
    import chainrule as cr
    from chainrule import nn

    cr.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tm = cr.to_torch(net)
    assert isinstance(tm, torch.nn.Sequential)
    assert isinstance(tm[0], torch.nn.Linear) and isinstance(tm[1], torch.nn.ReLU)
    assert len(tm) == 3 and isinstance(tm[:2], torch.nn.Sequential)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    np.testing.assert_allclose(
        tm(torch.tensor(x)).detach().numpy(), net(cr.const(x)).value, rtol=1e-12
    )
    mlp = cr.to_torch(nn.MLP(2, [3, 1]))
    assert isinstance(mlp, torch.nn.Sequential) and isinstance(mlp[0], torch.nn.Linear)
    assert [k for k, _ in mlp.named_children()] == ["layer1", "act1", "layer2"]


# ------------------------------------------------------------------ 20. from_torch(lambda ...)


def test_from_torch_of_a_lambda_follows_the_parameters_it_closes_over() -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    import chainrule as cr

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    ).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])

    def make(net: torch.nn.Module):  # type: ignore[no-untyped-def]
        return lambda x, y: F.cross_entropy(net(x), y)  # net is a closed-over variable

    g = cr.from_torch(make(net), x, y)
    g.backward()
    F.cross_entropy(net(x), y).backward()
    for name, p in net.named_parameters():
        node = g.find(f"net.{name}")
        assert node is not None and node.requires_grad, name
        np.testing.assert_allclose(node.grad, p.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_from_torch_refuses_parameters_it_cannot_follow() -> None:
    torch = pytest.importorskip("torch")
    import chainrule as cr

    class Holder:
        pass

    h = Holder()
    h.net = torch.nn.Linear(3, 1).double()  # type: ignore[attr-defined]
    x = torch.randn(2, 3, dtype=torch.float64)
    with pytest.raises(cr.ValueInputError, match="wrap the computation"):
        cr.from_torch(lambda x: h.net(x).sum(), x)  # type: ignore[attr-defined]
    w = torch.randn(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(cr.ValueInputError, match="require a gradient"):
        cr.from_torch(lambda x: (x * w).sum(), x)
    # a constant made inside the function is fine
    g = cr.from_torch(lambda x: (x * torch.tensor([1.0, 2.0, 3.0], dtype=x.dtype)).sum(), x)
    g.backward()
    np.testing.assert_allclose(g.find("x").grad, np.tile([1.0, 2.0, 3.0], (2, 1)))


# ------------------------------------------------------------------ 23. make demo installs little

ROOT = Path(__file__).parent.parent


def test_make_demo_installs_the_library_alone_and_make_test_the_extras() -> None:
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("no make on this system")
    demo = subprocess.run(
        ["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    test = subprocess.run(
        ["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "pip install --quiet -e ." in demo
    assert "[dev]" not in demo and "[torch]" not in demo
    assert "'.[dev]'" in test


def test_the_demo_runs_without_the_extras() -> None:
    """The demo with PyTorch, Playwright, Jupyter and scikit-learn made unimportable."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for m in ('torch', 'playwright', 'nbclient', 'sklearn', 'hypothesis', 'micrograd'):\n"
        "    sys.modules[m] = None\n"
        "from chainrule.cli import main\n"
        "raise SystemExit(main([]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ 7. kinks are said to be kinks


def test_the_readme_micrograd_example_shows_gradients_that_are_not_zero() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"a, b = Value\((-?[\d.]+)\), Value\((-?[\d.]+)\)", readme)
    assert m is not None
    a, b = float(m.group(1)), float(m.group(2))
    inner = a * b + b**3
    assert inner > 0  # not on relu's kink, where every gradient shown would be 0
    # g = relu(ab + b³)/2: dg/da = b/2, dg/db = (a + 3b²)/2 away from the kink
    assert f"a.grad = {b / 2:g}" in readme
    assert f"b.grad = {(a + 3 * b * b) / 2:g}" in readme


def test_a_kink_is_said_to_be_one_in_drawings_and_solutions() -> None:
    program = "a = -4\nb = 2\ng = relu(a*b + b^3) / 2\n"
    drawn = ok("draw", "-", "--view", "gradients", stdin=program)
    assert "at a kink of relu" in drawn
    solution = ok("explain", "-", "--format", "txt", stdin=program)
    assert "at a kink" in solution
    away = "a = -4\nb = 3\ng = relu(a*b + b^3) / 2\n"
    assert "kink" not in ok("draw", "-", "--view", "gradients", stdin=away)


# ------------------------------------------------------------------ 14. unlabelled graphs


def test_an_unlabelled_micrograd_graph_keeps_short_names() -> None:
    """micrograd's README example, no labels: every label stays a name or a short expression
    of at most two operations, so d(…)/d(…) never repeats a formula."""
    import chainrule as cr
    from chainrule.lang.naming import MAX_OPERATIONS, _operations
    from chainrule.micrograd import Value

    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    graph = cr.Graph(g)
    labels = [graph.label(n) for n in graph.nodes if n.args]
    assert all(_operations(t) <= MAX_OPERATIONS for t in labels), labels
    drawn = cr.draw.text(g, "gradients")
    assert "a₇² / 2 + 10 / a₇²" not in drawn
    # micrograd's own numbers (its README): g = 24.7041, dg/da = 138.8338, dg/db = 645.5773
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)


def test_a_students_named_formula_is_still_written_out() -> None:
    program = "x1 = 1\nx2 = 2\nw1 = 0.5\nw2 = -1\nb0 = 0.1\nz = w1*x1 + w2*x2 + b0\n"
    drawn = ok("draw", "-", stdin=program)
    assert "z = w1 · x1 + w2 · x2 + b0" in drawn


# ------------------------------------------------------------------ 6. Sequential names


def test_sequential_names_never_read_as_numbers() -> None:
    import re

    import chainrule as cr
    from chainrule import nn
    from chainrule.explain import explain

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    loss = model(cr.const(np.array([[1.0, -2.0]]))).sum()
    graph = cr.Graph(loss)
    texts = [cr.draw.text(loss, view) for view in ("forward", "gradients")]
    texts.append(explain(graph, "txt"))
    number_name = re.compile(r"(?<![\w.\[])\d+\.(out|weight|bias)\b|∂\(\d\)|d\(\d\)|^\d+ = ")
    for text in texts:
        assert not number_name.search(text), number_name.search(text)
    assert graph.find("layers[1].out") is not None
    assert graph.find("0.weight") is graph.find("layers[0].weight") is not None
    assert [k for k, _ in model.named_parameters()][0] == "0.weight"  # PyTorch's keys


def test_from_torch_sequential_names_are_indices() -> None:
    torch = pytest.importorskip("torch")
    import chainrule as cr

    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    g = cr.from_torch(tm.double(), torch.tensor([[1.0, -2.0]], dtype=torch.float64))
    names = [n.name for n in g.nodes if n.name]
    assert "layers[0].weight" in names and not any(n[:1].isdigit() for n in names), names
    assert g.find("0.weight") is not None


# ------------------------------------------------------------------ 22. the grad_fn graph


def _lines(drawing, title: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [line.text for b in drawing.boxes if b.title == title for line in b.lines]


def test_draw_grad_fn_shows_saved_values_and_leaf_gradients(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import chainrule as cr
    from chainrule.draw.labels import number

    w0, x0 = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    w = torch.tensor(w0, requires_grad=True)
    x = torch.tensor(x0)
    loss = (w * x).exp().sum()
    before = cr.draw_grad_fn(loss, {"w": w}, name="loss")
    assert before.view == "forward"
    # exp saved its result: exp(w·x), computed here with numpy
    assert f"result = {number(np.exp(w0 * x0), 5)}" in _lines(before, "exp")
    assert {b.title for b in before.boxes} >= {"loss", "sum", "exp", "mul", "w"}
    loss.backward(retain_graph=True)
    after = cr.draw_grad_fn(loss, {"w": w}, name="loss")
    assert after.view == "gradients"
    # d/dw Σ exp(w·x) = x·exp(w·x)
    assert f"grad = {number(x0 * np.exp(w0 * x0), 5)}" in _lines(after, "w")
    assert f"result = {number(np.exp(w0 * x0), 5)}" in _lines(after, "exp")  # retained
    cr.draw.write(after, tmp_path / "loss.svg")
    assert "grad = " in (tmp_path / "loss.svg").read_text(encoding="utf-8")
    loss2 = (w * x).exp().sum()
    loss2.backward()
    freed = cr.draw_grad_fn(loss2, {"w": w})
    assert "result: freed by backward()" in _lines(freed, "exp")
    assert any("retain_graph=True" in line.text for line in freed.legend)
    with pytest.raises(cr.ValueInputError, match="no grad_fn"):
        cr.draw_grad_fn(w)


# ------------------------------------------------------------------ 12. rounding noise


def test_zero_up_to_rounding_is_shown_as_such() -> None:
    program = (GALLERY / "rounding-cancels.cr").read_text(encoding="utf-8")
    # in exact arithmetic d = 1/10 + 2/10 − 3/10 = 0; in floats it is 2⁻⁵⁴ = 5.55e-17
    assert Fraction(1, 10) + Fraction(2, 10) - Fraction(3, 10) == 0
    assert 0.1 + 0.2 - 0.3 == 2.0**-54
    table = ok("eval", "-", stdin=program)
    row = next(line for line in table.splitlines() if line.strip("│ ").startswith("d "))
    assert "0 up to rounding" in row
    forward = ok("draw", "-", stdin=program)
    assert "d = a + b − c   0 up to rounding" in forward
    gradients = ok("draw", "-", "--view", "gradients", stdin=program)
    # dL/da = 3 + 0.1 (through d·3 and d·a's d) ... and d itself (≈0) through d·a's a
    assert "3.1 + ≈0" in gradients
    assert "5.5511e-17   =" not in gradients
    assert "= 3.1 + ≈0 = 3.1" in ok("explain", "-", "--format", "txt", stdin=program)
    exact = ok("eval", "-", "--exact", stdin=program)
    row = next(line for line in exact.splitlines() if line.strip("│ ").startswith("d "))
    assert "rounding" not in row and " 0 " in row  # exact mode has the true value


def test_a_small_true_value_is_not_called_rounding() -> None:
    program = "a = 1e-20\nb = 2e-20\nL = a + b\n"
    table = ok("eval", "-", stdin=program)
    assert "rounding" not in table  # 3e-20 is the true sum, not a cancellation


# ------------------------------------------------------------------ 15. PyTorch drawings fit


@pytest.mark.parametrize("width", [1920, 1600])
def test_pytorch_drawings_honour_max_width(width: int) -> None:
    pytest.importorskip("torch")
    import importlib.util
    import re

    import chainrule as cr
    from chainrule.draw.render import encode

    spec = importlib.util.spec_from_file_location("zoo", ROOT / "examples" / "torch_models.py")
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    model, inputs = zoo.cnn()
    graph = cr.from_torch(model, *inputs)
    wide = encode(cr.draw.build(graph, "gradients"), ".svg").decode("utf-8")
    fitted = encode(cr.draw.build(graph, "gradients", max_width=width), ".svg").decode("utf-8")

    def svg_width(svg: str) -> float:
        m = re.search(r'width="([\d.]+)', svg)
        assert m is not None
        return float(m.group(1))

    assert svg_width(wide) > width  # the drawing needs the option at all
    assert svg_width(fitted) <= width

    # nothing is cut: every number of the wide drawing is still there
    def shown_numbers(svg: str) -> set[str]:
        texts = " ".join(re.findall(r">([^<>]+)<", svg))  # text nodes, not coordinates
        return set(re.findall(r"−?\d+\.\d+", texts))

    assert shown_numbers(wide) and shown_numbers(wide) <= shown_numbers(fitted)


# ------------------------------------------------------------------ 13. matrix formulas


def test_an_outer_product_reads_as_one(tmp_path: Path) -> None:
    prog = tmp_path / "m.cr"
    prog.write_text(MATRIX, encoding="utf-8")
    text = ok("explain", str(prog), "--format", "txt")
    line = next(x for x in text.splitlines() if x.strip().startswith("dL/dA = "))
    assert "⊗ v" in line and "reshape" not in line
    line = next(x for x in text.splitlines() if x.strip().startswith("dL/dv = "))
    assert "Aᵀ @ " in line and "reshape" not in line
    # the numbers: dL/dA = ones ⊗ v (numpy's outer product), dL/dv = Aᵀ @ ones
    a, v = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -3.0])
    outer = np.outer(np.ones(2), v)
    shown = "[[" + "], [".join(", ".join(f"{x:g}" for x in row) for row in outer) + "]]"
    assert line.endswith("[" + ", ".join(f"{x:g}" for x in a.T @ np.ones(2)) + "]")
    assert shown.replace("-", MINUS) in text
    md = ok("explain", str(prog), "--format", "md")
    assert r"\otimes v" in md


def test_the_backward_view_folds_shaping_boxes_nobody_wrote() -> None:
    program = (GALLERY / "vector-centred.cr").read_text(encoding="utf-8")
    drawn = ok("draw", "-", "--view", "backward", stdin=program)
    assert "broadcast(" not in drawn and "reshape(" not in drawn
    # dL/dx = 2(x − m) − (2/n)·Σ(x − m) = 2(x − m), with numpy
    x = np.array([1.0, 2.0, 3.0, 5.0])
    grad = 2 * (x - x.mean()) - 2 * (x - x.mean()).sum() / x.size
    shown = "[" + ", ".join(f"{v:g}" for v in grad).replace("-", MINUS) + "]"
    assert any(line.endswith("dL/dx") and shown in line for line in drawn.splitlines())


# ------------------------------------------------------------------ a transpose of a transpose


def test_the_transpose_of_a_transpose_is_written_as_the_matrix() -> None:
    """dL/dy of xᵀ @ y is (xᵀ)ᵀ @ g = x @ g: written x, never xᵀᵀ; a permute that does not
    reverse every axis is not a transpose and keeps its mark."""
    text = ok("explain", str(GALLERY / "matrix-xT-y.cr"), "--format", "txt")
    assert "ᵀᵀ" not in text
    assert "dL/dy = x @ (dL/d(xᵀ @ y))" in text
    latex = ok("explain", str(GALLERY / "matrix-xT-y.cr"), "--format", "tex")
    assert "^{\\top}}^{\\top}" not in latex and "^{\\top}^{\\top}" not in latex

    from chainrule.core.node import var
    from chainrule.lang.writing import _reverses_axes
    from chainrule.tensor import transpose as permute

    t = var(np.zeros((2, 3, 4)))
    assert _reverses_axes(t.T) and _reverses_axes(permute(t, (2, 1, 0)))
    assert not _reverses_axes(permute(t, (0, 2, 1)))


def test_a_permute_that_is_not_a_transpose_is_not_written_as_one() -> None:
    """permute(x, (0, 2, 1)) of a 3-d array swaps the last two axes; xᵀ would reverse all three."""
    program = (
        "x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]\ny = permute(x, axes=[0, 2, 1])\nL = sum(y * x)\n"
    )
    text = ok("explain", "-", "--format", "txt", stdin=program)
    assert "xᵀ" not in text and "(dL/dy)ᵀ" not in text
    assert "y = permute(x, axes=(0, 2, 1))" in text
    x = np.arange(1, 9).reshape(2, 2, 2)
    expected = x.transpose(0, 2, 1) + x.transpose(0, 2, 1)  # d/dx Σ xᵢₖⱼ xᵢⱼₖ
    assert "dL/dx = permute((dL/dy), axes=(0, 2, 1)) + " in text
    assert text.split("dL/dx = ")[1].splitlines()[0].endswith(str(expected.tolist()))

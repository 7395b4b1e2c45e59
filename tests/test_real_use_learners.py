"""Programs a learner writes after the first exercise, run the way a learner runs them; every
number is compared with PyTorch (float64) or sympy, every piece of notation with what it says
when read back as a program."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from helpers import run_main

import chainrule as cr
from chainrule.lang.notation import expression

# Each program computes L from scalar inputs; every intermediate node's expression, written in
# the notation the table and the worked solution use, must read back as the same computation.
READ_BACK = {
    "times a negative number": "u = 1.2\nh = 0.5\nL = tanh(h + u * -0.5)",
    "times one": "u = 1.2\nw = 0.5\nL = tanh(w * u + u * 1.0)",
    "one times": "u = 1.2\nL = exp(1 * u)",
    "a name times a bracket": "u = 1.5\nv = 2\nL = u * (v + 1)",
    "a negative number times": "u = 1.5\nL = -0.5 * u",
    "a call times a bracket": "z = 0.3\nL = sigmoid(z) * (1 - sigmoid(z))",
}


def _ops(node: cr.Node) -> int:
    """How many operations ``node``'s graph holds (the nodes that have inputs)."""
    seen, stack, count = {node}, [node], 0
    while stack:
        n = stack.pop()
        count += bool(n.args)
        for a in n.args:
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return count


@pytest.mark.parametrize("program", READ_BACK.values(), ids=READ_BACK.keys())
def test_every_expression_reads_back_as_the_same_computation(program: str) -> None:
    g = cr.parse(program)
    leaves = "\n".join(f"{n.name} = {n.value!r}" for n in g.nodes if n.name and not n.args)
    for node in g.nodes:
        if not node.args:
            continue
        text = expression(node)
        if re.search(r"(?<![\w.])\d[\d.]*[^\W\d]|\)\(", text):
            continue  # a textbook coefficient (2x, −0.5u) or σ(z)(1 − σ(z)): not program text
        back = cr.parse(f"{leaves}\nq_ = {text}\n")
        assert math.isclose(back.output.value, node.value, rel_tol=1e-12), text
        # the same number of operations: nothing the program wrote was dropped (u · 1 is not u)
        assert _ops(back.output) == _ops(node), (text, program)


def test_a_product_is_never_written_as_a_call_in_latex() -> None:
    g = cr.parse("u = 1.2\nh = 0.5\nL = tanh(h + u * -0.5)")
    tex = expression(g.output, "latex")
    assert "u \\cdot \\left(-0.5\\right)" in tex, tex


def test_an_elementwise_product_of_arrays_keeps_its_dot() -> None:
    """Side by side is how a matrix product is written (Q Kᵀ); softmax's rule multiplies
    elementwise, so the worked solution must not glue its factors."""
    program = "S = [[0.5, 2], [1, 3]]\nA = softmax(S, axis=1)\nL = sum(A * [[1, 2], [3, 4]])"
    for fmt in ("txt", "tex"):
        text = run_main("explain", "-", "--format", fmt, stdin=program).stdout
        assert ")((" not in text and "\\right) \\left(\\left(" not in text, text


@pytest.mark.parametrize("fmt", ["txt", "tex"])
def test_a_negative_argument_takes_no_second_brackets(fmt: str) -> None:
    """tanh(−0.75), as a learner writes it; the value is math.tanh's."""
    text = run_main("explain", "-", "--format", fmt, stdin="x = -0.5\ny = tanh(x * 1.5)").stdout
    assert "((" not in text and "\\left(\\left(" not in text, text
    assert f"{math.tanh(-0.75):.5f}".replace("-", "−" if fmt == "txt" else "-") in text


@pytest.mark.parametrize(
    "program",
    ["x = 0\nf = relu(x) + x", "x = 800\nf = exp(x) - 1", "M = [[1, 8]]\nL = sum(relu(M - 8))"],
)
def test_a_note_names_a_node_once(program: str) -> None:
    """relu(x) is at a kink, not relu(x) = relu(x) is at a kink."""
    err = run_main("eval", "-", stdin=program)
    notes = [ln for ln in err.stdout.splitlines() if ln.startswith(("note:", "warning:"))]
    assert notes, err.stdout
    for line in notes:
        assert not re.search(r"(?:^|: )(.+) = \1 is ", line), line


# ---------------------------------------------------------------- PyTorch written the usual way


def test_tied_weights_are_found_by_every_name_pytorch_gives_them() -> None:
    """A language model's output layer shares the embedding's weight: the leaf is called as
    model.named_parameters() calls it, and its gradient (both uses summed) is autograd's."""
    torch = pytest.importorskip("torch")

    class Tied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(5, 3)
            self.out = torch.nn.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, idx: object) -> object:
            return self.out(self.emb(idx))

    torch.manual_seed(0)
    model = Tied().double()
    idx = torch.tensor([1, 3, 4, 3])
    g = cr.from_torch(model, idx)
    g.backward()
    model(idx).sum().backward()
    for name, p in model.named_parameters(remove_duplicate=False):
        np.testing.assert_allclose(np.asarray(g[name].grad), p.grad.numpy(), rtol=1e-12)
    assert g["emb.weight"] is g["out.weight"]
    assert g["emb.weight"].name == next(iter(dict(model.named_parameters())))


TUPLE_MODEL = '''
import torch


class Both(torch.nn.Module):
    """Returns the predictions and the loss, as many training scripts do."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x):
        y = self.fc(x)
        return y, (y**2).mean()


def make():
    torch.manual_seed(0)
    return Both().double(), (torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3),)
'''


def test_a_model_returning_several_tensors_says_which_gradient_is_shown(tmp_path) -> None:
    """return y, loss: the note names the output whose gradients are shown, and --output
    picks the loss, whose gradients are autograd's."""
    pytest.importorskip("torch")

    path = tmp_path / "both.py"
    path.write_text(TUPLE_MODEL, encoding="utf-8")
    spec = f"{path}:make"
    shown = run_main("eval", "--torch", spec, "--json")
    assert shown.returncode == 0
    assert "returned 2 tensors" in shown.stderr and "--output" in shown.stderr
    assert json.loads(shown.stdout)["output"] == "fc"  # the first, as the note says
    names = list(json.loads(shown.stdout)["values"])
    loss = names[-1]
    chosen = run_main("eval", "--torch", spec, "--json", "--output", loss)
    assert chosen.returncode == 0 and "returned" not in chosen.stderr
    data = json.loads(chosen.stdout)
    scope: dict = {}
    exec(TUPLE_MODEL, scope)  # noqa: S102 - the test's own model text
    model, (x,) = scope["make"]()
    model(x)[1].backward()
    np.testing.assert_allclose(data["gradients"]["fc.weight"], model.fc.weight.grad.numpy())
    np.testing.assert_allclose(data["gradients"]["fc.bias"], model.fc.bias.grad.numpy())
    wrong = run_main("eval", "--torch", spec, "--output", "nope")
    assert wrong.returncode == 2 and "nope" in wrong.stderr and "fc" in wrong.stderr


def test_graph_backward_from_a_chosen_output() -> None:
    """g.backward(g["name"]) seeds another output than the first (the API's own form)."""
    g = cr.parse("x = 2\ny = x * x\nL = y + 3 * x")
    g.backward(g["y"])
    assert g["x"].grad == 4.0  # d(x²)/dx at 2


# ---------------------------------------------------------------- micrograd's lecture


def test_a_power_s_exponent_is_no_node_of_the_lecture_s_trace() -> None:
    """The lecture's draw_dot walks _prev: micrograd has no node for the 2 of x**2, so a box
    'data 2.0 | grad 0' (a gradient never computed, not zero) must not appear."""
    mg_engine = pytest.importorskip("micrograd.engine")
    from chainrule.micrograd import Value

    def trace(root):  # type: ignore[no-untyped-def]
        nodes, stack = set(), [root]
        while stack:
            v = stack.pop()
            if v not in nodes:
                nodes.add(v)
                stack.extend(v._prev)
        return nodes

    def build(V):  # type: ignore[no-untyped-def]
        x, w = V(1.5), V(-0.5)
        y = (x**2 + (x * w) ** 3 + x**0.5).relu()
        y.backward()
        return sorted(f"{v._op}|{v.data:.6f}|{v.grad:.6f}" for v in trace(y))

    assert build(Value) == build(mg_engine.Value)


RECURRENCE = """w = 0.5
u = 1.2
h = 0
h = tanh(w * h + u * 1.0)
h = tanh(w * h + u * -0.5)
h = tanh(w * h + u * 2.0)
L = (h - 0.3)^2
"""


@pytest.mark.parametrize("fmt", ["md", "tex", "txt"])
def test_an_exact_worked_solution_never_says_a_thing_equals_itself(fmt: str) -> None:
    """h'' = tanh(a₁) = tanh(a₁): a closed form that refers to its inputs by their labels
    is left out where it reads as the definition; the values are math.tanh's."""
    text = run_main("explain", "-", "--exact", "--format", fmt, stdin=RECURRENCE).stdout
    lines = re.findall(r"\$\$(.*?)\$\$", text) if fmt == "md" else text.splitlines()
    for line in lines:
        parts = [p.strip(" &") for p in re.split(r"&?=|\\approx|≈", line)]
        parts = [p for p in parts if p]
        assert all(a != b for a, b in zip(parts, parts[1:])), line
    h1 = math.tanh(1.2)
    h2 = math.tanh(0.5 * h1 - 0.6)
    assert f"{h2:.5f}".replace("-", "−" if fmt == "txt" else "-") in text


@pytest.mark.parametrize(
    ("written", "number", "name"),
    [("2x", "2", "x"), ("0.5u", "0.5", "u"), ("1e-1x", "1e-1", "x"), ("3x₁", "3", "x₁")],
)
def test_a_textbook_product_gets_the_fix_and_the_fix_computes_it(
    written: str, number: str, name: str
) -> None:
    """A learner writes 2x as on paper: the error names the product and how to write it, and
    the program so written gives the product (checked with math.tanh)."""
    program = f"x = 1.5\nu = 1.2\nx₁ = -2\nL = tanh({written} + 1)\n"
    bad = run_main("eval", "-", stdin=program)
    fix = f"write {number} * {name}"
    assert bad.returncode == 2 and fix in bad.stderr and "line 4" in bad.stderr, bad.stderr
    good = run_main("eval", "-", "--json", stdin=program.replace(written, f"{number} * {name}"))
    value = json.loads(good.stdout)["values"]["L"]
    given = {"x": 1.5, "u": 1.2, "x₁": -2.0}
    assert math.isclose(value, math.tanh(float(number) * given[name] + 1), rel_tol=1e-12)


def test_a_label_with_operators_is_bracketed_where_it_is_used() -> None:
    """micrograd's n.label = "x + y": its uses read (x + y) · c and (x*y)², and every such
    definition, read back as a program with the labels replaced by their values, gives the
    node's value (the reference: plain arithmetic on the leaves)."""
    from chainrule.lang.naming import definition
    from chainrule.micrograd import Value

    x, y, c = Value(2.0, label="x"), Value(3.0, label="y"), Value(4.0, label="c")
    s = x + y
    s.label = "x + y"
    m = s * c
    m.label = "m"
    r = x * y
    r.label = "x*y"
    t = r**2
    t.label = "t"
    out = m - t
    out.label = "out"
    g = cr.Graph(out)
    # a compound label reads as what it says (x + y is x + y): only names are replaced
    values = {"x": 2.0, "y": 3.0, "c": 4.0, "m": 20.0, "t": 36.0}
    expected = {"m": (2 + 3) * 4, "t": (2 * 3) ** 2, "out": (2 + 3) * 4 - (2 * 3) ** 2}
    for node in (m, t, out):
        text = definition(node, names=g.naming)
        text = re.sub(r"\b[xyctm]\b", lambda k: repr(values[k.group(0)]), text)
        got = cr.parse(f"q_ = {text}").output.value
        assert got == expected[node.label], (definition(node, names=g.naming), text)
    assert "(x*y)" in cr.draw.text(out, "gradients")


def test_to_torch_of_a_program_returns_its_output() -> None:
    """The program's output L, not a tuple of every name it assigns: tm(x).backward() works,
    and the gradients are torch autograd's on the same computation written in torch."""
    torch = pytest.importorskip("torch")
    program = (
        "x = [1.0, 2.0]\nW = [[0.1, -0.3], [0.4, 0.2]]\nb = [0.5, -0.5]\n"
        "h = tanh(W @ x + b)\nL = sum(h * h)\n"
    )
    tm = cr.to_torch(cr.parse(program), inputs=["x"])
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    out = tm(x)
    out.backward()
    W = torch.tensor([[0.1, -0.3], [0.4, 0.2]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    ref = (torch.tanh(W @ x + b) ** 2).sum()
    ref.backward()
    assert math.isclose(out.item(), ref.item(), rel_tol=1e-12)
    params = dict(tm.named_parameters())
    np.testing.assert_allclose(params["W"].grad.numpy(), W.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(params["b"].grad.numpy(), b.grad.numpy(), rtol=1e-12)


LAYER_NORM = """X = [[1, 2, 4], [0, -1, 3]]
w = [1, 0.5, 2]
b = [0.1, 0, -0.1]
Y = layer_norm(X, w, b)
L = sum(Y * Y * [[1, 2, 3], [4, 5, 6]])
"""


@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_every_name_a_worked_solution_uses_is_defined_in_it(fmt: str) -> None:
    """layer_norm's rule, with the numbers put in, is long: the writer named a repeated part
    of it a₆, a name no step defined. Every generated name is now one the forward pass
    defines; the gradients are torch's."""
    torch = pytest.importorskip("torch")
    text = run_main("explain", "-", "--format", fmt, stdin=LAYER_NORM).stdout
    # generated names take the letter a here (the program uses no a): a₆, a_{6} in LaTeX
    pattern = r"(?<![\w\\])a_\{\d+\}" if fmt == "md" else r"(?<![\w.])a[₀-₉]+"
    used = set(re.findall(pattern, text))
    assert used  # the program's own a₁ is used, and defined
    for name in used:
        assert re.search(rf"(?m)^\s*\$*{re.escape(name)} = ", text), (name, fmt)
    X = torch.tensor([[1.0, 2, 4], [0, -1, 3]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1, 0.5, 2], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.1, 0, -0.1], dtype=torch.float64, requires_grad=True)
    Y = torch.nn.functional.layer_norm(X, (3,), w, b)
    (Y * Y * torch.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=torch.float64)).sum().backward()
    data = json.loads(run_main("eval", "-", "--json", stdin=LAYER_NORM).stdout)
    np.testing.assert_allclose(data["gradients"]["X"], X.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(data["gradients"]["w"], w.grad.numpy(), rtol=1e-9)


def test_a_drawing_wider_than_max_width_says_so(tmp_path) -> None:
    """Three labelled gradient arrows into one input cannot be narrowed to 400 px: the note
    gives the real width, the one written in the SVG; a drawing that fits has no note."""
    program = (
        "x = [1.0, -2.0]\nQ = [[1, 2], [3, 4]]\nK = [[0.5, 1], [1, 0.5]]\nV = [[2, 0], [0, 2]]\n"
        "L = sum(softmax(Q @ x) * (K @ x) + V @ x)\n"
    )
    wide = tmp_path / "wide.svg"
    ran = run_main(
        "draw", "-", "--view", "gradients", "--max-width", "400", "-o", str(wide), stdin=program
    )
    assert ran.returncode == 0
    svg_width = float(re.search(r'<svg[^>]*width="([\d.]+)', wide.read_text()).group(1))
    assert svg_width > 400 * 1.02
    assert f"the drawing is {svg_width:.0f} px wide, more than --max-width 400" in ran.stderr
    fits = run_main(
        "draw", "-", "--max-width", "3000", "-o", str(tmp_path / "f.svg"), stdin=program
    )
    assert fits.returncode == 0 and "note:" not in fits.stderr


def test_layer_norm_and_dropout_modules_as_pytorch_writes_them() -> None:
    """nn.Sequential(Linear, LayerNorm, ReLU, Dropout, Linear) as a PyTorch user writes it
    (chainrule.nn had neither module): loaded from torch's state dict, the outputs and
    gradients in eval mode are torch's; to_torch gives the same modules back."""
    torch = pytest.importorskip("torch")
    from chainrule import nn

    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.LayerNorm(4),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.3),
        torch.nn.Linear(4, 2),
    ).double()
    with torch.no_grad():
        tm[1].weight.uniform_(0.5, 1.5)
        tm[1].bias.uniform_(-0.5, 0.5)
    tm.eval()
    model = nn.Sequential(
        nn.Linear(3, 4), nn.LayerNorm(4), nn.ReLU(), nn.Dropout(0.3), nn.Linear(4, 2)
    )
    model.load_state_dict(tm.state_dict())
    model.eval()
    x = np.linspace(-1, 1, 15).reshape(5, 3)
    out = model(cr.const(x))
    loss = (out * out).sum()
    loss.backward()
    tx = torch.tensor(x)
    (tm(tx) ** 2).sum().backward()
    np.testing.assert_allclose(out.value, tm(tx).detach().numpy(), rtol=1e-12)
    for name, p in tm.named_parameters():
        got = dict(model.named_parameters())[name].grad
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-10, atol=1e-13)
    back = cr.to_torch(model).eval()
    np.testing.assert_allclose(back(tx).detach().numpy(), out.value, rtol=1e-12)
    assert isinstance(back[1], torch.nn.LayerNorm) and isinstance(back[3], torch.nn.Dropout)


def test_dropout_in_training_keeps_or_scales_every_element() -> None:
    """Training mode: each element is 0 or x / (1 − p), and its gradient 0 or 1 / (1 − p)."""
    from chainrule import nn

    drop = nn.Dropout(0.25, rng=np.random.default_rng(3))
    x = cr.var(np.linspace(1, 2, 400))
    y = drop(x)
    y.backward(gradient=np.ones(400))
    kept = y.value != 0
    assert 0.6 < kept.mean() < 0.9  # about 3 in 4 kept
    np.testing.assert_allclose(y.value[kept], x.value[kept] / 0.75, rtol=1e-15)
    np.testing.assert_allclose(x.grad, np.where(kept, 1 / 0.75, 0.0), rtol=1e-15)
    drop.eval()
    assert drop(x) is x


@pytest.mark.parametrize("vector", [False, True])
def test_an_unlabelled_output_takes_one_pair_of_brackets_in_a_drawing(vector: bool) -> None:
    """micrograd code rarely labels its loss: the title said 'every node ((a₁ · a₂ + a₁))'
    and a vector's totals d(Σ((x · x + x)))/dnode."""
    from chainrule.micrograd import Value

    if vector:
        x = cr.var(np.array([1.0, 2.0]))
        out = x * x + x
    else:
        a, b = Value(2.0), Value(3.0)
        out = a * b + a
    for view in ("forward", "gradients", "backward"):
        d = cr.draw.build(out, view)
        texts = [d.title] + [ln.text for box in d.boxes for ln in box.lines]
        texts += [ln.text for arrow in d.arrows for ln in arrow.lines]
        assert not [t for t in texts if "((" in t], (view, d.title)
    if vector:  # the seed is named; the totals are of Σ(x⊙x + x): 2x + 1 at x = [1, 2]
        assert "the gradient of Σ(a₁ ⊙ a₁ + a₁))" in cr.draw.build(out, "backward").title
        g = cr.draw.build(out, "gradients")
        assert any(ln.text.endswith("= [3, 5]") for box in g.boxes for ln in box.lines)


def test_the_two_binary_cross_entropies_are_told_apart_and_read_back() -> None:
    """bce_with_logits was printed BCE(z, t), bce's name: 'L = BCE(z, t) = BCE([0.5, −1], ...)'
    read as the cross-entropy of the probability −1. Each loss's printed name reads back as
    itself (CE too), with torch's values."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    program = "z = [0.5, -1.0]\nt = [1, 0]\np = [0.5, 0.25]\nq = [2, 1, 0.1]\n"
    losses = {
        "bce_with_logits(z, t)": F.binary_cross_entropy_with_logits(
            torch.tensor([0.5, -1.0]), torch.tensor([1.0, 0.0])
        ),
        "bce(p, t)": F.binary_cross_entropy(torch.tensor([0.5, 0.25]), torch.tensor([1.0, 0.0])),
        "cross_entropy(q, 0)": F.cross_entropy(
            torch.tensor([[2.0, 1.0, 0.1]], dtype=torch.float64), torch.tensor([0])
        ),
    }
    printed = set()
    for call, ref in losses.items():
        g = cr.parse(f"{program}L = {call}\n")
        text = expression(g.output)
        printed.add(text.split("(")[0])
        back = cr.parse(f"{program}L = {text}\n").output
        assert back.op is g.output.op, text
        assert math.isclose(back.value, ref.item(), rel_tol=1e-6), text
    assert len(printed) == 3  # three names for three losses


@pytest.mark.parametrize(
    "program",
    [
        "x = [1.0, -2.0]\nW = [[1, 2], [3, 4]]\nL = sum(tanh(W.T @ x))",
        "X = [[1, 2], [3, 4]]\nL = sum((X @ X).T * [[1, 0], [0, 2]])",
        "v = 2.5\nr = -0.5\nL = sqrt(v + 1e-5) + sqrt(1 + r**2)",
    ],
)
def test_square_roots_and_transposes_read_back(program: str) -> None:
    """√(x) and Wᵀ are how every output writes sqrt(x) and W.T: copied into a program they
    give the same values (numpy's), with the same operations."""
    g = cr.parse(program)
    leaves = "\n".join(
        f"{n.name} = {np.asarray(n.value).tolist()!r}" for n in g.nodes if n.name and not n.args
    )
    written = [expression(n) for n in g.nodes if n.args]
    assert any("√(" in t or "ᵀ" in t for t in written), written
    for node in g.nodes:
        if node.args:
            back = cr.parse(f"{leaves}\nq_ = {expression(node)}\n").output
            np.testing.assert_allclose(back.value, node.value, rtol=1e-12)
            assert _ops(back) == _ops(node), expression(node)


def test_a_root_without_brackets_is_told_how_to_write_it() -> None:
    ran = run_main("eval", "-", stdin="v = 2\nL = √v\n")
    assert ran.returncode == 2 and "√(x) or sqrt(x)" in ran.stderr and "line 2" in ran.stderr


@pytest.mark.parametrize(
    ("program", "value"),
    [
        ("x = -2\ny = 3\nL = |x − |y|| + |x|·|y|", abs(-2 - abs(3)) + abs(-2) * abs(3)),
        ("x = [1, -2]\nL = sum(|x|) * 2", 6.0),
        ("x = -2\nL = (|x| + 1)²", 9.0),
    ],
)
def test_absolute_value_bars_read_back(program: str, value: float) -> None:
    """|x| is how every output writes abs(x); the table's expression reads back too."""
    g = cr.parse(program)
    assert g.output.value == value
    leaves = "\n".join(
        f"{n.name} = {np.asarray(n.value).tolist()!r}" for n in g.nodes if n.name and not n.args
    )
    text = expression(g.output)
    assert "|" in text
    assert cr.parse(f"{leaves}\nq_ = {text}\n").output.value == value


def test_a_lone_bar_is_still_an_error() -> None:
    for program in ("x = 1\nL = x | 2", "x = 1\nL = |x"):
        ran = run_main("eval", "-", stdin=program)
        assert ran.returncode == 2 and "line 2" in ran.stderr


def test_primes_typed_on_a_keyboard_find_the_versions_of_a_name() -> None:
    """A learner types h'' for h″ (the table's name of the second reassignment)."""
    h1 = math.tanh(1.2)
    h2 = math.tanh(0.5 * h1 - 0.6)
    h3 = math.tanh(0.5 * h2 + 2.4)
    d_h2 = 2 * (h3 - 0.3) * (1 - h3**2) * 0.5  # dL/dh″ by hand
    ran = run_main("eval", "-", "--json", "--wrt", "h''", stdin=RECURRENCE)
    assert ran.returncode == 0, ran.stderr
    assert math.isclose(json.loads(ran.stdout)["derivatives"]["h″"]["1"], d_h2, rel_tol=1e-12)
    out = run_main("eval", "-", "--json", "--output", "h'", stdin=RECURRENCE)
    assert math.isclose(json.loads(out.stdout)["values"]["h′"], h1, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("layers[2].weight", ["layers", "weight"]),
        ("fc1.weight", ["fc", "weight"]),
        ("hidden", ["hidden"]),
    ],
)
def test_a_word_inside_a_module_path_is_one_name_in_latex(name: str, words: list[str]) -> None:
    """PyTorch's names in a worked solution: layers[2].weight was set as the product of the
    variables l, a, y, e, r, s; each word is one italic name, as a plain name already was."""
    from chainrule.lang.writing import latex_name

    latex = latex_name(name)
    for word in words:
        assert f"\\mathit{{{word}}}" in latex, latex


@pytest.mark.parametrize(
    "program", ["x = 0\nw = 2\nf = relu(w * x) + x", "x = 800\nf = exp(x) - 1"]
)
def test_a_worked_solution_names_a_node_once_in_its_notes(program: str) -> None:
    """The same as eval's notes, in explain's closing paragraphs."""
    text = run_main("explain", "-", "--format", "txt", stdin=program).stdout
    flat = " ".join(text.split())
    assert re.search(r"is evaluated exactly at a kink|is inf with finite inputs", flat), flat
    assert not re.search(r"(\S+(?: · \S+)?\)?) = \1 is ", flat), flat


@pytest.mark.parametrize(
    ("program", "meant"),
    [
        ("x = 1\nW = 2\nL = W * X", "x"),
        ("weight = 1\nL = wieght * 2", "weight"),
        ("b₀ = 1\nL = b0 + 1", "b₀"),
    ],
)
def test_a_misspelt_name_suggests_the_name_meant(program: str, meant: str) -> None:
    """As a misspelt function already did (sigmod → sigmoid); and the fix runs."""
    ran = run_main("eval", "-", stdin=program)
    assert ran.returncode == 2 and f"did you mean {meant}?" in ran.stderr, ran.stderr
    wrong = re.search(r"error: line \d+, column \d+: (\S+) is not defined", ran.stderr).group(1)
    fixed = program.rsplit("\n", 1)
    fixed[1] = re.sub(rf"\b{re.escape(wrong)}\b", meant, fixed[1])
    assert run_main("eval", "-", stdin="\n".join(fixed)).returncode == 0


@pytest.mark.parametrize(
    ("program", "told", "fixed"),
    [
        ("x = [1, 2]\nL = softmax(x, dim=0)[0]", "write axis=", "softmax(x, axis=0)[0]"),
        ("x = [[1, 2]]\nL = sum(mean(x, axis=0, keepdim=True))", "write keepdims=", None),
        ("x = [1, 2]\nL = x.sum()", "write sum(x)", "sum(x)"),
        ("x = [1, 2]\nL = (x * 2).mean()", "write mean(x * 2)", "mean(x * 2)"),
    ],
)
def test_pytorch_habits_in_a_program_are_told_the_program_s_way(
    program: str, told: str, fixed: str | None
) -> None:
    """dim=, keepdim= and x.sum() as a PyTorch user writes them: the error says what to
    write, and what it says runs (softmax([1, 2])[0] = 1 / (1 + e) by hand)."""
    ran = run_main("eval", "-", stdin=program)
    assert ran.returncode == 2 and told in ran.stderr and "line 2" in ran.stderr, ran.stderr
    if fixed is not None:
        good = run_main("eval", "-", "--json", stdin=f"x = [1, 2]\nL = {fixed}\n")
        value = json.loads(good.stdout)["values"]["L"]
        expected = {"softmax(x, axis=0)[0]": 1 / (1 + math.e), "sum(x)": 3.0, "mean(x * 2)": 3.0}
        assert math.isclose(value, expected[fixed], rel_tol=1e-12)


def test_an_in_place_residual_is_named_as_the_operation_it_became() -> None:
    """h += x and torch.relu_ run as add_ and relu_; chainrule computes them out of place,
    so their nodes are add and relu (not add_, PyTorch's in-place method), with autograd's
    gradients."""
    torch = pytest.importorskip("torch")

    class Res(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3, 3)

        def forward(self, x: object) -> object:
            h = self.fc(x)
            h += x
            h += 1.0
            return torch.relu_(h * 2)

    torch.manual_seed(0)
    model = Res().double()
    x = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    g = cr.from_torch(model, x)
    g.backward()
    labels = [g.label(n) for n in g.nodes if n.args]
    assert not [lb for lb in labels if lb.endswith("_") or "__" in lb], labels
    assert "add" in labels and "relu" in labels
    model(x.clone()).sum().backward()
    np.testing.assert_allclose(np.asarray(g["fc.weight"].grad), model.fc.weight.grad.numpy())


def test_a_fan_out_sum_reads_as_one_equation_in_a_text_drawing() -> None:
    """dL/dw = 0 + 0.021227 − 0.0095383   = 0.011689 had the picture's line break as three
    spaces; the sum is math.fsum of its terms."""
    text = cr.draw.text(cr.parse(RECURRENCE), "gradients")
    line = next(ln for ln in text.splitlines() if "dL/dw =" in ln)
    assert "   =" not in line
    terms, total = line.split("dL/dw = ")[1].rsplit(" = ", 1)
    values = [float(t.replace(" ", "")) for t in terms.replace("−", "+-").split("+") if t.strip()]
    assert math.isclose(math.fsum(values), float(total), rel_tol=1e-4)


def test_a_vector_op_given_a_number_says_it_needs_a_vector() -> None:
    """softmax(2) said 'softmax is not defined for float values'."""
    ran = run_main("eval", "-", stdin="x = 2\ny = softmax(x)\n")
    assert ran.returncode == 2 and "softmax needs a vector or a matrix, not a number" in ran.stderr
    assert "line 2" in ran.stderr


def test_a_label_with_operators_takes_brackets_only_where_they_change_the_meaning() -> None:
    """The lecture's n = x1*w1 + x2*w2 + b reads as the lecture writes it; the same label
    in a product is bracketed. Each definition read back (leaves put in) gives the value."""
    from chainrule.lang.naming import definition
    from chainrule.micrograd import Value

    x1, w1, x2, w2 = (
        Value(v, label=k) for v, k in ((2.0, "x1"), (-3.0, "w1"), (0.5, "x2"), (1.0, "w2"))
    )
    b = Value(6.88, label="b")
    p1 = x1 * w1
    p1.label = "x1*w1"
    p2 = x2 * w2
    p2.label = "x2*w2"
    s = p1 + p2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    m = s * b
    m.label = "m"
    out = n + m
    g = cr.Graph(out)
    assert definition(n, names=g.naming) == "x1*w1 + x2*w2 + b"
    assert definition(m, names=g.naming) == "(x1*w1 + x2*w2) · b"
    leaves = "x1 = 2.0\nw1 = -3.0\nx2 = 0.5\nw2 = 1.0\nb = 6.88\n"
    for node, value in ((n, (2 * -3 + 0.5) + 6.88), (m, (2 * -3 + 0.5) * 6.88)):
        back = cr.parse(f"{leaves}q_ = {definition(node, names=g.naming)}\n").output.value
        assert math.isclose(back, value, rel_tol=1e-12)


def test_an_op_without_an_exact_form_says_how_to_run_it() -> None:
    """layer_norm under --exact: the error says to run without it, and without it the
    program runs."""
    ran = run_main("eval", "-", "--exact", stdin=LAYER_NORM)
    assert ran.returncode == 2 and "run without --exact" in ran.stderr and "line 4" in ran.stderr
    assert run_main("eval", "-", stdin=LAYER_NORM).returncode == 0

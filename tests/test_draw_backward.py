"""The backward view of matrix programs reads as a student writes it, and its numbers are right.

The gradient graph ``autodiff.grad`` builds works with columns, rows and transposes; the drawing
folds the reshape, broadcast and transpose boxes nobody wrote into the edge they serve and writes
a column times a row as the outer product ⊗. Here every drawn box is evaluated again with numpy
from the boxes its arrows come from, each arrow's label applied as it reads (``ᵀ ↦ 2×3``,
``↦ 2×1``, ``copied ↦ 2×3``), and every gradient the drawing marks is compared with central
differences of the forward pass: the folded picture computes what the engine computed."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import run_main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import draw
from chainrule.draw.model import Drawing
from chainrule.draw.simplify import SHAPE_OPS
from chainrule.draw.views import backward_view

GALLERY = Path(__file__).parent / "gallery"
MATRIX_PROGRAMS = [
    "matrix-outer-product",
    "matrix-vector",
    "matrix-transpose",
    "matrix-affine",
    "matrix-affine-batch",
    "mlp-softmax-ce",
    "matrix-xT-y",
    "matrix-fan-out",
    "matrix-batch-matmul",
    "matrix-row-broadcast",
    "matrix-row-sums",
    "net-2-2-1",
    "vector-centred",
    "vector-matmul",
]
#: ops whose exact values numpy computes exactly from rational inputs
RATIONAL_OPS = ("add", "sub", "mul", "div", "neg", "matmul", "dot", "sum", "transpose", "permute")
SHAPE = re.compile(r"↦ ((?:\d+×)*\d+|a scalar)$")


def program(name: str, exact: bool = False) -> cr.Graph:
    return cr.parse((GALLERY / f"{name}.cr").read_text(encoding="utf-8"), exact=exact)


def shape_of(text: str) -> tuple[int, ...]:
    m = SHAPE.search(text)
    assert m, text
    return () if m.group(1) == "a scalar" else tuple(int(k) for k in m.group(1).split("×"))


def through_label(value: Any, label: str) -> Any:
    """An arrow's label applied as a reader applies it, step by step."""
    for step in label.split(", "):
        want = shape_of(step)
        if step.startswith("ᵀ"):
            value = np.swapaxes(value, -1, -2)
        elif step.startswith("copied"):
            value = np.broadcast_to(value, want)
        else:
            value = np.reshape(value, want)
        assert np.shape(value) == want, (label, np.shape(value))
    return value


def softmax(z: Any) -> Any:
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def numpy_op(name: str, args: list[Any], params: dict[str, Any], title: str) -> Any:
    """The op of a box, computed with numpy (the boxes of these programs use no other)."""
    if name == "matmul" and "⊗" in title:
        assert [np.ndim(a) for a in args] == [1, 1], title
        return np.multiply.outer(args[0], args[1])
    unary = {
        "neg": np.negative,
        "exp": np.exp,
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0),
        "step": lambda z: (np.asarray(z) > 0) * 1,
        "softmax": softmax,
        "transpose": np.transpose,
    }
    binary = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "pow": np.power,
        "matmul": np.matmul,
        "dot": np.dot,
    }
    if name in unary:
        return unary[name](args[0])
    if name in binary:
        return binary[name](args[0], args[1])
    if name in ("sum", "mean"):
        axis = params.get("axis")
        axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        reduce = np.sum if name == "sum" else np.mean
        return reduce(args[0], axis=axis, keepdims=bool(params.get("keepdims")))
    if name == "permute":
        return np.transpose(args[0], params["axes"])
    if name == "softmax_cross_entropy":  # one example, a class label
        z, label = args
        return -np.log(softmax(np.asarray(z, float))[int(label)])
    raise AssertionError(f"no numpy form for {name} ({title})")


def drawn(name: str, exact: bool = False) -> tuple[cr.Graph, Drawing, dict[str, Any]]:
    """The backward view, the graph it draws, and each box id → the node it draws."""
    drawing, bg = backward_view(program(name, exact))
    nodes = {b.id: bg.nodes[int(b.id[1:])] for b in drawing.boxes}
    return bg, drawing, nodes


def rational(v: Any) -> bool:
    """Whether every element is an exact rational (Fraction or int): numpy then computes
    exactly, so exact values can be compared with ==."""
    return all(isinstance(e, (Fraction, int)) for e in np.asarray(v, dtype=object).reshape(-1))


def plain(v: Any) -> Any:
    return np.asarray(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("name", MATRIX_PROGRAMS)
def test_every_box_is_its_op_of_the_boxes_its_arrows_come_from(name: str, exact: bool) -> None:
    _, drawing, nodes = drawn(name, exact)
    into: dict[str, list[tuple[str, str]]] = {}
    for a in drawing.arrows:  # drawn input by input, in the order of the op's inputs
        label = " ".join(line.text for line in a.lines)
        into.setdefault(a.target, []).append((a.source, label))
    checked = 0
    for box in drawing.boxes:
        node = nodes[box.id]
        if not node.args:
            continue
        edges = into.get(box.id, [])
        assert len(edges) == len(node.args), box.title
        args = []
        for source, label in edges:
            value = plain(nodes[source].value)
            args.append(through_label(value, label) if label else value)
        if exact and (node.op.name not in RATIONAL_OPS or not all(rational(a) for a in args)):
            continue  # tanh(z) and its kind are checked in floats
        got = numpy_op(node.op.name, args, dict(node.params or {}), box.title)
        want = plain(node.value)
        assert np.shape(got) == np.shape(want), (box.title, np.shape(got), np.shape(want))
        if exact:
            assert rational(want), box.title
            same = np.asarray(got, dtype=object) == np.asarray(want, dtype=object)
            assert np.all(same), (box.title, got, want)
        else:
            np.testing.assert_allclose(
                np.asarray(got, float), np.asarray(want, float), rtol=1e-12, atol=1e-14
            )
        checked += 1
    assert checked >= 2


def central_differences(name: str, wrt: str) -> np.ndarray:
    """d(sum of the output)/d(wrt), element by element, from the forward pass alone."""
    g = program(name)
    base = np.asarray(g.names[wrt].value, dtype=float)
    out = np.zeros_like(base)
    h = 1e-6
    for k in np.ndindex(base.shape):
        values = []
        for sign in (1, -1):
            moved = base.copy()
            moved[k] += sign * h
            g.forward({wrt: moved.tolist()})
            values.append(float(np.sum(g.output.value)))
        out[k] = (values[0] - values[1]) / (2 * h)
    return out


@pytest.mark.parametrize("name", MATRIX_PROGRAMS)
def test_marked_gradients_match_central_differences(name: str) -> None:
    _, drawing, nodes = drawn(name)
    g = program(name)
    out = g.output.name
    top = f"(Σ{out})" if np.ndim(g.output.value) else out
    found = 0
    for box in drawing.boxes:
        marks = [line.text for line in box.lines if line.role == "grad"]
        for mark in marks[-1:]:
            for total in mark.split(" = "):
                wrt = total.removeprefix(f"d{top}/d")
                if wrt not in g.names or g.names[wrt].args:
                    continue
                want = central_differences(name, wrt)
                got = np.asarray(nodes[box.id].value, dtype=float)
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=total)
                found += 1
    assert found == len([n for n in g.inputs if n.name and n.requires_grad])


@pytest.mark.parametrize("name", MATRIX_PROGRAMS)
def test_no_box_is_a_shape_box_nobody_wrote(name: str) -> None:
    _, drawing, nodes = drawn(name)
    for box in drawing.boxes:
        node = nodes[box.id]
        internal = node.op.name in (*SHAPE_OPS, "sum_to") and not node.name
        holds_result = any(line.role == "grad" for line in box.lines)
        if internal and box.category == "gradient" and not holds_result:
            raise AssertionError(f"a {node.op.name} box nobody wrote: {box.title}")
    titles = " ".join(b.title for b in drawing.boxes)
    assert "broadcast(" not in titles and "sum_to(" not in titles
    if name != "matrix-row-sums":
        assert "reshape(" not in titles


def test_a_reshape_that_says_which_way_copies_run_is_kept_and_labelled() -> None:
    """sum(X, axis=1) sends each row's gradient along its row: (3,) → (3, 1), then copied.
    Dropping the reshape would copy it down the columns (numpy's way for a (3,) vector), so
    the formula keeps it and the arrow says so; the values are checked above."""
    _, drawing, nodes = drawn("matrix-row-sums")
    box = next(b for b in drawing.boxes if "reshape(" in b.title)
    assert box.title.startswith("a₂ = reshape(1 − a₁², shape=(3, 1)) ⊙ X")
    labels = [x.text for a in drawing.arrows if a.target == box.id for x in a.lines]
    assert labels == ["↦ 3×1"]


def test_an_outer_product_is_one_box_fed_by_the_two_vectors() -> None:
    _, drawing, nodes = drawn("matrix-outer-product")
    box = next(b for b in drawing.boxes if any(x.text == "dL/dA" for x in b.lines))
    assert box.title == "[1, 1] ⊗ v"
    sources = sorted(nodes[a.source].name or "const" for a in drawing.arrows if a.target == box.id)
    assert sources == ["const", "v"]
    assert not [a for a in drawing.arrows if a.target == box.id and a.lines]  # vectors as they are
    # dL/dv = Aᵀ @ [1, 1]: the arrow from A says it is transposed
    box = next(b for b in drawing.boxes if any(x.text == "dL/dv" for x in b.lines))
    assert box.title == "Aᵀ @ [1, 1]"
    labels = [a.lines[0].text for a in drawing.arrows if a.target == box.id and a.lines]
    assert labels == ["ᵀ ↦ 2×2"]


def test_a_network_reads_as_on_paper() -> None:
    _, drawing, _ = drawn("mlp-softmax-ce")
    marked = {line.text: b.title for b in drawing.boxes for line in b.lines if line.role == "grad"}
    named = {b.title.split(" = ")[0]: b.title for b in drawing.boxes if " = " in b.title}
    assert marked["dL/db2"] == "a₁ = softmax(z) − [0, 0, 1]"  # softmax − one-hot
    assert marked["dL/dW2"] == "a₁ ⊗ h"
    assert marked["dL/db1"] == "a₂ = W2ᵀ @ a₁ ⊙ step(W1 @ x + b1)"
    assert marked["dL/dW1"] == "a₂ ⊗ x"
    assert marked["dL/dx"] == "W1ᵀ @ a₂"
    assert set(named) >= {"a₁", "a₂"}


def test_sums_of_outer_products_are_bracketed_and_name_only_drawn_boxes() -> None:
    """dL/dW of a matrix used twice: the two uses' outer products, each with its own vector
    (the sum's title once wrote a label from another naming, a₁ for Wᵀ @ [1, 1])."""
    _, drawing, _ = drawn("matrix-fan-out")
    marked = {line.text: b.title for b in drawing.boxes for line in b.lines if line.role == "grad"}
    assert marked["dL/dW"].endswith("= [1, 1] ⊗ h + (Wᵀ @ [1, 1]) ⊗ x")


@pytest.mark.parametrize("path", sorted(GALLERY.glob("*.cr")), ids=lambda p: p.stem)
def test_every_generated_name_in_the_backward_view_has_its_box(path: Path) -> None:
    """A generated name (a₁) written in a formula is the title of a drawn box: names of folded
    shape boxes never appear, and nothing is named from another graph's naming."""
    g = cr.parse(path.read_text(encoding="utf-8"))
    try:
        drawing = draw.build(g, "backward")
    except cr.ChainruleError:
        return  # no inputs to differentiate
    text = " ".join(drawing.labels())
    used = set(re.findall(r"(?<![\w.])([a-z][₀-₉]+)", text))
    defined = {b.title.split(" = ")[0] for b in drawing.boxes}
    assert used <= defined, sorted(used - defined)


def test_the_cli_draws_the_folded_view_in_every_format(tmp_path: Path) -> None:
    prog = GALLERY / "matrix-affine.cr"
    for ext in (".svg", ".png", ".txt", ".dot"):
        target = tmp_path / f"b{ext}"
        ran = run_main("draw", str(prog), "--view", "backward", "-o", str(target))
        assert ran.returncode == 0, ran.stderr
        assert target.stat().st_size > 0
    text = (tmp_path / "b.txt").read_text(encoding="utf-8")
    assert "(1 − tanh(z)²) ⊗ x" in text and "reshape" not in text
    assert "ᵀ ↦ 2×2" in text


def test_exact_values_stay_fractions() -> None:
    _, _, nodes = drawn("matrix-affine-batch", exact=True)
    values = [np.asarray(n.value, dtype=object) for n in nodes.values() if n.args]
    assert any(isinstance(v.reshape(-1)[0], Fraction) for v in values if v.size)


@pytest.mark.parametrize("path", sorted(GALLERY.glob("*.cr")), ids=lambda p: p.stem)
def test_every_marked_box_holds_the_engines_gradient(path: Path) -> None:
    """The backward view's result boxes against the engine's own reverse sweep (numbers, not
    a graph of nodes): the simplified, folded gradient graph computes the same gradients."""
    g = cr.parse(path.read_text(encoding="utf-8"))
    try:
        _, drawing, nodes = drawn_graph(g)
    except cr.ChainruleError:
        return  # nothing to differentiate
    reference = cr.parse(path.read_text(encoding="utf-8")).backward()
    by_name = {reference.naming.label(n): n for n in reference.nodes if not n.args}
    checked = 0
    for box in drawing.boxes:
        for line in box.lines:
            if line.role != "grad":
                continue
            for total in line.text.split(" = "):
                wrt = total.split("/d", 1)[1].removeprefix("(").removesuffix(")")
                want = by_name[wrt].grad
                got = nodes[box.id].value
                np.testing.assert_allclose(
                    np.asarray(got, float), np.asarray(want, float), rtol=1e-10, atol=1e-12
                )
                checked += 1
    assert checked


def drawn_graph(g: cr.Graph) -> tuple[cr.Graph, Drawing, dict[str, Any]]:
    drawing, bg = backward_view(g, collapse=[])  # one box per node: box n<i> draws node i
    return bg, drawing, {b.id: bg.nodes[int(b.id[1:])] for b in drawing.boxes}


@pytest.mark.parametrize("factory", ["mlp", "cnn", "rnn", "transformer"])
def test_pytorch_models_backward_view_holds_pytorchs_gradients(factory: str) -> None:
    """Batch norm's per-channel columns, convolutions' rows, attention's batched transposes:
    each drawn gradient against PyTorch's own autograd."""
    pytest.importorskip("torch")
    import importlib.util
    import inspect

    spec = importlib.util.spec_from_file_location(
        "zoo", Path(__file__).parent.parent / "examples" / "torch_models.py"
    )
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    model, inputs = getattr(zoo, factory)()
    graph = cr.from_torch(model, *inputs)
    _, drawing, nodes = drawn_graph(graph)
    grouped = draw.build(graph, "backward").check()  # modules collapsed, as drawn by default
    assert any(a.lines for a in grouped.arrows) or factory == "rnn"
    leaves = [t.clone().requires_grad_() if t.is_floating_point() else t for t in inputs]
    model(*leaves).sum().backward()
    want = {name: p.grad for name, p in model.named_parameters()}
    names = inspect.signature(model.forward).parameters
    want.update({k: t.grad for k, t in zip(names, leaves, strict=True) if t.grad is not None})
    checked = set()
    for box in drawing.boxes:
        for line in box.lines:
            if line.role != "grad":
                continue
            for total in line.text.split(" = "):
                wrt = total.split("/d", 1)[1].removeprefix("(").removesuffix(")")
                if wrt not in want:
                    continue
                got = np.asarray(nodes[box.id].value, float)
                np.testing.assert_allclose(
                    got,
                    want[wrt].detach().numpy(),
                    rtol=1e-4,
                    atol=1e-6,
                    err_msg=wrt,  # PyTorch in float32
                )
                checked.add(wrt)
    assert checked == set(want)


def _values(draw_: Any, shape: tuple[int, ...]) -> str:
    numbers = st.sampled_from([-2, -1, -0.5, 0.5, 1, 1.5, 2, 3])
    flat = [draw_(numbers) for _ in range(int(np.prod(shape)))]
    return str(np.array(flat, dtype=float).reshape(shape).tolist())


#: matrix programs by shapes (n, m): products both ways, transposes, broadcasts, reductions
#: over either axis, fan-out, a network layer
TEMPLATES = [
    "A = {A}\nv = {m}\nL = sum(tanh(A @ v))",
    "A = {A}\nv = {n}\nL = sum(exp(v @ A) * 0.1)",
    "A = {A}\nB = {At}\nL = mean((A @ B) * (A @ B))",
    "A = {A}\nB = {A2}\nL = sum(A.T @ B)",
    "A = {A}\nB = {A2}\nL = sum((A @ B.T) ** 2)",
    "X = {A}\nb = {m}\nL = sum(tanh(X + b))",
    "X = {A}\nb = {col}\nL = sum(tanh(X * b))",
    "X = {A}\nL = sum(tanh(sum(X * X, axis=1)))",
    "X = {A}\nL = sum(tanh(sum(X * X, axis=0)))",
    "X = {A}\nc = {n}\nL = sum(sigmoid(mean(X, axis=1)) * c)",
    "X = {A}\nw = {m}\nb = 0.5\nL = mean((X @ w + b) ** 2)",
    "W = {S}\nx = {n}\nL = sum(W @ (W @ (W @ x)))",
    "W = {A}\nx = {m}\nb = {n}\nh = relu(W @ x + b)\nL = sum(h * h)",
    "W = {A}\nx = {m}\nL = cross_entropy(W @ x, 0)",
    "X = {A}\nL = sum(softmax(X, axis=1) * {A2})",
    "X = {A}\nc = {n}\nL = sum((X.T + c) ** 2)",
]


@st.composite
def matrix_programs(draw_: Any) -> str:
    n, m = draw_(st.integers(1, 3)), draw_(st.integers(1, 3))
    shapes = {
        "A": (n, m), "A2": (n, m), "At": (m, n), "S": (n, n),
        "m": (m,), "n": (n,), "col": (n, 1),
    }  # fmt: skip
    template = draw_(st.sampled_from(TEMPLATES))
    return template.format(**{k: _values(draw_, s) for k, s in shapes.items()}) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrix_programs())
def test_random_matrix_programs_draw_the_engines_gradients(text: str) -> None:
    _, drawing, nodes = drawn_graph(cr.parse(text))
    reference = cr.parse(text).backward()
    by_name = {reference.naming.label(n): n for n in reference.nodes if not n.args}
    marked = 0
    for box in drawing.boxes:
        for line in box.lines:
            for total in line.text.split(" = ") if line.role == "grad" else ():
                wrt = total.split("/d", 1)[1]
                got = np.asarray(nodes[box.id].value, float)
                want = np.asarray(by_name[wrt].grad, float)
                assert got.shape == want.shape, (text, wrt)
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=text)
                marked += 1
    assert marked == len([n for n in reference.inputs if n.requires_grad])
    titles = " ".join(b.title for b in drawing.boxes)
    assert "sum_to(" not in titles


def test_an_array_before_a_name_is_a_product_not_a_coefficient() -> None:
    """2x reads as a coefficient; [−1, 1.5, −2]a₃ or [2, 5](x + y) reads as nothing: an
    array written first keeps its product sign, in text and in LaTeX (⊙: both are arrays)."""
    program = "x = [1, 2]\ny = 3\nL = sum([2, 5] * (x + y)) + sum(2 * x)\n"
    ran = run_main("explain", "-", "--format", "txt", stdin=program)
    assert ran.returncode == 0, ran.stderr
    assert "[2, 5] ⊙ (x + y)" in ran.stdout and "[2, 5](x + y)" not in ran.stdout
    assert "2x" in ran.stdout
    ran = run_main("explain", "-", "--format", "tex", stdin=program)
    assert r"\left[2, 5\right] \odot \left(x + y\right)" in ran.stdout
    text = "X = [[1, 2], [3, 4]]\nL = sum(sigmoid(mean(X, axis=1)) * [-1, 2])\n"
    titles = [b.title for b in draw.build(cr.parse(text), "backward").boxes]
    assert not any(re.search(r"\][a-z(]", t) for t in titles), titles


def test_a_gradient_copied_along_rows_is_an_outer_product_with_ones() -> None:
    """dL/dX of a row mean is each row's number copied along its row: g ⊗ [1, 1, 1] (numpy:
    np.outer(g, ones)); a number copied into a vector is y · [1, 1, 1]."""
    x = np.array([[1, 1.5, 1.5], [1.5, -1, 1]])
    c = np.array([-1, 1.5])
    text = f"X = {x.tolist()}\nc = {c.tolist()}\nL = sum(sigmoid(mean(X, axis=1)) * c)\n"
    _, drawing, nodes = drawn_graph(cr.parse(text))
    box = next(b for b in drawing.boxes if any(x.text == "dL/dX" for x in b.lines))
    assert box.title.endswith("⊗ [1, 1, 1]"), box.title
    s = 1 / (1 + np.exp(-x.mean(axis=1)))
    g = c * s * (1 - s) / 3
    np.testing.assert_allclose(np.asarray(nodes[box.id].value, float), np.outer(g, np.ones(3)))
    _, drawing, nodes = drawn_graph(cr.parse("x = [1, 2, 3]\ny = 2\nL = sum(x) * y\n"))
    box = next(b for b in drawing.boxes if any(x.text == "dL/dx" for x in b.lines))
    assert box.title == "y · [1, 1, 1]"
    np.testing.assert_array_equal(np.asarray(nodes[box.id].value, float), [2, 2, 2])


def test_compact_drawings_name_the_outer_product_too() -> None:
    """Big drawings write each box by its operation alone: the outer product is ⊗, not @."""
    compact = draw.build(program("mlp-softmax-ce"), "backward", detail="compact")
    marked = {x.text: b.title for b in compact.boxes for x in b.lines if x.role == "grad"}
    assert marked["dL/dW1"] == "⊗" and marked["dL/dW2"] == "⊗"
    assert marked["dL/dx"] == "@"

"""from_torch on a model zoo: every node's value and every leaf's gradient against PyTorch's own."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")

import chainrule as cr  # noqa: E402
from chainrule.core.errors import ValueInputError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _zoo() -> Any:
    spec = importlib.util.spec_from_file_location("torch_models", ROOT / "examples/torch_models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ZOO = _zoo()


def assert_close(got: Any, want: Any, dtype: Any, what: str) -> None:
    """float32: 1e-6 relative to the largest magnitude; float64: 1e-12."""
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    rel = 1e-6 if dtype == torch.float32 else 1e-12
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-30)
    err = float(np.max(np.abs(got - want), initial=0.0))
    assert err <= rel * scale, f"{what}: off by {err:.3g} at scale {scale:.3g}"


def torch_run(model: Any, inputs: tuple[Any, ...]) -> tuple[Any, dict[str, Any]]:
    """PyTorch's output, and the gradient of the sum of its outputs on every parameter and
    floating-point input (named as the graph names them)."""
    leaves = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    out = model(*leaves)
    outs = out if isinstance(out, tuple) else (out,)
    params = dict(model.named_parameters()) if isinstance(model, torch.nn.Module) else {}
    for p in params.values():
        p.grad = None
    total = sum(o.sum() for o in outs)
    total.backward()
    grads = {name: p.grad for name, p in params.items()}
    return outs, {**grads, "_inputs": [t.grad for t in leaves]}


@pytest.mark.parametrize("name", sorted(ZOO.ZOO))
def test_zoo_values_and_gradients_equal_pytorch(name: str) -> None:
    model, inputs = ZOO.ZOO[name]()
    g = cr.from_torch(model, *inputs)
    outs, grads = torch_run(model, inputs)
    dtype = inputs[0].dtype
    for node, want in zip(g.outputs, outs, strict=True):
        assert_close(node.value, want.detach().numpy(), dtype, f"{name} output")
    for node in g.outputs:
        # the gradient of the sum of every output, as torch_run takes it (a seed of ones)
        cr.backward(node, accumulate=node is not g.outputs[0])
    for pname, want in grads.items():
        if pname == "_inputs":
            continue
        assert_close(g[pname].grad, want.numpy(), dtype, f"{name} ∂/∂{pname}")
    from chainrule.torch_bridge.convert import _argument_names

    names = _argument_names(model, len(inputs))
    checked = 0
    for arg, t, want in zip(names, inputs, grads["_inputs"], strict=True):
        if t.is_floating_point():
            assert_close(g[arg].grad, want.numpy(), dtype, f"{name} ∂/∂{arg}")
            checked += 1
        else:
            assert g[arg].op.name == "const"  # labels and indices carry no gradient
    assert checked, "every zoo model has a floating-point input"


def test_names_come_from_the_module_hierarchy() -> None:
    model, inputs = ZOO.mlp()
    g = cr.from_torch(model, *inputs)
    names = set(g.names)
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "x", "fc1", "fc2"} <= names
    assert g["labels"].op.name == "const"  # integer labels carry no gradient
    assert g["fc1"].op.name == "linear"
    # torch's (out, in) weight enters the layer as it is: x @ Wᵀ + b in one node
    assert g["fc1"].params == {"transpose_w": True}
    assert g["fc1"].args[1] is g["fc1.weight"]


def test_native_ops_are_used_where_the_table_has_them() -> None:
    ops = {n.op.name for _, f in sorted(ZOO.ZOO.items()) for n in cr.from_torch(*_flat(f()))}
    for want in (
        "linear",
        "conv2d",
        "batch_norm",
        "max_pool2d",
        "layer_norm",
        "softmax",
        "softmax_cross_entropy",
        "mse",
        "tanh",
        "gelu",
        "dropout",
        "matmul",
    ):
        assert want in ops, want


def _flat(made: tuple[Any, tuple[Any, ...]]) -> tuple[Any, ...]:
    model, inputs = made
    return (model, *inputs)


def test_an_op_chainrule_lacks_is_an_opaque_node_named_by_pytorch() -> None:
    model, inputs = ZOO.opaque()
    g = cr.from_torch(model, *inputs)
    opaque = [n for n in g.nodes if n.op.name == "torch_opaque"]
    assert len(opaque) == 1
    assert opaque[0].op.label_for(opaque[0].params) == "torch.cumsum"
    from chainrule.lang.notation import definition

    assert definition(opaque[0]).startswith("torch.cumsum(")


def test_second_derivatives_through_a_converted_model_equal_pytorch() -> None:
    """Gradient graphs work on converted graphs, opaque nodes included (double backward)."""
    model, inputs = ZOO.opaque()
    g = cr.from_torch(model, *inputs)
    w = g["fc.weight"]
    v = np.random.default_rng(0).normal(size=w.shape).astype(np.float32)
    gw = cr.grad(g.output, w)
    hvp = cr.grad(cr.sum(gw * cr.const(v)), w)

    wt = model.fc.weight
    (d,) = torch.autograd.grad(model(*inputs), wt, create_graph=True)
    (want,) = torch.autograd.grad((d * torch.from_numpy(v)).sum(), wt)
    assert_close(hvp.value, want.numpy(), torch.float32, "Hessian-vector product")


def test_float64_models_match_to_1e12() -> None:
    torch.manual_seed(5)
    model = ZOO.MLP().double()
    x, labels = torch.randn(4, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 1])
    g = cr.from_torch(model, x, labels)
    g.backward()
    out, grads = torch_run(model, (x, labels))
    assert g.output.value == pytest.approx(out[0].item(), rel=1e-12)
    for pname in ("fc1.weight", "fc2.bias"):
        assert g[pname].value.dtype == np.float64
        assert_close(g[pname].grad, grads[pname].numpy(), torch.float64, pname)
    assert_close(g["x"].grad, grads["_inputs"][0].numpy(), torch.float64, "∂/∂x")


def test_training_mode_batch_norm_and_dropout() -> None:
    model, inputs = ZOO.cnn()
    model.train()
    torch.manual_seed(7)
    g = cr.from_torch(model, *inputs)
    bn = [n for n in g.nodes if n.op.name == "batch_norm"][0]
    assert bn.params is not None and bn.params["training"] is True
    mask = [n for n in g.nodes if n.name == "dropout mask"][0]
    # PyTorch with the same mask: dropout replaced by multiplying with it
    keep = torch.from_numpy(np.asarray(mask.value))

    def same_mask(x: Any) -> Any:
        return x * keep / 0.75

    model.drop.forward = same_mask  # type: ignore[method-assign]
    outs, grads = torch_run(model, inputs)
    g.backward()
    assert_close(g.output.value, outs[0].detach().numpy(), torch.float32, "loss")
    for pname in ("conv.weight", "bn.weight", "fc.bias"):
        assert_close(g[pname].grad, grads[pname].numpy(), torch.float32, pname)


def test_embedding_and_opaque_integer_inputs() -> None:
    torch.manual_seed(6)
    emb = torch.nn.Embedding(5, 3)

    def f(idx: Any, w: Any) -> Any:
        return (torch.gather(emb(idx).sum(-1), 1, torch.ones(2, 1, dtype=torch.long)) * w).sum()

    idx, w = torch.tensor([[1, 4], [0, 1]]), torch.randn(2, 1)
    g = cr.from_torch(f, idx, w)
    assert "embedding" in {n.op.name for n in g.nodes}
    g.backward()
    w_t = w.clone().requires_grad_(True)
    emb.weight.grad = None
    f(idx, w_t).backward()
    assert_close(g.output.value, f(idx, w).detach().numpy(), torch.float32, "value")
    assert_close(g["w"].grad, w_t.grad.numpy(), torch.float32, "∂/∂w")


def test_a_model_that_cannot_be_traced_is_one_clear_error() -> None:
    with pytest.raises(ValueInputError, match="tensors"):
        cr.from_torch(torch.nn.Linear(2, 2), "not a tensor")
    with pytest.raises(ValueInputError, match="Module or a function"):
        cr.from_torch(3, torch.zeros(2))


# ------------------------------------------------------------------ command line


def test_cli_draws_and_explains_a_pytorch_model(tmp_path: Path, capsys: Any) -> None:
    from chainrule.cli import main

    svg = tmp_path / "mlp.svg"
    assert (
        main(["draw", "--torch", str(ROOT / "examples/torch_models.py:mlp"), "-o", str(svg)]) == 0
    )
    text = svg.read_text(encoding="utf-8")
    assert "fc1.weight" in text and "cross_entropy_loss" in text
    spec = str(ROOT / "examples/torch_models.py:opaque")
    assert main(["draw", "--torch", spec, "--view", "gradients"]) == 0
    assert "torch.cumsum" in capsys.readouterr().out
    assert main(["explain", "--torch", spec]) == 0
    out = capsys.readouterr().out
    assert "torch.cumsum(fc) is opaque: PyTorch computed its value" in out


def test_modules_of_several_operations_are_collapsed_by_default(
    tmp_path: Path, capsys: Any
) -> None:
    """A block of four operations is one box; a lone Linear keeps its own box and formula; a
    model is never folded into one box (``blocks`` holds most operations, so its blocks are
    judged instead); ``--no-collapse`` and an explicit ``--collapse`` win."""
    from chainrule.cli import main
    from chainrule.draw import build
    from chainrule.draw.select import module_groups

    model, inputs = ZOO.stack()
    graph = cr.from_torch(model, *inputs)
    assert module_groups(graph) == ["blocks[0]", "blocks[1]", "blocks[2]"]
    titles = [b.title for b in build(graph).boxes]
    assert {"blocks[0]", "blocks[1]", "blocks[2]"} <= set(titles)
    assert not any(t.startswith("blocks[1].fc1") for t in titles)
    assert any(t.startswith("head = linear(") for t in titles)
    opened = [b.title for b in build(graph, collapse=[]).boxes]
    assert "blocks[1]" not in opened and any(t.startswith("blocks[1].fc1 = ") for t in opened)
    assert len(opened) > len(titles) + 20
    for name in ("mlp", "transformer", "cnn"):
        model, inputs = getattr(ZOO, name)()
        assert module_groups(cr.from_torch(model, *inputs)) == [], name
    assert module_groups(cr.parse("x = 1\ny = x * x\n")) == []

    spec = str(ROOT / "examples/torch_models.py:stack")
    assert main(["draw", "--torch", spec]) == 0
    folded = capsys.readouterr().out
    assert main(["draw", "--torch", spec, "--no-collapse"]) == 0
    every = capsys.readouterr().out
    assert main(["draw", "--torch", spec, "--collapse", "blocks"]) == 0
    chosen = capsys.readouterr().out
    assert "blocks[1] " in folded and "blocks[1].fc1 = " not in folded
    assert "blocks[1].fc1 = " in every
    assert "blocks " in chosen and "blocks[1] " not in chosen
    assert main(["draw", "--torch", spec, "--collapse", "blocks.1"]) == 0  # PyTorch's spelling
    assert "blocks[1] " in capsys.readouterr().out


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nope.py:mlp", "no file"),
        ("examples/torch_models.py", "expected FILE.py:FACTORY"),
        ("examples/torch_models.py:missing", "has no function 'missing'"),
        ("examples/torch_models.py:neuron", "neuron() in"),
    ],
)
def test_cli_torch_mistakes_are_one_paragraph_and_status_2(
    spec: str, message: str, capsys: Any, monkeypatch: Any
) -> None:
    from chainrule.cli import main

    monkeypatch.chdir(ROOT)
    assert main(["draw", "--torch", spec]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# ------------------------------------------------------------------ to PyTorch


def test_a_chainrule_network_continues_in_pytorch_with_equal_values_and_gradients() -> None:
    from chainrule import nn

    rng = np.random.default_rng(0)
    net = nn.MLP(4, [6, 3], activation="tanh", rng=rng)
    x, labels = rng.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])
    loss = nn.cross_entropy(net(cr.const(x)), labels)
    loss.backward()
    tnet = cr.to_torch(net)
    names = dict(tnet.named_parameters())
    assert set(names) == {name for name, _ in net.named_parameters()}
    tloss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(labels))
    tloss.backward()
    assert tloss.item() == pytest.approx(loss.value, rel=1e-12)
    for name, p in net.named_parameters():
        assert_close(names[name].grad.numpy(), p.grad, torch.float64, name)


@pytest.mark.parametrize("name", sorted(ZOO.ZOO))
def test_round_trip_chainrule_torch_chainrule_keeps_values_and_gradients(name: str) -> None:
    model, inputs = ZOO.ZOO[name]()
    g = cr.from_torch(model, *inputs)
    data = [n.name for n in g.nodes if not n.args and n.name and "." not in n.name]
    data_values = [g[k].value for k in data]
    tm = cr.to_torch(g, inputs=data)
    tensors = [
        torch.from_numpy(np.asarray(v)) if np.ndim(v) else torch.tensor(v) for v in data_values
    ]
    dtype = inputs[0].dtype
    out = tm(*tensors)
    outs = out if isinstance(out, tuple) else (out,)
    for node, t in zip(g.outputs, outs, strict=True):
        assert_close(t.detach().numpy(), node.value, dtype, f"{name} to_torch output")
    g2 = cr.from_torch(tm, *tensors)
    for a, b in zip(g.outputs, g2.outputs, strict=True):
        assert_close(b.value, a.value, dtype, f"{name} round-trip output")
    cr.backward(g.outputs[0])  # a seed of ones, as the sum torch differentiates
    cr.backward(g2.outputs[0])
    for leaf in g.inputs:
        if leaf.name and "." in leaf.name:
            assert_close(g2[leaf.name].grad, leaf.grad, dtype, f"{name} round-trip ∂/∂{leaf.name}")


def test_to_torch_keeps_each_modules_train_or_eval_mode() -> None:
    """An exported network in eval mode gives chainrule's eval output (dropout off), every
    time; a submodule's own mode (``net.train(); net[1].eval()``) is kept too."""
    from chainrule import nn

    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    net.eval()
    t = cr.to_torch(net)
    assert not any(m.training for m in t.modules())
    x = np.ones((1, 4))
    expected = net(cr.const(x)).value
    for _ in range(3):
        got = t(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    net.train()
    net[1].eval()
    t = cr.to_torch(net)
    assert [m.training for m in t.children()] == [True, False, True] and t.training


def test_device_and_dtype_are_applied() -> None:
    from chainrule import nn

    net = nn.MLP(2, [3, 1], rng=np.random.default_rng(1))
    t32 = cr.to_torch(net, dtype=torch.float32, device="cpu")
    assert all(p.dtype == torch.float32 for p in t32.parameters())
    with pytest.raises(ValueInputError, match="Graph"):
        cr.to_torch("not a model")


def test_to_torch_example_continues_training_and_writes_its_curve(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    import sys

    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    spec = importlib.util.spec_from_file_location("example_to_torch", ROOT / "examples/to_torch.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.setattr(
        sys, "argv", ["to_torch.py", "--epochs", "2", "--torch-epochs", "2", "--out", str(tmp_path)]
    )
    example.main()
    assert (tmp_path / "to_torch_loss.png").stat().st_size > 1000
    out = capsys.readouterr().out
    means = [float(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "mean loss" in line]
    assert len(means) == 4 and means[3] < means[0]  # the PyTorch part goes on decreasing it
    assert "layer1.weight, layer1.bias, layer2.weight, layer2.bias" in out


def test_every_op_of_the_table_has_a_pytorch_form() -> None:
    from chainrule.torch_bridge.to_torch import torch_form

    assert {n for n, op in cr.OPS.items() if torch_form(op) is None} == {"input", "const"}


def test_graph_ops_replayed_in_pytorch_equal_chainrule() -> None:
    """Ops the zoo does not reach: indexing and its transpose, reductions, exotic losses."""
    from chainrule import tensor as T
    from chainrule.core.node import apply

    rng = np.random.default_rng(3)
    a = cr.var(rng.normal(size=(4, 3)), "a")
    s = apply(
        cr.OPS["scatter"],
        (a[np.array([0, 2, 0])],),
        {"index": np.array([1, 1, 3]), "shape": (5, 3)},
    )
    parts = [
        T.sum(s * s),
        T.max(a, axis=1)[1],
        T.hinge(a[0], np.array([1.0, -1.0, 1.0])),
        T.bce_with_logits(a[1], np.array([0.0, 1.0, 0.5])),
        cr.sum(T.leaky_relu(a, 0.2) ** 2.0) / 3.0,
        T.sum_squares([a]),
        cr.mean(cr.softplus(a) * cr.exp(-cr.abs(a))),
    ]
    loss = parts[0]
    for p in parts[1:]:
        loss = loss + p
    g = cr.Graph(loss)
    g.backward()
    tm = cr.to_torch(g)
    out = tm()
    out.backward()
    assert out.item() == pytest.approx(loss.value, rel=1e-12)
    assert_close(tm.a.grad.numpy(), a.grad, torch.float64, "∂/∂a")


def test_eval_and_check_take_a_pytorch_model(capsys: Any) -> None:
    """``eval --torch`` prints the table; ``check --torch`` judges a learner's numbers against
    PyTorch's own (autograd's gradient of the zoo's micrograd-style function)."""
    from chainrule.cli import main

    spec = str(ROOT / "examples/torch_models.py:scalar")
    a, b = (t.clone().requires_grad_(True) for t in ZOO.scalar()[1])
    out = ZOO.neuron(a, b)
    out.backward()
    assert main(["eval", "--torch", spec]) == 0
    assert "pow_2" in capsys.readouterr().out
    right = f"pow_2={float(out.detach()):.4f}"
    slope = f"dpow_2/da={float(a.grad):.4f}"
    assert main(["check", "--torch", spec, "--claim", right, "--claim", slope]) == 0
    capsys.readouterr()
    assert main(["check", "--torch", spec, "--claim", "pow_2=4.2"]) == 1
    assert "wrong" in capsys.readouterr().out

"""chainrule.nn, nn.functional and optim with PyTorch's habits, checked against torch 2.13:
the same model with the same weights gives the same outputs and gradients, the optimizers
the same parameters step after step, and one PyTorch-style training script, written once,
the same losses with either library."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.tensor as T
from chainrule import nn, optim
from chainrule.nn import functional as F

torch = pytest.importorskip("torch", reason="chainrule.nn is compared with torch.nn")
torch.set_num_threads(1)

RNG = np.random.default_rng(3)


def to_numpy(t: Any) -> np.ndarray:
    return t.detach().numpy()


def pair(sizes: tuple[int, ...], act: str = "ReLU") -> tuple[Any, Any]:
    """The same MLP in torch (float64) and in chainrule, chainrule's weights loaded from
    torch's state_dict (same names: 0.weight, 0.bias, 2.weight, ...)."""
    torch.manual_seed(0)
    tl: list[Any] = []
    cl: list[Any] = []
    for i in range(len(sizes) - 1):
        tl.append(torch.nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64))
        cl.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            tl.append(getattr(torch.nn, act)())
            cl.append(getattr(nn, act)())
    tm, cm = torch.nn.Sequential(*tl), nn.Sequential(*cl)
    assert list(cm.state_dict()) == list(tm.state_dict())
    cm.load_state_dict(tm.state_dict())
    return tm, cm


# ------------------------------------------------------------------ Linear


def test_linear_layout_and_initialisation_as_pytorch() -> None:
    layer = nn.Linear(400, 300, rng=np.random.default_rng(0))
    assert layer.weight.shape == (300, 400) and layer.bias.shape == (300,)
    assert (layer.in_features, layer.out_features) == (400, 300)
    assert [k for k, _ in layer.named_parameters()] == ["weight", "bias"]
    bound = 1 / np.sqrt(400)  # kaiming_uniform_(a=√5) and the bias rule of torch.nn.Linear
    for p in (layer.weight.value, layer.bias.value):
        assert np.abs(p).max() <= bound
    w = layer.weight.value
    assert np.std(w) == pytest.approx(bound / np.sqrt(3), rel=0.02)  # uniform's spread
    # torch draws from the same distribution
    t = torch.nn.Linear(400, 300).weight.detach()
    assert float(t.abs().max()) <= bound
    assert float(t.std()) == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_old_names_are_deprecated_but_work() -> None:
    layer = nn.Linear(3, 2)
    with pytest.warns(DeprecationWarning, match="weight"):
        w = layer.w
    np.testing.assert_array_equal(w.value, layer.weight.value.T)
    with pytest.warns(DeprecationWarning):
        assert layer.b is layer.bias
    old = {"w": RNG.normal(size=(3, 2)), "b": RNG.normal(size=2)}
    with pytest.warns(DeprecationWarning, match="old Linear names"):
        layer.load_state_dict(old)
    np.testing.assert_array_equal(layer.weight.value, old["w"].T)
    np.testing.assert_array_equal(layer.bias.value, old["b"])


@pytest.mark.parametrize("act", ["ReLU", "Tanh", "Sigmoid", "GELU"])
def test_mlp_outputs_and_gradients_match_torch(act: str) -> None:
    tm, cm = pair((5, 7, 3), act)
    x = RNG.normal(size=(4, 5))
    y = np.array([0, 2, 1, 2])
    tout = tm(torch.tensor(x))
    cout = cm(T.tensor(x, requires_grad=False))
    np.testing.assert_allclose(cout.numpy(), to_numpy(tout), rtol=1e-12, atol=1e-14)
    torch.nn.CrossEntropyLoss()(tout, torch.tensor(y)).backward()
    nn.CrossEntropyLoss()(cout, y).backward()
    for (name, p), (tname, tp) in zip(cm.named_parameters(), tm.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, to_numpy(tp.grad), rtol=1e-10, atol=1e-14)


LOSSES = [
    ("CrossEntropyLoss", "labels"),
    ("CrossEntropyLoss", "probs"),
    ("MSELoss", "same"),
    ("BCEWithLogitsLoss", "01"),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("loss", "target"), LOSSES)
def test_losses_match_torch(loss: str, target: str, reduction: str) -> None:
    z = RNG.normal(size=(4, 3))
    t = {
        "labels": np.array([2, 0, 1, 1]),
        "probs": RNG.dirichlet(np.ones(3), size=4),
        "same": RNG.normal(size=(4, 3)),
        "01": RNG.uniform(size=(4, 3)),
    }[target]
    zt = torch.tensor(z, requires_grad=True)
    lt = getattr(torch.nn, loss)(reduction=reduction)(zt, torch.tensor(t))
    zc = T.tensor(z)
    lc = getattr(nn, loss)(reduction=reduction)(zc, t)
    np.testing.assert_allclose(lc.numpy(), to_numpy(lt), rtol=1e-12, atol=1e-14)
    w = RNG.normal(size=tuple(lt.shape))
    lt.backward(torch.tensor(w))
    lc.backward(gradient=w)
    np.testing.assert_allclose(zc.grad, to_numpy(zt.grad), rtol=1e-10, atol=1e-14)


FUNCTIONS = [
    ("relu", lambda f, x: f.relu(x)),
    ("gelu", lambda f, x: f.gelu(x)),
    ("gelu tanh", lambda f, x: f.gelu(x, approximate="tanh")),
    ("softmax", lambda f, x: f.softmax(x, dim=1)),
    ("log_softmax", lambda f, x: f.log_softmax(x, dim=0)),
    ("sigmoid", lambda f, x: f.sigmoid(x)),
    ("tanh", lambda f, x: f.tanh(x)),
    ("leaky_relu", lambda f, x: f.leaky_relu(x, 0.2)),
    ("mse_loss", lambda f, x: f.mse_loss(x, x * 0 + 1)),
    ("cross_entropy", lambda f, x: f.cross_entropy(x, x.softmax(dim=1) * 0 + 0.25)),
    (
        "binary_cross_entropy_with_logits",
        lambda f, x: f.binary_cross_entropy_with_logits(x, x * 0 + 0.5),
    ),
]


@pytest.mark.parametrize(("name", "call"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_functional_matches_torch(name: str, call: Any) -> None:
    x = RNG.normal(size=(3, 4)) * 2
    xt = torch.tensor(x, requires_grad=True)
    yt = call(torch.nn.functional, xt)
    xc = T.tensor(x)
    yc = call(F, xc)
    np.testing.assert_allclose(yc.numpy(), to_numpy(yt), rtol=1e-12, atol=1e-14)
    w = RNG.normal(size=tuple(yt.shape))
    yt.backward(torch.tensor(w))
    yc.backward(gradient=w)
    np.testing.assert_allclose(xc.grad, to_numpy(xt.grad), rtol=1e-10, atol=1e-14)


def test_functional_linear_and_implicit_softmax_dim() -> None:
    x, w, b = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=4)
    want = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(F.linear(x, w, b).value, to_numpy(want), rtol=1e-13)
    with pytest.warns(UserWarning, match="dim=X"):
        out = F.softmax(T.tensor(x))
    np.testing.assert_allclose(out.value.sum(axis=1), 1.0)
    with pytest.raises(cr.ValueInputError, match="reduction"):
        F.mse_loss(x, x, reduction="avg")


# ------------------------------------------------------------------ Module


def test_train_eval_and_named_parameters_as_torch() -> None:
    tm, cm = pair((2, 3, 1))
    assert cm.training and all(m.training for m in cm.modules())
    assert cm.eval() is cm and not any(m.training for m in cm.modules())
    cm.train()
    assert cm[0].training
    assert [k for k, _ in cm.named_parameters()] == [k for k, _ in tm.named_parameters()]
    cm(np.ones((1, 2))).sum().backward()
    cm.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in cm.parameters())
    cm.zero_grad()
    assert all(p.grad is None for p in cm.parameters())


def test_load_state_dict_copies_into_the_parameter_arrays() -> None:
    tm, cm = pair((2, 3))
    arr = cm[0].weight.value
    state = {k: v * 2 for k, v in tm.state_dict().items()}
    cm.load_state_dict(state)
    assert cm[0].weight.value is arr
    np.testing.assert_array_equal(arr, to_numpy(state["0.weight"]))


# ------------------------------------------------------------------ optimizers


OPTIMIZERS = [
    ("SGD", {}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
]


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS)
def test_optimizers_take_the_same_steps_as_torch(name: str, kwargs: dict[str, Any]) -> None:
    tm, cm = pair((4, 6, 3), "Tanh")
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    copt = getattr(optim, name)(cm.parameters(), **kwargs)
    assert copt.lr == topt.param_groups[0]["lr"]  # the same default learning rate
    x = RNG.normal(size=(8, 4))
    y = RNG.integers(0, 3, size=8)
    for _ in range(6):
        topt.zero_grad()
        tl = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
        tl.backward()
        topt.step()
        copt.zero_grad()
        cl = F.cross_entropy(cm(x), y)
        cl.backward()
        copt.step()
        assert cl.item() == pytest.approx(tl.item(), rel=1e-12)
    for p, tp in zip(cm.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.value, to_numpy(tp), rtol=1e-10, atol=1e-13)


def test_param_groups_set_the_learning_rate() -> None:
    p = nn.parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.5)
    for g in opt.param_groups:
        g["lr"] = 0.25
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.value, 1 - 0.25 * 2)


# ------------------------------------------------------------------ one script, two libraries


def pytorch_style_training(lib: SimpleNamespace, state: dict[str, Any]) -> list[float]:
    """A PyTorch-style training loop written once: MLP on the 8×8 digits, shuffled
    mini-batches (a DataLoader's job, done with a seeded permutation), CrossEntropyLoss, Adam.
    ``lib`` supplies nn, optim, a float32 dtype and the way to make an input tensor."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    nn_, optim_ = lib.nn, lib.optim
    model = nn_.Sequential(
        nn_.Linear(64, 32, dtype=lib.float32),
        nn_.ReLU(),
        nn_.Linear(32, 10, dtype=lib.float32),
    )
    model.load_state_dict(state)
    loss_fn = nn_.CrossEntropyLoss()
    opt = optim_.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    losses = []
    model.train()
    for _epoch in range(2):
        order = rng.permutation(len(X))
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            xb, yb = lib.tensor(X[idx]), lib.tensor(y[idx])
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def test_one_pytorch_style_script_gives_the_same_losses() -> None:
    torch.manual_seed(1)
    init = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    state = {k: v.detach().clone() for k, v in init.state_dict().items()}
    with_torch = pytorch_style_training(
        SimpleNamespace(
            nn=torch.nn, optim=torch.optim, float32=torch.float32, tensor=torch.from_numpy
        ),
        state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated name is used on the way
        with_chainrule = pytorch_style_training(
            SimpleNamespace(
                nn=nn,
                optim=optim,
                float32=np.float32,
                tensor=lambda a: T.tensor(a, requires_grad=False),
            ),
            state,
        )
    assert len(with_chainrule) == len(with_torch) == 2 * 29
    np.testing.assert_allclose(with_chainrule, with_torch, rtol=1e-6, atol=1e-6)
    assert with_chainrule[-1] < with_chainrule[0] / 5

"""The fast path of ``from_torch`` (torch.jit.trace read as export's graph) gives the graph the
export path gives: the same nodes in the same order, the same names and ops, values and
gradients equal to the bit; where it cannot be sure, it steps aside and export runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from chainrule.torch_bridge import convert, jit_trace  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import torch_models  # noqa: E402

sys.path.pop(0)


# the everyday in-place models, as the in-place conversion test writes them
from test_torch_inplace import InplaceChain, Residual  # noqa: E402


class TrainingNorm(nn.Module):
    """Batch norm in training mode (it updates its running statistics) and dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return torch.softmax(self.drop(self.bn(self.fc(x))), dim=1).sum()


class ViewThenInPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        h = self.fc(x)
        t = h.transpose(0, 1)
        t.mul_(2)  # changes h too
        return (h * h).sum()


class Shared(nn.Module):
    """One layer applied twice, two outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        h = torch.tanh(self.fc(self.fc(x)))
        return h.sum(), (h * h).mean()


class InputInPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        x.mul_(2)
        return self.fc(x).sum()


class ParameterInPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def forward(self, x):
        with torch.no_grad():
            self.w.mul_(3)
        return (x * self.w).sum()


class Elementwise(nn.Module):
    """Every elementwise call of the fast path's list, and numbers on either side."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        h = self.fc(x)
        a = torch.sigmoid(h).exp().log().neg() + 1.0
        b = F.log_softmax(h, dim=1) / 2.0 - F.leaky_relu(h, 0.2)
        c = torch.relu(h) * 3 + torch.tanh(h) ** 2
        return (a * b + c).sum(dim=1).mean()


def _models() -> list[tuple[str, object, tuple]]:
    torch.manual_seed(7)
    out = [(name, *factory()) for name, factory in torch_models.ZOO.items()]
    out.append(("residual", Residual().double(), (torch.randn(5, 3, dtype=torch.float64),)))
    out.append(("inplace chain", InplaceChain(), (torch.randn(5, 3),)))
    out.append(("training norm", TrainingNorm().train(), (torch.randn(8, 4),)))
    out.append(("view then in place", ViewThenInPlace(), (torch.randn(3, 4),)))
    out.append(("shared layer", Shared(), (torch.randn(4, 3),)))
    out.append(("parameter in place", ParameterInPlace(), (torch.randn(3),)))
    out.append(("input in place", InputInPlace(), (torch.randn(4, 3),)))
    out.append(("elementwise", Elementwise().double(), (torch.randn(5, 3, dtype=torch.float64),)))
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    target = torch.randn(4, 1)
    out.append(("function", lambda x: ((net(x) - target) ** 2).mean(), (torch.randn(4, 2),)))
    clf = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
    out.append(
        (
            "function of modules",
            lambda x, y: F.cross_entropy(clf(x), y),
            (torch.randn(5, 2), torch.tensor([0, 2, 1, 1, 0])),
        )
    )
    return out


MODELS = _models()


def _graph(model, args, program):
    names = convert._argument_names(model, len(args))
    torch.manual_seed(11)  # dropout's mask is drawn by torch when a graph is converted
    return convert._Converter(program, tuple(args), {}, names).run()


def _module(model):
    return model if isinstance(model, nn.Module) else convert._FunctionModule(model)


def _rows(g):
    return [(n.name, getattr(getattr(n, "op", None), "name", None)) for n in g.nodes]


@pytest.mark.parametrize(("name", "model", "args"), MODELS, ids=[m[0] for m in MODELS])
def test_fast_path_gives_exports_graph(name, model, args) -> None:
    module = _module(model)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    inputs = [a.clone() for a in args]
    fast = jit_trace.program(module, tuple(args), {})
    for k, v in module.state_dict().items():  # the trace ran the model: nothing it changed stays
        assert torch.equal(v, before[k]), k
    for a, b in zip(args, inputs, strict=True):
        assert torch.equal(a, b)
    if fast is None:
        return  # export runs, as before: nothing to compare
    with convert.quiet_torch():
        ep = torch.export.export(module, tuple(args), strict=False)
    a, b = _graph(model, args, fast), _graph(model, args, ep)
    assert _rows(a) == _rows(b)
    for x, y in zip(a.nodes, b.nodes, strict=True):
        np.testing.assert_array_equal(np.asarray(x.value), np.asarray(y.value), err_msg=x.name)
    a.backward()
    b.backward()
    for x, y in zip(a.nodes, b.nodes, strict=True):
        if y.grad is None:
            assert x.grad is None, x.name
        else:
            np.testing.assert_array_equal(np.asarray(x.grad), np.asarray(y.grad), x.name)


FAST = ["mlp", "cnn", "transformer", "scalar", "opaque", "stack", "residual", "inplace chain"]


@pytest.mark.parametrize("name", [*FAST, "shared layer", "function of modules", "elementwise"])
def test_these_models_take_the_fast_path(name: str) -> None:
    """The comparison above compares them: the fast path is taken, not stepped aside from."""
    _, model, args = next(m for m in MODELS if m[0] == name)
    assert jit_trace.program(_module(model), tuple(args), {}) is not None


def test_python_control_flow_on_values_is_left_to_export() -> None:
    class Branchy(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    assert jit_trace.program(Branchy(), (torch.randn(3),), {}) is None


def test_an_in_place_call_on_a_view_is_left_to_export() -> None:
    model = ViewThenInPlace()
    assert jit_trace.program(model, (torch.randn(3, 4),), {}) is None


def test_drawing_a_small_model_does_not_load_torchs_compiler() -> None:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'examples')!r})\n"
        "import torch_models, chainrule as cr\n"
        "model, args = torch_models.mlp()\n"
        "g = cr.from_torch(model, *args)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=300,
    )
    assert out.stdout.strip().splitlines()[-1] == "False"

"""Fuzzing the files people give chainrule besides programs: exercise files and templates
(TOML), class manifests (JSON), CSV submissions with control characters, and PyTorch models
with in-place operations (``fuzz/inputs.py``). Every case exits 0 or 2 with one paragraph;
PyTorch models convert to PyTorch's own values and gradients. ``make fuzz`` draws the same
cases among its inputs (``--files-share``)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz import harness, inputs  # noqa: E402

CI = os.environ.get("CI") == "true"
WORK = Path(tempfile.mkdtemp(prefix="chainrule-fuzz-files-"))
_settings = settings(
    max_examples=150 if CI else 30,
    deadline=None,
    database=None,
    derandomize=CI,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_settings
@given(case=inputs.teacher_cases())
def test_teacher_files_exit_0_or_2(case: inputs.Case) -> None:
    f = inputs.case_finding(case, WORK, 60.0)
    assert f is None, f"{f.kind}: {f.detail}\n{case.argv}\n{case.files[case.main][:500]!r}"


@_settings
@given(case=inputs.torch_case())
def test_pytorch_models_with_in_place_ops_convert(case: inputs.Case) -> None:
    pytest.importorskip("torch")
    f = inputs.case_finding(case, WORK, 60.0)
    assert f is None, f"{f.kind}: {f.detail}\n{case.files[case.main].decode()}"


def test_the_torch_property_catches_a_wrong_gradient(monkeypatch, tmp_path: Path) -> None:
    """Planted: the bridge's gradients scaled by 1.001; the property reports it."""
    pytest.importorskip("torch")
    import chainrule as cr

    model = tmp_path / "m.py"
    model.write_text(
        "import torch, torch.nn as nn\n"
        "class Sum(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x.sum()\n"
        "def make():\n"
        "    torch.manual_seed(1)\n"
        "    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(inplace=True), Sum()).double()\n"
        "    return net, (torch.randn(2, 3, dtype=torch.float64),)\n"
    )
    real = cr.from_torch

    class Scaled:
        def __init__(self, g):
            self.g = g

        def backward(self):
            self.g.backward()
            for n in self.g.nodes:
                if n.grad is not None:
                    n.grad = n.grad * 1.001

        def __getattr__(self, name):
            return getattr(self.g, name)

    monkeypatch.setattr(cr, "from_torch", lambda *a, **k: Scaled(real(*a, **k)))
    f = inputs.torch_finding(model, "make", model.read_bytes())
    assert f is not None and f.kind == "torch-grad"


def test_the_harness_still_catches_an_internal_error_on_files(monkeypatch) -> None:
    """Planted: the TOML reader raising a bare ValueError (what it did on 5,000 digits)."""
    from chainrule.io import files

    def broken(text: str, where: str) -> dict:
        raise ValueError("Exceeds the limit (4300 digits)")

    monkeypatch.setattr(files, "load_toml", broken)
    import chainrule.exercise as ex

    monkeypatch.setattr(ex, "load_toml", broken)
    case = inputs.Case(
        "toml-exercise",
        {"ex.toml": b'title = "t"\n', "seed-exercise.cr": inputs.SEED_PROGRAM.read_bytes()},
        ["solve", "{work}/ex.toml", "-o", "{work}/solution", "--force"],
        "ex.toml",
    )
    f = inputs.case_finding(case, WORK, 60.0)
    assert f is not None and f.kind == "internal-error"
    assert isinstance(harness.Finding, type)

"""Whole training runs: the loss goes down and the accuracy passes a threshold."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons

import chainrule as cr
import chainrule.tensor as T
from chainrule import nn, optim

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))  # as when a script runs: its helpers (outdir) are importable


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moons_mlp_learns_the_two_moons(dtype):
    X, labels = make_moons(n_samples=100, noise=0.1, random_state=0)
    y = labels * 2.0 - 1.0
    model = nn.MLP(2, [16, 16, 1], dtype=dtype, rng=np.random.default_rng(0))
    opt = optim.SGD(model, lr=0.1, momentum=0.9)
    x = cr.const(X.astype(dtype))
    losses = []
    for _ in range(150):
        scores = T.reshape(model(x), (-1,))
        loss = nn.hinge_loss(scores, y) + 1e-4 * nn.l2_penalty(model)
        loss.backward()
        opt.step()
        losses.append(loss.value)
    assert np.mean(losses[-10:]) < 0.25 * np.mean(losses[:10])
    assert nn.accuracy(scores, y) >= 0.97


def test_digits_example_reaches_95_percent():
    digits = _example("digits")
    model, history, accuracy = digits.train(epochs=12, quiet=True)
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert accuracy >= 0.95


def test_moons_example_runs_both_ways(tmp_path, monkeypatch, capsys):
    moons = _example("moons")
    for extra in ([], ["--scalar"]):
        monkeypatch.setattr(
            "sys.argv", ["moons.py", "--steps", "60", "--out", str(tmp_path), *extra]
        )
        moons.main()
        assert (tmp_path / "moons_boundary.png").stat().st_size > 1000
        assert (tmp_path / "moons_loss.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert out.count("training accuracy") == 2


def test_examples_write_into_their_own_folder_never_the_repository(tmp_path, monkeypatch):
    import outdir

    monkeypatch.chdir(tmp_path)
    parser = outdir.argparse.ArgumentParser()
    outdir.add_argument(parser)
    default = parser.parse_args([]).out
    assert outdir.prepare(parser, default) == Path("chainrule-examples")
    assert (tmp_path / "chainrule-examples").is_dir()
    for inside in (EXAMPLES.parent, EXAMPLES.parent / "src"):
        with pytest.raises(SystemExit):
            outdir.prepare(parser, inside)

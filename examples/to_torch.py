"""Train a chainrule MLP on scikit-learn's digits, export it to PyTorch and keep training there.

    .venv/bin/python examples/to_torch.py [--epochs 5] [--torch-epochs 5] [--out DIR]

Chainrule trains a 64-32-10 MLP with plain SGD for a few epochs; ``cr.to_torch`` turns it into a
``torch.nn.Module`` (the same parameters, the same names); ``torch.optim.SGD`` with the same
learning rate and the same batches continues. Writes to_torch_loss.png (the loss curve of both
parts, which continues without a jump) into --out DIR (default: a fresh ./chainrule-examples/).
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import outdir  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402

LR, BATCH = 0.1, 64


def batches(n: int, epochs: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """The mini-batches of every epoch, drawn up front so both engines see the same ones."""
    return [np.array_split(rng.permutation(n), range(BATCH, n, BATCH)) for _ in range(epochs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs in chainrule")
    parser.add_argument("--torch-epochs", type=int, default=5, help="epochs in PyTorch")
    parser.add_argument("--seed", type=int, default=0)
    outdir.add_argument(parser)
    args = parser.parse_args()

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.default_rng(args.seed)
    plan = batches(len(X), args.epochs + args.torch_epochs, rng)
    losses: list[float] = []

    model = nn.MLP(64, [32, 10], dtype=np.float32, rng=rng)
    opt = optim.SGD(model, lr=LR)
    for epoch in plan[: args.epochs]:
        for idx in epoch:
            loss = nn.cross_entropy(model(cr.const(X[idx])), y[idx])
            loss.backward()
            opt.step()
            losses.append(float(loss.value))
        print(f"chainrule epoch: mean loss {np.mean(losses[-len(epoch) :]):.4f}")

    tmodel = cr.to_torch(model)  # parameters copied, names kept: layer1.weight, layer1.bias, ...
    print("exported:", ", ".join(name for name, _ in tmodel.named_parameters()))
    topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    switch = len(losses)
    for epoch in plan[args.epochs :]:
        for idx in epoch:
            topt.zero_grad()
            tloss = torch.nn.functional.cross_entropy(tmodel(Xt[idx]), yt[idx])
            tloss.backward()
            topt.step()
            losses.append(tloss.item())
        print(f"PyTorch epoch:   mean loss {np.mean(losses[-len(epoch) :]):.4f}")

    args.out = outdir.prepare(parser, args.out)
    fig, ax = plt.subplots(figsize=(8, 4))
    steps = np.arange(len(losses))
    ax.plot(steps[:switch], losses[:switch], label="chainrule (nn.MLP, optim.SGD)")
    ax.plot(steps[switch:], losses[switch:], label="PyTorch (cr.to_torch, torch.optim.SGD)")
    ax.axvline(switch, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("step (mini-batch of 64)")
    ax.set_ylabel("cross-entropy loss")
    ax.set_yscale("log")
    ax.set_title("One training run, continued in PyTorch after cr.to_torch")
    ax.legend()
    fig.tight_layout()
    path = args.out / "to_torch_loss.png"
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Classify scikit-learn's 8×8 handwritten digits with a 64-128-10 MLP (Adam, cross-entropy).

    .venv/bin/python examples/digits.py

Prints the test accuracy (about 97–98%), writes digits_loss.png (loss and accuracy curves)
and digits.npz (the trained parameters, reloaded to check they give the same predictions) into
the directory given by --out DIR (default: a fresh ./chainrule-examples/).
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import outdir  # noqa: E402
from rich.progress import Progress  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402


def load(seed: int) -> tuple[np.ndarray, ...]:
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    return tuple(
        train_test_split(
            X, digits.target, test_size=0.25, stratify=digits.target, random_state=seed
        )
    )


def train(
    epochs: int = 30, batch: int = 64, seed: int = 0, quiet: bool = False
) -> tuple[nn.Module, dict[str, list[float]], float]:
    """Train and return (model, history, test accuracy)."""
    X_train, X_test, y_train, y_test = load(seed)
    rng = np.random.default_rng(seed)
    model = nn.MLP(64, [128, 10], dtype=np.float32, rng=rng)
    opt = optim.Adam(model, lr=2e-3)
    history: dict[str, list[float]] = {"loss": [], "test accuracy": []}
    with Progress(disable=quiet) as bar:
        task = bar.add_task("digits", total=epochs)
        for _ in range(epochs):
            order = rng.permutation(len(X_train))
            total = 0.0
            for start in range(0, len(order), batch):
                idx = order[start : start + batch]
                loss = nn.cross_entropy(model(cr.const(X_train[idx])), y_train[idx])
                loss.backward()
                opt.step()
                total += loss.value * len(idx)
            history["loss"].append(total / len(order))
            acc = nn.accuracy(model(cr.const(X_test)), y_test)
            history["test accuracy"].append(acc)
            bar.update(task, advance=1, description=f"loss {total / len(order):.4f} test {acc:.1%}")
    return model, history, history["test accuracy"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    outdir.add_argument(parser)
    args = parser.parse_args()
    model, history, accuracy = train(args.epochs, args.batch, args.seed)
    print(model)
    print(f"test accuracy {accuracy:.2%}")

    args.out = outdir.prepare(parser, args.out)
    model.save(args.out / "digits.npz")
    X_test, y_test = load(args.seed)[1], load(args.seed)[3]
    again = nn.MLP(64, [128, 10], dtype=np.float32).load(args.out / "digits.npz")
    assert nn.accuracy(again(cr.const(X_test)), y_test) == accuracy

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history["loss"], label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(history["test accuracy"], color="tab:green", label="test accuracy")
    ax2.set_ylabel("test accuracy")
    fig.legend(loc="center right")
    fig.savefig(args.out / "digits_loss.png", dpi=120, bbox_inches="tight")
    print(f"wrote {args.out / 'digits_loss.png'} and {args.out / 'digits.npz'}")


if __name__ == "__main__":
    main()

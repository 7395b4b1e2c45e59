"""Train a 2-16-16-1 MLP on scikit-learn's two moons (micrograd's demo) and plot it.

    .venv/bin/python examples/moons.py            # tensors: one node per layer
    .venv/bin/python examples/moons.py --scalar   # micrograd style: one node per weight,
                                                  # the graph built once and run on the batch

Writes moons_boundary.png (decision boundary) and moons_loss.png (loss curve) into the
directory given by --out DIR (default: a fresh ./chainrule-examples/).
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import outdir  # noqa: E402
from rich.progress import Progress  # noqa: E402
from sklearn.datasets import make_moons  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.tensor as T  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.core.batch import BatchedGraph  # noqa: E402

ALPHA = 1e-4  # L2 penalty, as in micrograd's demo


def train_tensors(X: np.ndarray, y: np.ndarray, steps: int, seed: int):
    model = nn.MLP(2, [16, 16, 1], rng=np.random.default_rng(seed))
    opt = optim.SGD(model, lr=0.5, momentum=0.9)
    x = cr.const(X)
    t = cr.const(y)
    losses = []
    with Progress() as bar:
        task = bar.add_task("moons (tensors)", total=steps)
        for k in range(steps):
            opt.lr = 0.1 * (1.0 - 0.9 * k / steps)
            scores = T.reshape(model(x), (-1,))
            loss = nn.hinge_loss(scores, t) + ALPHA * nn.l2_penalty(model)
            loss.backward()
            opt.step()
            losses.append(loss.value)
            acc = nn.accuracy(scores, y)
            bar.update(task, advance=1, description=f"loss {loss.value:.4f} acc {acc:.0%}")

    def predict(points: np.ndarray) -> np.ndarray:
        return np.asarray(model(cr.const(points)).value).reshape(-1)

    return losses, predict


def train_scalar(X: np.ndarray, y: np.ndarray, steps: int, seed: int):
    """micrograd's way: scalar nodes, but one graph for the whole batch."""
    rng = np.random.default_rng(seed)
    x1, x2, t = cr.var(0.0, "x1"), cr.var(0.0, "x2"), cr.const(0.0, "y")
    params: list[cr.Node] = []
    h = [x1, x2]
    for layer, (n_in, n_out) in enumerate([(2, 16), (16, 16), (16, 1)]):
        nxt = []
        for j in range(n_out):
            a = cr.var(0.0, f"layer{layer + 1}.b{j}")
            params.append(a)
            for i in range(n_in):
                w = cr.var(float(rng.uniform(-1, 1)), f"layer{layer + 1}.w{i}_{j}")
                params.append(w)
                a = a + w * h[i]
            nxt.append(cr.relu(a) if layer < 2 else a)
        h = nxt
    score = h[0]
    reg = params[0] * params[0]
    for p in params[1:]:
        reg = reg + p * p
    loss = cr.mean(cr.relu(1 - t * score)) + ALPHA * reg
    graph = BatchedGraph(loss, [x1, x2, t])
    predict_graph = BatchedGraph(cr.mean(score), [x1, x2])
    opt = optim.SGD(params, lr=1.0)
    feed = {x1: X[:, 0], x2: X[:, 1], t: y}
    losses = []
    with Progress() as bar:
        task = bar.add_task("moons (scalar graph)", total=steps)
        for k in range(steps):
            opt.lr = 1.0 - 0.9 * k / steps
            value = graph.run(feed)
            opt.step()
            losses.append(value)
            bar.update(task, advance=1, description=f"loss {value:.4f}")

    def predict(points: np.ndarray) -> np.ndarray:
        predict_graph.forward({x1: points[:, 0], x2: points[:, 1]})
        return np.asarray(score.value)

    return losses, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scalar", action="store_true", help="micrograd-style scalar graph")
    outdir.add_argument(parser)
    args = parser.parse_args()
    X, labels = make_moons(n_samples=100, noise=0.1, random_state=args.seed)
    y = labels * 2.0 - 1.0
    train = train_scalar if args.scalar else train_tensors
    losses, predict = train(X, y, args.steps, args.seed)
    accuracy = float(np.mean(np.sign(predict(X)) == y))
    print(f"final loss {losses[-1]:.4f}, training accuracy {accuracy:.0%}")

    args.out = outdir.prepare(parser, args.out)
    xx, yy = np.meshgrid(np.linspace(-1.6, 2.6, 150), np.linspace(-1.1, 1.6, 150))
    zz = predict(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.contourf(xx, yy, zz > 0, cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=30, cmap=plt.cm.Spectral, edgecolors="k")
    ax.set_title(f"decision boundary (training accuracy {accuracy:.0%})")
    fig.savefig(args.out / "moons_boundary.png", dpi=120, bbox_inches="tight")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (hinge + L2)")
    ax.set_yscale("log")
    fig.savefig(args.out / "moons_loss.png", dpi=120, bbox_inches="tight")
    print(f"wrote {args.out / 'moons_boundary.png'} and {args.out / 'moons_loss.png'}")


if __name__ == "__main__":
    main()

"""Training speed and memory: chainrule against micrograd, hand-written numpy and PyTorch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/training.py

Every competitor runs in this one process, interleaved round by round (the best round counts),
so the printed ratios compare like with like on this machine. PyTorch is optional
(``pip install torch==2.13.0``); without it its rows say why they are missing. The results
table is written into benchmarks/RESULTS.md between the training markers.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from results import RESULTS, write_section

import chainrule as cr
import chainrule.tensor as T
from chainrule import nn, optim
from chainrule.core.batch import BatchedGraph

COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/training.py"

try:
    import torch

    TORCH: Any = torch
    TORCH_WHY = ""
except ImportError as exc:  # pragma: no cover - depends on the machine
    TORCH = None
    TORCH_WHY = f"PyTorch not installed ({exc}); pip install torch==2.13.0 to compare"

Step = Callable[[], Any]


def best_times(steps: dict[str, Step], rounds: int, reps: int) -> dict[str, float]:
    """Seconds per call of each step: the best of ``rounds`` interleaved rounds of ``reps``.

    PyTorch runs with 1 and with 2 threads and keeps its better time: on a loaded 2-core
    machine its spinning OpenMP threads can be 50× slower than one thread on small work."""
    if TORCH is not None and "torch" in steps:
        others = {k: f for k, f in steps.items() if k != "torch"}
        out = _blas_best(others, rounds, reps) if others else {}
        before = TORCH.get_num_threads()
        tbest = float("inf")
        for threads in (1, before):
            TORCH.set_num_threads(threads)
            tbest = min(tbest, best_times({"t": steps["torch"]}, max(rounds // 2, 1), reps)["t"])
        TORCH.set_num_threads(before)
        out["torch"] = tbest
        return out
    for f in steps.values():
        f()
    best = {k: float("inf") for k in steps}
    for _ in range(rounds):
        for k, f in steps.items():
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            best[k] = min(best[k], (time.perf_counter() - t0) / reps)
    return best


def _blas_best(steps: dict[str, Step], rounds: int, reps: int) -> dict[str, float]:
    """numpy's BLAS gets the same chance: the better of 1 thread and its default."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return best_times(steps, rounds, reps)
    with threadpool_limits(limits=1, user_api="blas"):
        one = best_times(steps, max(rounds // 2, 1), reps)
    full = best_times(steps, max(rounds // 2, 1), reps)
    return {k: min(one[k], full[k]) for k in steps}


def machine() -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')}, "
            f"{i.get('num_threads')} threads"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:
        blas = "threadpoolctl not installed"
    env = ", ".join(
        f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
    )
    torch_text = (
        f"torch {TORCH.__version__} ({TORCH.get_num_threads()} threads)" if TORCH else TORCH_WHY
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"- machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"load average when run {load}",
        f"- numpy {np.__version__}, BLAS: {blas}",
        f"- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: {env or 'unset'}",
        f"- {torch_text}",
        f"- command: `{COMMAND}`",
    ]


# ------------------------------------------------------------------ micrograd's demo


def demo_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, labels = make_moons(n_samples=100, noise=0.1, random_state=1)
    return X, labels * 2.0 - 1.0


def micrograd_step(X: np.ndarray, y: np.ndarray) -> Step | None:
    try:
        from micrograd.engine import Value
        from micrograd.nn import MLP
    except ImportError:
        return None
    import random

    random.seed(1337)
    model = MLP(2, [16, 16, 1])

    def step() -> float:
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg = 1e-4 * sum(p * p for p in model.parameters())
        total = data_loss + reg
        model.zero_grad()
        total.backward()
        for p in model.parameters():
            p.data -= 0.01 * p.grad
        return float(total.data)

    return step


def chainrule_demo_step(X: np.ndarray, y: np.ndarray) -> Step:
    model = nn.MLP(2, [16, 16, 1], rng=np.random.default_rng(0))
    opt = optim.SGD(model, lr=0.01)
    x, t = cr.const(X), cr.const(y)
    params = model.parameters()

    def step() -> float:
        scores = T.reshape(model(x), (-1,))
        loss = nn.hinge_loss(scores, t) + 1e-4 * T.sum_squares(params)
        loss.backward()
        opt.step()
        return float(loss.value)

    return step


def scalar_weights() -> tuple[list[cr.Node], list[list[tuple[cr.Node, list[cr.Node]]]]]:
    """The demo's MLP one scalar at a time: every parameter, and by layer each neuron's bias
    and weights (drawn in that order from one seed)."""
    rng = np.random.default_rng(0)
    params: list[cr.Node] = []
    layers = []
    for n_in, n_out in [(2, 16), (16, 16), (16, 1)]:
        rows = []
        for _ in range(n_out):
            a = cr.var(0.0)
            ws = [cr.var(float(rng.uniform(-1, 1))) for _ in range(n_in)]
            params += [a, *ws]
            rows.append((a, ws))
        layers.append(rows)
    return params, layers


def scalar_loss(
    h: list[cr.Node],
    layers: list[list[tuple[cr.Node, list[cr.Node]]]],
    params: list[cr.Node],
    t: cr.Node,
) -> cr.Node:
    """The demo's loss on the inputs ``h``: max-margin on the score, plus L2 on every weight."""
    for k, rows in enumerate(layers):
        nxt = []
        for a, ws in rows:
            for i, w in enumerate(ws):
                a = a + w * h[i]
            nxt.append(cr.relu(a) if k < len(layers) - 1 else a)
        h = nxt
    reg = params[0] * params[0]
    for p in params[1:]:
        reg = reg + p * p
    return cr.mean(cr.relu(1 - t * h[0])) + 1e-4 * reg


def scalar_graph() -> tuple[list[cr.Node], list[cr.Node], cr.Node]:
    """The demo's MLP written one scalar at a time: (inputs x1, x2, t), parameters, loss."""
    x1, x2, t = cr.var(0.0), cr.var(0.0), cr.const(0.0)
    params, layers = scalar_weights()
    return [x1, x2, t], params, scalar_loss([x1, x2], layers, params, t)


def chainrule_scalar_step(X: np.ndarray, y: np.ndarray) -> Step:
    (x1, x2, t), params, loss = scalar_graph()
    graph = BatchedGraph(loss, [x1, x2, t])
    opt = optim.SGD(params, lr=0.01)
    feed = {x1: X[:, 0], x2: X[:, 1], t: y}

    def step() -> float:
        value = graph.run(feed)
        opt.step()
        return float(value)

    return step


def demo_compiled(X: np.ndarray, y: np.ndarray) -> tuple[Step, Callable[[], bool], Any]:
    """``chainrule_demo_step`` compiled (``chainrule.compile``): the step, a check that the
    plan gives the uncompiled loss to the last bit, and the compiled function."""
    model = nn.MLP(2, [16, 16, 1], rng=np.random.default_rng(0))
    opt = optim.SGD(model, lr=0.01)
    params = model.parameters()

    def fn(X: np.ndarray, y: np.ndarray) -> Any:
        scores = T.reshape(model(cr.const(X)), (-1,))
        loss = nn.hinge_loss(scores, cr.const(y)) + 1e-4 * T.sum_squares(params)
        loss.backward()
        return loss.value

    step = cr.compile(fn)

    def run() -> float:
        value = step(X, y)
        opt.step()
        return float(value)

    return run, lambda: same_bits(step(X, y), fn(X, y)), step


def scalar_compiled(X: np.ndarray, y: np.ndarray) -> tuple[Step, Callable[[], bool], Any]:
    """The demo's MLP written one scalar at a time (``scalar_graph``'s weights), each input
    leaf holding the whole batch; compiled."""
    params, layers = scalar_weights()
    opt = optim.SGD(params, lr=0.01)

    def fn(x1: np.ndarray, x2: np.ndarray, t: np.ndarray) -> Any:
        loss = scalar_loss([cr.var(x1), cr.var(x2)], layers, params, cr.const(t))
        loss.backward()
        return loss.value, [p.grad for p in params]

    step = cr.compile(fn)
    x1, x2 = np.ascontiguousarray(X[:, 0]), np.ascontiguousarray(X[:, 1])

    def run() -> float:
        value = step(x1, x2, y)[0]
        opt.step()
        return float(value)

    def check() -> bool:
        def fresh() -> None:
            for p in params:
                p.grad = None

        fresh()
        step(x1, x2, y)  # traced (the first call) or replayed
        fresh()
        got = step(x1, x2, y)  # replayed: the loss and every weight's gradient
        got = (got[0], list(got[1]))
        fresh()
        return same_bits(got, fn(x1, x2, y))

    return run, check, step


def same_bits(a: Any, b: Any) -> bool:
    """Equal as stored, number by number."""
    if isinstance(a, (list, tuple)):
        return all(same_bits(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return np.float64(a).tobytes() == np.float64(b).tobytes()


def numpy_demo_step(X: np.ndarray, y: np.ndarray) -> Step:
    rng = np.random.default_rng(0)
    W = [rng.uniform(-1, 1, (2, 16)), rng.uniform(-1, 1, (16, 16)), rng.uniform(-1, 1, (16, 1))]
    b = [np.zeros(16), np.zeros(16), np.zeros(1)]
    n = len(y)

    def step() -> float:
        h1 = X @ W[0] + b[0]
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W[1] + b[1]
        a2 = np.maximum(h2, 0)
        s = (a2 @ W[2] + b[2])[:, 0]
        margin = 1 - y * s
        loss = np.maximum(margin, 0).mean() + 1e-4 * sum((w * w).sum() for w in W + b)
        ds = np.where(margin > 0, -y, 0.0)[:, None] / n
        grads = [None] * 6
        grads[2], grads[5] = a2.T @ ds, ds.sum(0)
        d2 = (ds @ W[2].T) * (h2 > 0)
        grads[1], grads[4] = a1.T @ d2, d2.sum(0)
        d1 = (d2 @ W[1].T) * (h1 > 0)
        grads[0], grads[3] = X.T @ d1, d1.sum(0)
        for p, g in zip(W + b, grads, strict=True):
            p -= 0.01 * (g + 2e-4 * p)
        return float(loss)

    return step


def torch_demo_step(X: np.ndarray, y: np.ndarray) -> Step | None:
    if TORCH is None:
        return None
    torch = TORCH
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    ).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    params = list(model.parameters())

    def step() -> float:
        s = model(xt)[:, 0]
        loss = torch.relu(1 - yt * s).mean() + 1e-4 * sum((p * p).sum() for p in params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


# ------------------------------------------------------------------ MLP 784-256-10


def mlp_steps(n: int, dtype: Any) -> dict[str, Step]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 784)).astype(dtype)
    Y = rng.integers(0, 10, n)
    lr = 0.01
    W1 = (rng.normal(size=(784, 256)) * 0.05).astype(dtype)
    b1 = np.zeros(256, dtype)
    W2 = (rng.normal(size=(256, 10)) * 0.05).astype(dtype)
    b2 = np.zeros(10, dtype)
    rows = np.arange(n)

    def numpy_step() -> float:
        h = X @ W1
        h += b1
        a = np.maximum(h, 0)
        z = a @ W2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, Y]).mean()
        p[rows, Y] -= 1
        p /= n
        gW2 = a.T @ p
        gb2 = p.sum(0)
        da = p @ W2.T
        da *= h > 0
        gW1 = X.T @ da
        gb1 = da.sum(0)
        W1.__isub__(lr * gW1)
        b1.__isub__(lr * gb1)
        W2.__isub__(lr * gW2)
        b2.__isub__(lr * gb2)
        return float(loss)

    model = nn.MLP(784, [256, 10], dtype=dtype, rng=rng)
    opt = optim.SGD(model, lr=lr)
    x = cr.const(X)
    yc = cr.const(Y.astype(np.float64))

    def chainrule_step() -> float:
        loss = nn.cross_entropy(model(x), yc)
        loss.backward()
        opt.step()
        return float(loss.value)

    steps = {"numpy": numpy_step, "chainrule": chainrule_step}
    if TORCH is not None:
        torch = TORCH
        torch.manual_seed(0)
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        tm = torch.nn.Sequential(
            torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
        ).to(tdtype)
        topt = torch.optim.SGD(tm.parameters(), lr=lr)
        xt, yt = torch.from_numpy(X), torch.from_numpy(Y)

        def torch_step() -> float:
            loss = torch.nn.functional.cross_entropy(tm(xt), yt)
            topt.zero_grad()
            loss.backward()
            topt.step()
            return float(loss.detach())

        steps["torch"] = torch_step
    return steps


def thread_table(rounds: int) -> list[str]:
    """Batch 64, float32, numpy against chainrule under each BLAS thread setting apart (the
    table above keeps each side's better one): the per-round ratio, median over rounds."""
    import statistics

    steps = {k: f for k, f in mlp_steps(64, np.float32).items() if k != "torch"}
    out = [
        "Batch 64, float32, by BLAS threads (interleaved rounds of 20 steps; best times, and the "
        "median of the rounds' ratios):",
        "",
        "| BLAS threads | numpy ms | chainrule ms | chainrule/numpy (median of rounds) |",
        "|---|---:|---:|---:|",
    ]
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return [*out, "| — | — | — | threadpoolctl not installed |", ""]
    for label, limit in (("1", 1), ("default", None)):
        with threadpool_limits(limits=limit, user_api="blas"):
            for f in steps.values():
                f()
            rows: dict[str, list[float]] = {k: [] for k in steps}
            for _ in range(rounds):
                for k, f in steps.items():
                    t0 = time.perf_counter()
                    for _ in range(20):
                        f()
                    rows[k].append((time.perf_counter() - t0) / 20)
        pairs = zip(rows["chainrule"], rows["numpy"], strict=True)
        ratio = statistics.median(c / n for c, n in pairs)
        out.append(
            f"| {label} | {min(rows['numpy']) * 1e3:.3f} | {min(rows['chainrule']) * 1e3:.3f} | "
            f"{ratio:.2f} |"
        )
        print(f"batch 64 float32, BLAS threads {label}: chainrule/numpy = {ratio:.2f} (median)")
    return [*out, ""]


# ------------------------------------------------------------------ per-op overhead

CHAIN = 60


def op_overhead() -> dict[str, float]:
    rng = np.random.default_rng(0)
    a0 = rng.normal(size=(4,))
    c = rng.normal(size=(4,)) * 0.1

    def chainrule_chain() -> None:
        a = cr.var(a0)
        y = a
        for _ in range(CHAIN // 2):
            y = cr.tanh(y * c)
        T.sum(y).backward()

    out = {"chainrule": chainrule_chain}
    if TORCH is not None:
        torch = TORCH
        ct = torch.from_numpy(c)

        def torch_chain() -> None:
            a = torch.tensor(a0, requires_grad=True)
            y = a
            for _ in range(CHAIN // 2):
                y = torch.tanh(y * ct)
            y.sum().backward()

        out["torch"] = torch_chain
    times = best_times(out, rounds=15, reps=20)
    return {k: v / (CHAIN + 1) for k, v in times.items()}


# ------------------------------------------------------------------ memory


def peak_memory(n: int = 1024, dtype: Any = np.float32) -> dict[str, tuple[float, float]]:
    """(peak bytes during a step incl. parameters and data, bytes the step must keep)."""
    itemsize = np.dtype(dtype).itemsize
    n_params = 784 * 256 + 256 + 256 * 10 + 10
    # parameters, their gradients, the input batch, pre- and post-relu activations, logits
    must_keep = itemsize * (2 * n_params + n * 784 + 2 * n * 256 + n * 10)
    base = itemsize * (n_params + n * 784)
    out = {}
    for name, step in mlp_steps(n, dtype).items():
        if name == "torch":
            continue  # its allocations are not seen by tracemalloc
        step()
        tracemalloc.start()
        tracemalloc.reset_peak()
        step()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[name] = (float(base + peak), float(must_keep))
    return out


# ------------------------------------------------------------------ report


def main() -> None:
    quick = "--quick" in sys.argv
    lines = ["### Training (issue 5)", "", *machine(), ""]
    print("\n".join(lines))

    X, y = demo_data()
    run_t, check_t, _ = demo_compiled(X, y)
    run_s, check_s, _ = scalar_compiled(X, y)
    assert check_t() and check_s(), "a compiled demo step differs from its uncompiled run"
    demo: dict[str, Step] = {
        "chainrule tensors": chainrule_demo_step(X, y),
        "chainrule tensors, compiled (chainrule.compile)": run_t,
        "chainrule batched scalar graph (BatchedGraph)": chainrule_scalar_step(X, y),
        "chainrule scalar graph, compiled (chainrule.compile)": run_s,
        "numpy by hand": numpy_demo_step(X, y),
    }
    t_demo = torch_demo_step(X, y)
    if t_demo is not None:
        demo["torch"] = t_demo
    times = best_times(demo, rounds=5 if quick else 20, reps=10)
    mg = micrograd_step(X, y)
    if mg is not None:
        times["micrograd"] = best_times({"m": mg}, rounds=1 if quick else 3, reps=1)["m"]
    table = [
        "#### micrograd's demo step (2-16-16-1 MLP, 100 points, max-margin + L2, float64)",
        "",
        "| implementation | ms per step | micrograd / this |",
        "|---|---:|---:|",
    ]
    for k, v in times.items():
        ratio = f"{times['micrograd'] / v:.0f}×" if "micrograd" in times else "n/a"
        table.append(f"| {k} | {v * 1e3:.3f} | {ratio} |")
    if t_demo is None:
        table.append(f"| torch | — | {TORCH_WHY} |")
    table.append("")
    print("\n".join(table))
    lines += table

    table = [
        "#### MLP 784-256-10 training step (SGD, softmax cross-entropy)",
        "",
        "| batch | dtype | numpy ms | chainrule ms | torch ms | chainrule/numpy | "
        "chainrule/torch | torch/numpy |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (64, 1024):
        for dtype in (np.float32, np.float64):
            reps = 20 if n == 64 else 4
            rounds = 6 if quick else (60 if n == 64 else 24)  # more chances of a quiet spell
            t = best_times(mlp_steps(n, dtype), rounds=rounds, reps=reps)
            tt = t.get("torch")
            row = (
                f"| {n} | {np.dtype(dtype).name} | {t['numpy'] * 1e3:.3f} | "
                f"{t['chainrule'] * 1e3:.3f} | {tt * 1e3:.3f} | "
                if tt
                else f"| {n} | {np.dtype(dtype).name} | {t['numpy'] * 1e3:.3f} | "
                f"{t['chainrule'] * 1e3:.3f} | — | "
            )
            row += f"{t['chainrule'] / t['numpy']:.2f} | "
            row += f"{t['chainrule'] / tt:.2f} | {tt / t['numpy']:.2f} |" if tt else "— | — |"
            table.append(row)
            print(
                f"batch {n} {np.dtype(dtype).name}: chainrule/numpy = "
                f"{t['chainrule'] / t['numpy']:.2f}"
                + (f", chainrule/torch = {t['chainrule'] / tt:.2f}" if tt else "")
            )
    if TORCH is None:
        table.append(f"\n{TORCH_WHY}")
    table.append("")
    table += thread_table(rounds=6 if quick else 40)
    lines += table

    ov = op_overhead()
    table = [
        "#### Per-op overhead, forward + backward, tiny arrays (shape (4,), a chain of "
        f"{CHAIN} ops)",
        "",
        "| implementation | µs per op |",
        "|---|---:|",
        *(f"| {k} | {v * 1e6:.1f} |" for k, v in ov.items()),
    ]
    if "torch" in ov:
        table.append(f"\nchainrule/torch = {ov['chainrule'] / ov['torch']:.2f}")
    else:
        table.append(f"\n{TORCH_WHY}")
    table.append("")
    print("\n".join(table))
    lines += table

    mem = peak_memory()
    table = [
        "#### Peak memory of a training step (MLP 784-256-10, batch 1024, float32, tracemalloc)",
        "",
        "Must keep: parameters, their gradients, the input batch, the pre- and post-relu "
        "activations and the logits.",
        "",
        "| implementation | peak MB | must keep MB | peak / must keep |",
        "|---|---:|---:|---:|",
        *(f"| {k} | {p / 1e6:.2f} | {m / 1e6:.2f} | {p / m:.2f} |" for k, (p, m) in mem.items()),
        "",
    ]
    print("\n".join(table))
    lines += table
    write_results("\n".join(lines))


def write_results(text: str) -> None:
    write_section("training", text)
    print(f"wrote the training table into {RESULTS}")


if __name__ == "__main__":
    main()

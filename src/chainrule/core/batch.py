"""Batched evaluation of a scalar graph: build it once, run it on a whole batch at once.

A graph written micrograd-style from scalar operations (one sample: ``x1``, ``x2``, ``y`` and
scalar weights) is evaluated with an array of samples in each *input* leaf. Every elementwise
node then holds one value per sample; a batch reduction (``mean``, ``sum``, ``mse``, ``bce``)
turns a per-sample value into one number, exactly as averaging per-sample graphs would. The
backward pass sums each weight's per-sample contributions, so ``w.grad`` is the gradient of the
batch loss: the demo trains without building one graph per sample.

The rules come from the op table (forward per kind, generic partials, vjps), as in ``backward``;
the tape is compiled once into flat lists so that a run pays only for the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..ops import MATH
from .autodiff import contribution, topo_order
from .errors import ChainruleError, ShapeError, ValueInputError
from .node import Node
from .values import ARRAY, FLOAT

_AM = MATH[ARRAY]
_FM = MATH[FLOAT]


class BatchedGraph:
    """A scalar graph compiled for batches. ``inputs`` are the leaves that receive one value per
    sample; every other leaf (weights, constants) is shared by the batch."""

    def __init__(self, output: Node, inputs: Sequence[Node]) -> None:
        order = topo_order(output)
        index = {n: i for i, n in enumerate(order)}
        for leaf in inputs:
            if leaf not in index:
                raise ValueInputError(
                    f"{leaf.label()} is not part of the graph of {output.label()}",
                    node=leaf.label(),
                )
            if leaf.args:
                raise ValueInputError(
                    f"{leaf.label()} is computed, not a leaf: only leaves can receive a batch",
                    node=leaf.label(),
                )
        self.output = output
        self.inputs = list(inputs)
        self._slot = {leaf: index[leaf] for leaf in inputs}
        self.order = order
        self._out = index[output]
        batched = [False] * len(order)
        for leaf in inputs:
            batched[index[leaf]] = True
        self._leaves: list[int] = []
        # one compiled step per operation: (slot, forward, arg slots, params, batched args, rules)
        self._steps: list[tuple[Any, ...]] = []
        for i, node in enumerate(order):
            if not node.args:
                self._leaves.append(i)
                continue
            op = node.op
            slots = tuple(index[a] for a in node.args)
            arg_b = tuple(batched[j] for j in slots)
            any_b = any(arg_b)
            if any_b and op.elementwise:
                batched[i] = True
            kind = ARRAY if any_b else FLOAT
            forward = op.forward.get(kind) or op.forward.get(FLOAT)
            if forward is None:
                raise ChainruleError(
                    f"{op.name} cannot be evaluated on a batch of floats", node=node.label()
                )
            wants = tuple(a.requires_grad for a in node.args)
            self._steps.append((i, forward, slots, node.params, arg_b, batched[i], wants, op))
        self._batched = batched
        if batched[self._out]:
            raise ShapeError(
                f"the output {output.label()} has one value per sample: reduce it over the batch "
                "(e.g. with mean) before evaluating the graph on a batch",
                node=output.label(),
            )
        self._values: list[Any] = [None] * len(order)
        self._size: int | None = None

    # -------------------------------------------------------------- forward
    def forward(self, feed: Mapping[Node, Any]) -> Any:
        """Evaluate the graph with a batch in each input leaf; returns the output value."""
        order = self.order
        vals = self._values
        for i in self._leaves:
            vals[i] = order[i].value
        n = None
        for leaf in self.inputs:
            if leaf not in feed:
                raise ValueInputError(f"no batch given for input {leaf.label()}", node=leaf.label())
            arr = np.asarray(feed[leaf])
            if arr.dtype.kind != "f":
                arr = arr.astype(np.float64)
            if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
                raise ShapeError(
                    f"input {leaf.label()} needs a 1-d batch of length {n or 'n'}, got {arr.shape}",
                    node=leaf.label(),
                )
            n = arr.shape[0]
            vals[self._slot[leaf]] = arr
        self._size = n
        for i, forward, slots, params, _ab, _b, _w, op in self._steps:
            args = [vals[j] for j in slots]
            try:
                vals[i] = forward(*args, **params) if params else forward(*args)
            except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
                raise ChainruleError(
                    f"{op.name} failed on the batch: {exc}", node=order[i].label()
                ) from exc
        for i, node in enumerate(order):
            v = vals[i]
            node.value = v
            node.kind = ARRAY if isinstance(v, np.ndarray) else FLOAT
        out = vals[self._out]
        if isinstance(out, np.ndarray):
            out = float(out)
        return out

    # -------------------------------------------------------------- backward
    def backward(self) -> None:
        """Gradients of the output on every node (a weight's gradient summed over the batch;
        an input leaf's gradient holds one number per sample)."""
        order = self.order
        vals = self._values
        grads: list[Any] = [None] * len(order)
        grads[self._out] = 1.0
        for i, _f, slots, params, arg_b, b, wants, op in reversed(self._steps):
            g = grads[i]
            if g is None:
                continue
            M = _AM if b or any(arg_b) else _FM
            x = tuple([vals[j] for j in slots])
            y = vals[i]
            for k, j in enumerate(slots):
                if not wants[k]:
                    continue
                # a shared weight (not batched) sums its per-sample contributions
                c = contribution(op, k, M, g, x, y, params, vals[j])
                if c is None:
                    continue
                prev = grads[j]
                grads[j] = c if prev is None else prev + c
        for i, node in enumerate(order):
            g = grads[i]
            if g is None and node.requires_grad:
                g = np.zeros_like(vals[i]) if self._batched[i] else 0.0
            node.grad = g

    def run(self, feed: Mapping[Node, Any]) -> Any:
        """forward then backward; returns the output value."""
        value = self.forward(feed)
        self.backward()
        return value

    @property
    def batch_size(self) -> int | None:
        return self._size


def batched(output: Node, inputs: Sequence[Node]) -> BatchedGraph:
    """Compile a scalar graph for batches (see ``BatchedGraph``)."""
    return BatchedGraph(output, inputs)

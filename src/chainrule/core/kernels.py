"""What an op's compiled form receives and returns (``Op.planned``; ``core/compile.py`` runs it).

A compiled plan (``chainrule.compile``) calls an op's compiled form once per node, at compile
time, with a ``Site``: the node, its traced values and the plan's numbered slots. The form
answers with a ``Kernel`` for those shapes (or None: the plan then takes the op table's rule):
Python source written against the names below, with every array, number and function it
needs bound by name in ``env``. The plan turns the source into the step's function and, where
steps follow one another, writes them out as one function; the source is therefore the one
copy of the step, and it must compute exactly what the op table computes, call for call.

The template language:
- ``V``, ``G``, ``K``: the plan's values, gradients and kept arrays, indexed by slot;
- ``$name``: ``env[name]`` (a slot number is written as itself, anything else by a name the
  plan gives it, so no text of the user's is ever part of the source);
- ``EMPTY``: the mark of a gradient nothing has reached yet;
- a line ``SEND(d)`` sends the local ``c`` to slot ``d`` as the engine adds gradients;
- ``send(G, V, d, c)``: the same, as a call;
- numpy's ``matmul``, ``add``, ``subtract``, ``multiply``, ``divide``, ``maximum``,
  ``greater``, ``reduce`` (``np.add.reduce``), ``ndarray``, and the engine's ``zero_like``,
  ``one_like`` (``TEMPLATE_NAMES``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Kernel(NamedTuple):
    """One compiled step: its source (see the module docstring), the names it reads, and what
    the plan's printed line says it does (or a function to call instead of source)."""

    source: str
    env: dict[str, Any]
    text: str
    # a step without source (a form's general case, for other shapes than the trace's): the
    # plan calls it as it is, and ``source`` is not read
    run: Callable[[], None] | None = None


class Site:
    """One node of a plan, as its op's compiled form sees it at compile time.

    ``ins`` and ``y`` are the traced values (inputs, result); ``src`` the inputs' slots and
    ``o`` the node's; ``keep`` (forward) whether the op keeps what its vjp reuses; ``dst``
    (reverse) the edges to take, as (input index, the input's slot, its kind); ``unreached``
    (reverse) marks the node's gradient unreached and says whether it was; ``send`` adds a
    contribution as the engine does. ``plan`` is the plan itself: its ``buffers`` (kept arrays
    by (tag, slot)), ``owned`` (a gradient's first buffer, which later ones add into),
    ``uses``, ``only_user``, ``visible_values``, ``visible_grads`` and ``fast_linear``."""

    __slots__ = (
        "plan",
        "node",
        "ins",
        "y",
        "src",
        "o",
        "params",
        "keep",
        "dst",
        "unreached",
        "send",
    )

    def __init__(
        self,
        plan: Any,
        node: Any,
        ins: list[Any],
        y: Any,
        src: list[int],
        o: int,
        params: dict[str, Any],
        keep: bool = False,
        dst: list[tuple[int, int, int]] | None = None,
        unreached: Callable[[], bool] | None = None,
        send: Callable[..., None] | None = None,
    ) -> None:
        self.plan, self.node, self.ins, self.y = plan, node, ins, y
        self.src, self.o, self.params, self.keep = src, o, params, keep
        self.dst = dst or []
        self.unreached = unreached
        self.send = send

    def buffer(self, tag: str, array: np.ndarray) -> np.ndarray:
        """Keep ``array`` as this node's buffer ``tag`` (the plan counts it in its bytes)."""
        self.plan.buffers[(tag, self.o)] = array
        return array


TEMPLATE_NAMES: dict[str, Any] = {
    "ndarray": np.ndarray,
    "matmul": np.matmul,
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
    "divide": np.true_divide,
    "maximum": np.maximum,
    "greater": np.greater,
    "reduce": np.add.reduce,
}

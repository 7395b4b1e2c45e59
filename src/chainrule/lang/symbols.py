"""How derivatives are written for people: one convention for drawings and worked solutions.

- ``dL/dz`` (upright d) is a **total**: the gradient of the output L with respect to a node z,
  summed over every path from z to L. Backpropagation computes one on every node.
- ``∂ŷ/∂z`` (∂) is a **local partial**: the derivative of one operation (ŷ = σ(z)) with respect
  to one of its inputs, every other input held fixed. It belongs to one edge of the graph.

So ``df/dx = df/d(x · x) · ∂(x · x)/∂x + …`` reads as the chain rule does, and for
``f = x · x + x`` the local ``∂f/∂x = 1`` and the total ``df/dx = 7`` never share a symbol.

A vector output y has no single gradient: backpropagation starts from a seed of ones, which is
the gradient of the sum of its elements, so its totals are written ``d(Σy)/dx``.

Products: ``·`` multiplies a scalar, ``⊙`` multiplies two arrays element by element, and
``Σ(…)`` adds up the elements of a product whose input was broadcast (an inner product)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

SUM = "Σ"
ELEMENTWISE = "⊙"
TIMES = "·"


def is_vector(value: Any) -> bool:
    return bool(np.ndim(value) > 0)


def _call(name: str) -> str:
    """Anything but a plain name after d or ∂ is parenthesised, so that d(log(p)) never reads
    dlog and d(2a) never reads d2a."""
    if re.match(r"^\w+\(", name) and name.endswith(")"):
        return f"({name})"
    if name[:1].isdigit():
        return f"({name})"
    return name


def total_text(top: str, bottom: str) -> str:
    """d(top)/d(bottom); both already parenthesised where an operator needs it."""
    return f"d{_call(top)}/d{_call(bottom)}"


def total_latex(top: str, bottom: str) -> str:
    return rf"\frac{{\mathrm{{d}} {top}}}{{\mathrm{{d}} {bottom}}}"


def local_text(consumer: str, bottom: str) -> str:
    """∂consumer/∂input: the local partial of one edge."""
    return f"∂{_call(consumer)}/∂{_call(bottom)}"


def local_latex(consumer: str, bottom: str) -> str:
    return rf"\frac{{\partial {consumer}}}{{\partial {bottom}}}"


def summed_text(name: str) -> str:
    """The top of the totals of a vector output: (Σy), (Σ(x · x))."""
    atomic = not any(ch in name for ch in " +−-·/@^(")
    return f"({SUM}{name})" if atomic else f"({SUM}({name}))"


def summed_latex(latex: str) -> str:
    return rf"\left(\textstyle\sum {latex}\right)"


def product_symbol(upstream: Any, local: Any, contribution: Any) -> tuple[str, bool]:
    """How upstream × local is written on an edge: ``·`` or ``⊙``, and whether the product is
    summed (Σ) because the input was broadcast to the operation's shape."""
    both = np.ndim(upstream) > 0 and np.ndim(local) > 0
    product_shape = np.shape(np.asarray(upstream) * np.asarray(local))
    return (ELEMENTWISE if both else TIMES), product_shape != np.shape(contribution)

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
    if type(value) is float:  # the usual case, without numpy's conversion of a number
        return False
    return bool(np.ndim(value) > 0)


# A single name: a letter, then letters, digits and subscripts, a layer label (z⁽¹⁾, a⁽²⁾₁),
# primes or a version mark (x⁽⁵⁾), accents, and an element index (A[1,2]). Not a superscript
# digit: y² is a power, not a name. A dotted path (layers[0].weight) is bracketed:
# d(layers[0].weight) reads as one thing.
_SINGLE_NAME = re.compile(
    r"^[^\W\d_][^\W²³¹⁰⁴-⁹]*[\u0300-\u036f]*(?:⁽[⁰¹²³⁴-⁹]+⁾[^\W²³¹⁰⁴-⁹]*)?[′″‴]*"
    r"(?:⁽[⁰¹²³⁴-⁹]+⁾)?(?:,[₀-₉]+)*(?:\[[\d, ]+\])*$"
)


def is_single_name(label: str) -> bool:
    """Whether a label reads as one name after d or ∂ (x, ŷ, b₀, x′, a₁), so that anything
    else (x1*w1 + x2*w2, y², 1, log(p)) is bracketed where it sits in a derivative."""
    return bool(_SINGLE_NAME.match(label)) and not label.isdigit()


def _enclosed(name: str) -> bool:
    """Whether the whole label is one bracket pair already: (Σy), (x · x)."""
    if not (name.startswith("(") and name.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(name):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i < len(name) - 1:
            return False
    return True


def in_derivative(name: str) -> str:
    """Anything but a plain name after d or ∂ is parenthesised, so that d(log(p)) never reads
    dlog, d(2a) never reads d2a, d(y²) is not a second derivative and ∂n/∂(x1*w1 + x2*w2) is
    not ∂n/∂x1 times the rest."""
    if is_single_name(name) or _enclosed(name) or name in ("node", "v", "u"):
        return name
    return f"({name})"


def total_text(top: str, bottom: str) -> str:
    """d(top)/d(bottom); both already parenthesised where an operator needs it."""
    return f"d{in_derivative(top)}/d{in_derivative(bottom)}"


def total_latex(top: str, bottom: str) -> str:
    return rf"\frac{{\mathrm{{d}} {top}}}{{\mathrm{{d}} {bottom}}}"


def local_text(consumer: str, bottom: str) -> str:
    """∂consumer/∂input: the local partial of one edge."""
    return f"∂{in_derivative(consumer)}/∂{in_derivative(bottom)}"


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

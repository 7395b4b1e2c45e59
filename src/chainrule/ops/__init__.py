"""The op table: every primitive declared once, with every form of it beside its rules.

``table`` holds the machinery (``Op``, ``Param``, ``Notation``, ``OPS``, ``register``); the
entries live by family (``scalar``, ``arrays``, ``tensor``, ``layer``, ``opaque``), and importing
this package loads every family, so the table is whole whatever a caller imports first."""

from . import arrays, layer, opaque, scalar, tensor  # noqa: F401 - each family registers its entries
from .table import (
    MATH,
    OPS,
    Notation,
    Op,
    Param,
    Partial,
    PerInput,
    Vjp,
    program_functions,
    register,
)

__all__ = [
    "MATH",
    "OPS",
    "Notation",
    "Op",
    "Param",
    "Partial",
    "PerInput",
    "Vjp",
    "program_functions",
    "register",
]

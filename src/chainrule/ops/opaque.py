"""The opaque op: a function computed outside chainrule (by PyTorch), with its vjps computed there.

``torch_opaque`` is one entry of the op table like every op. Its parameter ``fn`` holds the
function (``chainrule.torch_bridge.opaque.TorchFunction``); ``fn.vjp(i)`` is again such a
function, of ``(g, *inputs)``, so the rule below is written against the backend like any other:
``M.opaque`` calls the function on numbers, or builds another opaque node when the gradient is
built as a graph, and second derivatives come from PyTorch's double backward. Chainrule has no
formula for these nodes: drawings and worked solutions name them by their PyTorch name and say
that PyTorch computed them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..core.backends import Backend
from ..core.values import ARRAY, FLOAT
from .table import Domain, NoForm, Notation, Op, Param, PerInput, Torch, registrar

register = registrar("opaque")


@runtime_checkable
class OpaqueFunction(Protocol):
    """What ``torch_opaque`` needs of its function."""

    name: str

    def __call__(self, *args: Any) -> Any: ...

    def vjp(self, i: int) -> OpaqueFunction: ...


def as_opaque(v: Any) -> OpaqueFunction:
    if not isinstance(v, OpaqueFunction):
        raise TypeError("a function from chainrule.torch_bridge")
    return v


def _forward(*args: Any, fn: Any = None) -> Any:
    if fn is None:
        raise TypeError("torch_opaque needs its function (parameter fn)")
    return fn(*args)


def _vjp(i: int, M: Backend, g: Any, x: Any, y: Any, p: Any) -> Any:
    return M.opaque(p["fn"].vjp(i), (g, *x))


OPAQUE = register(
    Op(
        "torch_opaque",
        -1,
        {ARRAY: _forward, FLOAT: _forward},
        Notation("function", "torch", "\\operatorname{torch}", 100, "torch"),
        vjps=PerInput(_vjp),
        elementwise=False,
        params=(Param("fn", None, as_opaque, "the PyTorch function and its vjps"),),
        in_programs=False,
        written=lambda params: opaque_name(params),
        doc="an op computed by PyTorch (value and vjp); chainrule has no formula for it",
        js=NoForm("computed by PyTorch, which a web page does not have"),
        torch=Torch(lambda t, x, p: p["fn"].fn(*x)),
        domain=Domain("what its PyTorch function takes (the value and the vjps come from PyTorch)"),
    )
)


def opaque_name(params: Any) -> str:
    """The PyTorch name an opaque node is written with (``torch.cumsum``)."""
    fn = (params or {}).get("fn")
    return f"torch.{getattr(fn, 'name', 'op')}"

"""chainrule: computational graphs and backpropagation that show every number.

Build a graph with ``var`` and ordinary operators (or ``parse`` a program), call ``backward``
on the output, and read ``value`` and ``grad`` on every node."""

from __future__ import annotations

# first of all, before any other import: Ctrl-C from here on is exit 130 in the command
from . import _interrupt  # noqa: F401

# isort: split
import importlib
from typing import Any

from .core.autodiff import (
    backward,
    derivatives,
    edge_contribution,
    grad,
    gradcheck,
    jvp,
    topo_order,
)
from .core.compile import compile  # noqa: A004 - chainrule.compile, a traced step replayed
from .core.errors import (
    ChainruleError,
    DomainError,
    NameNotDefined,
    ProgramSyntaxError,
    ShapeError,
    ValueInputError,
)
from .core.gradmode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .core.graph import Graph
from .core.limits import LimitError
from .core.node import Node, const, var
from .core.seed import manual_seed
from .functions import API as _API
from .ops import OPS

__version__ = "0.1.0"

# the functions of the API (exp, atan, relu, mse, matmul ...), one per op of the table's
# scalar and array families: chainrule.atan is chainrule.functions.atan
globals().update(_API)
σ = _API["sigmoid"]


def parse(text: str, *, exact: bool = False, at: dict | None = None, output: str | None = None):
    """The graph of a program (see the program language in the README)."""
    from .lang.language import parse as _parse  # the program language, when a program is read

    return _parse(text, exact=exact, at=at, output=output)


def from_torch(fn_or_module: Any, *example_inputs: Any, **kwargs: Any) -> Graph:
    """The graph of a PyTorch computation, with PyTorch's values and gradients on every node
    (``chainrule.torch_bridge``; needs torch)."""
    from .torch_bridge import from_torch as _from_torch  # torch: seconds to import

    return _from_torch(fn_or_module, *example_inputs, **kwargs)


def draw_grad_fn(tensor: Any, params: Any = None, **kwargs: Any) -> Any:
    """The drawing of the autograd graph a PyTorch loss already has (torchviz's ``make_dot``):
    values where it holds them, leaves' gradients after ``backward()`` (needs torch).
    Write it with ``chainrule.draw.write(drawing, "loss.svg")``."""
    from .torch_bridge import draw_grad_fn as _draw  # torch: seconds to import

    return _draw(tensor, params, **kwargs)


def to_torch(module_or_graph: Any, **kwargs: Any) -> Any:
    """A ``torch.nn.Module`` computing what a chainrule network or graph computes
    (``chainrule.torch_bridge``; needs torch)."""
    from .torch_bridge import to_torch as _to_torch  # torch: seconds to import

    return _to_torch(module_or_graph, **kwargs)


# built on everything above; tensor_methods puts PyTorch's methods on nodes
from . import tensor, tensor_methods  # noqa: E402, F401

# (pickling: what pickle and copy call for nodes and graphs)
from .core import batch, pickling  # noqa: E402, F401
from .core.display import register_svg  # noqa: E402


def __getattr__(name: str) -> Any:
    """``chainrule.draw``, ``chainrule.nn`` and ``chainrule.optim``, imported on first use: a
    program or a graph of numbers needs none of them, and ``import chainrule`` stays fast."""
    if name in ("draw", "nn", "optim"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _svg(obj: Any) -> str | None:
    """A node's or graph's picture in Jupyter, from the drawing package (loaded when asked)."""
    if not isinstance(obj, (Graph, Node)):
        return None
    from .draw import to_svg  # the drawing package, only when a notebook shows a graph

    return to_svg(obj)


register_svg(_svg)


def explore(
    graph: Graph | Node,
    *,
    digits: int = 5,
    exact: bool | None = None,
    collapse: bool | None = None,
):
    """The explorer page of a graph: step through both passes, change inputs (what-if).
    Shows itself inline in Jupyter; ``.save("page.html")`` writes it (docs/explore.md).
    ``collapse``: modules and repeated blocks as one box each (default: above 200 nodes)."""
    from .explorer import explore as _explore  # the explorer page, when one is asked for

    return _explore(graph, digits=digits, exact=exact, collapse=collapse)


__all__ = [
    "batch",
    "draw",
    "nn",
    "optim",
    "tensor",
    "OPS",
    "ChainruleError",
    "DomainError",
    "LimitError",
    "Graph",
    "NameNotDefined",
    "Node",
    "ProgramSyntaxError",
    "ShapeError",
    "ValueInputError",
    "backward",
    "compile",
    "const",
    "derivatives",
    "draw_grad_fn",
    "edge_contribution",
    "enable_grad",
    "explore",
    "from_torch",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "jvp",
    "manual_seed",
    "no_grad",
    "parse",
    "set_grad_enabled",
    "to_torch",
    "topo_order",
    "var",
    "σ",
    *sorted(_API),
]

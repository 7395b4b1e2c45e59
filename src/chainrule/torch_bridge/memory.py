"""Which tensors of a traced program share memory, so that a write through one reaches the others.

``torch.export``'s training IR keeps PyTorch's views and in-place calls: ``h[:, 0] = 0`` is
``select(h, 1, 0)`` then ``fill_`` on the select, and ``h`` is changed only through shared
memory. chainrule's nodes never change, so a write is a new value of the tensor that owns the
memory (torch's ``CopySlices``, as ``scatter`` nodes), and a view read after a write is taken again
from that new value. The fake tensors export records with every call say which calls share
memory and where each one sits in it (shape, stride, offset); that is what this module reads.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.errors import ValueInputError

#: in-place calls that change a tensor's shape or flags, not its elements
METADATA_ONLY = frozenset(
    {
        "t_",
        "transpose_",
        "swapdims_",
        "swapaxes_",
        "squeeze_",
        "unsqueeze_",
        "as_strided_",
        "detach_",
        "requires_grad_",
        "rename_",
    }
)
_DETACHING = frozenset({"detach", "detach_"})


@dataclass(frozen=True)
class Layout:
    """Where a tensor's elements sit in its memory, counted in elements."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int
    dtype: Any

    def positions(self, size: int) -> np.ndarray:
        """The memory position of each element, in the tensor's shape."""
        flat = torch.arange(size, dtype=torch.int64)
        return flat.as_strided(self.shape, self.stride, self.offset).numpy()

    def extent(self) -> int:
        """One past the last memory position the tensor uses."""
        if any(n == 0 for n in self.shape):
            return self.offset
        return self.offset + 1 + sum((n - 1) * s for n, s in zip(self.shape, self.stride))


def op_name(target: Any) -> str:
    """``aten.select.int`` → ``select``."""
    parts = str(target).split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "aten" else getattr(target, "__name__", "")


def writes_self(target: Any) -> bool:
    """True for an ATen call that changes its first argument's elements in place."""
    schema = getattr(target, "_schema", None)
    if schema is None or not schema.arguments or op_name(target) in METADATA_ONLY:
        return False
    info = schema.arguments[0].alias_info
    return bool(info is not None and info.is_write)


def written_arguments(target: Any) -> list[int]:
    """The positions of the arguments an ATen call writes into."""
    schema = getattr(target, "_schema", None)
    if schema is None:
        return []
    return [
        k
        for k, a in enumerate(schema.arguments)
        if a.alias_info is not None and a.alias_info.is_write
    ]


def _alias_of(fx: Any) -> Any:
    """The argument a call returns itself: an in-place call, and the calls PyTorch answers with
    their input unchanged (dropout in eval mode or with p = 0, a cast to the dtype it has),
    which export's fake tensors show as copies."""
    if fx.op != "call_function" or not fx.args or not isinstance(fx.args[0], torch.fx.Node):
        return None
    target, name = fx.target, op_name(fx.target)
    schema = getattr(target, "_schema", None)
    if schema is not None and schema.is_mutable and schema.arguments and name not in METADATA_ONLY:
        info = schema.arguments[0].alias_info
        if info is not None and info.is_write:
            return fx.args[0]
    if str(target) == "aten.dropout.default" and len(fx.args) >= 3:
        p, train = fx.args[1], fx.args[2]
        return fx.args[0] if (not train or p == 0) else None
    if str(target) in ("aten.to.dtype", "aten.to.dtype_layout", "aten.to.device"):
        before, after = fx.args[0].meta.get("val"), fx.meta.get("val")
        copy = fx.kwargs.get("copy", False) or (len(fx.args) >= 4 and fx.args[3])
        if isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor) and not copy:
            return fx.args[0] if before.dtype == after.dtype else None
    return None


def _layout(val: Any) -> Layout | None:
    if not isinstance(val, torch.Tensor):
        return None
    try:
        shape = tuple(int(n) for n in val.shape)
        return Layout(
            shape, tuple(int(n) for n in val.stride()), int(val.storage_offset()), val.dtype
        )
    except (RuntimeError, TypeError):  # a tensor without strides (sparse ...)
        return None


def _storage(val: torch.Tensor, fx: Any) -> Any:
    try:
        return ("storage", val.untyped_storage()._cdata)
    except (RuntimeError, TypeError, AttributeError, NotImplementedError):
        return ("node", id(fx))


class Memory:
    """The calls of a program grouped by the memory they use: each group's owner is its first
    tensor; ``version`` counts the writes into a group, ``seen`` the version a value was made at."""

    def __init__(self, nodes: list[Any]) -> None:
        self.owner: dict[Any, Any] = {}
        self.layout: dict[Any, Layout] = {}
        self.alias: dict[Any, Any] = {}
        self.detached: set[Any] = set()
        self.version: dict[Any, int] = {}
        self.seen: dict[Any, int] = {}
        first: dict[Any, Any] = {}
        for fx in nodes:
            source = _alias_of(fx)
            if source is not None and source in self.owner:
                self.alias[fx] = source
                self.owner[fx] = self.owner[source]
                self.layout[fx] = self.layout[source]
                if source in self.detached:
                    self.detached.add(fx)
                continue
            val = fx.meta.get("val")
            layout = _layout(val)
            if layout is None:
                continue
            owner = first.setdefault(_storage(val, fx), fx)
            self.owner[fx] = owner
            self.layout[fx] = layout
            self.version.setdefault(owner, 0)
            parent = fx.args[0] if fx.op == "call_function" and fx.args else None
            if owner is not fx and (op_name(fx.target) in _DETACHING or (parent in self.detached)):
                self.detached.add(fx)

    def stale(self, fx: Any) -> bool:
        """True when the memory of ``fx`` was written after its value was made."""
        owner = self.owner.get(fx)
        return owner is not None and self.seen.get(fx, 0) < self.version[owner]

    def made(self, fx: Any) -> None:
        """``fx`` has its value as of now."""
        if fx in self.owner:
            self.seen[fx] = self.version[self.owner[fx]]

    def wrote(self, fx: Any) -> None:
        """A write into the memory of ``fx``."""
        self.version[self.owner[fx]] += 1

    def is_view_call(self, fx: Any) -> bool:
        """A call (not an alias) that shows part of its first argument's memory."""
        if fx.op != "call_function" or fx.target is operator.getitem or fx in self.alias:
            return False
        parent = fx.args[0] if fx.args else None
        return isinstance(parent, torch.fx.Node) and self.owner.get(parent) is self.owner[fx]

    def index(self, fx: Any, what: str, *, write: bool) -> np.ndarray:
        """For each element of ``fx``, the flat index of the element of its owner it is. What
        chainrule cannot follow (memory the owner does not hold, another dtype) or PyTorch
        would refuse (a write into elements that share memory) is refused with ``what`` named."""
        owner = self.owner[fx]
        view, base = self.layout[fx], self.layout[owner]
        size = max(view.extent(), base.extent())
        held = base.positions(size).reshape(-1)
        where = np.full(size, -1, dtype=np.int64)
        where[held] = np.arange(held.size)
        found = where[view.positions(size)]
        if view.dtype != base.dtype or np.any(found < 0) or np.unique(held).size != held.size:
            raise ValueInputError(
                f"from_torch: the model {what}, a view that is not a plain part of the tensor "
                "it shows (another dtype, or memory that tensor does not hold), which chainrule "
                "cannot follow"
            )
        if write and np.unique(found).size != found.size:
            raise ValueInputError(
                f"from_torch: the model {what}, whose elements share memory (an expand or "
                "as_strided view): PyTorch refuses such a write when it computes gradients"
            )
        return found

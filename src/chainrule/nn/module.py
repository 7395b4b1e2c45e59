"""``Module``: named parameters, named children, a readable ``repr``, and saving/loading.

Names follow one convention that other parts of chainrule (drawing above all) rely on:

* a parameter is a leaf node named ``<module path>.<parameter>``, e.g. ``layer1.weight``;
* a module names the node its ``forward`` returns ``<module path>.out`` (unless a child module
  already named it, so a ``Sequential``'s output keeps its last layer's name);
* the module path of a named node is everything before its last dot; unnamed nodes between a
  module's inputs and its ``.out`` node belong to that module.

The root module's path is its ``name`` (empty by default, so parameters read ``layer1.weight``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core import replay
from ..core.errors import ShapeError, ValueInputError
from ..core.node import Node, var
from .npz import MAX_LOAD_BYTES, read_npz


def parameter(value: Any, name: str | None = None, dtype: Any = None) -> Node:
    """A trainable leaf holding its own copy of ``value`` (optimizers update it in place)."""
    arr = np.array(value, dtype=dtype)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return var(arr, name)


class Module:
    """A piece of a network: parameters and child modules, found by their attribute names."""

    _params: dict[str, Node]
    _modules: dict[str, Module]
    _path: str

    training: bool

    def __init__(self, name: str = "") -> None:
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_path", name)
        object.__setattr__(self, "training", True)

    # -------------------------------------------------------------- registration
    def __setattr__(self, key: str, value: Any) -> None:
        if "_params" not in self.__dict__:
            raise TypeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        self._params.pop(key, None)
        self._modules.pop(key, None)
        if isinstance(value, Module):
            self._modules[key] = value
            value._rename(self._join(key))
        elif isinstance(value, Node) and not value.args and value.requires_grad:
            self._params[key] = value
            value.name = self._join(key)
        elif key == "training" and self.__dict__.get("training", value) is not value:
            replay.mode_changed()  # ``m.training = False`` set by hand, as train() does
        object.__setattr__(self, key, value)

    def add_module(self, key: str, module: Module) -> Module:
        setattr(self, key, module)
        return module

    def _join(self, key: str) -> str:
        """The name of a child or parameter in node names: ``layer1.weight``; a numbered child
        (a ``Sequential``'s) reads as an index, ``layers[1]``, never as the number 1. Keys in
        ``state_dict`` stay PyTorch's (``1.weight``)."""
        if key.isdigit():
            return f"{self._path or 'layers'}[{key}]"
        return f"{self._path}.{key}" if self._path else key

    def _rename(self, path: str) -> None:
        """Give this module (and everything under it) a new path; parameters follow."""
        stack: list[tuple[Module, str]] = [(self, path)]
        while stack:
            m, p = stack.pop()
            object.__setattr__(m, "_path", p)
            for k, node in m._params.items():
                node.name = m._join(k)
            for k, child in m._modules.items():
                stack.append((child, m._join(k)))

    @property
    def path(self) -> str:
        return self._path

    # -------------------------------------------------------------- walking
    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """Every module under this one (itself first), with its path relative to this one."""
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, m = stack.pop(0)
            yield prefix, m
            for k, child in m._modules.items():
                stack.append((f"{prefix}.{k}" if prefix else k, child))

    def named_parameters(self) -> Iterator[tuple[str, Node]]:
        """(name relative to this module, parameter) for every parameter, in definition order."""
        seen: set[int] = set()
        for prefix, m in self.named_modules():
            for k, node in m._params.items():
                if id(node) not in seen:
                    seen.add(id(node))
                    yield (f"{prefix}.{k}" if prefix else k), node

    def parameters(self) -> list[Node]:
        return [p for _, p in self.named_parameters()]

    def children(self) -> list[Module]:
        return list(self._modules.values())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    # -------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Training mode for this module and every module under it (``training`` is True);
        returns the module, as PyTorch's does. ``Dropout`` zeroes elements only in training;
        the flag is also there for code that reads it."""
        changed = False
        for _, m in self.named_modules():
            changed = changed or m.training is not bool(mode)
            object.__setattr__(m, "training", bool(mode))
        if changed:  # a compiled step traced in the other mode traces again
            replay.mode_changed()
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    def num_parameters(self) -> int:
        return int(sum(np.size(p.value) for p in self.parameters()))

    # -------------------------------------------------------------- calling
    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, *args: Any) -> Any:
        out = self.forward(*args)
        if isinstance(out, Node) and out.name is None and out.a0 is not None:
            out.name = self._join("out") if self._path else None
        return out

    @replay.replayed("grads")
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``backward`` replaces them anyway); with
        ``set_to_none=False`` they become zeros instead of None."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.value) if isinstance(p.value, np.ndarray) else 0.0

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter to ``dtype`` (np.float32 or np.float64), in place."""
        for p in self.parameters():
            p.value = np.array(p.value, dtype=dtype, order="K")
            p.grad = None
        return self

    # -------------------------------------------------------------- saving
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's value, by name relative to this module."""
        return {k: np.array(p.value, copy=True) for k, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy values in by name; shapes must match, and with ``strict`` the names too.

        Values may be numpy arrays or anything numpy reads, PyTorch tensors included (so
        ``model.load_state_dict(torch_model.state_dict())`` works when the names match). Names
        saved before ``Linear`` took PyTorch's layout (``layer.w`` of shape (in, out),
        ``layer.b``) are read as ``layer.weight`` (transposed) and ``layer.bias``, with a
        DeprecationWarning."""
        own = dict(self.named_parameters())
        state = _legacy_names({k: _array(v) for k, v in state.items()}, own)
        if strict:
            missing = sorted(set(own) - set(state))
            extra = sorted(set(state) - set(own))
            if missing or extra:
                raise ValueInputError(
                    "the saved parameters do not match this module: "
                    + "; ".join(
                        s
                        for s in (
                            f"missing {', '.join(missing)}" if missing else "",
                            f"unexpected {', '.join(extra)}" if extra else "",
                        )
                        if s
                    )
                )
        for k, value in state.items():
            if k not in own:
                continue
            p = own[k]
            arr = np.asarray(value)
            if arr.shape != np.shape(p.value):
                raise ShapeError(
                    f"parameter {k} has shape {np.shape(p.value)}, the saved one {arr.shape}",
                    node=p.name,
                )
            own_value = p.value
            if isinstance(own_value, np.ndarray) and own_value.flags.writeable:
                own_value[...] = arr  # in place, as PyTorch copies into its tensors
            else:
                p.value = arr.astype(np.asarray(own_value).dtype, copy=True)
            p.grad = None

    def save(self, path: str | Path) -> None:
        """Write the parameters to a ``.npz`` file (numpy's format: no code is pickled)."""
        np.savez(Path(path), **self.state_dict())  # type: ignore[arg-type]

    def load(
        self,
        path: str | Path,
        strict: bool = True,
        *,
        max_bytes: int = MAX_LOAD_BYTES,
        allow_nan: bool = False,
    ) -> Module:
        """Read parameters written by ``save`` into this module. The file is checked before
        anything big is allocated (``nn.npz``): nothing is unpickled, at most ``max_bytes``
        are unpacked, and NaN or infinite values are refused unless ``allow_nan``."""
        state = read_npz(path, max_bytes=max_bytes, allow_nan=allow_nan)
        self.load_state_dict(state, strict=strict)
        return self

    # -------------------------------------------------------------- showing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        """A tree of modules with parameter shapes, iteratively built."""
        lines: list[str] = []
        stack: list[tuple[int, str, Module]] = [(0, "", self)]
        while stack:
            depth, key, m = stack.pop()
            pad = "  " * depth
            head = f"{key}: " if key else ""
            extra = m.extra_repr()
            params = ", ".join(f"{k}{list(np.shape(p.value))}" for k, p in m._params.items())
            inner = ", ".join(s for s in (extra, params) if s)
            lines.append(f"{pad}{head}{type(m).__name__}({inner})")
            for k, child in reversed(list(m._modules.items())):
                stack.append((depth + 1, k, child))
        if len(lines) == 1:
            return lines[0]
        total = self.num_parameters()
        return "\n".join(lines) + f"\n({total} parameters)"


def _array(value: Any) -> np.ndarray:
    """A saved value as a numpy array (a PyTorch tensor is detached and read on the CPU)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    elif isinstance(value, Node):
        value = value.value
    return np.asarray(value)


def _legacy_names(state: dict[str, np.ndarray], own: Mapping[str, Node]) -> dict[str, np.ndarray]:
    """``<path>.w`` (in, out) and ``<path>.b`` of an old Linear, renamed for the new layout."""
    out: dict[str, np.ndarray] = {}
    renamed = []
    for k, v in state.items():
        head, _, last = k.rpartition(".")
        prefix = f"{head}." if head else ""
        if k not in own and last == "w" and f"{prefix}weight" in own and v.ndim == 2:
            out[f"{prefix}weight"] = v.T
            renamed.append(k)
        elif k not in own and last == "b" and f"{prefix}bias" in own:
            out[f"{prefix}bias"] = v
            renamed.append(k)
        else:
            out[k] = v
    if renamed:
        warnings.warn(
            f"parameters saved under the old Linear names ({', '.join(renamed)}) were read as "
            "weight (transposed) and bias; save again to store the new names",
            DeprecationWarning,
            stacklevel=3,
        )
    return out

"""A write through a view as chainrule nodes: the written tensor's new value, made of ``scatter``
and ``index`` (the transpose pair), as readable as the view allows.

A view that is a plain part of the tensor (``h[:, 0]``, ``h[1:]``, ``h.narrow(1, 0, 2)``) is
written with numpy's basic index (``scatter(v, index=(:, 0))``); a view that is the whole
tensor in another order (``h.t()``) with a permute; any other view (a diagonal, a part of a
transpose) with one array of indices per axis.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .. import tensor as T
from ..core.node import Node, apply
from ..ops import OPS

_MOST_SINGLE_AXES = 6  # 2⁶ ways to keep or drop axes of length one, at most


def placed(new: Node, found: np.ndarray, base: Node) -> Node:
    """``base`` with the elements at flat indices ``found`` (in the view's shape) replaced by
    ``new``. The other elements are picked out of ``base`` and scattered back where they were
    rather than kept by a product with a mask, which would turn an infinite value into nan."""
    shape = tuple(base.shape)
    count = int(np.prod(shape))
    grid = np.arange(count).reshape(shape)
    flat = found.reshape(-1)
    if flat.size == count:
        if np.array_equal(flat, grid.reshape(-1)):
            return T.reshape(new, list(shape))
        axes = _permutation(found, grid)
        if axes is not None:
            return T.transpose(new, [int(a) for a in np.argsort(axes)])
    index = _basic(found, grid)
    index = index if index is not None else _arrays(found, shape)
    out = apply(OPS["scatter"], (new,), {"index": index, "shape": shape})
    rest = np.setdiff1d(grid.reshape(-1), flat)
    if rest.size == 0:
        return out
    keep = _basic_set(rest, grid)
    keep = keep if keep is not None else _arrays(rest, shape)
    kept = apply(OPS["index"], (base,), {"index": keep})
    return out + apply(OPS["scatter"], (kept,), {"index": keep, "shape": shape})


def index_of(found: np.ndarray, shape: tuple[int, ...]) -> Any:
    """numpy's index that picks the flat indices ``found`` (in their shape) out of ``shape``."""
    basic = _basic(found, np.arange(int(np.prod(shape))).reshape(shape))
    return basic if basic is not None else _arrays(found, shape)


def _arrays(flat: np.ndarray, shape: tuple[int, ...]) -> Any:
    """Flat indices as numpy's index: one array per axis (numbers for one element)."""
    parts = np.unravel_index(flat, shape)
    if flat.ndim == 0:
        return tuple(int(p) for p in parts)
    return tuple(np.asarray(p, dtype=np.int64) for p in parts)


def _permutation(found: np.ndarray, grid: np.ndarray) -> tuple[int, ...] | None:
    """The axes order for which ``grid.transpose(axes)`` is ``found``, if there is one."""
    if found.ndim != grid.ndim or found.ndim > 4:
        return None
    for axes in itertools.permutations(range(grid.ndim)):
        if np.array_equal(grid.transpose(axes), found):
            return tuple(axes)
    return None


def _axis_parts(flat: np.ndarray, grid: np.ndarray) -> list[int | slice] | None:
    """Per axis of ``grid``, the one index or the evenly spaced slice ``flat`` uses on it."""
    coords = np.unravel_index(flat.reshape(-1), grid.shape)
    parts: list[int | slice] = []
    for c in coords:
        u = np.unique(c)
        if u.size == 1:
            parts.append(int(u[0]))
            continue
        step = int(u[1] - u[0])
        if not np.all(np.diff(u) == step):
            return None
        stop = int(u[-1]) + 1
        parts.append(slice(int(u[0]), stop) if step == 1 else slice(int(u[0]), stop, step))
    return parts


def _basic(found: np.ndarray, grid: np.ndarray) -> tuple[Any, ...] | None:
    """Ints and slices that pick exactly ``found`` (shape and order) out of ``grid``."""
    if found.size == 0:
        return None
    parts = _axis_parts(found, grid)
    if parts is None:
        return None
    single = [d for d, p in enumerate(parts) if isinstance(p, int)]
    if len(single) > _MOST_SINGLE_AXES:
        return None
    for kept in range(len(single) + 1):
        for chosen in itertools.combinations(single, kept):
            index = tuple(
                slice(p, p + 1) if d in chosen and isinstance(p, int) else p
                for d, p in enumerate(parts)
            )
            picked = grid[index]
            if picked.shape == found.shape and np.array_equal(picked, found):
                return index
    return None


def _basic_set(flat: np.ndarray, grid: np.ndarray) -> tuple[Any, ...] | None:
    """Slices that pick exactly the elements ``flat`` (in any order) out of ``grid``."""
    parts = _axis_parts(flat, grid)
    if parts is None:
        return None
    index = tuple(slice(p, p + 1) if isinstance(p, int) else p for p in parts)
    picked = grid[index].reshape(-1)
    if picked.size == flat.size and np.array_equal(np.sort(picked), np.sort(flat)):
        return index
    return None

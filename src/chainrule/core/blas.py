"""``y += a·x`` in one pass, through numpy's own BLAS.

numpy has no fused multiply-add into an array: ``w -= lr * g`` reads the gradient and writes a
temporary, then reads the temporary and the weight again. BLAS's axpy does it in one pass (for
the 784×256 weight of an MLP, 36 µs against 87 µs here), which is what PyTorch's SGD does with
``param.add_(grad, alpha=-lr)``.

numpy ships its BLAS but does not expose axpy, so this module asks the dynamic loader for the
BLAS library numpy has *already* loaded (``RTLD_NOLOAD``: it never loads a second copy) and
calls its ILP64 ``cblas_?axpy64_`` through ctypes. One library, one thread pool: a second
OpenBLAS beside numpy's (scipy's) made a training step ten times slower, both pools' threads
spinning against each other on two cores. Where numpy's BLAS is not found (a numpy built
against another BLAS, a platform without ``RTLD_NOLOAD``), ``axpy`` answers False and the
caller computes with numpy, with the same result up to rounding (one fused operation instead
of two roundings)."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

MIN_SIZE = 32768
"""Arrays smaller than this (128 KB of float32) are updated by numpy: below it the two passes
cost less than finding the arrays' addresses for ctypes (about 4 µs)."""

_Axpy = Callable[[int, float, int, int, int, int], None]
_SYMBOLS = ("scipy_cblas_{}axpy64_", "cblas_{}axpy64_")  # ILP64: 64-bit lengths
_LIBRARY_PATTERNS = ("libscipy_openblas*", "libopenblas*")


def _numpy_blas_files() -> list[Path]:
    """Where numpy's wheels keep their BLAS (numpy.libs on Linux and Windows, .dylibs on
    macOS)."""
    root = Path(np.__file__).resolve().parent
    found: list[Path] = []
    for folder in (root.parent / "numpy.libs", root / ".dylibs"):
        if folder.is_dir():
            for pattern in _LIBRARY_PATTERNS:
                found.extend(sorted(folder.glob(pattern)))
    return found


def _load() -> dict[str, _Axpy]:
    """saxpy and daxpy of the BLAS numpy has loaded, by dtype character; empty if none."""
    noload = getattr(os, "RTLD_NOLOAD", None)
    if noload is None:
        return {}
    for path in _numpy_blas_files():
        try:
            lib = ctypes.CDLL(str(path), mode=noload | getattr(os, "RTLD_NOW", 2))
        except OSError:  # not loaded by numpy (or not a library): never load a second copy
            continue
        for symbol in _SYMBOLS:
            found: dict[str, _Axpy] = {}
            for char, prefix, real in (("f", "s", ctypes.c_float), ("d", "d", ctypes.c_double)):
                fn = getattr(lib, symbol.format(prefix), None)
                if fn is None:
                    break
                i64, ptr = ctypes.c_int64, ctypes.c_void_p
                fn.argtypes = [i64, real, ptr, i64, ptr, i64]  # n, alpha, x, incx, y, incy
                fn.restype = None
                found[char] = fn
            else:
                return found
    return {}


_AXPY: dict[str, _Axpy] | None = None


def available() -> bool:
    """Whether ``axpy`` runs through numpy's BLAS in this process."""
    global _AXPY
    if _AXPY is None:
        _AXPY = _load()
    return bool(_AXPY)


def axpy(alpha: float, x: Any, y: Any) -> bool:
    """``y += alpha · x`` in place, in one pass; False (``y`` untouched) where this cannot be
    done that way: small or differently laid-out arrays, other dtypes, no BLAS found."""
    if _AXPY is None:
        available()
    if y.__class__ is not np.ndarray or y.size < MIN_SIZE or x.__class__ is not np.ndarray:
        return False
    fn = _AXPY.get(y.dtype.char) if _AXPY else None
    if (
        fn is None
        or x.dtype != y.dtype
        or x.shape != y.shape
        or not y.dtype.isnative
        or not y.flags.writeable
        or not (y.flags.aligned and x.flags.aligned)
        or not (
            (y.flags.c_contiguous and x.flags.c_contiguous)
            or (y.flags.f_contiguous and x.flags.f_contiguous)
        )
        or (x is not y and np.may_share_memory(x, y))
    ):
        return False
    fn(y.size, float(alpha), x.ctypes.data, 1, y.ctypes.data, 1)
    return True

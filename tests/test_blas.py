"""The one-pass update ``y += a·x`` through numpy's own BLAS (chainrule.core.blas): the same numbers
as numpy's two passes, refused (and left to numpy) wherever it cannot apply, and never a second
BLAS library in the process."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.core import blas
from chainrule.core.node import const
from chainrule.tensor import cross_entropy


def _numpy_ships_openblas() -> bool:
    try:
        config = np.show_config(mode="dicts")  # type: ignore[func-returns-value]
        name = config["Build Dependencies"]["blas"].get("name", "")
    except (TypeError, KeyError):  # numpy before 1.26 cannot say
        return False
    return "openblas" in str(name) and hasattr(os, "RTLD_NOLOAD")


def test_numpys_own_blas_is_found_where_numpy_ships_it() -> None:
    if not _numpy_ships_openblas():
        pytest.skip("this numpy is built against another BLAS: updates use numpy's two passes")
    assert blas.available()


needs_blas = pytest.mark.skipif(
    not blas.available(), reason="numpy's BLAS is not reachable here (see chainrule.core.blas)"
)


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_axpy_gives_numpys_numbers(dtype: type, order: str) -> None:
    rng = np.random.default_rng(0)
    y = np.asarray(rng.normal(size=(300, 200)), dtype=dtype, order=order)
    x = np.asarray(rng.normal(size=(300, 200)), dtype=dtype, order=order)
    want = y.astype(np.float64) - 0.03 * x.astype(np.float64)
    before = y.copy()
    assert blas.axpy(-0.03, x, y)
    assert y.dtype == dtype and y.flags[f"{order}_CONTIGUOUS"]
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, want, rtol=rtol, atol=rtol)
    assert not np.array_equal(y, before)


@needs_blas
def test_axpy_leaves_to_numpy_what_it_cannot_do_in_one_pass() -> None:
    big = (256, 784)
    x = np.ones(big, np.float32)
    cases = {
        "small": (np.ones(10, np.float32), np.ones(10, np.float32)),
        "mixed layouts": (x, np.ones(big, np.float32, order="F")),
        "mixed dtypes": (x, np.ones(big, np.float64)),
        "integers": (np.ones(big, np.int64), np.ones(big, np.int64)),
        "strided": (np.ones((256, 1568), np.float32)[:, ::2], np.ones(big, np.float32)),
        "overlapping": (np.ones(300_000, np.float32)[:200_000], None),
        "byte-swapped": (x.astype(">f4"), np.ones(big, ">f4")),
    }
    for what, (xs, ys) in cases.items():
        if ys is None:  # y a shifted view of the same memory as x
            ys = xs.base[100_000:300_000]
        before = np.array(ys, copy=True)
        assert not blas.axpy(1.0, xs, ys), what
        np.testing.assert_array_equal(ys, before)
    read_only = np.ones(big, np.float32)
    read_only.flags.writeable = False
    assert not blas.axpy(1.0, x, read_only)


@needs_blas
def test_a_training_step_gives_the_same_weights_with_and_without_it(monkeypatch) -> None:
    def trained(use_blas: bool) -> list[np.ndarray]:
        if not use_blas:
            monkeypatch.setattr(blas, "_AXPY", {})
        rng = np.random.default_rng(1)
        model = nn.MLP(784, [256, 10], dtype=np.float32, rng=np.random.default_rng(2))
        opt = optim.SGD(model, lr=0.1)
        x = const(rng.normal(size=(32, 784)).astype(np.float32))
        y = const(rng.integers(0, 10, 32).astype(np.float64))
        for _ in range(3):
            cross_entropy(model(x), y).backward()
            opt.step()
        monkeypatch.undo()
        return [np.array(p.value) for p in model.parameters()]

    fused, plain = trained(True), trained(False)
    assert fused[0].size >= blas.MIN_SIZE  # the first layer's weight took the one-pass path
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not hasattr(os, "RTLD_NOLOAD"), reason="no RTLD_NOLOAD on this platform")
def test_a_blas_numpy_has_not_loaded_is_never_loaded(monkeypatch, tmp_path: Path) -> None:
    """A copy of numpy's BLAS under another name is a library nobody loaded: ``_load`` must
    not load it (two OpenBLAS thread pools on two cores made a step ten times slower)."""
    files = blas._numpy_blas_files()
    if not files:
        pytest.skip("numpy ships no BLAS file here")
    copy = tmp_path / "libcopy_openblas.so"
    shutil.copyfile(files[0], copy)
    monkeypatch.setattr(blas, "_numpy_blas_files", lambda: [copy])
    assert blas._load() == {}
    if sys.platform.startswith("linux"):
        assert str(copy) not in Path("/proc/self/maps").read_text()

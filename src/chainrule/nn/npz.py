"""Reading parameter files (``.npz``) that may come from anyone.

numpy's own ``np.load`` trusts the file's headers: a header that claims 10¹² elements makes it
allocate them, and a small zip that unpacks to gigabytes is unpacked. Here every member's
declared size and array header are checked before a byte of data is read, the total is capped,
nothing is ever unpickled, and non-finite values are refused unless asked for."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from ..core.errors import ValueInputError

MAX_LOAD_BYTES = 256 * 2**20  # bytes of parameters once unpacked
MAX_MEMBERS = 100_000  # arrays in one file
ALLOWED_KINDS = "fiu"  # floating point and integer arrays; never objects


def read_npz(
    path: str | Path, *, max_bytes: int = MAX_LOAD_BYTES, allow_nan: bool = False
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by name, checked: a zip of ``.npy`` members, numeric
    dtypes, sizes that agree with the headers and stay under ``max_bytes`` in all, finite
    values unless ``allow_nan``."""
    where = str(path)
    try:
        archive = zipfile.ZipFile(Path(path))
    except zipfile.BadZipFile:
        raise ValueInputError(
            f"{where} is not a parameter file written by Module.save (not a zip archive)"
        ) from None
    except OSError as exc:
        raise ValueInputError(
            f"cannot read parameters from {where}: {exc.strerror or exc}"
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueInputError(
                f"{where} holds {len(members):,} arrays; the limit is {MAX_MEMBERS:,}"
            )
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            raise ValueInputError(
                f"{where} unpacks to {declared:,} bytes; the limit is {max_bytes:,} "
                "(pass max_bytes= to load a bigger model from a file you trust)"
            )
        state: dict[str, np.ndarray] = {}
        for member in members:
            name = member.filename[:-4] if member.filename.endswith(".npy") else ""
            if not name or member.is_dir():
                raise ValueInputError(f"{where}: {member.filename!r} is not an array (.npy)")
            if member.flag_bits & 0x1:
                raise ValueInputError(f"{where}: {member.filename!r} is encrypted")
            try:
                state[name] = _read_member(archive, member, f"{where}, parameter {name}")
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
                raise ValueInputError(
                    f"{where}, parameter {name}: cannot be read ({exc})"
                ) from None
            if not allow_nan:
                _check_finite(state[name], f"{where}, parameter {name}")
    return state


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> np.ndarray:
    with archive.open(member) as f:
        version = npy.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(f)
        else:
            raise ValueInputError(f"{where}: .npy version {version} is not supported")
        if dtype.hasobject or dtype.kind not in ALLOWED_KINDS:
            raise ValueInputError(
                f"{where}: dtype {dtype} is not numbers (objects are never unpickled)"
            )
        nbytes = math.prod(shape) * dtype.itemsize
        holds = member.file_size - f.tell()
        if nbytes != holds:
            raise ValueInputError(
                f"{where}: the header claims shape {shape} ({nbytes:,} bytes) "
                f"but the file holds {holds:,} bytes"
            )
        data = f.read(nbytes)
    if len(data) != nbytes:
        raise ValueInputError(f"{where}: the data is cut short")
    flat = np.frombuffer(data, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _check_finite(arr: np.ndarray, where: str) -> None:
    if arr.dtype.kind != "f":
        return
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueInputError(
            f"{where}: {bad} of {arr.size} values are NaN or infinite "
            "(pass allow_nan=True to load them anyway)"
        )

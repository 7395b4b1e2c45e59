"""A Gradescope autograder for a class: ``gradescope-autograder.zip``.

As Gradescope's autograder specification lays it out: ``setup.sh`` (run once, when the image is
built) installs chainrule from the wheel inside the zip, with no package index for chainrule
itself; ``run_autograder`` (run per submission) reads the student's answers from
``/autograder/submission/`` (a CSV ``quantity,value`` or a claims file ``NAME = VALUE``),
``/autograder/submission_metadata.json`` (the student's email), picks the variant from the roster
the teacher gave (email → variant; otherwise a ``variant = v03`` line of the submission), grades
with the class's rule and scoring, and writes ``/autograder/results/results.json``.

The wheel is built here from the running chainrule (a pure-Python package: its files, METADATA,
WHEEL and RECORD with sha256 hashes), with fixed timestamps, so the zip is the same bytes for
the same class."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from importlib import metadata
from pathlib import Path

import chainrule

from ..io.jsonout import strict_dumps

EPOCH = (1980, 1, 1, 0, 0, 0)

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PIP_BREAK_SYSTEM_PACKAGES=1  # the image is the autograder's own
PY="${CHAINRULE_PYTHON:-}"
if [ -z "$PY" ]; then  # chainrule needs Python 3.11 or later
  for c in python3.13 python3.12 python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$(command -v "$c")"
      break
    fi
  done
fi
if [ -z "$PY" ]; then  # Ubuntu 22.04 (Gradescope's base image) has 3.11 in its archive
  apt-get update -q && apt-get install -y -q python3.11 python3-pip
  PY="$(command -v python3.11)"
fi
echo "$PY" > "$HERE/python-path"
# chainrule itself from the wheel in this zip, never from a package index
"$PY" -m pip install --no-index --no-deps --force-reinstall "$HERE"/wheels/chainrule-*.whl
# its dependencies: already there, or from the index Gradescope's image build can reach
if ! "$PY" -c "import numpy, sympy, rich, matplotlib" 2>/dev/null; then
  "$PY" -m pip install REQUIREMENTS
fi
"$PY" -c "import chainrule; print('chainrule', chainrule.__version__, 'installed')"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${CHAINRULE_PYTHON:-$(cat "$ROOT/source/python-path" 2>/dev/null || echo python3)}"
exec "$PY" "$ROOT/source/grade_submission.py" --root "$ROOT"
"""

GRADE = '''"""Grade one Gradescope submission with chainrule (written by chainrule generate)."""

import argparse
import json
import sys
from pathlib import Path

from chainrule.teach.autograde import grade_submission

parser = argparse.ArgumentParser()
parser.add_argument("--root", default="/autograder")
root = Path(parser.parse_args().root)
sys.exit(grade_submission(root))
'''


def _wheel_name(version: str) -> str:
    return f"chainrule-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, EPOCH)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def requirements() -> list[str]:
    """chainrule's own dependencies (without extras), as its metadata lists them."""
    try:
        reqs = metadata.requires("chainrule") or []
    except metadata.PackageNotFoundError:
        reqs = []
    out = [r for r in reqs if "extra ==" not in r]
    return out or ["numpy>=1.24", "sympy>=1.12", "rich>=13.0", "matplotlib>=3.7"]


def build_wheel() -> tuple[str, bytes]:
    """A wheel of the running chainrule: (file name, bytes)."""
    version = chainrule.__version__
    package = Path(chainrule.__file__).resolve().parent
    files: list[tuple[str, bytes]] = []
    for path in sorted(package.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        rel = path.relative_to(package.parent).as_posix()
        files.append((rel, path.read_bytes()))
    info = f"chainrule-{version}.dist-info"
    meta = [
        "Metadata-Version: 2.1",
        "Name: chainrule",
        f"Version: {version}",
        "Requires-Python: >=3.11",
        *(f"Requires-Dist: {r}" for r in requirements()),
    ]
    files.append((f"{info}/METADATA", ("\n".join(meta) + "\n").encode()))
    wheel = "Wheel-Version: 1.0\nGenerator: chainrule\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files.append((f"{info}/WHEEL", wheel.encode()))
    files.append(
        (f"{info}/entry_points.txt", b"[console_scripts]\nchainrule = chainrule.cli:main\n")
    )
    record = "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in files)
    record += f"{info}/RECORD,,\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files:
            _add(z, name, data)
        _add(z, f"{info}/RECORD", record.encode())
    return _wheel_name(version), out.getvalue()


def autograder_zip(
    manifest: dict, roster: list[tuple[str, str]] | None = None, scoring_toml: str = ""
) -> bytes:
    """The autograder as zip bytes: setup.sh and run_autograder at the top, as Gradescope
    asks, with the wheel, the class manifest, the roster and the scoring file beside them."""
    name, wheel = build_wheel()
    reqs = " ".join(f"'{r}'" for r in requirements())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        _add(z, "setup.sh", SETUP.replace("REQUIREMENTS", reqs).encode(), 0o755)
        _add(z, "run_autograder", RUN.encode(), 0o755)
        _add(z, "grade_submission.py", GRADE.encode())
        _add(z, f"wheels/{name}", wheel)
        _add(
            z,
            "manifest.json",
            (strict_dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(),
        )
        if roster is not None:
            lines = "email,variant\n" + "".join(f"{e},{v}\n" for e, v in roster)
            _add(z, "roster.csv", lines.encode())
        if scoring_toml:
            _add(z, "scoring.toml", scoring_toml.encode())
    return out.getvalue()


__all__ = ["autograder_zip", "build_wheel", "requirements"]

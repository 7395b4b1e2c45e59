"""LaTeX to PDF through pdflatex, the same bytes on every run.

pdflatex stamps the date and a random-looking file ID into every PDF; ``SOURCE_DATE_EPOCH`` fixes
the date and ``\\pdftrailerid{}`` drops the ID, so the same source gives the same file. It runs
in a private temporary folder, without shell escape, with a time limit."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT = 120  # seconds for one document
_STAMP = "\\ifdefined\\pdftrailerid\\pdftrailerid{}\\fi\n"


def available() -> bool:
    return shutil.which("pdflatex") is not None


def compile_pdf(tex: str, files: dict[str, bytes] | None = None) -> tuple[bytes | None, str]:
    """The PDF of ``tex`` (``files``: images it includes, by name), or None and why not
    (pdflatex missing, or its error)."""
    exe = shutil.which("pdflatex")
    if exe is None:
        return None, "pdflatex is not installed"
    env = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory(prefix="chainrule-tex-") as tmp:
        Path(tmp, "doc.tex").write_text(_STAMP + tex, encoding="utf-8")
        for name, data in (files or {}).items():
            Path(tmp, Path(name).name).write_bytes(data)
        try:
            done = subprocess.run(
                [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"pdflatex took longer than {TIMEOUT} s"
        except OSError as exc:
            return None, f"pdflatex could not run ({exc.strerror})"
        pdf = Path(tmp, "doc.pdf")
        if done.returncode != 0 or not pdf.is_file():
            lines = done.stdout.decode("utf-8", "replace").splitlines()
            error = next((ln for ln in lines if ln.startswith("!")), "see its log")
            return None, f"pdflatex failed: {error}"
        return pdf.read_bytes(), ""

"""Exercises and worked solutions as people write them: LaTeX or Markdown with maths in,
chainrule programs (and the equations of a solution) out. See ``docs/latex.md``."""

from __future__ import annotations


def is_document(path: str | None, *, from_latex: bool = False) -> bool:
    """Is this file an exercise written as a document (LaTeX or Markdown) rather than a program?"""
    if from_latex:
        return True
    return path is not None and path.lower().endswith((".tex", ".md", ".markdown", ".ltx"))


def is_latex_path(path: str | None) -> bool:
    return path is not None and path.lower().endswith((".tex", ".ltx"))


__all__ = ["is_document", "is_latex_path"]

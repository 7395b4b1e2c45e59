"""Exercises and worked solutions as people write them: LaTeX or Markdown with maths in,
chainrule programs (and the equations of a solution) out. See ``docs/latex.md``."""

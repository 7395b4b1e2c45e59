"""TikZ: a standalone LaTeX document (article + geometry, cut to the drawing's size) that
compiles with plain pdflatex, positions taken from the shared layout.

``tikz_escape`` turns plain text into LaTeX text: special characters are escaped, and the
mathematical characters of labels (σ, ∂, ŷ, x₁, ², ≈ …) become LaTeX commands, so any name is
printed as text and nothing in it is ever executed. Node names are generated (``n<position>``)
and colours are ``#rrggbb``: no other field of the drawing is written."""

from __future__ import annotations

import math
import unicodedata

from ...lang.typography import (
    GREEK,
    LATEX_SPECIAL,
    LAYER_CLOSE,
    LAYER_OPEN,
    MATH_SYMBOLS,
    SUBSCRIPT_DIGITS,
    SUPERSCRIPT_DIGITS,
    TEXT_ACCENTS,
)
from ..colours import STROKES, TEXT, fill_of
from ..layout import Layout, Point
from ..limits import MAX_TEX_SIDE, check_side
from ..model import Drawing, Line, arrow_category, box_category

_SPECIAL = {**LATEX_SPECIAL, '"': r"\textquotedbl{}"}  # T1 fonts print a straight quote
_MATH = {ch: "\\" + name for ch, name in GREEK.items()}
_MATH.update(MATH_SYMBOLS)
for _i, (_sup, _sub) in enumerate(zip(SUPERSCRIPT_DIGITS, SUBSCRIPT_DIGITS, strict=True)):
    _MATH[_sup] = f"^{{{_i}}}"
    _MATH[_sub] = f"_{{{_i}}}"
_MATH["⁻"] = "^{-}"
_MATH[LAYER_OPEN], _MATH[LAYER_CLOSE] = "^{(}", "^{)}"  # z⁽¹⁾, a layer label
_ACCENTS = TEXT_ACCENTS
_TEXT_OK = {"…": r"\ldots{}", "–": "--", "—": "---", "’": "'", "‘": "`", "“": "``", "”": "''"}


def _up(points: float) -> float:
    """A length rounded up to the tenth of a point the geometry options are written with."""
    return math.ceil(points * 10 - 1e-9) / 10


def tikz_escape(text: str) -> str:
    """Plain text → LaTeX text mode, safe for pdflatex with inputenc utf8."""
    tokens: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if ch in _ACCENTS and tokens:
            tokens[-1] = f"{_ACCENTS[ch]}{{{tokens[-1]}}}"
        elif unicodedata.combining(ch):
            continue
        elif ch in _SPECIAL:
            tokens.append(_SPECIAL[ch])
        elif ch in _MATH:
            tokens.append(f"\\ensuremath{{{_MATH[ch]}}}")
        elif ch in _TEXT_OK:
            tokens.append(_TEXT_OK[ch])
        elif ch == "\n" or ch == "\t":
            tokens.append(" ")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:
            continue
        elif ord(ch) < 128:
            tokens.append(ch)
        elif ord(ch) < 256:
            tokens.append(ch)  # Latin-1 letters are known to inputenc utf8 with T1 fonts
        else:
            tokens.append(f"[U+{ord(ch):04X}]")
    return "".join(tokens)


def _colour(name: str, hexa: str, defs: dict[str, str]) -> str:
    key = hexa.lstrip("#").upper()
    if key not in defs:
        defs[key] = f"c{len(defs)}"
    return defs[key]


def _lines(lines: list[Line], in_box: bool, defs: dict[str, str]) -> str:
    out = []
    for line in lines:
        text = tikz_escape(line.text)
        if line.role == "title" and in_box:
            text = f"\\textbf{{{text}}}"
        colour = _colour("t", TEXT.get(line.role, "#000000"), defs)
        out.append(f"\\textcolor{{{colour}}}{{{text}}}")
    return r"\\ ".join(out)


def _pt(p: Point, height: float) -> str:
    return f"({p[0]:.2f},{height - p[1]:.2f})"


def write_tikz(drawing: Drawing, lay: Layout) -> str:
    h = lay.height
    check_side(lay.width, h, MAX_TEX_SIDE, "TikZ picture", "pt")
    defs: dict[str, str] = {}
    body = []
    for row, at in lay.title_rows:
        body.append(f"\\node[font=\\large] at {_pt(at, h)} {{\\textbf{{{tikz_escape(row)}}}}};")
    for arrow, shape in zip(drawing.arrows, lay.edges, strict=True):
        colour = _colour("e", STROKES.get(arrow_category(arrow), "#333333"), defs)
        dash = ", dashed" if arrow_category(arrow) == "faint" else ""
        for c in shape.curves:
            parts = [_pt(c[0], h)]
            for i in range(1, len(c) - 2, 3):
                parts.append(
                    f".. controls {_pt(c[i], h)} and {_pt(c[i + 1], h)} .. {_pt(c[i + 2], h)}"
                )
            body.append(f"\\draw[{colour}, line width=0.9pt{dash}] {' '.join(parts)};")
        for head in shape.heads:
            pts = " -- ".join(_pt(p, h) for p in head)
            body.append(f"\\fill[{colour}] {pts} -- cycle;")
    for arrow, shape in zip(drawing.arrows, lay.edges, strict=True):
        if arrow.lines and shape.label_at is not None:
            body.append(
                f"\\node[fill=white, inner sep=1pt, "
                f"align=center, font=\\normalsize] at {_pt(shape.label_at, h)} "
                f"{{{_lines(arrow.lines, False, defs)}}};"
            )
    for k, box in enumerate(drawing.boxes):
        p = lay.boxes.get(box.id)
        if p is None:
            continue
        category = box_category(box)
        fill = _colour("f", fill_of(box), defs)
        style = [f"fill={fill}", "draw", "rounded corners=4pt", "align=center", "font=\\large"]
        if category in ("output", "result"):
            style.append("line width=1.6pt")
        if category == "result":
            style.append(f"draw={_colour('e', STROKES['gradient'], defs)}")
        if category in ("const", "group"):
            style.append("dashed")
        style.append(f"minimum width={p.w:.1f}pt, minimum height={p.h:.1f}pt")
        body.append(
            f"\\node[{', '.join(style)}] (n{k}) at {_pt((p.x, p.y), h)} "
            f"{{{_lines(box.lines, True, defs)}}};"
        )
    if lay.legend_at is not None:
        body.append(
            f"\\node[align=center, font=\\footnotesize] at {_pt(lay.legend_at, h)} "
            f"{{{_lines(drawing.legend, False, defs)}}};"
        )
    colours = [f"\\definecolor{{{name}}}{{HTML}}{{{hexa}}}" for hexa, name in defs.items()]
    w = lay.width
    return "\n".join(
        [
            "% A chainrule drawing. Compile with: pdflatex FILE.tex",
            r"\documentclass{article}",
            r"\usepackage[T1]{fontenc}",
            r"\usepackage[utf8]{inputenc}",
            r"\usepackage{amsmath,amssymb}",
            # (rounded up: a page a hair shorter than the picture puts a blank page first)
            f"\\usepackage[paperwidth={_up(w + 4):.1f}pt, paperheight={_up(h + 4):.1f}pt, "
            "margin=2pt]{geometry}",
            r"\usepackage{tikz}",
            r"\pagestyle{empty}",
            *colours,
            r"\begin{document}",
            r"\noindent\begin{tikzpicture}[x=1pt, y=1pt]",
            f"\\useasboundingbox (0,0) rectangle ({w:.2f},{h:.2f});",
            *body,
            r"\end{tikzpicture}",
            r"\end{document}",
            "",
        ]
    )

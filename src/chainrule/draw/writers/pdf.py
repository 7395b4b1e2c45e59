"""PDF without system Graphviz or Cairo: the shared layout drawn with matplotlib's PDF backend
(vector output, DejaVu Sans embedded). Text goes to matplotlib as plain text with its maths
parser switched off, so ``$`` or ``\\`` in a name are printed as they are. Characters the font
lacks (CJK, emoji) are drawn as boxes of the width ``measure`` gave them, without a warning.
A drawing larger than ``MAX_PDF_SIDE`` points a side (the largest page the PDF specification
allows) is scaled down to fit, text and lines with it: it stays vector, so zooming in reads it.
Past ``MAX_PDF_BOXES`` boxes, or below ``MIN_PDF_SCALE``, the PDF is refused (``limits``)."""

from __future__ import annotations

import io
import warnings

from ..colours import STROKES, TEXT, fill_of
from ..layout import Layout, line_size, lines_size, text_rows
from ..limits import (
    ADVICE,
    MAX_PDF_BOXES,
    MAX_PDF_SIDE,
    MIN_PDF_SCALE,
    DrawingTooLarge,
    check_boxes,
)
from ..measure import FONT_FAMILY, TITLE_SIZE
from ..model import Drawing, Line, arrow_category, box_category


def pdf_escape(text: str) -> str:
    """matplotlib draws text verbatim when ``usetex`` and maths parsing are off; only control
    characters need removing."""
    return "".join(ch for ch in text if ch >= " " or ch == "\t")


def page_scale(width: float, height: float) -> float:
    """1, or less when the page would pass ``MAX_PDF_SIDE``; refused below ``MIN_PDF_SCALE``."""
    k = min(1.0, MAX_PDF_SIDE / max(width, height, 1.0))
    if k < MIN_PDF_SCALE:
        raise DrawingTooLarge(
            f"a PDF of this drawing ({width:,.0f} × {height:,.0f} pt) would have to shrink to "
            f"scale {k:.2g} to fit the largest PDF page ({MAX_PDF_SIDE:,} pt a side); below "
            f"scale {MIN_PDF_SCALE:g} its text cannot be read even zoomed in; {ADVICE}"
        )
    return k


def write_pdf(drawing: Drawing, lay: Layout) -> bytes:
    import matplotlib  # matplotlib: PDF only

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import FigureCanvasPdf  # matplotlib: PDF only
    from matplotlib.figure import Figure  # matplotlib: PDF only
    from matplotlib.patches import FancyBboxPatch, PathPatch, Polygon  # matplotlib: PDF only
    from matplotlib.path import Path as MPath  # matplotlib: PDF only

    w, h = lay.width, lay.height
    check_boxes(len(drawing.boxes), MAX_PDF_BOXES, "PDF")
    k = page_scale(w, h)  # points on the page per point of the layout
    fig = Figure(figsize=(w * k / 72, h * k / 72), dpi=72)
    FigureCanvasPdf(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.axis("off")

    def text(lines: list[Line], cx: float, cy: float, in_box: bool) -> None:
        for line, (x, y) in zip(lines, text_rows(lines, cx, cy, in_box), strict=True):
            ax.text(
                x,
                y,
                pdf_escape(line.text),
                ha="center",
                va="baseline",
                fontsize=line_size(line, in_box) * k,
                fontfamily=FONT_FAMILY,
                fontweight="bold" if line.role == "title" and in_box else "normal",
                color=TEXT.get(line.role, "#000000"),
                usetex=False,
                parse_math=False,
                zorder=5,
            )

    for row, (x, y) in lay.title_rows:
        ax.text(
            x,
            y,
            pdf_escape(row),
            ha="center",
            va="baseline",
            fontsize=TITLE_SIZE,
            fontfamily=FONT_FAMILY,
            fontweight="bold",
            color="#222222",
            usetex=False,
            parse_math=False,
            zorder=5,
        )
    # add_artist, not add_patch: the limits are set above, and add_patch's update of them
    # costs more than the drawing itself
    for arrow, shape in zip(drawing.arrows, lay.edges, strict=True):
        colour = STROKES.get(arrow_category(arrow), "#333333")
        style = "--" if arrow_category(arrow) == "faint" else "-"
        for c in shape.curves:
            codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(c) - 1)
            ax.add_artist(
                PathPatch(MPath(c, codes), fill=False, edgecolor=colour, lw=1.1 * k, ls=style)
            )
        for head in shape.heads:
            ax.add_artist(
                Polygon(head, closed=True, facecolor=colour, edgecolor=colour, lw=0.8 * k)
            )
        if arrow.lines and shape.label_at is not None:
            cx, cy = shape.label_at
            lw, lh = lines_size(arrow.lines, False)
            ax.add_artist(
                FancyBboxPatch(
                    (cx - lw / 2, cy - lh / 2),
                    lw,
                    lh,
                    boxstyle="round,pad=2",
                    facecolor="white",
                    edgecolor="none",
                    zorder=3,
                )
            )
            text(arrow.lines, cx, cy, False)
    for box in drawing.boxes:
        p = lay.boxes.get(box.id)
        if p is None:
            continue
        category = box_category(box)
        edge = STROKES["gradient"] if category == "result" else "#333333"
        ax.add_artist(
            FancyBboxPatch(
                (p.x - p.w / 2 + 4, p.y - p.h / 2 + 4),
                p.w - 8,
                p.h - 8,
                boxstyle="round,pad=4",
                facecolor=fill_of(box),
                edgecolor=edge,
                lw=(2.0 if category in ("output", "result") else 1.0) * k,
                ls="--" if category in ("const", "group") else "-",
                zorder=4,
            )
        )
        text(box.lines, p.x, p.y, True)
    if lay.legend_at is not None:
        text(drawing.legend, lay.legend_at[0], lay.legend_at[1], False)
    out = io.BytesIO()
    with warnings.catch_warnings():
        # a character DejaVu Sans lacks is drawn as a box, room measured for it (``measure``)
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(out, format="pdf")
    return out.getvalue()

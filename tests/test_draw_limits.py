"""Big drawings are bounded: a format past its limit is refused with a message naming the limit
and suggesting SVG or fewer boxes; a PDF larger than the largest page is scaled to fit."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import chainrule as cr
from chainrule import draw
from chainrule.cli import main
from chainrule.draw.layout import layout
from chainrule.draw.limits import (
    MAX_PDF_BOXES,
    MAX_PDF_SIDE,
    MAX_PNG_SIDE,
    MIN_PDF_SCALE,
    MIN_PNG_SCALE,
    DrawingTooLarge,
)
from chainrule.draw.writers.pdf import page_scale, write_pdf
from chainrule.draw.writers.png import svg_to_png
from chainrule.draw.writers.tikz import write_tikz

render = importlib.import_module("chainrule.draw.render")  # the module, not the function


def chain(steps: int) -> cr.Node:
    y = cr.var(0.5, name="x")
    for i in range(steps):
        y = cr.tanh(y * 1.01).named(f"y{i}")
    return y


def blank_svg(width: float, height: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect width="{width}" height="{height}" fill="white"/></svg>'
    )


def test_a_pdf_past_the_box_limit_is_refused_before_the_layout(monkeypatch) -> None:
    drawing = draw.build(chain(MAX_PDF_BOXES // 3 + 1), "forward")
    assert len(drawing.boxes) > MAX_PDF_BOXES

    def no_layout(_: draw.Drawing) -> None:
        raise AssertionError("the layout ran")

    monkeypatch.setattr(render, "layout", no_layout)
    with pytest.raises(DrawingTooLarge) as caught:
        render.encode(drawing, ".pdf")
    message = str(caught.value)
    assert f"the limit is {MAX_PDF_BOXES:,} boxes" in message and "SVG" in message


def test_the_cli_refuses_with_status_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    steps = MAX_PDF_BOXES // 3 + 1
    lines = ["y0 = 0.5"] + [f"y{i + 1} = tanh(y{i} * 1.01)" for i in range(steps)]
    program = tmp_path / "long.cr"
    program.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "long.pdf"
    assert main(["draw", str(program), "-o", str(target)]) == 2
    assert "boxes" in capsys.readouterr().err
    assert not target.exists()


def test_page_scale_fits_the_largest_pdf_page() -> None:
    assert page_scale(MAX_PDF_SIDE, 10) == 1.0
    assert page_scale(2 * MAX_PDF_SIDE, 10) == pytest.approx(0.5)
    assert page_scale(10, 4 * MAX_PDF_SIDE) == pytest.approx(0.25)
    assert page_scale(MAX_PDF_SIDE / MIN_PDF_SCALE, 10) == pytest.approx(MIN_PDF_SCALE)
    with pytest.raises(DrawingTooLarge, match=f"{MAX_PDF_SIDE:,} pt a side"):
        page_scale(MAX_PDF_SIDE / MIN_PDF_SCALE * 1.01, 10)


def test_a_tall_pdf_is_scaled_onto_the_largest_page() -> None:
    drawing = draw.build(chain(100), "forward")
    lay = layout(drawing)
    assert lay.height > MAX_PDF_SIDE  # the case the scaling is for
    pdf = write_pdf(drawing, lay)
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert box is not None
    width, height = float(box.group(1)), float(box.group(2))
    assert height == pytest.approx(MAX_PDF_SIDE, abs=1)
    assert width == pytest.approx(lay.width * MAX_PDF_SIDE / lay.height, abs=1)


def test_a_png_at_the_smallest_readable_scale_is_written() -> None:
    # 40,000 points wide fits 16,000 pixels at scale 0.4 exactly
    width = MAX_PNG_SIDE / MIN_PNG_SCALE
    png = svg_to_png(blank_svg(width, 20))
    assert png.startswith(b"\x89PNG")
    assert int.from_bytes(png[16:20], "big") == MAX_PNG_SIDE  # IHDR width


def test_a_png_that_would_be_unreadable_is_refused() -> None:
    width = MAX_PNG_SIDE / MIN_PNG_SCALE + 10
    with pytest.raises(DrawingTooLarge) as caught:
        svg_to_png(blank_svg(width, 20))
    message = str(caught.value)
    assert f"{MAX_PNG_SIDE:,} pixels a side" in message and "SVG" in message
    # a caller who wants it anyway can ask
    assert svg_to_png(blank_svg(width, 20), min_scale=0.0).startswith(b"\x89PNG")


def test_the_ten_thousand_box_case_is_refused_not_squeezed() -> None:
    # what a 10⁴-box chain lays out to: about 277,000 × 800,000 points
    with pytest.raises(DrawingTooLarge, match="cannot be read"):
        svg_to_png(blank_svg(276_874, 797_598))


def test_a_tikz_picture_past_tex_dimensions_is_refused() -> None:
    drawing = draw.build(chain(3), "forward")
    lay = layout(drawing)
    lay.height = 20_000.0
    with pytest.raises(DrawingTooLarge, match="16,000 pt a side"):
        write_tikz(drawing, lay)

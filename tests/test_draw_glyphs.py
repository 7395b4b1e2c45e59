"""Identifiers in any script draw in every format: characters DejaVu Sans lacks (CJK, emoji) are
measured with a fallback width instead of stopping the drawing."""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path

import pytest

import chainrule as cr
from chainrule import draw
from chainrule.cli import main
from chainrule.draw.layout import box_size
from chainrule.draw.measure import WIDE_FALLBACK, text_width
from chainrule.draw.render import FORMATS, encode
from chainrule.draw.writers.svg import svg_escape

NAMES = {
    "cjk": "变量",
    "cyrillic": "переменная",
    "accents": "x\u0303\u0301",  # x with a tilde and an acute, as combining marks
    "emoji": "loss🦄😀",  # the unicorn is not in DejaVu Sans, the smile is
    "mixed": "z变",
}


def graph_named(name: str) -> cr.Graph:
    x = cr.var(0.5, name="x")
    y = cr.tanh(x * 2.0).named(name)
    out = (y * y).named("L")
    g = cr.Graph(out)
    g.backward()
    return g


@pytest.mark.parametrize("script", list(NAMES))
@pytest.mark.parametrize("ext", [f for f in FORMATS if f != ".gv"])
def test_every_format_draws_every_script(script: str, ext: str) -> None:
    name = NAMES[script]
    for view in ("forward", "gradients"):
        drawing = draw.build(graph_named(name), view)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "glyph missing" warning reaches the user
            data = encode(drawing, ext)
        if ext in (".svg", ".html", ".txt", ".json", ".mmd", ".dot"):
            assert svg_escape(name).encode() in data or name.encode() in data
        magic = {".png": b"\x89PNG", ".pdf": b"%PDF"}
        if ext in magic:
            assert data.startswith(magic[ext])


def test_the_cli_draws_a_cjk_name(tmp_path: Path, monkeypatch, capsys) -> None:
    import io
    import sys

    target = tmp_path / "p.svg"
    monkeypatch.setattr(sys, "stdin", io.StringIO("x = 1\n变量 = x * 2\n"))
    assert main(["draw", "-", "-o", str(target)]) == 0
    assert "变量 = x · 2" in target.read_text(encoding="utf-8")


def test_wide_characters_are_a_full_em() -> None:
    size = 14.0
    assert unicodedata.east_asian_width("变") == "W"
    assert text_width("变量", size) == pytest.approx(2 * WIDE_FALLBACK * size)
    assert text_width("🦄", size) == pytest.approx(WIDE_FALLBACK * size)


def test_marks_and_joiners_take_no_room() -> None:
    assert text_width("x\u0303\u0301") == text_width("x")
    assert text_width("🦄\u200d🦄") == text_width("🦄🦄")  # zero-width joiner
    assert text_width("🦄\ufe0f") == text_width("🦄")  # variation selector


def test_a_box_grows_with_a_wide_name() -> None:
    def box(name: str) -> draw.Box:
        boxes = draw.build(graph_named(name), "forward").boxes
        return next(b for b in boxes if b.title.startswith(name))

    narrow, wide = box("ab"), box("变量")
    assert narrow.title.replace("ab", "变量") == wide.title
    assert box_size(wide)[0] > box_size(narrow)[0]


@pytest.mark.parametrize("bold", [False, True])
def test_widths_read_from_the_font_file_are_freetypes(bold: bool) -> None:
    """The font's own tables give the advance FreeType (through matplotlib) gives, for every
    character up to U+2FFFF, and the same set of characters has a glyph."""
    ft2font = pytest.importorskip("matplotlib.ft2font")
    from chainrule.draw.measure import _font, font_files

    path = font_files()[1 if bold else 0]
    reference = ft2font.FT2Font(str(path))
    reference.set_size(100, 72)
    ours = _font(bold)
    checked = 0
    for code in range(0x30000):
        mine = ours.advance(code)
        if reference.get_char_index(code) == 0:
            assert mine is None, hex(code)
            continue
        expected = reference.load_char(code).linearHoriAdvance / 65536.0 / 100.0
        assert mine == expected, hex(code)
        checked += 1
    assert checked > 5000  # DejaVu Sans: some 5,900 characters


def test_drawing_a_label_does_not_load_matplotlib(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, chainrule as cr\n"
        "from chainrule.draw.measure import text_width\n"
        "assert text_width('tanh(w·x + b) 变', 14) > 0\n"
        "print('matplotlib' in sys.modules)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert out.stdout.strip() == "False"

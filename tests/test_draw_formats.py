"""Every label is escaped for its format: hostile names come out as text, never as markup,
DOT syntax, LaTeX commands or Mermaid syntax; the TikZ output compiles with pdflatex."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import run_engine
from chainrule.draw.render import encode

HOSTILE = ["<script>alert(1)</script>", 'a"];x[label="', "\\input{/etc/passwd}"]


def hostile_drawing(name: str, view: str = "gradients") -> draw.Drawing:
    a = cr.var(2.0, name=name)
    return draw.build((a * 3).named("out"), view)


@pytest.mark.parametrize("name", HOSTILE)
def test_svg_shows_the_name_as_text(name: str) -> None:
    svg = encode(hostile_drawing(name), ".svg").decode()
    assert "<script" not in svg
    root = ET.fromstring(svg.encode())
    texts = [el.text for el in root.iter() if el.tag.endswith("text")]
    assert name in texts


@pytest.mark.parametrize("name", HOSTILE)
def test_html_page_holds_only_its_own_script(name: str) -> None:
    page = encode(hostile_drawing(name), ".html").decode()
    assert page.count("<script") == 1
    assert "alert(1)</script>" not in page


@pytest.mark.parametrize("name", HOSTILE)
def test_dot_keeps_the_name_inside_its_label(name: str) -> None:
    drawing = hostile_drawing(name)
    dot = encode(drawing, ".dot").decode()
    assert name not in dot
    # Graphviz reads the file, finds exactly our nodes and prints the name back as text
    svg = run_engine(dot, "svg")
    root = ET.fromstring(svg.encode())
    nodes = [g for g in root.iter() if g.get("class") == "node"]
    labels = sum(1 for a in drawing.arrows if a.lines)  # each arrow's label is a node too
    assert labels and len(nodes) == len(drawing.boxes) + labels
    texts = [el.text for el in root.iter() if el.tag.endswith("text")]
    assert name in texts


@pytest.mark.parametrize("name", HOSTILE)
def test_tikz_prints_the_name_and_runs_nothing(name: str) -> None:
    tex = encode(hostile_drawing(name), ".tex").decode()
    assert "\\input{" not in tex
    assert "<script>" not in tex
    assert '"];' not in tex


@pytest.mark.parametrize("name", HOSTILE)
def test_mermaid_labels_hold_no_syntax(name: str) -> None:
    mmd = encode(hostile_drawing(name), ".mmd").decode()
    for line in mmd.splitlines():
        if '["' in line:
            label = line.split('["', 1)[1].rsplit('"]', 1)[0]
            assert '"' not in label and "[" not in label and "]" not in label
    assert "<script>" not in mmd


def test_text_drawing_drops_terminal_control_characters() -> None:
    out = draw.text(cr.var(1.0, name="a\x1b[31mred") * 2)
    assert "\x1b" not in out


def test_tikz_escape_writes_maths_characters_as_latex() -> None:
    from chainrule.draw.writers.tikz import tikz_escape

    assert tikz_escape("ŷ") == "\\^{y}"
    assert tikz_escape("b₀") == "b\\ensuremath{_{0}}"
    assert tikz_escape("σ") == "\\ensuremath{\\sigma}"
    assert tikz_escape("50% & $x_1$") == "50\\% \\& \\$x\\_1\\$"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("view", ["forward", "gradients", "backward"])
def test_tikz_compiles_with_pdflatex(tmp_path, view: str) -> None:
    x = cr.var([1, 1], name="x", exact=True)
    w = cr.var(["4/5", "7/5"], name="w", exact=True)
    b = cr.var("3/5", name="b₀", exact=True)
    yhat = cr.sigmoid(w.T @ x + b).named("ŷ")
    loss = ((yhat - 1) ** 2).named("L")
    for name in HOSTILE:
        loss = (loss + cr.var(0.0, name=name) * 0).named("L")
    tex = tmp_path / "g.tex"
    draw.render(loss, tex, view)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "g.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")

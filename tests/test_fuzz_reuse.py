"""What the long fuzzing run memoises to go faster (``harness.reuse_pure_work``) changes no
result: the same command lines give the same outputs with the parser built once, and the
memoised chart and rasteriser give the bytes the real ones give."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import chainrule.cli
from fuzz import harness

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-exercise.cr"


@pytest.fixture()
def reused(monkeypatch: pytest.MonkeyPatch) -> None:
    import chainrule.teach.report as report

    monkeypatch.setattr(chainrule.cli, "build_parser", chainrule.cli.build_parser)
    monkeypatch.setattr(report, "chart_png", report.chart_png)
    try:
        resvg_py = importlib.import_module("resvg_py")
        monkeypatch.setattr(resvg_py, "svg_to_bytes", resvg_py.svg_to_bytes)
    except ImportError:
        pass
    harness.reuse_pure_work()


def test_a_parser_used_again_parses_as_a_new_one(reused: None) -> None:
    """Appended options (--claim, --at) start empty at every run with a parser built once."""
    argv = ["check", str(SEED), "--claim", "z=1", "--claim", "a=0.5"]
    first = harness.run_cli(argv, 60)
    assert chainrule.cli.build_parser.cache_info().currsize >= 1  # type: ignore[attr-defined]
    again = harness.run_cli(argv, 60)
    assert (again.code, again.out, again.err) == (first.code, first.out, first.err)
    one = harness.run_cli(["check", str(SEED), "--claim", "z=1"], 60)
    assert one.out != first.out  # a's claim is not carried over from the run before


def test_memoised_chart_and_raster_give_the_real_bytes(reused: None) -> None:
    import chainrule.teach.report as report

    slips = [("dL/dz", "sign", 3), ("a", "", 1)]
    got = report.chart_png(slips)
    assert report.chart_png(list(slips)) == got
    assert report.chart_png.cache_info().hits >= 1  # type: ignore[attr-defined]
    assert report.chart_png.__wrapped__(slips) == got  # type: ignore[attr-defined]
    resvg_py = pytest.importorskip("resvg_py")
    from chainrule.draw.writers.png import svg_to_png

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">'
        '<rect width="5" height="5"/></svg>'
    )
    first = svg_to_png(svg)
    assert svg_to_png(svg) == first
    assert resvg_py.svg_to_bytes.cache_info().hits >= 1
    resvg_py.svg_to_bytes = resvg_py.svg_to_bytes.__wrapped__
    assert svg_to_png(svg) == first  # the real rasteriser: the same bytes

"""``chainrule draw``: text without -o, the format from the extension, mistakes as exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import EXERCISE_TEXT

from chainrule.cli import main


@pytest.fixture()
def program(tmp_path: Path) -> Path:
    text = EXERCISE_TEXT
    path = tmp_path / "exercise.cr"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_output_prints_the_text_drawing(program: Path, capsys) -> None:
    assert main(["draw", str(program), "--exact", "--view", "gradients"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].startswith("L   dL/dL = 1")
    assert "dL/db₀ = −0.0061954" in out


@pytest.mark.parametrize("ext", [".svg", ".png", ".pdf", ".tex", ".mmd", ".json", ".html", ".dot"])
def test_output_file_format_follows_the_extension(program: Path, tmp_path: Path, ext, capsys):
    target = tmp_path / f"g{ext}"
    assert main(["draw", str(program), "--view", "forward", "-o", str(target)]) == 0
    assert target.stat().st_size > 100
    assert str(target) in capsys.readouterr().out


def test_options_reach_the_drawing(program: Path, tmp_path: Path) -> None:
    target = tmp_path / "g.json"
    args = ["draw", str(program), "--exact", "--expand", "--direction", "LR", "--colour"]
    assert main([*args, "--view", "gradients", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert '"direction": "LR"' in text and "w₂" in text and "legend" in text


def test_mistakes_exit_with_status_2_and_leave_files_alone(program: Path, tmp_path, capsys):
    before = program.read_bytes()
    assert main(["draw", str(program), "-o", str(program)]) == 2
    assert program.read_bytes() == before
    assert main(["draw", str(program), "-o", str(tmp_path / "g.bmp")]) == 2
    assert not (tmp_path / "g.bmp").exists()
    assert main(["draw", str(program), "-o", str(tmp_path)]) == 2
    assert main(["draw", str(program), "--collapse", "nothing"]) == 2
    assert main(["draw", str(program), "--view", "sideways"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "chainrule: error:" in err

"""A bundle is committed whole or not at all: a failure or a Ctrl-C injected at every step of
the commit leaves the destination exactly as it was (or, for a Ctrl-C held until the renames
are done, exactly the new bundle), never a mix of the two.

Before, `generate --force` onto a class whose v02 had become a symbolic link stopped with exit 2
after manifest.json, the answer keys and v01 had already been replaced, and a Ctrl-C during the
commit of 150 variants left the new manifest with a third of the old variant folders."""

from __future__ import annotations

import errno
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from chainrule.core.errors import ChainruleError
from chainrule.io import files
from chainrule.io.files import STAGE_PREFIX, bundle

MARKER = ".chainrule-test"
DIR_MARKER = ".chainrule-test-dir"
ROOT = Path(__file__).resolve().parents[1]
TEACH = ROOT / "examples" / "teaching"


def snapshot(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = "-> " + os.readlink(p)
        elif p.is_file():
            out[key] = p.read_bytes()
        else:
            out[key] = "dir"
    return out


def write_bundle(folder: Path, version: str, **kw: Any) -> None:
    """A bundle like generate's: files, folders holding their marker, the marker last."""
    with bundle(folder, force=True, marker=MARKER, replace_marked_dirs=DIR_MARKER, **kw) as st:
        for name in ("manifest.json", "answer-key.csv", "answer-key.md"):
            (st / name).write_text(f"{name} {version}\n")
        for v in ("v01", "v02", "v03"):
            (st / v).mkdir()
            (st / v / "worksheet.md").write_text(f"{v} {version}\n")
            (st / v / DIR_MARKER).write_text("ours\n")
        (st / MARKER).write_text(f"bundle {version}\n")


@pytest.fixture()
def old_bundle(tmp_path: Path) -> tuple[Path, Path]:
    """The destination with an old bundle and a file of the user's; and a pristine copy."""
    folder = tmp_path / "cls"
    write_bundle(folder, "old")
    (folder / "notes.txt").write_text("the teacher's own file\n")
    pristine = tmp_path / "pristine"
    shutil.copytree(folder, pristine, symlinks=True)
    return folder, pristine


def restore(folder: Path, pristine: Path) -> None:
    shutil.rmtree(folder)
    shutil.copytree(pristine, folder, symlinks=True)


def count_steps(folder: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    calls = []
    real = files._step

    def counting(fn: Any, *a: Any, **k: Any) -> Any:
        calls.append(fn)
        return real(fn, *a, **k)

    monkeypatch.setattr(files, "_step", counting)
    write_bundle(folder, "new")
    monkeypatch.setattr(files, "_step", real)
    return len(calls)


def failing_at(k: int, exc: BaseException, *, links: bool = True) -> Any:
    """A commit whose k-th step (not counting hard links unless ``links``) raises ``exc``."""
    real = files._step
    seen = [0]

    def step(fn: Any, *a: Any, **kw: Any) -> Any:
        seen[0] += links or fn is not os.link
        if seen[0] == k:
            raise exc
        return real(fn, *a, **kw)

    return step


@pytest.fixture(params=["exchange", "two renames"])
def swap(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a folder is replaced: the system's one-step exchange, and (where it has none)
    two renames."""
    if request.param == "two renames":
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    elif files._renameat2() is None:
        pytest.skip("no renameat2 on this system")
    return str(request.param)


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.EIO, "input/output error"), KeyboardInterrupt()],
    ids=["OSError", "KeyboardInterrupt"],
)
def test_a_failure_at_every_step_leaves_the_destination_as_it_was(
    old_bundle: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, swap: str, exc: BaseException
) -> None:
    folder, pristine = old_bundle
    before = snapshot(folder)
    n = count_steps(folder, monkeypatch)
    after = snapshot(folder)
    assert after != before and after["notes.txt"] == before["notes.txt"]
    assert n >= 8  # every entry moved in its own step(s)
    fatal = 0
    for k in range(1, n + 1):
        restore(folder, pristine)
        monkeypatch.setattr(files, "_step", failing_at(k, exc))
        failed = False
        try:
            write_bundle(folder, "new")
        except (ChainruleError, KeyboardInterrupt):
            failed = True
        monkeypatch.undo()
        if swap == "two renames":
            monkeypatch.setattr(files, "_exchange", lambda a, b: False)
        # a failed hard link is not a failure (the old file is moved aside instead)
        assert snapshot(folder) == (before if failed else after), f"step {k} of {n}"
        assert not [e for e in os.listdir(folder) if e.startswith(STAGE_PREFIX)]
        fatal += failed
    assert fatal >= n - 4  # all but the optional hard links


def test_ctrl_c_during_the_commit_is_held_until_the_bundle_is_whole(
    old_bundle: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, pristine = old_bundle
    n = count_steps(folder, monkeypatch)
    new = snapshot(folder)
    real = files._step
    for k in range(1, n + 1):
        restore(folder, pristine)
        seen = [0]

        def step(fn: Any, *a: Any, _k: int = k, _seen: list[int] = seen, **kw: Any) -> Any:
            _seen[0] += 1
            if _seen[0] == _k:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, in the middle
            return real(fn, *a, **kw)

        monkeypatch.setattr(files, "_step", step)
        with pytest.raises(KeyboardInterrupt):
            write_bundle(folder, "new")
        monkeypatch.setattr(files, "_step", real)
        assert snapshot(folder) == new, f"step {k} of {n}"


def test_a_link_in_place_of_a_folder_is_replaced_not_followed(
    old_bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    """The reported case: v02 replaced by a symbolic link to a folder elsewhere; the new v02
    takes the link's place (the link itself), and the folder it pointed to is untouched."""
    folder, _ = old_bundle
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not chainrule's\n")
    shutil.rmtree(folder / "v02")
    (folder / "v02").symlink_to(elsewhere, target_is_directory=True)
    write_bundle(folder, "new")
    assert not (folder / "v02").is_symlink()
    assert (folder / "v02" / "worksheet.md").read_text() == "v02 new\n"
    assert snapshot(elsewhere) == {"keep.txt": b"not chainrule's\n"}
    assert (folder / "v01" / "worksheet.md").read_text() == "v01 new\n"


def test_a_folder_in_the_way_is_refused_before_anything_moves(
    old_bundle: tuple[Path, Path],
) -> None:
    folder, _ = old_bundle
    (folder / "v03" / DIR_MARKER).unlink()  # no longer chainrule's folder
    before = snapshot(folder)
    with pytest.raises(ChainruleError, match="v03 is a directory; it is not replaced"):
        write_bundle(folder, "new")
    assert snapshot(folder) == before


def test_a_file_where_a_folder_goes_is_refused_before_anything_moves(
    old_bundle: tuple[Path, Path],
) -> None:
    folder, _ = old_bundle
    shutil.rmtree(folder / "v03")
    (folder / "v03").write_text("a file of the user's\n")
    before = snapshot(folder)
    with pytest.raises(ChainruleError, match="is a file where the bundle puts a folder"):
        write_bundle(folder, "new")
    assert snapshot(folder) == before


def test_generate_and_grade_commit_through_the_same_path(tmp_path, monkeypatch) -> None:
    """generate's class folder and grade's report folder, with a failure in the middle of the
    commit: each is left as it was."""
    from chainrule.teach.generate import generate
    from chainrule.teach.report import write_report

    cls = tmp_path / "cls"
    generate(TEACH / "neuron-pool.toml", cls, count=2, seed=1, pdfs=False, solutions=False)
    rep = tmp_path / "rep"
    write_report(cls, TEACH / "submissions.csv", rep)
    for target, again in (
        (
            cls,
            lambda: generate(
                TEACH / "neuron-pool.toml",
                cls,
                count=2,
                seed=999,
                force=True,
                pdfs=False,
                solutions=False,
            ),
        ),
        (rep, lambda: write_report(cls, TEACH / "submissions.csv", rep, force=True)),
    ):
        before = snapshot(target)
        monkeypatch.setattr(
            files, "_step", failing_at(4, OSError(errno.ENOSPC, "no space"), links=False)
        )
        with pytest.raises(ChainruleError):
            again()
        monkeypatch.undo()
        assert snapshot(target) == before

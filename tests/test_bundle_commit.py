"""A bundle is committed whole or not at all: a failure, a Ctrl-C or a SIGKILL at any step
of the commit leaves the destination exactly as it was or exactly the new bundle, never a mix
of the two.

Before, `generate --force` onto a class whose v02 had become a symbolic link stopped with exit 2
after manifest.json, the answer keys and v01 had already been replaced, and a Ctrl-C during the
commit of 150 variants left the new manifest with a third of the old variant folders. Now the
new folder is built beside the old one (with the old folder's other entries linked in) and the
two are swapped in one rename; where that cannot be done, entries are moved one by one and put
back on failure (``mode`` "entries" below)."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import snapshot

from chainrule.core.errors import ChainruleError
from chainrule.io import files
from chainrule.io.files import STAGE_PREFIX, bundle

MARKER = ".chainrule-test"
DIR_MARKER = ".chainrule-test-dir"
ROOT = Path(__file__).resolve().parents[1]
TEACH = ROOT / "examples" / "teaching"


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


MODES = ["swap", "swap, two renames", "entries", "entries, two renames"]


def set_mode(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if "two renames" in mode:  # a system without renameat2's exchange
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    if mode.startswith("entries"):  # a folder that cannot be swapped whole
        monkeypatch.setattr(files, "_stage_beside", lambda folder: None)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way a bundle is committed: the whole folder swapped with the old one (in one
    exchange, or two renames where the system has none), and entry by entry."""
    if "two renames" not in request.param and files._renameat2() is None:
        pytest.skip("no renameat2 on this system")
    set_mode(request.param, monkeypatch)
    return str(request.param)


def leftovers(folder: Path) -> list[str]:
    """Staging folders left in the destination or beside it."""
    return [
        e
        for d in (folder, folder.parent)
        if d.is_dir()
        for e in os.listdir(d)
        if e.startswith(STAGE_PREFIX)
    ]


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.EIO, "input/output error"), KeyboardInterrupt()],
    ids=["OSError", "KeyboardInterrupt"],
)
def test_a_failure_at_every_step_leaves_the_destination_as_it_was(
    old_bundle: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, mode: str, exc: BaseException
) -> None:
    folder, pristine = old_bundle
    before = snapshot(folder)
    n = count_steps(folder, monkeypatch)
    after = snapshot(folder)
    assert after != before and after["notes.txt"] == before["notes.txt"]
    assert n >= (8 if mode.startswith("entries") else 3)
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
        set_mode(mode, monkeypatch)
        # a failed hard link is not a failure: the old file is moved aside instead, or the
        # commit moves entries one by one where it cannot link the old folder's files
        assert snapshot(folder) == (before if failed else after), f"step {k} of {n}"
        assert not leftovers(folder), f"step {k} of {n}"
        fatal += failed
    assert fatal >= n - 4  # all but the optional hard links


def test_ctrl_c_during_the_commit_is_held_until_the_bundle_is_whole(
    old_bundle: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, mode: str
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
        assert not leftovers(folder), f"step {k} of {n}"


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


@pytest.mark.parametrize("mode", ["swap", "entries"])
def test_generate_and_grade_commit_through_the_same_path(tmp_path, monkeypatch, mode) -> None:
    """generate's class folder and grade's report folder, with a failure in the middle of the
    commit (the swap itself; the fourth move entry by entry): each is left as it was."""
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
        set_mode(mode, monkeypatch)
        if mode == "swap":
            monkeypatch.setattr(files, "_exchange", failing_exchange)
        else:
            monkeypatch.setattr(
                files, "_step", failing_at(4, OSError(errno.ENOSPC, "no space"), links=False)
            )
        with pytest.raises(ChainruleError):
            again()
        monkeypatch.undo()
        assert snapshot(target) == before
        assert not leftovers(target)


def failing_exchange(a: Path, b: Path) -> bool:
    raise OSError(errno.ENOSPC, "no space")


# ------------------------------------------------------------------ SIGKILL

CHILD = r"""
import os, sys, time
from pathlib import Path
from chainrule.io import files

folder, mode, when, variants = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
if "two renames" in mode:
    files._exchange = lambda a, b: False
real_step, real_commit = files._step, files._commit
count = [0]

def step(fn, *a, **kw):
    count[0] += 1
    if when == f"step {count[0]}":
        print("ready", flush=True)
        time.sleep(60)  # killed here, before the step
    return real_step(fn, *a, **kw)

def commit(*a, **kw):
    if when == "commit":
        print("ready", flush=True)
    return real_commit(*a, **kw)

files._step, files._commit = step, commit
with files.bundle(folder, force=True, marker=sys.argv[5], replace_marked_dirs=sys.argv[6]) as st:
    for name in ("manifest.json", "answer-key.csv", "answer-key.md"):
        (st / name).write_text(f"{name} new\n")
    for k in range(1, variants + 1):
        v = st / f"v{k:02d}"
        v.mkdir()
        (v / "worksheet.md").write_text(f"v{k:02d} new\n")
        (v / sys.argv[6]).write_text("ours\n")
    (st / sys.argv[5]).write_text("bundle new\n")
print("done", flush=True)
"""


def write_many(folder: Path, version: str, variants: int) -> None:
    """The child's bundle, in this process: the reference for "entirely new"."""
    with bundle(folder, force=True, marker=MARKER, replace_marked_dirs=DIR_MARKER) as st:
        for name in ("manifest.json", "answer-key.csv", "answer-key.md"):
            (st / name).write_text(f"{name} {version}\n")
        for k in range(1, variants + 1):
            v = st / f"v{k:02d}"
            v.mkdir()
            (v / "worksheet.md").write_text(f"v{k:02d} {version}\n")
            (v / DIR_MARKER).write_text("ours\n")
        (st / MARKER).write_text(f"bundle {version}\n")


def users_files(folder: Path) -> None:
    """What a teacher keeps in the class folder: a file, a hard link, a symbolic link, a
    read-only file, a folder of notes with a sub-folder."""
    (folder / "notes.txt").write_text("the teacher's own file\n")
    os.link(folder / "notes.txt", folder / "notes-link.txt")
    (folder / "latest").symlink_to("v01")
    (folder / "ro.txt").write_text("read only\n")
    os.chmod(folder / "ro.txt", 0o444)
    (folder / "drafts" / "old").mkdir(parents=True)
    (folder / "drafts" / "old" / "d.md").write_text("draft\n")
    os.chmod(folder / "drafts", 0o750)


def killed_at(folder: Path, mode: str, when: str, variants: int) -> str:
    """Run the child's commit, SIGKILL it once it says "ready" (at once, or after a random
    pause for "commit"); what it printed last."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), mode, when, str(variants), MARKER, DIR_MARKER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert p.stdout is not None
    line = p.stdout.readline().decode().strip()
    if line == "ready":
        if when == "commit":
            time.sleep(random.uniform(0, 0.1))
        p.kill()
    p.wait(timeout=120)
    err = p.stderr.read().decode() if p.stderr else ""
    assert "Traceback" not in err, err
    return line


def old_beside(folder: Path) -> list[dict[str, Any]]:
    return [
        snapshot(folder.parent / e)
        for e in os.listdir(folder.parent)
        if e.startswith(STAGE_PREFIX) and e.endswith("-old")
    ]


@pytest.mark.parametrize("mode", ["swap", "swap, two renames"])
def test_a_sigkill_at_any_point_of_the_commit_leaves_old_or_new_never_a_mix(
    tmp_path: Path, mode: str
) -> None:
    """A child process commits a bundle of 40 variant folders over an old one of 45 (with
    the teacher's own files; v41 to v45 are kept, as chainrule does not remove what it does
    not replace) and is killed with SIGKILL before each step of the commit in turn, then at
    random instants during it: the folder is, file for file, the old one or
    the new one. With two renames (no exchange) it may be missing, the old one then whole
    beside it. The next run then commits normally."""
    if "two renames" not in mode and files._renameat2() is None:
        pytest.skip("no renameat2 on this system")
    folder = tmp_path / "cls"
    write_many(folder, "old", 45)
    users_files(folder)
    pristine = tmp_path.parent / f"{tmp_path.name}-pristine"
    shutil.copytree(folder, pristine, symlinks=True)
    old = snapshot(folder)
    reference = tmp_path.parent / f"{tmp_path.name}-new"
    shutil.copytree(folder, reference, symlinks=True)
    write_many(reference, "new", 40)
    new = snapshot(reference)
    assert old != new and new["drafts/old/d.md"] == b"draft\n"
    shutil.rmtree(reference)

    def fresh() -> None:
        for e in os.listdir(tmp_path):
            p = tmp_path / e
            if p.is_dir() and not p.is_symlink():
                for sub, dirs, _ in os.walk(p):
                    for d in dirs:
                        os.chmod(os.path.join(sub, d), 0o755)
                shutil.rmtree(p)
        shutil.copytree(pristine, folder, symlinks=True)

    outcomes = []
    whens = [f"step {k}" for k in range(1, 15)] + ["commit"] * 12
    for when in whens:
        fresh()
        last = killed_at(folder, mode, when, 40)
        if not folder.exists():
            assert mode == "swap, two renames", when
            assert old in old_beside(folder), when
            outcomes.append("missing, old beside")
            continue
        now = snapshot(folder)
        assert now in (old, new), f"{when}: a mix of old and new"
        outcomes.append("new" if now == new else "old")
        if last == "done":
            assert now == new
        write_many(folder, "new", 40)  # the next run is not hindered by what was left
        assert snapshot(folder) == new, when
    assert "old" in outcomes and "new" in outcomes, outcomes
    assert stat.S_IMODE((folder / "drafts").stat().st_mode) == 0o750
    shutil.rmtree(pristine)


def test_the_users_files_are_the_same_files_after_a_swap(tmp_path: Path) -> None:
    """The old folder's other entries are carried over as hard links: the same inode, so a
    file open elsewhere, a hard link from outside, permissions and times are all kept."""
    if files._renameat2() is None:
        pytest.skip("no renameat2 on this system")
    folder = tmp_path / "cls"
    write_many(folder, "old", 3)
    users_files(folder)
    os.chmod(folder, 0o751)
    outside = tmp_path / "outside-link.txt"
    os.link(folder / "notes.txt", outside)
    before = {e: os.lstat(folder / e) for e in ("notes.txt", "ro.txt", "latest")}
    drafts = os.stat(folder / "drafts" / "old")
    folder_ino = os.stat(folder).st_ino
    write_many(folder, "new", 2)
    assert os.stat(folder).st_ino != folder_ino  # swapped whole
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o751
    for e, st in before.items():
        assert os.lstat(folder / e).st_ino == st.st_ino, e
    assert os.readlink(folder / "latest") == "v01"
    assert os.stat(folder / "drafts" / "old").st_mtime_ns == drafts.st_mtime_ns
    assert (folder / "v03" / "worksheet.md").read_text() == "v03 old\n"  # not replaced: kept
    assert (folder / "v01" / "worksheet.md").read_text() == "v01 new\n"
    assert os.stat(outside).st_nlink == 3  # notes.txt, notes-link.txt and this one
    assert not leftovers(folder)


def test_where_the_folder_cannot_be_swapped_entries_are_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The current folder (a shell inside it must not be left in a deleted folder), and an
    old file that cannot be linked (another user's, under protected_hardlinks): the commit
    moves entries one by one, with the same result."""
    folder = tmp_path / "cls"
    write_many(folder, "old", 3)
    users_files(folder)
    ino = os.stat(folder).st_ino
    monkeypatch.chdir(folder)
    write_many(Path("."), "new", 2)
    assert os.stat(folder).st_ino == ino
    assert (folder / "v01" / "worksheet.md").read_text() == "v01 new\n"
    assert not leftovers(folder)
    monkeypatch.chdir(tmp_path)
    real_link = os.link

    def link(src: Any, dst: Any, **kw: Any) -> None:
        if Path(src).name == "ro.txt":
            raise PermissionError(errno.EPERM, "operation not permitted")
        real_link(src, dst, **kw)

    monkeypatch.setattr(os, "link", link)
    write_many(folder, "newer", 1)
    assert os.stat(folder).st_ino == ino
    assert (folder / "v01" / "worksheet.md").read_text() == "v01 newer\n"
    assert (folder / "ro.txt").read_text() == "read only\n"
    assert not leftovers(folder)


def mixed(
    now: dict[str, bytes | str], old: dict[str, bytes | str], new: dict[str, bytes | str]
) -> str:
    """Which entries of ``now`` are the old ones, the new ones, missing or neither."""
    rows = []
    for key in sorted(set(now) | set(old) | set(new)):
        if now.get(key) == old.get(key) == new.get(key):
            continue
        got = now.get(key)
        kind = (
            "missing"
            if got is None
            else "old"
            if got == old.get(key)
            else "new"
            if (got == new.get(key))
            else "neither"
        )
        rows.append(f"{key}: {kind}")
    return "; ".join(rows[:40])


def test_generate_killed_at_random_instants_is_old_or_new(tmp_path: Path) -> None:
    """The real command: `generate --force` over a class of another seed, SIGKILLed at
    random instants over the run's length: the class folder is one class or the other."""
    template = str(TEACH / "neuron-pool.toml")
    args = ["--count", "12", "--no-pdf", "--no-solutions", "--force"]
    cls, other = tmp_path / "cls", tmp_path / "other"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))

    def generate(seed: int, out: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chainrule",
                "generate",
                template,
                "--seed",
                str(seed),
                "-o",
                str(out),
                *args,
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )

    start = time.monotonic()
    assert generate(2, other).wait(timeout=300) == 0
    length = time.monotonic() - start
    assert generate(1, cls).wait(timeout=300) == 0
    old, new = snapshot(cls), snapshot(other)
    assert old != new
    pristine = tmp_path / "pristine"
    shutil.copytree(cls, pristine)
    rng = random.Random(7)
    seen = set()
    for k in range(6):
        p = generate(2, cls)
        time.sleep(length * (0.5 + 0.7 * k / 5) * rng.uniform(0.9, 1.1))
        p.kill()
        p.wait(timeout=60)
        now = snapshot(cls)
        assert now in (old, new), f"killed after {k} (exit {p.returncode}): a mix: " + mixed(
            now, old, new
        )
        seen.add("new" if now == new else "old")
        shutil.rmtree(cls)
        shutil.copytree(pristine, cls)


def test_the_folders_extended_attributes_are_carried_over(tmp_path: Path) -> None:
    """An attribute set on the class folder (an ACL is one) is on the new folder too."""
    if files._renameat2() is None or not hasattr(os, "setxattr"):
        pytest.skip("no renameat2 or no extended attributes on this system")
    folder = tmp_path / "cls"
    write_many(folder, "old", 2)
    try:
        os.setxattr(folder, "user.course", b"ml-101")
    except OSError:
        pytest.skip("this file system has no user attributes")
    ino = os.stat(folder).st_ino
    write_many(folder, "new", 2)
    assert os.stat(folder).st_ino != ino
    assert os.getxattr(folder, "user.course") == b"ml-101"


@pytest.mark.parametrize("err", [errno.EPERM, errno.EBUSY])
def test_a_folder_that_may_not_be_renamed_gets_its_entries_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    """Another user's folder in a sticky parent (/tmp), a mount point the first check did not
    see: the swap is refused by the system before anything moved, and the entries are moved
    one by one instead, as before this commit existed."""
    folder = tmp_path / "cls"
    write_many(folder, "old", 3)
    users_files(folder)
    ino = os.stat(folder).st_ino
    real = files._exchange

    def exchange(a: Path, b: Path) -> bool:
        if Path(b) == folder:
            raise OSError(err, os.strerror(err))
        return real(a, b)

    monkeypatch.setattr(files, "_exchange", exchange)
    write_many(folder, "new", 2)
    assert os.stat(folder).st_ino == ino
    assert (folder / "v01" / "worksheet.md").read_text() == "v01 new\n"
    assert (folder / "notes.txt").read_text() == "the teacher's own file\n"
    assert not leftovers(folder)


def test_removing_the_old_folder_gets_past_read_only_folders_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a swap the old folder goes; a read-only folder of the user's in it (its entries
    are links now shared with the new folder) is given write permission first, as an ordinary
    user needs (simulated: root is not held back by permissions). A path that is gone (the
    staging folder renamed into place) changes nothing, its parent's permissions least."""
    old = tmp_path / "old"
    (old / "drafts").mkdir(parents=True)
    (old / "drafts" / "d.md").write_text("draft\n")
    os.chmod(old / "drafts", 0o555)
    real_unlink = os.unlink

    def unlink(p: Any, *a: Any, **k: Any) -> None:
        parent = os.path.dirname(os.fspath(p)) if "dir_fd" not in k else None
        if parent and not os.stat(parent).st_mode & stat.S_IWUSR:
            raise PermissionError(errno.EACCES, "permission denied", p)
        real_unlink(p, *a, **k)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(shutil, "_use_fd_functions", False)  # the path-based walk
    files._remove_tree(old)
    assert not old.exists()
    os.chmod(tmp_path, 0o751)
    files._remove_tree(tmp_path / "gone")
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o751

"""Reading what the user gives and writing what chainrule makes, without ever losing a file.

Every output goes to a temporary file in the destination folder and is renamed into place, so an
interrupted run never leaves half a file. Outputs never go through a symbolic link, never replace
a device or a folder, and never replace one of the command's own inputs (compared by device and
inode, so a hard link is caught too). Bundles (several files in one directory) are built in a
hidden staging folder beside the destination and swapped with it in one rename once complete,
so the destination is the old folder or the new one even if the process is killed. Any
failure is a ``ChainruleError`` naming the path: exit status 2, not a traceback."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..core import limits
from ..core.errors import ChainruleError, ValueInputError

if TYPE_CHECKING:  # pathlib is loaded by the functions that write: reading a program needs none
    from pathlib import Path  # writing only: reading a program needs no pathlib

StrPath = str | os.PathLike[str]

STAGE_PREFIX = ".chainrule-stage-"


# ------------------------------------------------------------------ reading


def decode(data: bytes, where: str) -> str:
    """UTF-8 text with a leading byte-order mark dropped; a bad byte is named by line and
    column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise ChainruleError(
            f"{where}: not UTF-8 text: line {line}, column {column}: byte 0x{bad} ({exc.reason}); "
            "save the file as UTF-8"
        ) from None


def _too_big(where: str, what: str) -> ChainruleError:
    mib = limits.MAX_INPUT_BYTES // (1024 * 1024)
    return ChainruleError(
        f"{where}: more than {mib} MiB; chainrule reads a {what} of at most {mib} MiB "
        "(is this the file you meant?)"
    )


def read_bytes(path: StrPath, what: str = "file") -> bytes:
    """The bytes of an input, ``-`` meaning standard input, at most
    ``limits.MAX_INPUT_BYTES`` of them: one byte more is read to tell, so ``/dev/zero`` or an
    endless pipe (``yes | chainrule eval -``) is refused instead of filling the memory."""
    cap = limits.MAX_INPUT_BYTES
    if str(path) == "-":
        buffer = sys.stdin.buffer
        data = buffer.read(cap + 1)
        if len(data) > cap:
            raise _too_big("standard input", what)
        return data
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ChainruleError(f"{path}: no such file (the {what} was not found)") from None
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ChainruleError(f"{path}: is a directory, not a {what}")
    if stat.S_ISREG(st.st_mode) and st.st_size > cap:
        raise _too_big(str(path), what)
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot read it ({exc.strerror})") from None
    if len(data) > cap:
        raise _too_big(str(path), what)
    return data


def read_text(path: StrPath, what: str = "file") -> str:
    """A text input, ``-`` meaning standard input; the same checks for both (UTF-8, at most
    ``limits.MAX_INPUT_BYTES``)."""
    if str(path) == "-":
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text stream without bytes underneath (tests, notebooks)
            text = stream.read(limits.MAX_INPUT_BYTES + 1)
            if len(text) > limits.MAX_INPUT_BYTES:
                raise _too_big("standard input", what)
            return text[1:] if text.startswith("\ufeff") else text
        return decode(read_bytes("-", what), "standard input")
    return decode(read_bytes(path, what), str(path))


def _unreadable_number(exc: ValueError) -> str:
    if "digits" in str(exc):
        return f"a whole number of more than {sys.get_int_max_str_digits():,} digits"
    return f"a number that cannot be read ({exc})"


def load_toml(text: str, where: str) -> dict[str, Any]:
    """TOML text as a dict; every way the text can be unreadable is one ``ValueInputError``
    naming the file: bad syntax, an integer past Python's 4,300 digits, nesting deeper than
    the parser's recursion (1,000 ``[``), a text too big for memory."""
    import tomllib  # a bundle's manifest or a template only: not loaded by every command

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueInputError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ValueInputError(f"{where}: arrays or tables nested too deeply to read") from None
    except ValueError as exc:  # int('9' * 5000): Python's limit on digits
        raise ValueInputError(f"{where}: {_unreadable_number(exc)}") from None
    except MemoryError:
        raise ValueInputError(f"{where}: too big to read") from None


def load_json(text: str, where: str) -> Any:
    """JSON text, strictly (no NaN or Infinity, which JSON does not have); every way it can be
    unreadable is one ``ValueInputError`` with its line and column where there is one."""

    def constant(name: str) -> Any:
        raise ValueInputError(f"{where}: {name} is not JSON (chainrule writes it as a string)")

    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ValueInputError(
            f"{where}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ValueInputError(f"{where}: arrays or objects nested too deeply to read") from None
    except ValueError as exc:  # an integer past Python's 4,300 digits
        raise ValueInputError(f"{where}: {_unreadable_number(exc)}") from None
    except MemoryError:
        raise ValueInputError(f"{where}: too big to read") from None


# ------------------------------------------------------------------ one output file


def _identity(path: StrPath) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _inputs(inputs: Iterable[StrPath | None]) -> dict[tuple[int, int], str]:
    found = {}
    for p in inputs:
        if p is None or str(p) == "-":
            continue
        ident = _identity(p)
        if ident is not None:
            found[ident] = str(p)
    return found


def _refuse_link_or_special(path: Path, label: str) -> os.stat_result | None:
    """lstat of an output path, refusing what must not be replaced: links, folders, devices."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise ChainruleError(
            f"{label}: {path.parent} is not a folder (a file stands in the path)"
        ) from None
    except OSError as exc:
        raise ChainruleError(f"{label}: cannot use this path ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        dangling = not path.exists()
        raise ChainruleError(
            f"{label}: is a symbolic link to {target}"
            + (", which does not exist" if dangling else "")
            + "; chainrule does not write through links: give the real path"
        )
    if stat.S_ISDIR(st.st_mode):
        return st
    if not stat.S_ISREG(st.st_mode):
        raise ChainruleError(
            f"{label}: is not a regular file (a device, pipe or socket); "
            "give the name of a file in a folder"
        )
    return st


def _check_folder(folder: Path, label: str) -> None:
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise ChainruleError(f"{label}: the folder {folder} does not exist") from None
    except NotADirectoryError:
        raise ChainruleError(
            f"{label}: {folder} is not a folder (a file stands in the path)"
        ) from None
    except OSError as exc:
        raise ChainruleError(f"{label}: cannot use the folder {folder} ({exc.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ChainruleError(f"{label}: {folder} is not a folder")


def check_output(path: StrPath, *, inputs: Iterable[StrPath | None] = (), label: str = "") -> Path:
    """Refuse a bad output path before any work is done; returns it as a Path."""
    from pathlib import Path  # writing only: reading a program needs no pathlib

    p = Path(path)
    label = label or str(path)
    if not str(path) or p.name in ("", ".", ".."):
        raise ChainruleError(f"{label}: give a file name, such as graph.svg")
    _check_folder(p.parent, label)
    st = _refuse_link_or_special(p, label)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ChainruleError(f"{label}: is a directory; give a file name inside it")
    if st is not None:
        same = _inputs(inputs).get((st.st_dev, st.st_ino))
        if same is not None:
            raise ChainruleError(
                f"{label}: is the same file as the input {same} (the same path or a hard "
                "link); choose another name"
            )
    return p


def write_file(
    path: StrPath, data: bytes | str, *, inputs: Iterable[StrPath | None] = (), label: str = ""
) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it
    into place: readers see the old file or the whole new one, never half of one."""
    inputs = list(inputs)
    p = check_output(path, inputs=inputs, label=label)
    label = label or str(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = stat.S_IMODE(os.stat(p).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = p.parent / f".{p.name}.{os.urandom(4).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise ChainruleError(
            f"{label}: cannot create a file in {p.parent} ({exc.strerror}); "
            "choose a folder on an ordinary disk that you may write to"
        ) from None
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
            if mode is not None:
                os.fchmod(out.fileno(), mode)
        os.replace(tmp, p)
        done = True
    except OSError as exc:
        raise ChainruleError(f"{label}: could not write the file ({exc.strerror})") from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _sync_folder(p.parent)
    return p


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------ bundles


def _visible_entries(folder: Path) -> list[str]:
    return [e for e in os.listdir(folder) if not e.startswith(STAGE_PREFIX)]


def _is_marked(folder: Path, marker: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(folder / marker).st_mode)
    except OSError:
        return False


def check_bundle_dir(
    directory: StrPath,
    *,
    force: bool = False,
    marker: str | None = None,
    replace_marked: bool = False,
    label: str = "",
    hint: str = "use --force to write into it anyway (files of the same names are replaced, "
    "others are kept)",
) -> Path:
    """Refuse a bundle directory before any work: a link, a file, or a folder with someone
    else's files (unless ``force``, or ``replace_marked`` and chainrule's marker is there)."""
    from pathlib import Path  # writing only: reading a program needs no pathlib

    folder = Path(directory)
    label = label or str(directory)
    st = _refuse_link_or_special(folder, label)
    if st is None:
        ancestor = folder.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        _check_folder(ancestor, label)
        return folder
    if not stat.S_ISDIR(st.st_mode):
        raise ChainruleError(f"{label}: exists and is not a directory")
    try:
        entries = _visible_entries(folder)
    except OSError as exc:
        raise ChainruleError(f"{label}: cannot read the directory ({exc.strerror})") from None
    if entries and not force:
        if replace_marked and marker is not None and _is_marked(folder, marker):
            return folder
        raise ChainruleError(
            f"{label}: the directory is not empty and was not written by chainrule; {hint}"
        )
    return folder


@contextlib.contextmanager
def bundle(
    directory: StrPath,
    *,
    force: bool = False,
    marker: str | None = None,
    replace_marked: bool = False,
    inputs: Iterable[StrPath | None] = (),
    label: str = "",
    hint: str | None = None,
    replace_marked_dirs: str | None = None,
) -> Iterator[Path]:
    """A staging folder for a bundle: write the files into it; when the block ends without an
    error it becomes ``directory`` in one step. On an error nothing is moved, the staging
    folder is removed, and so is any folder this call created, so a retry works.

    The staging folder is made beside ``directory`` (a hidden ``.chainrule-stage-…`` in its
    parent), so the commit can swap the two folders whole (``_commit``); where that is not
    possible (a parent chainrule may not write, a mount point, the current folder) it is made
    inside ``directory`` and the entries are moved in one by one.

    A folder of the bundle (a variant's folder, say) replaces a folder of the same name only
    when that one holds the file ``replace_marked_dirs`` (chainrule wrote it)."""
    extra = {"hint": hint} if hint is not None else {}
    folder = check_bundle_dir(
        directory, force=force, marker=marker, replace_marked=replace_marked, label=label, **extra
    )
    label = label or str(directory)
    inputs = list(inputs)
    created: list[Path] = []  # the folders this call makes, deepest first
    p = folder
    while not p.exists():
        created.append(p)
        p = p.parent
    stage: Path | None = None
    beside = False
    ok = False
    try:
        try:
            for d in reversed(created):
                if d != folder:
                    d.mkdir()
            stage = _stage_beside(folder)
            beside = stage is not None
            if stage is None:
                if created and created[0] == folder:
                    folder.mkdir()
                stage = folder / f"{STAGE_PREFIX}{os.urandom(4).hex()}"
                stage.mkdir()
        except OSError as exc:
            raise ChainruleError(
                f"{label}: cannot create the directory ({exc.strerror}); choose a folder on an "
                "ordinary disk that you may write to"
            ) from None
        yield stage
        _commit(stage, folder, marker, inputs, label, replace_marked_dirs, beside=beside)
        ok = True
    except OSError as exc:
        raise ChainruleError(f"{label}: could not write the bundle ({exc.strerror})") from None
    finally:
        if stage is not None:
            # after a swap this is the old folder; otherwise what is left of the staging
            _remove_tree(stage)
        if not ok:
            for d in created:
                with contextlib.suppress(OSError):
                    d.rmdir()


def _stage_beside(folder: Path) -> Path | None:
    """A new empty staging folder beside ``folder`` (in its parent, on the same file system),
    or None where the commit cannot swap the two folders: ``folder`` is ``.`` or ``..``, a
    mount point, the current folder or one of its parents (the shell inside it would be left
    in the old, deleted folder), or the parent does not let chainrule create a folder."""
    if folder.name in ("", ".", ".."):
        return None
    try:
        parent = os.stat(folder.parent)
        st = os.lstat(folder)
    except FileNotFoundError:
        st = None
    except OSError:
        return None
    if st is not None and (st.st_dev != parent.st_dev or _holds_cwd(st)):
        return None
    stage = folder.parent / f"{STAGE_PREFIX}{os.urandom(4).hex()}-{folder.name[:40]}"
    try:
        stage.mkdir()
    except OSError:
        return None
    return stage


def _holds_cwd(st: os.stat_result) -> bool:
    """Whether the folder of ``st`` is the current folder or one of its parents."""
    try:
        here = os.getcwd()
    except OSError:
        return False
    while True:
        with contextlib.suppress(OSError):
            cst = os.stat(here)
            if (cst.st_dev, cst.st_ino) == (st.st_dev, st.st_ino):
                return True
        up = os.path.dirname(here)
        if up == here:
            return False
        here = up


# a folder that may not be renamed where it is: entries are moved into it instead
_NOT_HERE = (errno.EPERM, errno.EACCES, errno.EBUSY, errno.EXDEV)


class _NoSwap(Exception):
    """The folder cannot be rebuilt beside the old one: the commit moves entries instead."""


def _commit(
    stage: Path,
    folder: Path,
    marker: str | None,
    inputs: list[StrPath | None],
    label: str,
    replace_marked_dirs: str | None = None,
    *,
    beside: bool = False,
) -> None:
    """Put the staged bundle in place, all or none. Everything that could refuse is checked
    before anything changes. With the staging folder ``beside`` the destination, the entries
    of the old folder that the bundle does not replace (the user's own files) are linked into
    it (hard links: the same files, not copies), and the two folders are swapped in one
    ``renameat2(RENAME_EXCHANGE)``: the destination is the old folder or the new one, at
    every instant and after a SIGKILL or a power cut; the old one is removed after. Where a
    swap cannot be prepared (a file chainrule may not link, an entry on another file system)
    each entry is moved in on its own (``_move_entries``). Ctrl-C during the commit is held
    until it is done (milliseconds), so an interrupted commit is never half a bundle."""
    names = sorted(os.listdir(stage), key=lambda n: (n == marker, n))
    if beside and not os.path.lexists(folder):
        with _interrupts_held():
            try:
                _step(_rename_noreplace, stage, folder)  # a new folder: one rename
            except FileExistsError:
                pass  # made meanwhile: replaced as an existing one, below
            else:
                _sync_folder(folder.parent)
                return
    protected = _inputs(inputs)
    for name in names:  # refuse before moving anything
        target = folder / name
        st = _refuse_link_or_special_in_bundle(target, label)
        new_is_dir = (stage / name).is_dir()
        if st is not None and stat.S_ISDIR(st.st_mode):
            ours = replace_marked_dirs is not None and _is_marked(target, replace_marked_dirs)
            if not (ours and new_is_dir):
                raise ChainruleError(f"{label}: {target} is a directory; it is not replaced")
            continue
        if st is not None and new_is_dir:
            raise ChainruleError(
                f"{label}: {target} is a file where the bundle puts a folder; it is not replaced"
            )
        if st is not None and (st.st_dev, st.st_ino) in protected:
            raise ChainruleError(
                f"{label}: {target} is the input {protected[(st.st_dev, st.st_ino)]} "
                "(the same path or a hard link); it is not replaced"
            )
    with _interrupts_held():
        if beside and _swap(stage, folder, set(names)):
            _sync_folder(folder.parent)
            return
        _move_entries(stage, folder, names)
    _sync_folder(folder)


def _swap(stage: Path, folder: Path, names: set[str]) -> bool:
    """Give ``stage`` the old folder's other entries and its permissions, then swap the two
    folders; False (``stage`` as it was) where the old entries cannot be carried over."""
    fst = os.lstat(folder)
    kept = [e for e in os.listdir(folder) if e not in names and not e.startswith(STAGE_PREFIX)]
    try:
        for name in kept:
            _step(_replicate, folder / name, stage / name, fst.st_dev)
        _step(_copy_folder_attributes, folder, stage, fst)
    except (_NoSwap, OSError):
        _drop(stage, kept)
        return False
    except BaseException:
        _drop(stage, kept)
        raise
    try:
        if _step(_exchange, stage, folder):  # the commit: one step
            return True
        # no exchange on this system: two renames, the old folder kept beside until the new
        # one is in; a SIGKILL between them leaves no folder at the name and both beside it
        aside = folder.parent / f"{STAGE_PREFIX}{os.urandom(4).hex()}-old"
        _step(os.rename, folder, aside)
    except OSError as exc:
        if exc.errno not in _NOT_HERE:
            raise
        _drop(stage, kept)  # nothing moved: the folder may not be renamed here (a sticky
        return False  # parent and another user's folder, a mount point): entry by entry
    try:
        _step(os.rename, stage, folder)
    except BaseException:
        os.rename(aside, folder)
        _drop(stage, kept)
        raise
    os.rename(aside, stage)  # removed with the staging folder
    return True


def _drop(stage: Path, kept: list[str]) -> None:
    """Remove the links made in ``stage`` for a swap that does not happen (only links and
    the folders made to hold them: the old folder's files are not touched)."""
    for name in kept:
        p = stage / name
        if os.path.isdir(p) and not os.path.islink(p):
            _remove_tree(p)
        else:
            with contextlib.suppress(OSError):
                os.unlink(p)


def _remove_tree(path: Path) -> None:
    """Remove a staging folder, or the old folder after a swap, as far as possible: a folder
    in it without write permission (a read-only folder of the user's, linked in) is given it
    first, since only the links in it go, never the files they share with the new folder."""
    import shutil  # with the compression modules it loads: only when a bundle is written

    top = os.fspath(path)

    def retry(fn: Any, p: str, exc: Any) -> None:
        parent = os.path.dirname(p)
        inside = parent == top or parent.startswith(top + os.sep)
        if inside and isinstance(exc[1], PermissionError):  # never a folder outside ``path``
            with contextlib.suppress(OSError):
                os.chmod(parent, 0o700)
                fn(p)

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=retry)


def _replicate(src: Path, dst: Path, device: int) -> None:
    """``src`` again at ``dst`` as hard links: files, links, pipes keep their inode (and so
    their contents, owner, permissions and other names); a folder is made anew with its
    permissions, owner and times, its entries linked in, without recursion. ``_NoSwap`` for
    an entry on another file system (a mount point inside the folder)."""
    st = os.lstat(src)
    if not stat.S_ISDIR(st.st_mode):
        os.link(src, dst, follow_symlinks=False)
        return
    todo = [(src, dst, st)]
    made: list[tuple[Path, Path, os.stat_result]] = []
    while todo:
        s, d, sst = todo.pop()
        if sst.st_dev != device:
            raise _NoSwap(str(s))
        os.mkdir(d, 0o700)
        made.append((s, d, sst))
        with os.scandir(s) as entries:
            for e in entries:
                est = e.stat(follow_symlinks=False)
                if stat.S_ISDIR(est.st_mode):
                    todo.append((s / e.name, d / e.name, est))
                else:
                    os.link(e.path, d / e.name, follow_symlinks=False)
    for s, d, sst in reversed(made):  # deepest last made first: times after the contents
        _copy_folder_attributes(s, d, sst)
        os.utime(d, ns=(sst.st_atime_ns, sst.st_mtime_ns), follow_symlinks=False)


def _copy_folder_attributes(src: Path, dst: Path, st: os.stat_result) -> None:
    """The old folder's permissions, owner and extended attributes (ACLs) on the new one;
    ``_NoSwap`` where they cannot be given (a folder of another user's, say)."""
    try:
        dst_st = os.lstat(dst)
        if (dst_st.st_uid, dst_st.st_gid) != (st.st_uid, st.st_gid):
            os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
        os.chmod(dst, stat.S_IMODE(st.st_mode))
        listxattr = getattr(os, "listxattr", None)  # Linux only
        try:
            attributes = listxattr(src, follow_symlinks=False) if listxattr else []
        except OSError:
            attributes = []
        for a in attributes:
            os.setxattr(dst, a, os.getxattr(src, a, follow_symlinks=False), follow_symlinks=False)
    except OSError as exc:
        raise _NoSwap(f"{src}: {exc.strerror}") from None


def _rename_noreplace(a: Path, b: Path) -> None:
    """Rename ``a`` to ``b`` unless ``b`` exists (``FileExistsError``), in one step where the
    system has ``RENAME_NOREPLACE``."""
    fn = _renameat2()
    if fn is not None:
        at_fdcwd, noreplace = -100, 1
        if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), noreplace) == 0:
            return
        err = ctypes.get_errno()
        if err in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(err, os.strerror(err), str(b))
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
            raise OSError(err, os.strerror(err), str(b))
    if os.path.lexists(b):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(b))
    os.rename(a, b)


def _move_entries(stage: Path, folder: Path, names: list[str]) -> None:
    """The commit where the folder cannot be swapped whole: each entry takes its place in one
    rename (a folder is swapped with the old one in one exchange where the system has it), the
    old one is kept until every entry is in, and a failure at any step puts back what was
    moved, in reverse order. A SIGKILL in the middle leaves some entries new, some old."""
    trash = stage / f"{STAGE_PREFIX}replaced"
    journal: list[list[str]] = []  # [name, state] of each entry moved so far
    try:
        _step(os.mkdir, trash)
        for name in names:
            _move_in(stage, folder, trash, name, journal)
    except BaseException:
        _roll_back(stage, folder, trash, journal)
        raise


def _step(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """One change to the file system during a commit (the tests fail each one in turn)."""
    return fn(*args, **kwargs)


def _move_in(stage: Path, folder: Path, trash: Path, name: str, journal: list[list[str]]) -> None:
    new, target, old = stage / name, folder / name, trash / name
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    if st is None:
        entry = [name, "adding"]
        journal.append(entry)
        _step(os.rename, new, target)
        entry[1] = "added"
        return
    if stat.S_ISDIR(st.st_mode) and new.is_dir():
        entry = [name, "exchanging"]
        journal.append(entry)
        if _step(_exchange, new, target):  # one atomic swap: the old folder is now at `new`
            entry[1] = "exchanged"
            return
    elif not new.is_dir():
        # the old file stays reachable under a second name; the new one replaces it in one
        # rename, so the name never points at nothing
        entry = [name, "linking"]
        journal.append(entry)
        try:
            _step(os.link, target, old, follow_symlinks=False)
        except OSError:
            entry[1] = "moving out"
        else:
            entry[1] = "linked"
            _step(os.replace, new, target)
            entry[1] = "replaced"
            return
    else:
        entry = [name, "moving out"]
        journal.append(entry)
    # two renames: the old entry out of the way, the new one in
    entry[1] = "moving out"
    _step(os.rename, target, old)
    entry[1] = "moved out"
    _step(os.rename, new, target)
    entry[1] = "replaced"


def _roll_back(stage: Path, folder: Path, trash: Path, journal: list[list[str]]) -> None:
    """Undo a commit that failed half-way, last entry first: the destination as it was."""
    for name, state in reversed(journal):
        new, target, old = stage / name, folder / name, trash / name
        with contextlib.suppress(OSError):
            if state == "added":
                os.rename(target, new)
            elif state == "exchanged":
                if not _exchange(new, target):
                    os.rename(target, trash / f"{name}.new")
                    os.rename(new, target)
            elif state == "moved out":
                os.rename(old, target)
            elif state == "replaced":
                if os.path.isdir(old) or os.path.isdir(target):
                    os.rename(target, new)
                    os.rename(old, target)
                else:
                    os.replace(old, target)  # one rename: the old file is back in place
            # "adding", "exchanging", "linking", "linked", "moving out": the step did not
            # happen or left the old entry where it was


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where
    the system or the file system does not have it (the caller falls back to two renames)."""
    fn = _renameat2()
    if fn is None:
        return False
    at_fdcwd, exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


@functools.cache
def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) is held while the block runs and raised as KeyboardInterrupt after it;
    only in the main thread, where Python delivers signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except (ValueError, OSError):  # not allowed here (an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _refuse_link_or_special_in_bundle(target: Path, label: str) -> os.stat_result | None:
    """In a bundle a symbolic link is replaced by the new file (the link itself, never what it
    points to); devices and pipes are refused."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise ChainruleError(f"{label}: {target} is not a regular file; it is not replaced")
    return st

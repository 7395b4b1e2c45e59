"""Many small files written into a bundle's staging folder, made durable with one sync.

``io.files.write_file`` makes each file durable on its own (a temporary file, fsync, rename,
fsync of the folder): right for one output, but a class of 150,000 students has 300,000
feedback and results files, and two fsyncs each cost minutes of waiting on the disk. Inside a
staging folder that ``bundle`` has just made, no reader can see a half-written file (the folder
becomes the report only when it is complete), so each file is created once, exclusively and
without following links, and everything is flushed to the disk once, before the commit."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0)


def write_new(path: Path, data: str | bytes) -> None:
    """A new file in a staging folder (an existing name is an error, not overwritten)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, _FLAGS, 0o666)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """A new file from text produced a line at a time (written in blocks of about 1 MB)."""
    fd = os.open(path, _FLAGS, 0o666)
    with os.fdopen(fd, "wb") as out:
        block: list[str] = []
        size = 0
        for line in lines:
            block.append(line)
            size += len(line)
            if size >= 1 << 20:
                out.write("".join(block).encode("utf-8"))
                block, size = [], 0
        out.write("".join(block).encode("utf-8"))


def sync_written() -> None:
    """Flush what was written to the disk, once for all files (where the system can)."""
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()

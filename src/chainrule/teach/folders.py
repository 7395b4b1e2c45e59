"""What ``generate`` and ``grade`` share: a folder chainrule itself wrote is named as such."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ChainruleError


def refuse_own(folder: str, what: str, marker: str, force: bool, label: str) -> None:
    """An earlier run's folder (its marker says chainrule wrote it) is refused without
    ``--force`` with words that say so; with ``--force`` it is written again."""
    p = Path(folder)
    if force or p.is_symlink() or not p.is_dir() or not (p / marker).is_file():
        return
    raise ChainruleError(
        f"{label}: holds an earlier {what} written by chainrule; use --force to write it again "
        "(chainrule's own files are replaced, others are kept)"
    )

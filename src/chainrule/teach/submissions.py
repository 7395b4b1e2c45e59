"""A class's answers as teachers collect them: one CSV (``student,variant,quantity,value``) or a
folder of per-student claim files.

Spreadsheets are forgiving and so is this reader: a byte-order mark, a ``;`` or tab delimiter,
header names in any case, extra columns, a decimal comma left unquoted in the last column
(``ada,v01,L,0,06``), student names spelled with different spaces or capitals. What cannot be
read is not a crash: the structure (a missing column) is one clear error; a bad row is a
problem noted against its line and reported."""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ChainruleError, ValueInputError
from ..io.files import read_text

COLUMNS = ("student", "variant", "quantity", "value")
MAX_BYTES = 20_000_000
MAX_ROWS = 200_000
MAX_FILES = 5_000
CLAIM_SUFFIXES = (".txt", ".claims")
SOLUTION_SUFFIXES = (".md", ".tex")  # worked solutions in Markdown or LaTeX (docs/latex.md)


@dataclass
class Entry:
    """One answer: where it was read, the quantity as written and the value as written."""

    where: str
    quantity: str
    value: str


@dataclass
class Submission:
    """One student's answers to one variant."""

    student: str
    variant: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def student_key(name: str) -> str:
    """Names as people write them: ' Ada  LOVELACE' and 'ada lovelace' are one student."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _tidy(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).split())


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _header(cells: list[str], where: str) -> dict[str, int]:
    names = [c.strip().strip("\ufeff").casefold() for c in cells]
    found = {name: k for k, name in reversed(list(enumerate(names)))}
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise ValueInputError(
            f"{where}: line 1: the header lacks the column(s) {', '.join(missing)}; the first "
            f"line must name the columns student,variant,quantity,value (found: "
            f"{', '.join(repr(c) for c in cells[:8]) or 'nothing'})"
        )
    return {c: found[c] for c in COLUMNS}


def read_csv(path: str | Path) -> tuple[list[Submission], list[str]]:
    """Submissions from a CSV file, and the problems found in it (by line)."""
    where = str(path)
    p = Path(path)
    if p.is_file() and p.stat().st_size > MAX_BYTES:
        raise ValueInputError(f"{where}: larger than {MAX_BYTES // 1_000_000} MB")
    text = read_text(path, "submissions file")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ValueInputError(f"{where}: the file is empty (expected a header line)")
    delimiter = _delimiter(lines[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = list(_limited(reader, where))
    except csv.Error as exc:
        raise ValueInputError(f"{where}: line {reader.line_num}: not valid CSV ({exc})") from None
    columns = _header(rows[0][1], where)
    value_last = columns["value"] == max(columns.values())
    problems: list[str] = []
    by_student: dict[str, Submission] = {}
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        at = f"line {line}"
        if len(cells) <= max(columns.values()):
            problems.append(f"{at}: {len(cells)} cells, expected at least {len(columns)}; skipped")
            continue
        if len(cells) > len(rows[0][1]) and value_last and delimiter == ",":
            # an unquoted decimal comma: 0,06 split in two cells
            extra = len(cells) - len(rows[0][1])
            k = columns["value"]
            cells = cells[:k] + [",".join(cells[k : k + extra + 1])] + cells[k + extra + 1 :]
        student = _tidy(cells[columns["student"]])
        variant = cells[columns["variant"]].strip()
        quantity = cells[columns["quantity"]].strip()
        value = cells[columns["value"]].strip()
        if not student:
            problems.append(f"{at}: no student name; skipped")
            continue
        key = student_key(student)
        sub = by_student.get(key)
        if sub is None:
            sub = by_student[key] = Submission(student, variant)
        elif variant and variant != sub.variant:
            sub.problems.append(
                f"{at}: variant {variant!r}, but earlier lines say {sub.variant!r}; "
                "graded against the first"
            )
        sub.entries.append(Entry(at, quantity, value))
    return list(by_student.values()), problems


def _limited(reader: Any, where: str) -> Iterator[tuple[int, list[str]]]:
    for k, row in enumerate(reader):
        if k > MAX_ROWS:
            raise ValueInputError(f"{where}: more than {MAX_ROWS} rows")
        yield reader.line_num, row


_SPLIT = re.compile(r"[=≈]")


def read_folder(path: str | Path) -> tuple[list[Submission], list[str]]:
    """Submissions from a folder of claim files, one per student (``ada-lovelace.txt``): lines
    ``NAME = VALUE`` as ``chainrule check --claims`` reads them, one of them ``variant = v03``
    and optionally ``student = Ada Lovelace`` (otherwise the file name is the student)."""
    folder = Path(path)
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in CLAIM_SUFFIXES + SOLUTION_SUFFIXES
        and p.is_file()
        and not p.is_symlink()
    )
    if len(files) > MAX_FILES:
        raise ValueInputError(f"{path}: more than {MAX_FILES} claim files")
    if not files:
        raise ValueInputError(
            f"{path}: no claim files (*.txt or *.claims) or worked solutions (*.md, *.tex) in "
            "the folder"
        )
    subs: list[Submission] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for f in files:
        if f.stat().st_size > MAX_BYTES:
            problems.append(f"{f.name}: larger than {MAX_BYTES // 1_000_000} MB; skipped")
            continue
        # a file name that is not UTF-8 (bytes kept as surrogates by Python) is shown with
        # U+FFFD in their place: every report and CSV is UTF-8
        f_name = os.fsencode(f.name).decode("utf-8", "replace")
        sub = Submission(_tidy(os.fsencode(f.stem).decode("utf-8", "replace")), "")
        try:
            body = read_text(f, "claims file")
        except ChainruleError as exc:
            problems.append(f"{exc}; not graded")
            continue
        if f.suffix.lower() in SOLUTION_SUFFIXES:  # a worked solution as written
            _solution_entries(sub, f.name, body, latex=f.suffix.lower() == ".tex")
            body = ""
        for k, raw in enumerate(body.splitlines(), start=1):
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            at = f"{f_name} line {k}"
            parts = _SPLIT.split(text, maxsplit=1)
            name = parts[0].strip()
            if name.casefold() in ("variant", "student") and len(parts) == 2:
                setattr(sub, name.casefold(), _tidy(parts[1]))
                continue
            value = text[len(parts[0]) + 1 :].strip() if len(parts) == 2 else ""
            sub.entries.append(Entry(at, name, value))
        if not sub.variant:
            problems.append(f"{f_name}: no line 'variant = …'; not graded")
            continue
        key = student_key(sub.student)
        if key in seen:
            problems.append(f"{f_name}: the same student as {seen[key]}; not graded")
            continue
        seen[key] = f_name
        subs.append(sub)
    return subs, problems


def _solution_entries(sub: Submission, name: str, body: str, *, latex: bool) -> None:
    """A worked solution's answers (the last number of each chain) and its variant: and
    student: lines."""
    from ..check.solution import solution_answers

    try:
        answers, header = solution_answers(body, latex=latex)
    except ChainruleError as exc:
        sub.problems.append(f"{name}: {exc.message}")
        return
    for line, quantity, value in answers:
        sub.entries.append(Entry(f"{name} line {line}", quantity, value))
    sub.variant = _tidy(header.get("variant", ""))
    if header.get("student"):
        sub.student = _tidy(header["student"])


def read_submissions(path: str | Path) -> tuple[list[Submission], list[str]]:
    p = Path(path)
    if p.is_dir():
        return read_folder(p)
    return read_csv(p)

"""A class's answers as teachers collect them: one CSV, long (``student,variant,quantity,value``)
or wide (one row per student, one column per quantity: what Google Forms and LMS exports give),
or a folder of per-student claim files.

Spreadsheets are forgiving and so is this reader: UTF-8 (with or without a byte-order mark),
UTF-16 with its mark and cp1252 (which encoding was assumed is said), a ``sep=;`` first line, a
``;`` or tab delimiter, header names in any case, extra columns, a decimal comma left unquoted in
the last column (``ada,v01,L,0,06``), student names spelled with different spaces or capitals.
Optional ``id`` and ``email`` columns identify students (rows are keyed by id where present, then
email, then name and variant), so two students of one name stay two. What cannot be read is not
a crash: the structure (a missing column) is one clear error; a bad row is a problem noted
against its line and the student's row, never dropped in silence."""

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

from ..check.claims import split_claims
from ..check.inert import inert_text
from ..core.errors import ChainruleError, ValueInputError
from ..io.files import read_text

COLUMNS = ("student", "variant", "quantity", "value")
IDENTITY = ("student", "id", "email")
ALIASES = {
    "name": "student",
    "full name": "student",
    "student name": "student",
    "student id": "id",
    "sid": "id",
    "id number": "id",
    "student number": "id",
    "email address": "email",
    "e-mail": "email",
    "mail": "email",
    "version": "variant",
    "variant id": "variant",
    "answer": "value",
}
IGNORED = {"timestamp", "time", "date", "submitted", "section", "score", "total", "points"}
IGNORED |= {"first name", "last name", "surname", "given name", "username", "state", "status"}
IGNORED |= {"started on", "completed", "time taken", "grade", "institution", "department"}
MAX_BYTES = 20_000_000
MAX_ROWS = 200_000
MAX_FILES = 5_000
CLAIM_SUFFIXES = (".txt", ".claims")
SOLUTION_SUFFIXES = (".md", ".tex")  # worked solutions in Markdown or LaTeX (docs/latex.md)


@dataclass(slots=True)  # slots: a class of 150,000 holds over a million
class Entry:
    """One answer: where it was read, the quantity as written and the value as written."""

    where: str
    quantity: str
    value: str


@dataclass(slots=True)
class Submission:
    """One student's answers to one variant."""

    student: str
    variant: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    id: str = ""
    email: str = ""
    where: str = ""
    refused: str = ""  # why it cannot be graded at all (it still gets its row in grades.csv)


def student_key(name: str) -> str:
    """Names as people write them: ' Ada  LOVELACE' and 'ada lovelace' are one student."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def variant_number(text: str) -> int | None:
    """``v01``, ``V1``, ``1``, ``variant 1`` → 1; None when it names no number."""
    m = re.fullmatch(r"\s*(?:variant\s*|v\s*)?0*(\d+)\s*", text, re.IGNORECASE)
    return int(m.group(1)) if m else None


def variant_key(text: str) -> str:
    """A variant as a student's rows are told apart by it: ``v001``, ``V1`` and ``1`` are one
    variant (the manifest's ids read them so), other ids are compared ignoring case."""
    n = variant_number(text)
    return f"#{n}" if n is not None else text.strip().casefold()


def _tidy(name: str) -> str:
    return inert_text(" ".join(unicodedata.normalize("NFC", name).split()))


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def decode_submissions(data: bytes, where: str) -> tuple[str, str | None]:
    """The text of a submissions file and, when it was not UTF-8, the encoding assumed."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise ValueInputError(
                f"{where}: not valid UTF-16 despite its byte-order mark"
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if len(data) >= 4 and data[1::2][:64].count(0) > 16 and data[0::2][:64].count(0) == 0:
        try:
            return data.decode("utf-16-le"), "UTF-16 (little-endian, no byte-order mark)"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252 (Windows Western European; it is not UTF-8)"
    except UnicodeDecodeError:
        raise ValueInputError(
            f"{where}: neither UTF-8, UTF-16 nor cp1252; save it as UTF-8 text (a "
            'spreadsheet\'s "CSV UTF-8")'
        ) from None


def _column(cell: str) -> str:
    name = " ".join(cell.strip().strip("\ufeff").split()).casefold()
    return ALIASES.get(name, name)


@dataclass
class _Layout:
    identity: dict[str, int]
    variant: int
    quantity: int | None  # long form
    value: int | None
    wide: dict[int, str]  # column → quantity, wide form


def _header(cells: list[str], where: str) -> _Layout:
    names = [_column(c) for c in cells]
    found = {name: k for k, name in reversed(list(enumerate(names)))}
    if "variant" not in found or not any(c in found for c in IDENTITY):
        missing = [c for c in ("student", "variant") if c not in found]
        raise ValueInputError(
            f"{where}: line 1: the header lacks the column(s) {', '.join(missing)}; the first "
            "line must name the columns student,variant,quantity,value (or student,variant and "
            "one column per quantity; id and email columns are welcome) (found: "
            f"{', '.join(repr(inert_text(c)) for c in cells[:8]) or 'nothing'})"
        )
    identity = {c: found[c] for c in IDENTITY if c in found}
    if "quantity" in found and "value" in found:
        return _Layout(identity, found["variant"], found["quantity"], found["value"], {})
    if "quantity" in found or "value" in found:
        raise ValueInputError(f"{where}: line 1: a long CSV needs both quantity and value columns")
    used = set(identity.values()) | {found["variant"]}
    wide = {
        k: cells[k].strip().strip("\ufeff")
        for k, name in enumerate(names)
        if k not in used and name and name not in IGNORED
    }
    if not wide:
        raise ValueInputError(
            f"{where}: line 1: no quantity columns (a wide CSV has one column per quantity, "
            "such as z, yhat, dL/dw1; a long one the columns quantity and value)"
        )
    return _Layout(identity, found["variant"], None, None, wide)


def _who(ident: dict[str, str]) -> str:
    return ident.get("student") or ident.get("id") or ident.get("email") or ""


def read_csv(path: str | Path) -> tuple[list[Submission], list[str]]:
    """Submissions from a CSV file, and the problems found in it (by line)."""
    where = str(path)
    p = Path(path)
    if p.is_file() and p.stat().st_size > MAX_BYTES:
        raise ValueInputError(f"{where}: larger than {MAX_BYTES // 1_000_000} MB")
    if str(path) == "-":
        text, encoding = read_text(path, "submissions file"), None
    else:
        if not p.is_file():
            read_text(path, "submissions file")  # the same message as every input
        text, encoding = decode_submissions(p.read_bytes(), where)
    problems: list[str] = []
    if encoding is not None:
        problems.append(f"{where}: read as {encoding}")
    lines = text.splitlines()
    first = 1
    delimiter = None
    if lines and re.fullmatch(r"\s*sep=(.)\s*", lines[0]):
        delimiter = lines[0].strip()[4]
        text = "\n".join(lines[1:])
        lines = lines[1:]
        first = 2
    if not any(line.strip() for line in lines):
        raise ValueInputError(f"{where}: the file is empty (expected a header line)")
    delimiter = delimiter or _delimiter(lines[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = [(n + first - 1, r) for n, r in _limited(reader, where)]
    except csv.Error as exc:
        raise ValueInputError(f"{where}: line {reader.line_num}: not valid CSV ({exc})") from None
    _spanning_quotes(rows, first, delimiter, where)
    header = rows[0][1]
    layout = _header(header, where)
    value_last = layout.value is not None and layout.value == len(header) - 1
    by_key: dict[tuple[str, str], Submission] = {}
    names: dict[str, list[Submission]] = {}
    needed = max(
        [layout.variant, *layout.identity.values()]
        + ([layout.quantity or 0, layout.value or 0] if layout.value is not None else [])
    )
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        at = f"line {line}"
        ident = {c: _tidy(cells[k]) if k < len(cells) else "" for c, k in layout.identity.items()}
        if len(cells) <= needed:
            who = _who(ident)
            problems.append(
                f"{at}{' (' + who + ')' if who else ''}: {len(cells)} cells, expected at least "
                f"{needed + 1}; not read"
            )
            sub = _find(by_key, ident)
            if sub is not None:
                sub.problems.append(f"{at}: {len(cells)} cells, expected {needed + 1}; not read")
            continue
        extra_note = ""
        if len(cells) > len(header):
            k = layout.value or 0
            joined = ",".join(cells[k:])
            if value_last and delimiter == "," and _DECIMAL_COMMA.fullmatch(joined.strip()):
                # an unquoted decimal comma: 0,06 (or [-0,346, -0,92]) split in cells
                cells = cells[:k] + [joined]
            else:
                beyond = [c for c in cells[len(header) :] if c.strip()]
                cells = cells[: len(header)]
                if beyond:
                    shown = ", ".join(repr(inert_text(short(c))) for c in beyond[:3])
                    extra_note = (
                        f"{at}: {len(header) + len(beyond)} cells where the header names "
                        f"{len(header)}; the cells past the header ({shown}"
                        f"{', …' if len(beyond) > 3 else ''}) are not read"
                    )
        variant = inert_text(short(cells[layout.variant].strip()))  # an id is short
        who = _who(ident)
        if not who:
            problems.append(f"{at}: no student name, id or email; not read")
            continue
        if "id" in ident and ident["id"]:
            key = ("id", ident["id"].casefold())
        elif "email" in ident and ident["email"]:
            key = ("email", ident["email"].casefold())
        else:
            key = ("name", student_key(ident.get("student", "")) + "\x00" + variant_key(variant))
        sub = by_key.get(key)
        if sub is None:
            sub = by_key[key] = Submission(
                ident.get("student") or who,
                variant,
                id=ident.get("id", ""),
                email=ident.get("email", ""),
                where=at,
            )
            names.setdefault(student_key(sub.student), []).append(sub)
        elif variant and not sub.variant:
            sub.variant = variant
        elif variant and variant_key(variant) != variant_key(sub.variant):
            sub.problems.append(
                f"{at}: variant {variant!r}, but earlier lines say {sub.variant!r}; "
                "graded against the first"
            )
        if extra_note:
            sub.problems.append(extra_note)
        if layout.value is not None:
            quantity = cells[layout.quantity or 0].strip()
            value = cells[layout.value].strip()
            sub.entries.append(Entry(at, quantity, value))
        else:
            for k, quantity in layout.wide.items():
                value = cells[k].strip() if k < len(cells) else ""
                sub.entries.append(Entry(f"{at}, column {quantity}", quantity, value))
    if not by_key:
        raise ValueInputError(
            f"{where}: no student's answers in the file"
            + (f" ({clip_note(problems[-1])})" if problems else " (a header and no rows)")
            + "; is it the right export?"
        )
    for subs in names.values():
        if len(subs) > 1 and not any(s.id or s.email for s in subs):
            shown = ", ".join(f"{s.variant or '?'} ({s.where})" for s in subs)
            problems.append(
                f"{len(subs)} students named {subs[0].student!r}, told apart by their variants "
                f"{shown}; add an id or email column to be sure"
            )
    return list(by_key.values()), problems


def _find(by_key: dict[tuple[str, str], Submission], ident: dict[str, str]) -> Submission | None:
    for kind in ("id", "email"):
        if ident.get(kind):
            return by_key.get((kind, ident[kind].casefold()))
    name = student_key(ident.get("student", ""))
    hits = [s for (k, v), s in by_key.items() if k == "name" and v.split("\x00")[0] == name]
    return hits[0] if len(hits) == 1 else None


def _spanning_quotes(
    rows: list[tuple[int, list[str]]], first: int, delimiter: str, where: str
) -> None:
    """Refuse a quote left open: the csv module reads every line up to the next quote (or to
    the end of the file) as one cell, so the students on those lines would vanish without a
    word. A quoted cell swallowed rows when a line inside it splits into as many cells as the
    header (a comment over two lines, "I think, maybe\\nnot sure", is only a cell)."""
    width = max(len(rows[0][1]), 2) if rows else 2
    end = first - 1
    for line, cells in rows:
        start = end + 1
        end = line
        if line > start and any(
            part.count(delimiter) >= width - 1
            for c in cells
            if "\n" in c
            for part in c.split("\n")[1:]
        ):
            raise ValueInputError(
                f"{where}: line {start}: a quote opened on this line runs on to line {line} "
                f"(closed there, or never), so lines {start + 1} to {line} would be read as "
                "part of one cell (students dropped); close the quote or remove it"
            )


def _limited(reader: Any, where: str) -> Iterator[tuple[int, list[str]]]:
    for k, row in enumerate(reader):
        if k > MAX_ROWS:
            raise ValueInputError(f"{where}: more than {MAX_ROWS} rows")
        yield reader.line_num, row


_SPLIT = re.compile(r"[=≈]")
# numbers (or a vector of them) written with decimal commas, and nothing else
_DECIMAL_COMMA = re.compile(r"(?=.*\d,\d)[\d\s,.\[\]+\-−eE]+")
SHOWN = 60  # characters of a student's text quoted back in a note


NOTE_LIMIT = 400  # characters of one note about a student's row


def clip_note(text: str, limit: int = NOTE_LIMIT) -> str:
    """A note as a teacher reads it: a huge cell quoted in it is cut in the middle, keeping
    where (the line, the student) and why (the end of the message)."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return text[: limit - tail - 3] + " … " + text[-tail:]


def short(text: str, limit: int = SHOWN) -> str:
    """A student's text as a note quotes it: at most ``limit`` characters, then '…'."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        # a file name that is not UTF-8 (bytes kept as surrogates by Python) is shown with
        # U+FFFD in their place: every report and CSV is UTF-8
        f_name = os.fsencode(f.name).decode("utf-8", "replace")
        sub = Submission(_tidy(os.fsencode(f.stem).decode("utf-8", "replace")), "", where=f_name)
        try:
            if f.stat().st_size > MAX_BYTES:
                raise ValueInputError(f"{f_name}: larger than {MAX_BYTES // 1_000_000} MB")
            body, encoding = decode_submissions(f.read_bytes(), f_name)
        except (ChainruleError, OSError) as exc:
            # the student still has a row in grades.csv: 'not graded', and why
            why = exc.message if isinstance(exc, ChainruleError) else f"{f_name}: {exc.strerror}"
            sub.refused = f"the file cannot be read ({why})"
            problems.append(f"{why}; not graded")
            subs.append(sub)
            continue
        if encoding is not None:
            problems.append(f"{f_name}: read as {encoding}")
        if f.suffix.lower() in SOLUTION_SUFFIXES:  # a worked solution as written
            _solution_entries(sub, f_name, body, latex=f.suffix.lower() == ".tex")
            body = ""
        for k, raw in enumerate(body.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            at = f"{f_name} line {k}"
            for text in split_claims(line):  # z = -2.6; ŷ = 0.069: two answers
                parts = _SPLIT.split(text, maxsplit=1)
                name = parts[0].strip()
                if name.casefold() in ("variant", "student", "id", "email") and len(parts) == 2:
                    setattr(sub, name.casefold(), _tidy(parts[1]))
                    continue
                value = text[len(parts[0]) + 1 :].strip() if len(parts) == 2 else ""
                sub.entries.append(Entry(at, name, value))
        if not sub.variant:
            sub.refused = "no line 'variant = …'"
            problems.append(f"{f_name}: no line 'variant = …'; not graded")
        key = sub.id.casefold() or sub.email.casefold() or student_key(sub.student)
        if key in seen:
            sub.refused = f"the same student as {seen[key]}"
            problems.append(f"{f_name}: the same student as {seen[key]}; not graded")
        else:
            seen[key] = f_name
        subs.append(sub)
    return subs, problems


def _solution_entries(sub: Submission, name: str, body: str, *, latex: bool) -> None:
    """A worked solution's answers (the last number of each chain) and its variant: and
    student: lines."""
    from ..check.solution import solution_answers  # the LaTeX reader: solutions only

    unread: list[Any] = []
    try:
        answers, header = solution_answers(body, latex=latex, unread=unread)
    except ChainruleError as exc:
        sub.problems.append(f"{name}: {exc.message}")
        return
    for p in unread:
        sub.problems.append(f"{name} line {p.line}: {p.message}: {short(p.text)}; not read")
    if not answers:
        sub.problems.append(
            f"{name}: no answer found (no formula such as $z = 1.42$ names a quantity)"
        )
    for line, quantity, value in answers:
        sub.entries.append(Entry(f"{name} line {line}", quantity, value))
    sub.variant = _tidy(header.get("variant", ""))
    if header.get("student"):
        sub.student = _tidy(header["student"])


def read_submissions(path: str | Path) -> tuple[list[Submission], list[str]]:
    """Submissions from a CSV file or a folder, and the problems found (each note short)."""
    p = Path(path)
    subs, problems = read_folder(p) if p.is_dir() else read_csv(p)
    return subs, [clip_note(n) for n in problems]

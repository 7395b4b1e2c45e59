"""What the Gradescope autograder runs per submission (``run_autograder``): the student's
answers and metadata in, ``results/results.json`` out, never a crash for what a student wrote."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..core.errors import ChainruleError
from ..io.jsonout import strict_dumps
from .exports import gradescope_results
from .grading import Graded, find_variant, grade, load_class
from .scoring import load_scoring
from .submissions import Entry, Submission, decode_submissions

ANSWER_SUFFIXES = (".csv", ".txt", ".claims")


def _roster(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    text, _ = decode_submissions(path.read_bytes(), str(path))
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    head = [c.strip().casefold() for c in rows[0]]
    if "email" not in head or "variant" not in head:
        return {}
    e, v = head.index("email"), head.index("variant")
    return {r[e].strip().casefold(): r[v].strip() for r in rows[1:] if len(r) > max(e, v)}


def _entries(path: Path) -> tuple[list[Entry], str]:
    """Answers of one file: a CSV (quantity,value, or a wide row) or NAME = VALUE lines; and
    the variant the file names, if any."""
    text, _ = decode_submissions(path.read_bytes(), path.name)
    entries: list[Entry] = []
    variant = ""
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        head = [c.strip().casefold() for c in rows[0]] if rows else []
        if "quantity" in head and "value" in head:
            qk, vk = head.index("quantity"), head.index("value")
            vc = head.index("variant") if "variant" in head else None
            for n, r in enumerate(rows[1:], start=2):
                if vc is not None and len(r) > vc and r[vc].strip():
                    variant = variant or r[vc].strip()
                if len(r) > max(qk, vk):
                    entries.append(Entry(f"{path.name} line {n}", r[qk].strip(), r[vk].strip()))
            return entries, variant
        if len(rows) >= 2:
            for k, name in enumerate(rows[0]):
                value = rows[1][k].strip() if k < len(rows[1]) else ""
                if name.strip().casefold() == "variant":
                    variant = value
                elif name.strip():
                    entries.append(Entry(f"{path.name} column {name}", name.strip(), value))
        return entries, variant
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or "=" not in line:
            continue
        name, _, value = line.partition("=")
        if name.strip().casefold() == "variant":
            variant = value.strip()
            continue
        entries.append(Entry(f"{path.name} line {n}", name.strip(), value.strip()))
    return entries, variant


def grade_submission(root: Path) -> int:
    """Grade ``root/submission`` and write ``root/results/results.json``; 0 unless the
    autograder itself is broken (a student's mistake is a result, not a failure)."""
    source = root / "source"
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    email, name = "", "student"
    meta_path = root / "submission_metadata.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        users = meta.get("users") or []
        if users and isinstance(users[0], dict):
            email = str(users[0].get("email") or "")
            name = str(users[0].get("name") or email or "student")
    except (OSError, ValueError, AttributeError):
        meta = {}
    key = load_class(source)
    scoring = load_scoring(source / "scoring.toml" if (source / "scoring.toml").is_file() else None)
    roster = _roster(source / "roster.csv")
    files = sorted(
        p
        for p in (root / "submission").rglob("*")
        if p.is_file() and p.suffix.lower() in ANSWER_SUFFIXES
    )
    entries: list[Entry] = []
    written_variant = ""
    problems: list[str] = []
    for f in files[:20]:
        try:
            got, v = _entries(f)
        except ChainruleError as exc:
            problems.append(f"{f.name}: {exc}")
            continue
        entries += got
        written_variant = written_variant or v
    variant = roster.get(email.casefold(), "") or written_variant
    if email.casefold() in roster and written_variant:
        mine = find_variant(key, written_variant)
        if mine is not None and mine != find_variant(key, roster[email.casefold()]):
            problems.append(
                f"your file says variant {written_variant}, the roster {roster[email.casefold()]}: "
                "graded against the roster's"
            )
    sub = Submission(name, variant, entries, problems, email=email)
    if not files:
        sub.refused = "no answers file (.csv, .txt or .claims) in the submission"
    elif not variant:
        sub.refused = "no variant: not on the roster, and the file names none (variant = v03)"
    g: Graded = grade(key, sub, scoring)
    (results / "results.json").write_text(gradescope_results(g), encoding="utf-8")
    return 0


__all__ = ["grade_submission", "strict_dumps"]

"""Grading benchmark: ``chainrule grade`` of classes of N students, in-process.

Builds the reference template's class (20 variants, exact numbers, as ``generate`` writes it)
and, for each size, a wide CSV (one row per student, as an LMS or Google Forms exports it) of
students making the mistakes real classes make: blank cells, one significant digit, a sheet of
zeros, a wrong variant id, two students of one name, decimal commas, a sign slip carried
forward, another variant's answers, an arithmetic slip. Each size is graded once with
``write_report`` (reading, grading, feedback pages, every export) and timed in wall and CPU
time; the per-student cost at each size shows whether the time grows linearly. Writes its table
into benchmarks/RESULTS.md between the grading markers.

Run: .venv/bin/python benchmarks/grading.py [--sizes 200,1000,5000,20000] [--quick]
(--quick: 200 and 1,000 students, print only)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from results import write_section  # noqa: E402

from chainrule.teach.generate import generate  # noqa: E402
from chainrule.teach.report import write_report  # noqa: E402

TEMPLATE = Path(__file__).resolve().parent.parent / "examples" / "teaching" / "reference.toml"
VARIANTS = 20
SIZES = (200, 1_000, 5_000, 20_000)


def build_class(folder: Path) -> Path:
    """The reference template's class: manifest and variant folders, no PDFs or solutions."""
    out = folder / "class"
    generate(TEMPLATE, out, count=VARIANTS, seed=2024, pdfs=False, solutions=False)
    return out


def _text(x: float, digits: int = 4) -> str:
    return f"{x:#.{digits}g}"


def student_row(k: int, rng: random.Random, variants: list[dict]) -> tuple[list[str], dict]:
    """One student's name, variant and answers (by quantity, with a realistic mistake)."""
    v = rng.choice(variants)
    answers = dict(v["answers"])
    qs = list(answers)
    name = f"Student {k:06d}"
    vid = v["id"]
    roll = rng.random()
    cells = {q: _text(answers[q]) for q in qs}
    if roll < 0.40:
        pass  # every answer right, four significant digits
    elif roll < 0.48:  # some cells left blank
        for q in rng.sample(qs, 3):
            cells[q] = ""
    elif roll < 0.55:  # one significant digit: too few
        cells = {q: f"{answers[q]:.1g}" for q in qs}
    elif roll < 0.58:  # a sheet of zeros
        cells = {q: "0" for q in qs}
    elif roll < 0.61:  # a variant id the manifest does not have
        vid = "v99"
    elif roll < 0.64:  # two students of one name (the name of the student before)
        name = f"Student {max(k - 1, 0):06d}"
    elif roll < 0.74:  # decimal commas
        cells = {q: t.replace(".", ",") for q, t in cells.items()}
    elif roll < 0.86:  # the sign of the local partial wrong, carried into every gradient
        flipped = {"∂ŷ/∂z", "dL/dz", "dL/dw1", "dL/dw2", "dL/db₀"}
        cells = {q: _text(-answers[q]) if q in flipped else t for q, t in cells.items()}
    elif roll < 0.91:  # another variant's answers under their own id
        other = rng.choice(variants)["answers"]
        cells = {q: _text(other[q]) if q in other else t for q, t in cells.items()}
    else:  # an arithmetic slip at one quantity, the rest right
        q = rng.choice(qs)
        cells[q] = _text(answers[q] * 1.37 + 0.01)
    return [name, vid], cells


def write_students(class_dir: Path, path: Path, n: int, seed: int = 7) -> None:
    manifest = json.loads((class_dir / "manifest.json").read_text(encoding="utf-8"))
    variants = manifest["variants"]
    qs = list(dict.fromkeys(q for v in variants for q in v["answers"]))
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Name", "Variant", *qs])
        for k in range(n):
            who, cells = student_row(k, rng, variants)
            w.writerow(who + [cells.get(q, "") for q in qs])


def grade_once(class_dir: Path, answers: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``chainrule grade`` (as the command runs it)."""
    t0, c0 = time.perf_counter(), time.process_time()
    write_report(class_dir, answers, out, force=True, anyway=True)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--quick", action="store_true", help="200 and 1,000 students, print only")
    args = ap.parse_args()
    sizes = [200, 1_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        class_dir = build_class(folder)
        warm = folder / "warm.csv"  # imports, matplotlib's fonts: not the class's cost
        write_students(class_dir, warm, 20)
        grade_once(class_dir, warm, folder / "warm-report")
        for n in sizes:
            answers = folder / f"class-{n}.csv"
            write_students(class_dir, answers, n)
            wall, cpu = grade_once(class_dir, answers, folder / f"report-{n}")
            per = 1000 * cpu / n
            print(f"{n:>7} students: wall {wall:.2f} s, CPU {cpu:.2f} s, {per:.2f} ms CPU each")
            rows.append(f"| {n:,} | {wall:.2f} | {cpu:.2f} | {per:.2f} | {1000 * wall / n:.2f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = (
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average {load:.2f} after the run"
    )
    section = "\n".join(
        [
            "#### Grading a class (`chainrule grade`, in-process, every output written)",
            "",
            f"The reference template, {VARIANTS} variants in exact numbers; a wide CSV of N "
            "students with blank cells, one-digit answers, zeros, a wrong variant id, two "
            "students of one name, decimal commas, sign slips, another variant's answers and "
            "arithmetic slips. One run per size.",
            "",
            "| students | wall s | CPU s | CPU ms a student | wall ms a student |",
            "|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Machine: {machine}. Command: `.venv/bin/python benchmarks/grading.py "
            f"--sizes {','.join(str(s) for s in sizes)}`.",
        ]
    )
    print(section)
    if not args.quick:
        write_section("grading", section)


if __name__ == "__main__":
    main()

"""``chainrule grade``: a class's answers in, grades, feedback, a summary and exports out.

::

    REPORT_DIR/grades.csv          one row per student: student, variant, score, max_score, ...
    REPORT_DIR/verdicts.csv        one row per student and quantity
    REPORT_DIR/summary.md          verdict counts, the most common first slips and where
    REPORT_DIR/first-slips.png     the same as a bar chart
    REPORT_DIR/students/NNN-name.md   each student's feedback page
    REPORT_DIR/exports/gradescope/NNN-name/results.json
    REPORT_DIR/exports/moodle.xml

File names come from the student's place in the submissions and an ASCII form of the name, never
from the name as written; every cell of the CSVs is made inert for spreadsheets."""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..check.names import GRADIENT, PARTIAL
from ..explain import markdown as markdown_writer
from ..explain.document import Document, Heading, Inline, Paragraph, Table
from ..explain.formulas import Math, label
from ..io.files import bundle, write_file
from ..lang.notation import naming_of
from .csvout import csv_text
from .exports import gradescope_results, moodle_xml
from .feedback import feedback_markdown, points_text
from .grading import ClassKey, Graded, Mark, grade, load_class
from .scoring import FIRST_SLIP, VERDICTS, load_scoring
from .submissions import read_submissions

MARKER = ".chainrule-report"


@dataclass
class Report:
    directory: Path
    graded: list[Graded]
    problems: list[str] = field(default_factory=list)


def slug(name: str, k: int) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].strip("-")
    return f"{k:03d}-{plain or 'student'}"


def where_text(m: Mark) -> str:
    """The node of a slip, in words: the value of z, the total at ŷ, the edge z → ŷ."""
    q = m.q
    if q is None:
        return ""
    node = label(q.node, naming_of(q.top if q.top is not None else q.node)).text
    if q.claim_type == GRADIENT:
        return f"backward, at {node}"
    if q.claim_type == PARTIAL and q.top is not None:
        return f"local partial on the edge {node} → {label(q.top, naming_of(q.top)).text}"
    return f"forward, at {node}"


def grades_rows(graded: list[Graded], feedback: dict[int, str]) -> list[list[str]]:
    rows = [
        [
            "student",
            "variant",
            "score",
            "max_score",
            "right_or_rounding",
            "first_slip",
            "first_slip_at",
            "feedback",
            "problems",
        ]
    ]
    for k, g in enumerate(graded):
        slip = g.first_slip
        right = sum(m.verdict in ("right", "rounding") for m in g.marks)
        rows.append(
            [
                g.student,
                g.variant,
                points_text(g.score) if g.graded else "",
                points_text(g.max_score) if g.graded else "",
                str(right),
                slip.quantity if slip else "",
                where_text(slip) if slip else "",
                feedback[k],
                " | ".join(g.problems),
            ]
        )
    return rows


def verdict_rows(graded: list[Graded]) -> list[list[str]]:
    rows = [["student", "variant", "quantity", "claimed", "correct", "verdict", "points", "max"]]
    for g in graded:
        for m in g.marks:
            rows.append(
                [
                    g.student,
                    g.variant,
                    m.quantity,
                    m.claimed or "",
                    repr(m.true),
                    m.verdict,
                    points_text(m.points),
                    points_text(m.max_points),
                ]
            )
    return rows


def first_slips(graded: list[Graded]) -> list[tuple[str, str, int]]:
    """(quantity, where, students) for the first slips, the most common first."""
    counts: Counter[tuple[str, str]] = Counter()
    for g in graded:
        slip = g.first_slip
        if slip is not None:
            counts[(slip.quantity, where_text(slip))] += 1
    return [(q, w, n) for (q, w), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def summary_document(key: ClassKey, graded: list[Graded], problems: list[str]) -> Document:
    done = [g for g in graded if g.graded]
    blocks: list = [
        Paragraph(
            [
                f"{len(done)} students graded"
                + (f", {len(graded) - len(done)} could not be" if len(graded) > len(done) else "")
                + "."
            ]
        )
    ]
    if done:
        mean = sum(g.score for g in done) / len(done)
        top = sum(g.max_score for g in done) / len(done)
        blocks.append(Paragraph([f"Mean score {mean:.2f} of {top:g}."]))
    counts = Counter(m.verdict for g in done for m in g.marks)
    blocks.append(Heading("Verdicts"))
    rows: list[list[Inline]] = [[v, str(counts.get(v, 0))] for v in VERDICTS]
    blocks.append(Table(["Verdict", "Answers"], rows))
    blocks.append(Heading("Most common first slips"))
    slips = first_slips(done)
    if slips:
        rows = [[q, w, str(n)] for q, w, n in slips]
        blocks.append(Table(["Quantity", "Where", "Students"], rows))
        blocks.append(Paragraph(["The same as a chart: first-slips.png."]))
    else:
        blocks.append(Paragraph(["No first slips: every wrong answer, if any, was unreadable."]))
    if problems or any(g.problems for g in graded):
        blocks.append(Heading("Problems in the submissions"))
        blocks.extend(Paragraph([p]) for p in problems)
        for g in graded:
            blocks.extend(Paragraph([f"{g.student}: {p}"]) for p in g.problems)
    return Document(f"Summary: {key.title}" if key.title else "Summary", blocks)


def chart_png(slips: list[tuple[str, str, int]]) -> bytes:
    """A bar chart of the most common first slips (at most 12), as PNG bytes with no date."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    shown = slips[:12][::-1]
    fig = Figure(figsize=(7, 0.5 * max(len(shown), 1) + 1.5), dpi=100)
    ax = fig.add_subplot()
    if shown:
        names = [_plain_label(f"{q} ({w})") for q, w, _ in shown]
        ax.barh(range(len(shown)), [n for _, _, n in shown], color="#c0504d")
        ax.set_yticks(range(len(shown)), names)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.text(0.5, 0.5, "no first slips", ha="center", va="center")
        ax.set_yticks([])
    ax.set_xlabel("students")
    ax.set_title("Most common first slips")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _plain_label(text: str) -> str:
    """Text matplotlib prints as it is: a $ would start mathtext."""
    return text.replace("$", r"\$")


def write_report(
    class_dir: str | Path,
    submissions: str | Path,
    directory: str | Path,
    *,
    scoring_file: str | Path | None = None,
    force: bool = False,
    label: str = "",
) -> Report:
    key = load_class(class_dir)
    scoring = load_scoring(scoring_file)
    subs, problems = read_submissions(submissions)
    graded = [grade(key, s, scoring) for s in subs]
    folder = Path(directory)
    feedback: dict[int, str] = {}
    inputs = [submissions, Path(class_dir) / "manifest.json", scoring_file]
    with bundle(
        folder, force=force, marker=MARKER, inputs=inputs, label=label, replace_marked_dirs=MARKER
    ) as stage:
        (stage / "students").mkdir()
        gs = stage / "exports" / "gradescope"
        gs.mkdir(parents=True)
        for k, g in enumerate(graded, start=1):
            name = slug(g.student, k)
            variant = key.variants.get(g.variant)
            page = feedback_markdown(g, variant, scoring, key.digits, key.title)
            write_file(stage / "students" / f"{name}.md", page)
            feedback[k - 1] = f"students/{name}.md"
            (gs / name).mkdir()
            write_file(gs / name / "results.json", gradescope_results(g))
        write_file(stage / "students" / MARKER, "written by chainrule grade\n")
        write_file(stage / "exports" / MARKER, "written by chainrule grade\n")
        write_file(stage / "grades.csv", csv_text(grades_rows(graded, feedback)))
        write_file(stage / "verdicts.csv", csv_text(verdict_rows(graded)))
        points = {n: scoring.points_for(n) for v in key.variants.values() for n in v.answers}
        write_file(stage / "exports" / "moodle.xml", moodle_xml(key, points))
        summary = summary_document(key, graded, problems)
        write_file(stage / "summary.md", markdown_writer.write(summary))
        write_file(stage / "first-slips.png", chart_png(first_slips(graded)))
        write_file(stage / MARKER, "written by chainrule grade; safe to replace\n")
    return Report(folder, graded, problems)


__all__ = ["FIRST_SLIP", "Math", "Report", "write_report"]

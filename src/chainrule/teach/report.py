"""``chainrule grade``: a class's answers in, grades, feedback, a summary and exports out.

::

    REPORT_DIR/grades.csv          one row per student: student, id, email, variant, score,
                                   max_score, status, notes, ...
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..check.kinds import KIND_SENTENCES, KINDS
from ..check.names import GRADIENT, PARTIAL
from ..core.errors import ValueInputError
from ..explain import markdown as markdown_writer
from ..explain.document import Document, Heading, Inline, Paragraph, Table
from ..explain.formulas import Math, element_label, label
from ..io.files import bundle, write_file
from ..lang.notation import naming_of
from .csvout import csv_lines, csv_text
from .exports import gradescope_results, moodle_grades, moodle_xml
from .feedback import feedback_markdown, points_text
from .grading import ClassKey, Graded, Mark, grade, load_class
from .scoring import (
    FIRST_SLIP,
    FOLLOWS,
    ROUNDING,
    TOO_FEW,
    VERDICTS,
    check_names,
    load_scoring,
)
from .sheets import ascii_name
from .staged import sync_written, write_lines, write_new
from .submissions import read_submissions

MARKER = ".chainrule-report"


@dataclass
class Report:
    directory: Path
    graded: list[Graded]
    problems: list[str] = field(default_factory=list)
    warning: str | None = None


def slug(name: str, k: int) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].strip("-")
    return f"{k:03d}-{plain or 'student'}"


def where_text(m: Mark) -> str:
    """The node of a slip, in words: the value of z, the total at ŷ, the edge z → ŷ; an
    element keeps its index (at w₂, not at w)."""
    q = m.q
    if q is None:
        return ""
    names = naming_of(q.top if q.top is not None else q.node)
    node = (
        element_label(q.node, q.index, names).text
        if q.index is not None
        else label(q.node, names).text
    )
    if q.claim_type == GRADIENT:
        return f"backward, at {node}"
    if q.claim_type == PARTIAL and q.top is not None:
        return f"local partial on the edge {node} → {label(q.top, naming_of(q.top)).text}"
    return f"forward, at {node}"


def grades_rows(graded: list[Graded], feedback: dict[int, str]) -> Iterator[list[str]]:
    """The rows of grades.csv, one at a time."""
    yield (
        [
            "student",
            "id",
            "email",
            "variant",
            "score",
            "max_score",
            "status",
            "notes",
            "right_or_rounding",
            "first_slip",
            "first_slip_at",
            "mistake",
            "feedback",
            "problems",
        ]
    )
    for k, g in enumerate(graded):
        slip = g.first_slip
        right = sum(m.verdict in ("right", "rounding") for m in g.marks)
        notes = ([f"not graded: {g.why_not}"] if not g.graded and g.why_not else []) + g.notes
        yield (
            [
                g.student,
                g.id,
                g.email,
                g.variant,
                points_text(g.score) if g.graded else "",
                points_text(g.max_score) if g.graded else "",
                g.status,
                " | ".join(notes),
                str(right) if g.graded else "",
                slip.quantity if slip else "",
                where_text(slip) if slip else "",
                (slip.kind or "") if slip else "",
                feedback[k],
                " | ".join(g.problems),
            ]
        )


def verdict_rows(graded: list[Graded]) -> Iterator[list[str]]:
    """The rows of verdicts.csv, one at a time (a class of 150,000 has over a million)."""
    yield (
        [
            "student",
            "id",
            "variant",
            "quantity",
            "claimed",
            "correct",
            "verdict",
            "mistake",
            "points",
            "max",
        ]
    )
    for g in graded:
        for m in g.marks:
            yield [
                g.student,
                g.id,
                g.variant,
                m.quantity,
                m.claimed or "",
                repr(m.true),
                m.verdict,
                m.kind or "",
                points_text(m.points),
                points_text(m.max_points),
            ]


def _own_work(graded: list[Graded]) -> list[Graded]:
    """The students whose slips say something about the class: graded, and not holding another
    variant's answers (whose 'slip' at the first value is only the other variant's number)."""
    return [g for g in graded if g.graded and not g.other_variant]


def first_slips(graded: list[Graded]) -> list[tuple[str, str, int]]:
    """(quantity, where, students) for the first slips, the most common first; students whose
    answers are another variant's are left out."""
    counts: Counter[tuple[str, str]] = Counter()
    for g in _own_work(graded):
        slip = g.first_slip
        if slip is not None:
            counts[(slip.quantity, where_text(slip))] += 1
    return [(q, w, n) for (q, w), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def mistake_counts(graded: list[Graded]) -> list[tuple[str, int]]:
    """(kind, students) for the kinds of first slips, the most common first."""
    counts: Counter[str] = Counter()
    for g in _own_work(graded):
        slip = g.first_slip
        if slip is not None and slip.kind:
            counts[slip.kind] += 1
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99)))


_UNKNOWN_COLUMN = re.compile(r"line \d+, column (.+?): .*no quantity is named")


def unknown_columns(graded: list[Graded]) -> list[str]:
    """Columns of a wide CSV that name no quantity are the header's mistake, not each
    student's: one note for all of them (which columns, how many students answered in them)
    replaces the students' notes, so 20,000 bad columns are not 20,000 lines per student."""
    hits: dict[str, set[int]] = {}
    for k, g in enumerate(graded):
        kept = []
        for p in g.problems:
            m = _UNKNOWN_COLUMN.match(p)
            if m:
                hits.setdefault(m.group(1), set()).add(k)
            else:
                kept.append(p)
        g.problems = kept
    if not hits:
        return []
    columns = list(hits)
    students = len(set().union(*hits.values()))
    shown = ", ".join(repr(c[:40]) for c in columns[:10]) + (" …" if len(columns) > 10 else "")
    which = (
        f"column {shown} names" if len(columns) == 1 else f"{len(columns)} columns ({shown}) name"
    )
    return [
        f"{which} no quantity of this class; not read ({students} student"
        f"{'s' if students != 1 else ''} answered in {'it' if len(columns) == 1 else 'them'})"
    ]


_UNKNOWN_NAME = re.compile(r"line \d+: .*?no quantity is named (.+?) \(named")


def nothing_named(graded: list[Graded], key: ClassKey) -> str | None:
    """When not one answer of the file names a quantity of the class (an LMS export's Q1, Q2,
    Q3 columns, a long CSV of another exercise's names), every student would get 0: the file
    is refused, naming its columns (or names) and the quantities expected."""
    done = [g for g in graded if g.graded]
    if not done or any(m.claimed is not None for g in done for m in g.marks):
        return None
    found: dict[str, None] = {}
    for g in done:
        for p in g.problems:
            m = _UNKNOWN_COLUMN.match(p) or _UNKNOWN_NAME.match(p)
            if m:
                found[m.group(1) if m.re is _UNKNOWN_COLUMN else m.group(1).strip("'\"")] = None
    if not found:
        return None  # blank answers, or none at all: nothing here to name
    names = list(found)
    shown = ", ".join(repr(n[:40]) for n in names[:10]) + (" …" if len(names) > 10 else "")
    wide = any(_UNKNOWN_COLUMN.match(p) for g in done for p in g.problems)
    what = "column" if wide else "quantity name"
    which = f"the {what} {shown}" if len(names) == 1 else f"the {what}s {shown}"
    expected: dict[str, None] = {}
    for v in key.variants.values():
        for q in v.answers:
            plain = ascii_name(q)
            expected[q if plain == q else f"{q} ({plain})"] = None
    listed = list(expected)
    wanted = ", ".join(listed[:20]) + (" …" if len(listed) > 20 else "")
    return (
        f"no answer names a quantity of this class ({which} name none), so every student "
        f"would score 0; the class's quantities are {wanted}: "
        + ("rename the columns in the header line" if wide else "write these names")
        + " and grade again."
    )


def class_mismatch(graded: list[Graded]) -> str | None:
    """A loud warning when the answers match nothing in this class (another class's answers,
    or the wrong manifest): most answers neither right nor following from the student's own
    numbers, across at least three students who answered."""
    answered = [g for g in graded if g.graded and any(m.claimed is not None for m in g.marks)]
    if len(answered) < 3:
        return None
    marks = [m for g in answered for m in g.marks if m.claimed is not None]
    good = sum(m.verdict in ("right", ROUNDING, TOO_FEW, FOLLOWS) for m in marks)
    unknown = sum(sum("no quantity is named" in p for p in g.problems) for g in answered)
    if good <= 0.1 * len(marks) or unknown > len(marks):
        return (
            f"only {good} of {len(marks)} answers are right or follow from the student's own "
            f"numbers, and {unknown} answers name quantities this class does not have: are "
            "these answers for another class (another manifest)?"
        )
    return None


def summary_document(
    key: ClassKey, graded: list[Graded], problems: list[str], warning: str | None = None
) -> Document:
    done = [g for g in graded if g.graded]
    blocks: list = []
    if warning:
        blocks.append(Paragraph([f"WARNING: {warning}"]))
    rule = graded[0].rule if graded else key.rule
    blocks.append(Paragraph([f"The rule: {rule.describe()}"]))
    blocks += [
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
    elsewhere = sum(1 for g in done if g.other_variant)
    if elsewhere:
        blocks.append(
            Paragraph(
                [
                    f"{elsewhere} student{'s' if elsewhere != 1 else ''} whose answers are "
                    "another variant's are left out of these counts (see below)."
                ]
            )
        )
    kinds = mistake_counts(done)
    if kinds:
        blocks.append(Heading("Mistakes by kind"))
        rows = [
            [k, str(n), f"{n} student{'s' if n != 1 else ''} {KIND_SENTENCES.get(k, k)}"]
            for k, n in kinds
        ]
        blocks.append(Table(["Kind", "Students", "In words"], rows))
        blocks.append(Paragraph(["The same as a chart: mistake-kinds.png."]))
    others = [g for g in graded if g.other_variant]
    if others:
        blocks.append(Heading("Answers of another variant"))
        for g in others:
            blocks.append(Paragraph([f"{g.student} ({g.variant or 'no variant'}): {g.notes[-1]}"]))
    not_graded = [g for g in graded if not g.graded]
    if not_graded:
        blocks.append(Heading("Not graded"))
        for g in not_graded:
            blocks.append(Paragraph([f"{g.student}: {g.why_not}"]))
    if problems or any(g.problems for g in graded):
        blocks.append(Heading("Problems in the submissions"))
        blocks.extend(Paragraph([p]) for p in problems)
        for g in graded:
            blocks.extend(Paragraph([f"{g.student}: {p}"]) for p in g.problems)
    return Document(f"Summary: {key.title}" if key.title else "Summary", blocks)


def chart_png(slips: list[tuple[str, str, int]], title: str = "Most common first slips") -> bytes:
    """A bar chart of the most common first slips (at most 12), as PNG bytes with no date."""
    import matplotlib  # matplotlib, only when a chart is drawn

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # matplotlib, only when a chart is drawn
    from matplotlib.ticker import MaxNLocator  # matplotlib, only when a chart is drawn

    shown = slips[:12][::-1]
    fig = Figure(figsize=(7, 0.5 * max(len(shown), 1) + 1.5), dpi=100)
    ax = fig.add_subplot()
    if shown:
        names = [_plain_label(f"{q} ({w})" if w else q) for q, w, _ in shown]
        ax.barh(range(len(shown)), [n for _, _, n in shown], color="#c0504d")
        ax.set_yticks(range(len(shown)), names)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.text(0.5, 0.5, "no first slips", ha="center", va="center")
        ax.set_yticks([])
    ax.set_xlabel("students")
    ax.set_title(title)
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
    anyway: bool = False,
) -> Report:
    key = load_class(class_dir)
    scoring = load_scoring(scoring_file)
    if scoring_file is not None:
        names = {q for v in key.variants.values() for q in v.answers}
        check_names(scoring, names, str(scoring_file))
    subs, problems = read_submissions(submissions)
    subs.reverse()  # each submission let go once graded: a big class is not held twice
    graded = []
    while subs:
        graded.append(grade(key, subs.pop(), scoring))
    warning = nothing_named(graded, key) or class_mismatch(graded)
    if warning and not anyway:
        raise ValueInputError(
            f"{submissions}: {warning} Nothing written; give --anyway to grade them regardless"
        )
    problems += unknown_columns(graded)
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
            write_new(stage / "students" / f"{name}.md", page)
            feedback[k - 1] = f"students/{name}.md"
            (gs / name).mkdir()
            write_new(gs / name / "results.json", gradescope_results(g))
        write_file(stage / "students" / MARKER, "written by chainrule grade\n")
        write_file(stage / "exports" / MARKER, "written by chainrule grade\n")
        write_lines(stage / "grades.csv", csv_lines(grades_rows(graded, feedback)))
        write_lines(stage / "verdicts.csv", csv_lines(verdict_rows(graded)))
        points = {n: scoring.points_for(n) for v in key.variants.values() for n in v.answers}
        images = {}
        for vid in key.variants:
            png = Path(class_dir) / vid / "graph.png"
            if vid.isalnum() and png.is_file() and not png.is_symlink():
                images[vid] = png.read_bytes()
        rule = scoring.rule or key.rule
        moodle = moodle_xml(
            key, points, rule=rule, images=images, rounding_share=scoring.credit[ROUNDING]
        )
        write_file(stage / "exports" / "moodle.xml", moodle)
        summary = summary_document(key, graded, problems, warning)
        write_file(stage / "summary.md", markdown_writer.write(summary))
        write_file(stage / "first-slips.png", chart_png(first_slips(graded)))
        kinds = [(k, "", n) for k, n in mistake_counts(graded)]
        write_file(stage / "mistake-kinds.png", chart_png(kinds, "First slips by kind"))
        write_file(stage / "exports" / "moodle-grades.csv", csv_text(moodle_grades(graded)))
        write_file(stage / MARKER, "written by chainrule grade; safe to replace\n")
        sync_written()  # the feedback pages and results, once for all
    return Report(folder, graded, problems, warning)


__all__ = ["FIRST_SLIP", "Math", "Report", "write_report"]

"""``chainrule generate``: a template in, a class folder out.

::

    DIR/manifest.json          variant ids, seeds, programs and answers (the grading contract)
    DIR/answer-key.csv|.md|.tex|.pdf
    DIR/template.toml          the template, as read
    DIR/v01/worksheet.md|.tex|.pdf
    DIR/v01/graph.svg|.png     the forward graph without numbers ([worksheet] graph = true)
    DIR/v01/answers.json       this variant's answers
    DIR/v01/solution/          the bundle ``chainrule solve`` writes for it
    DIR/handout/v01/           the worksheet and blank graph only: safe to hand out whole
    DIR/exports/               gradescope-autograder.zip, moodle.xml, prairielearn/
    DIR/lookalikes.csv         variant pairs grading cannot tell apart (a header alone: none)

The whole folder is built aside and moved into place when complete (``files.bundle``); the same
template, count and seed give the same bytes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ValueInputError
from ..exercise import solve
from ..explain import latex as latex_writer
from ..explain import markdown as markdown_writer
from ..io.files import bundle, read_text, write_file
from ..io.jsonout import strict_dumps
from . import pdf
from .autograder import autograder_zip
from .blank import blank_drawing
from .csvout import csv_text
from .exports import moodle_xml
from .grading import ClassKey, KeyVariant, variant_number
from .lookalikes import Lookalike
from .prairielearn import question_files
from .sheets import key_document, key_rows, worksheet_texts
from .submissions import decode_submissions
from .template import Template, load_template
from .variants import LOOKALIKE_TRIES, Drawn, Variant, draw_class, exercise_of

MARKER = ".chainrule-class"
VARIANT_MARKER = ".chainrule-variant"
MANIFEST = "manifest.json"
FORMAT = "chainrule.class/2"  # 2: an element in brackets counts from 0, as in programs


@dataclass
class Written:
    """What a run wrote, notes for the user (a PDF that could not be made, ...), and warnings
    (variants that grading cannot tell apart)."""

    directory: Path
    variants: list[Variant]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lookalikes: list[Lookalike] = field(default_factory=list)


LOOKALIKES = "lookalikes.csv"
SHOWN_PAIRS = 5  # pairs named on the terminal; every pair is in lookalikes.csv


def lookalike_warning(drawn: Drawn, folder: Path) -> str:
    """One warning naming the look-alike pairs a template's draws left, and what to do."""
    pairs = drawn.lookalikes
    shown = "; ".join(x.text() for x in pairs[:SHOWN_PAIRS])
    more = f"; and {len(pairs) - SHOWN_PAIRS} more" if len(pairs) > SHOWN_PAIRS else ""
    why = (
        f"{drawn.saturated}'s next {LOOKALIKE_TRIES} draws each looked like an earlier variant, "
        "so the class is drawn without redraws, as earlier versions drew it"
    )
    return (
        f"{len(pairs)} pair{'s' if len(pairs) != 1 else ''} of variants look alike to grading: "
        f"a student of one who makes one usual slip, carried forward, writes the other's "
        f"numbers ({shown}{more}). The template's draws are too few to avoid it for "
        f"{len(drawn.variants)} variants ({why}). grade treats these pairs as before: a slipped "
        "student keeps their own variant, with a note of the match. Every pair is in "
        f"{folder / LOOKALIKES}; widen the [draw] ranges or ask for fewer variants"
    )


def lookalike_rows(pairs: list[Lookalike]) -> list[list[str]]:
    """DIR/lookalikes.csv: the slip on a sheet of ``variant`` that gives ``other``'s numbers."""
    rows = [["variant", "other", "slip", "quantities"]]
    rows += [[x.slipped, x.other, x.slip, ", ".join(x.names)] for x in pairs]
    return rows


def manifest(template: Template, variants: list[Variant], seed: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "title": template.title,
        "exact": template.exact,
        "digits": template.digits,
        "rule": template.rule.as_dict(),
        "seed": seed,
        "variants": [
            {"id": v.id, "seed": v.seed, "program": v.program, "answers": v.answers}
            for v in variants
        ],
    }


def _json(data: Any) -> str:
    return strict_dumps(data, indent=2, ensure_ascii=False) + "\n"


HANDOUT = ("worksheet.md", "worksheet.tex", "worksheet.pdf", "graph.svg", "graph.png")


def write_handout(folder: Path, ids: list[str]) -> None:
    """DIR/handout/: what students may receive and nothing else (worksheets and blank graphs,
    no answers, no solutions), so handing out a folder never hands out a key."""
    folder.mkdir()
    for vid in ids:
        (folder / vid).mkdir()
        for name in HANDOUT:
            source = folder.parent / vid / name
            if source.is_file():
                write_file(folder / vid / name, source.read_bytes())
    write_file(folder / VARIANT_MARKER, "written by chainrule generate; safe to replace\n")


def read_roster(path: str | Path, ids: list[str]) -> list[tuple[str, str]]:
    """(email, variant id) pairs from a CSV with email and variant columns; a variant is
    written as the class names it (v03, V3 or 3)."""
    p = Path(path)
    if not p.is_file():
        raise ValueInputError(f"{path}: no such roster file")
    text, _ = decode_submissions(p.read_bytes(), str(path))
    rows = list(csv.reader(io.StringIO(text)))
    head = [c.strip().strip("\ufeff").casefold() for c in rows[0]] if rows else []
    if "email" not in head or "variant" not in head:
        raise ValueInputError(f"{path}: line 1: a roster needs the columns email and variant")
    e, v = head.index("email"), head.index("variant")
    by_number = {variant_number(i): i for i in ids}
    out: list[tuple[str, str]] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) <= max(e, v) or not row[e].strip():
            raise ValueInputError(f"{path}: line {n}: expected an email and a variant")
        written = row[v].strip()
        vid = written if written in ids else by_number.get(variant_number(written))
        if vid is None:
            raise ValueInputError(f"{path}: line {n}: variant {written!r} is not in this class")
        email = row[e].strip()
        if any(c in email for c in ',\n\r"') or "@" not in email:
            raise ValueInputError(f"{path}: line {n}: {email!r} is not an email address")
        out.append((email, vid))
    return out


def write_exports(
    folder: Path,
    template: Template,
    data: dict[str, Any],
    pngs: dict[str, bytes],
    roster: list[tuple[str, str]] | None = None,
) -> None:
    """DIR/exports/: the Gradescope autograder, the Moodle questions, the PrairieLearn question,
    all under the template's rule."""
    folder.mkdir()
    write_file(folder / "gradescope-autograder.zip", autograder_zip(data, roster))
    key = ClassKey(
        template.title,
        template.digits,
        {
            v["id"]: KeyVariant(v["id"], v["seed"], v["program"], v["answers"], template.exact)
            for v in data["variants"]
        },
        template.rule,
    )
    write_file(folder / "moodle.xml", moodle_xml(key, images=pngs))
    pl = folder / "prairielearn"
    pl.mkdir()
    for name, text in question_files(data, template.rule).items():
        write_file(pl / name, text)
    write_file(folder / VARIANT_MARKER, "written by chainrule generate; safe to replace\n")


def _pdf(
    tex: str, target: Path, what: str, notes: list[str], make: bool, files: dict[str, bytes]
) -> None:
    if not make:
        return
    data, why = pdf.compile_pdf(tex, files)
    if data is None:
        notes.append(f"{what}: PDF not made ({why})")
    else:
        write_file(target, data)


def generate(
    template_path: str | Path,
    directory: str | Path,
    *,
    count: int,
    seed: int,
    force: bool = False,
    pdfs: bool | None = None,
    solutions: bool = True,
    label: str = "",
    roster: str | Path | None = None,
) -> Written:
    """Draw ``count`` variants and write the class folder. ``pdfs``: None makes PDFs when
    pdflatex is installed (a note otherwise), True requires it, False skips them."""
    template = load_template(template_path)
    drawn = draw_class(template, count, seed)  # a refusal writes nothing
    variants = drawn.variants
    pairs = read_roster(roster, [v.id for v in variants]) if roster is not None else None
    make_pdf = pdf.available() if pdfs is None else pdfs
    notes: list[str] = []
    if pdfs is None and not make_pdf:
        notes.append("PDFs skipped: pdflatex is not installed (Markdown and LaTeX are written)")
    folder = Path(directory)
    warnings = [lookalike_warning(drawn, folder)] if drawn.lookalikes else []
    with bundle(
        folder,
        force=force,
        marker=MARKER,
        inputs=[template_path],
        label=label,
        replace_marked_dirs=VARIANT_MARKER,
    ) as stage:
        write_file(stage / "template.toml", read_text(template_path, "exercise template"))
        pngs: dict[str, bytes] = {}
        for v in variants:
            vdir = stage / v.id
            vdir.mkdir()
            images = blank_drawing(v.graph) if template.graph_sheet else {}
            if template.graph_sheet and not images:
                notes.append(f"{v.id}: graph not drawn: the drawing package is not available")
            for name, data in images.items():
                write_file(vdir / name, data)
            if "graph.png" in images:
                pngs[v.id] = images["graph.png"]
            md, tex = worksheet_texts(template, v, graph=bool(images))
            write_file(vdir / "worksheet.md", md)
            write_file(vdir / "worksheet.tex", tex)
            _pdf(tex, vdir / "worksheet.pdf", f"{v.id}/worksheet", notes, make_pdf, images)
            answers = {"id": v.id, "seed": v.seed, "program": v.program, "answers": v.answers}
            write_file(vdir / "answers.json", _json(answers))
            if solutions:
                _, solve_notes = solve(exercise_of(template, v.program), vdir / "solution")
                notes.extend(f"{v.id}: {n}" for n in solve_notes)
            write_file(vdir / VARIANT_MARKER, "written by chainrule generate; safe to replace\n")
        write_handout(stage / "handout", [v.id for v in variants])
        key = key_document(template, variants)
        write_file(stage / "answer-key.csv", csv_text(key_rows(template, variants)))
        write_file(stage / "answer-key.md", markdown_writer.write(key))
        key_tex = latex_writer.write(key)
        write_file(stage / "answer-key.tex", key_tex)
        _pdf(key_tex, stage / "answer-key.pdf", "answer-key", notes, make_pdf, {})
        write_file(stage / MANIFEST, _json(manifest(template, variants, seed)))
        write_exports(stage / "exports", template, manifest(template, variants, seed), pngs, pairs)
        write_file(stage / LOOKALIKES, csv_text(lookalike_rows(drawn.lookalikes)))
        write_file(stage / MARKER, "written by chainrule generate; safe to replace\n")
    return Written(folder, variants, notes, warnings, drawn.lookalikes)

"""Grades and questions in the formats teachers' systems read, under the class's one rule.

- Gradescope: the autograder's ``results.json`` (one per submission), and a whole autograder
  (``gradescope-autograder.zip``: ``setup.sh``, ``run_autograder``, chainrule as a wheel, the
  manifest and an optional roster; see ``autograder.py``).
- Moodle: one Cloze (multianswer) question per variant holding everything a student needs (the
  givens, the program, the forward graph as an embedded image) and every quantity as a
  NUMERICAL part whose tolerance is the rule's (a second answer, one unit off, earns the
  rounding credit), all in one category, so a quiz's random question gives each student one
  whole variant; and a grades file the gradebook import reads.
- PrairieLearn: see ``prairielearn.py``.

XML is built with ``xml.etree.ElementTree`` (which escapes text and attributes); text that Moodle
reads as HTML is HTML-escaped first, braces included (Cloze markers), and characters XML 1.0
forbids are dropped."""

from __future__ import annotations

import base64
import html
import math
import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from typing import Any

from ..check.inert import inert_text
from ..check.rule import Rule
from ..io.jsonout import strict_dumps
from .grading import ClassKey, Graded
from .sheets import ascii_name

SIGNIFICANT = 3  # the default rule's significant figures
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """Text XML 1.0 can hold: the characters it forbids (U+0001, U+000B, ...) dropped."""
    return _XML_FORBIDDEN.sub("", text)


def gradescope_results(g: Graded) -> str:
    tests = []
    for k, m in enumerate(g.marks, start=1):
        said = m.verdict + (f": {m.detail}" if m.detail else "")
        if m.kind:
            said += f" ({m.kind})"
        tests.append(
            {
                "name": m.quantity,
                "number": str(k),
                "score": m.points,
                "max_score": m.max_points,
                "status": "passed" if m.points >= m.max_points else "failed",
                "output": f"you wrote {m.claimed if m.claimed is not None else '(nothing)'}; "
                f"{said}",
                "visibility": "visible",
            }
        )
    if g.graded:
        output = f"Variant {g.variant}: {g.score:g} of {g.max_score:g}."
        comments = grade_comments(g)
        output += (" " + comments if comments else "") + " " + g.rule.describe()
    else:
        output = "Not graded: " + (g.why_not or " ".join(g.problems))
        if g.notes:
            output += " Note: " + " ".join(g.notes) + "."
    data: dict[str, Any] = {
        "score": g.score,
        "output": inert_text(output),
        "visibility": "visible",
        "tests": tests,
    }
    return strict_dumps(data, indent=2, ensure_ascii=False) + "\n"


def grade_comments(g: Graded) -> str:
    """What a graded student's score comes with in every export: the first slip and its kind,
    another variant's answers, the lines not read."""
    out = []
    slip = g.first_slip
    if slip is not None:
        out.append(f"First slip: {slip.quantity}" + (f" ({slip.kind})." if slip.kind else "."))
    if g.notes:
        out.append("Note: " + " ".join(g.notes) + ".")
    if g.problems:
        out.append("Lines not read: " + " ".join(g.problems))
    return " ".join(out)


def tolerance(value: float, significant: int = SIGNIFICANT, rule: Rule | None = None) -> float:
    """The rule's window around ``value`` (default: half a unit in the ``significant``-th
    digit: 0.0032861 → 0.000005)."""
    rule = rule or Rule(sigfig=significant)
    if not math.isfinite(value):
        return 0.0
    return float(rule.tolerance(Fraction(value)))


def number_text(value: float) -> str:
    """A float without float noise: -0.65, not -0.6500000000000001 (12 significant digits)."""
    if not math.isfinite(value):
        return repr(value)
    text = f"{value:.12g}"
    return "0" if text == "-0" else text


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    ET.SubElement(el, "text").text = xml_safe(text)
    return el


def _html(text: str) -> str:
    """Plain text as HTML inside a Cloze question: braces are Cloze markers, so escaped."""
    return html.escape(inert_text(xml_safe(text))).replace("{", "&#123;").replace("}", "&#125;")


def _cloze_part(value: float, points: float, rule: Rule, rounding_share: float) -> str:
    tol = tolerance(value, rule=rule)
    part = f"{{{max(1, round(points))}:NUMERICAL:={number_text(value)}:{number_text(tol)}"
    digits = rule.sigfig is not None or rule.decdig is not None
    if digits and rounding_share > 0 and tol > 0:
        share = round(rounding_share * 100)
        part += f"~%{share}%{number_text(value)}:{number_text(3 * tol)}"
    return part + "}"


def moodle_xml(
    key: ClassKey,
    points: dict[str, float] | None = None,
    *,
    rule: Rule | None = None,
    images: dict[str, bytes] | None = None,
    givens: dict[str, list[str]] | None = None,
    rounding_share: float = 1.0,
) -> str:
    """One Cloze question per variant, all in one category (a random question picks one whole
    variant per student). ``images``: the forward graph's PNG by variant id; ``givens``: the
    lines "x = [1, 2]" a variant gives (default: its program's input lines)."""
    rule = rule or key.rule
    quiz = ET.Element("quiz")
    title = xml_safe(inert_text(key.title or "chainrule exercise"))
    cat = ET.SubElement(quiz, "question", {"type": "category"})
    _text(cat, "category", f"$course$/top/{title.replace('/', '-')}")
    for vid, v in key.variants.items():
        q = ET.SubElement(quiz, "question", {"type": "cloze"})
        _text(q, "name", f"{title}: variant {vid}")
        lines = (givens or {}).get(vid) or [line for line in v.program.splitlines() if line.strip()]
        body = [f"<p><b>{_html(title)}</b>, variant {_html(vid)}.</p>"]
        body.append("<p>The program (every number you need is in it):</p>")
        body.append("<pre>" + "\n".join(_html(line) for line in lines) + "</pre>")
        image = (images or {}).get(vid)
        if image:
            body.append(
                f'<p><img src="@@PLUGINFILE@@/graph-{_html(vid)}.png" '
                'alt="the forward graph of the program"></p>'
            )
        body.append(f"<p>{_html(rule.describe())}</p>")
        body.append("<table>")
        for name, value in v.truths().items():
            mark = (points or {}).get(name, 1.0)
            body.append(
                f"<tr><td>{_html(name)} (write it as {_html(ascii_name(name))})</td><td>"
                f"{_cloze_part(float(value), mark, rule, rounding_share)}</td></tr>"
            )
        body.append("</table>")
        qt = _text(q, "questiontext", "\n".join(body), format="html")
        if image:
            f = ET.SubElement(
                qt, "file", {"name": f"graph-{vid}.png", "path": "/", "encoding": "base64"}
            )
            f.text = base64.b64encode(image).decode("ascii")
        _text(q, "generalfeedback", "", format="html")
        ET.SubElement(q, "penalty").text = "0"
        ET.SubElement(q, "hidden").text = "0"
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, "unicode") + "\n"


def moodle_grades(graded: list[Graded]) -> list[list[str]]:
    """Rows of a CSV the Moodle gradebook import reads: the student's ID number and email (map
    either to the user), the name, the grade (empty when not graded) and the feedback the
    other exports give (the first slip, another variant's answers, lines not read, or why
    not graded)."""
    rows = [["ID number", "Email address", "Full name", "Grade", "Feedback"]]
    for g in graded:
        grade = f"{g.score:g}" if g.graded else ""
        note = grade_comments(g) if g.graded else f"not graded: {g.why_not}"
        rows.append([g.id, g.email, g.student, grade, note])
    return rows

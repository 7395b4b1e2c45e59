"""Grades in the formats teachers' systems read.

- Gradescope: the autograder's ``results.json`` (one per submission): ``score``, ``output`` and
  ``tests``, each test with ``name``, ``score``, ``max_score``, ``status`` and ``output``.
- Moodle: a question bank in Moodle XML, one category per variant and one numerical question
  per quantity, with an absolute tolerance of half a unit in the third significant digit.

XML is built with ``xml.etree.ElementTree`` (which escapes text and attributes); text that Moodle
reads as HTML is HTML-escaped first."""

from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ET
from typing import Any

from ..io.jsonout import strict_dumps
from .grading import ClassKey, Graded
from .sheets import ascii_name

SIGNIFICANT = 3  # digits a student must get right for Moodle to accept a number


def gradescope_results(g: Graded) -> str:
    tests = []
    for k, m in enumerate(g.marks, start=1):
        said = m.verdict + (f": {m.detail}" if m.detail else "")
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
    slip = g.first_slip
    output = f"Variant {g.variant}: {g.score:g} of {g.max_score:g}."
    if slip is not None:
        output += f" First slip: {slip.quantity}."
    if g.problems:
        output += " Not graded: " + " ".join(g.problems)
    data: dict[str, Any] = {
        "score": g.score,
        "output": output,
        "visibility": "visible",
        "tests": tests,
    }
    return strict_dumps(data, indent=2, ensure_ascii=False) + "\n"


def tolerance(value: float, significant: int = SIGNIFICANT) -> float:
    """Half a unit in the ``significant``-th digit of ``value``: 0.0032861 → 0.000005."""
    if value == 0 or not math.isfinite(value):
        return 10.0 ** (-(significant + 3))
    exponent = math.floor(math.log10(abs(value)))
    return 0.5 * 10.0 ** (exponent - significant + 1)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    ET.SubElement(el, "text").text = text
    return el


def moodle_xml(key: ClassKey, points: dict[str, float] | None = None) -> str:
    """Every variant's quantities as Moodle numerical questions, in one category per variant."""
    quiz = ET.Element("quiz")
    title = key.title or "chainrule exercise"
    for vid, v in key.variants.items():
        cat = ET.SubElement(quiz, "question", {"type": "category"})
        _text(cat, "category", f"$course$/top/{title.replace('/', '-')}/Variant {vid}")
        for name, value in v.answers.items():
            q = ET.SubElement(quiz, "question", {"type": "numerical"})
            _text(q, "name", f"{vid} {name}")
            body = (
                f"<p>{html.escape(title)}, variant {html.escape(vid)}: give "
                f"<b>{html.escape(name)}</b> (write it as {html.escape(ascii_name(name))}) "
                f"to at least {SIGNIFICANT} significant digits.</p>"
            )
            _text(q, "questiontext", body, format="html")
            _text(q, "generalfeedback", "", format="html")
            mark = (points or {}).get(name, 1.0)
            ET.SubElement(q, "defaultgrade").text = f"{mark:g}"
            ET.SubElement(q, "penalty").text = "0"
            ET.SubElement(q, "hidden").text = "0"
            ans = ET.SubElement(q, "answer", {"fraction": "100", "format": "moodle_auto_format"})
            ET.SubElement(ans, "text").text = repr(float(value))
            ET.SubElement(ans, "tolerance").text = repr(tolerance(float(value)))
            _text(ans, "feedback", "", format="html")
            ET.SubElement(q, "unitgradingtype").text = "0"
            ET.SubElement(q, "unitpenalty").text = "0"
            ET.SubElement(q, "showunits").text = "3"
            ET.SubElement(q, "unitsleft").text = "0"
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, "unicode") + "\n"

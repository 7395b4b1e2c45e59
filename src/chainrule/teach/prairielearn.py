"""A PrairieLearn question directory for a class: ``info.json``, ``question.html`` with one
number input per quantity, ``server.py`` and the class manifest beside it (outside
``clientFilesQuestion``, so students never receive the key).

``server.py``'s ``generate`` draws one of the class's variants (PrairieLearn seeds ``random``
per variant) and puts its program and quantities in ``data["params"]``; its ``grade`` grades the
raw submitted texts (the digits a student wrote count) with chainrule's grading: the class's
rule, first-slip verdicts and carry-forward credit, per quantity in ``data["partial_scores"]``.
The question needs chainrule in PrairieLearn's Python (a course image or a workspace)."""

from __future__ import annotations

import uuid

from ..check.rule import Rule
from ..io.jsonout import strict_dumps

QUESTION_HTML = """<pl-question-panel>
  <p><b>{{params.title}}</b>, variant {{params.variant}}.</p>
  <p>The program (every number you need is in it):</p>
  <pre>{{params.program}}</pre>
  <p>{{params.rule}}</p>
</pl-question-panel>

{{#params.quantities}}
<pl-number-input answers-name="{{name}}" label="{{label}} =" COMPARISON></pl-number-input>
{{/params.quantities}}

<pl-submission-panel>
  {{#feedback.first_slip}}<p>{{feedback.first_slip}}</p>{{/feedback.first_slip}}
</pl-submission-panel>
"""

SERVER = '''"""PrairieLearn server for a chainrule class (written by chainrule generate)."""

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _key():
    from chainrule.teach.grading import load_class

    return load_class(HERE)


def _scoring():
    from chainrule.teach.scoring import load_scoring

    path = HERE / "scoring.toml"
    return load_scoring(path if path.is_file() else None)


def generate(data):
    key = _key()
    ids = sorted(key.variants)
    vid = ids[random.randrange(len(ids))]
    v = key.variants[vid]
    data["params"]["variant"] = vid
    data["params"]["title"] = key.title or "Exercise"
    data["params"]["program"] = v.program.strip()
    data["params"]["rule"] = key.rule.describe()
    quantities = []
    for k, (name, value) in enumerate(v.answers.items(), start=1):
        field = "q%d" % k
        quantities.append({"name": field, "label": name})
        data["correct_answers"][field] = value
    data["params"]["quantities"] = quantities


def grade(data):
    from chainrule.teach.grading import grade as grade_one
    from chainrule.teach.submissions import Entry, Submission

    key = _key()
    vid = data["params"]["variant"]
    raw = data.get("raw_submitted_answers") or {}
    given = data.get("submitted_answers") or {}
    entries = []
    fields = {}
    for q in data["params"]["quantities"]:
        text = raw.get(q["name"], given.get(q["name"], ""))
        text = "" if text is None else str(text)
        fields[q["label"]] = q["name"]
        entries.append(Entry(q["name"], q["label"], text))
    g = grade_one(key, Submission("student", vid, entries), _scoring())
    for m in g.marks:
        field = fields.get(m.quantity)
        if field is None:
            continue
        said = m.verdict + (": " + m.detail if m.detail else "")
        if m.kind:
            said += " (" + m.kind + ")"
        data["partial_scores"][field] = {
            "score": m.points / m.max_points if m.max_points else 0.0,
            "weight": m.max_points,
            "feedback": said,
        }
    data["score"] = g.score / g.max_score if g.max_score else 0.0
    slip = g.first_slip
    if slip is not None:
        data["feedback"]["first_slip"] = "Your first slip is %s: you wrote %s%s." % (
            slip.quantity,
            slip.claimed,
            ", likely a " + slip.kind if slip.kind else "",
        )
'''


def comparison(rule: Rule) -> str:
    """The number input's comparison attributes for the rule (the same window as grading)."""
    if rule.sigfig is not None:
        return f'comparison="sigfig" digits="{rule.sigfig}"'
    if rule.decdig is not None:
        return f'comparison="decdig" digits="{rule.decdig}"'
    return f'comparison="relabs" rtol="{rule.rtol or 0:g}" atol="{rule.atol or 0:g}"'


def question_files(manifest: dict, rule: Rule, scoring_toml: str = "") -> dict[str, str]:
    """The question directory's files by name."""
    title = manifest.get("title") or "chainrule exercise"
    qid = uuid.uuid5(uuid.NAMESPACE_URL, f"chainrule:{title}:{manifest.get('seed')}")
    info = {
        "uuid": str(qid),
        "title": title,
        "topic": "Backpropagation",
        "tags": ["chainrule", "backpropagation"],
        "type": "v3",
        "gradingMethod": "Internal",
        "singleVariant": False,
    }
    files = {
        "info.json": strict_dumps(info, indent=2, ensure_ascii=False) + "\n",
        "question.html": QUESTION_HTML.replace("COMPARISON", comparison(rule)),
        "server.py": SERVER,
        "manifest.json": strict_dumps(manifest, indent=2, ensure_ascii=False) + "\n",
    }
    if scoring_toml:
        files["scoring.toml"] = scoring_toml
    return files


__all__ = ["comparison", "question_files"]

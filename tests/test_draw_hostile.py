"""A drawing model from JSON is data from anyone: every field other than label text comes from
a closed vocabulary, and no writer writes a box id, category, fill or direction as it was given."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest

import chainrule as cr
from chainrule import draw
from chainrule.draw.layout import layout
from chainrule.draw.model import ARROW_CATEGORIES, BOX_CATEGORIES, Drawing
from chainrule.draw.render import encode
from chainrule.draw.writers.dot import write_dot
from chainrule.draw.writers.html import write_html
from chainrule.draw.writers.mermaid import write_mermaid
from chainrule.draw.writers.pdf import write_pdf
from chainrule.draw.writers.svg import write_svg
from chainrule.draw.writers.text import write_text
from chainrule.draw.writers.tikz import write_tikz

MARK = "pwned"
HOSTILE_ID = f'x"];{MARK}[label="'
HOSTILE_CATEGORY = f'op"><script>document.title="{MARK}"</script><g class="'
HOSTILE_FILL = f"#ffffff\" onload=\"document.title='{MARK}'"
HOSTILE_DIRECTION = f"BT]; {MARK} [shape=box"
HOSTILE_ARROW = f'data"><script>{MARK}</script>'


def clean() -> Drawing:
    x = cr.var(0.5, name="x")
    w = cr.var(-1.5, name="w")
    y = cr.tanh(w * x).named("y")
    return draw.build(y, "gradients")


def data() -> dict[str, Any]:
    return json.loads(encode(clean(), ".json"))


def _set(path: str, value: Any) -> dict[str, Any]:
    d = data()
    if path == "direction" or path == "view":
        d[path] = value
    elif path.startswith("arrow."):
        d["arrows"][0][path[6:]] = value
    elif path == "line.role":
        d["boxes"][0]["lines"][0]["role"] = value
    else:
        d["boxes"][0][path[4:]] = value
    return d


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("box.category", HOSTILE_CATEGORY, "category"),
        ("box.kind", HOSTILE_CATEGORY, "category"),
        ("box.fill", HOSTILE_FILL, "fill"),
        ("box.fill", "url(javascript:alert(1))", "fill"),
        ("box.fill", 12, "fill"),
        ("box.id", "", "an id"),
        ("box.id", "n" * 1000, "an id"),
        ("box.id", 7, "an id"),
        ("arrow.category", HOSTILE_ARROW, "category"),
        ("arrow.kind", HOSTILE_ARROW, "category"),
        ("arrow.source", "no such box", "not the id of a box"),
        ("direction", HOSTILE_DIRECTION, "direction"),
        ("view", "<script>", "view"),
        ("line.role", "title onload", "role"),
    ],
)
def test_from_dict_refuses_values_outside_the_vocabulary(field: str, value: Any, says: str) -> None:
    d = _set(field, value)
    if field.endswith(".kind"):  # the old key, read when the new one is absent
        item = d["boxes"][0] if field.startswith("box") else d["arrows"][0]
        del item["category"]
    with pytest.raises(cr.ChainruleError, match=says):
        Drawing.from_dict(d)


def test_from_dict_refuses_a_box_id_used_twice() -> None:
    d = data()
    d["boxes"][1]["id"] = d["boxes"][0]["id"]
    with pytest.raises(cr.ChainruleError, match="used twice"):
        Drawing.from_dict(d)


@pytest.mark.parametrize("bad", [[1, 2], "drawing", {"boxes": [], "arrows": []}])
def test_from_dict_refuses_what_is_not_a_drawing(bad: Any) -> None:
    with pytest.raises(cr.ChainruleError):
        Drawing.from_dict(bad)


def test_json_written_with_kind_still_loads() -> None:
    d = data()
    for item in d["boxes"] + d["arrows"]:
        item["kind"] = item.pop("category")
    assert Drawing.from_dict(d) == clean()


def test_colour_names_become_hex() -> None:
    d = _set("box.fill", "Red")
    assert Drawing.from_dict(d).boxes[0].fill == "#ff0000"
    assert Drawing.from_dict(_set("box.fill", "#A0b0C0")).boxes[0].fill == "#a0b0c0"


def hostile(drawing: Drawing) -> Drawing:
    """The drawing with every non-text field replaced by hostile text, built by hand (no
    ``check``), as a program using the model directly could."""
    bad = copy.deepcopy(drawing)
    old = bad.boxes[0].id
    bad.boxes[0].id = HOSTILE_ID
    for a in bad.arrows:
        a.source = HOSTILE_ID if a.source == old else a.source
        a.target = HOSTILE_ID if a.target == old else a.target
        a.category = HOSTILE_ARROW
    for b in bad.boxes:
        b.category = HOSTILE_CATEGORY
        b.fill = HOSTILE_FILL
    bad.direction = HOSTILE_DIRECTION
    return bad


def test_encoding_checks_a_hand_built_drawing_first() -> None:
    for ext in (".svg", ".dot", ".mmd", ".txt", ".json", ".tex"):
        with pytest.raises(cr.ChainruleError):
            encode(hostile(clean()), ext)
    with pytest.raises(cr.ChainruleError):
        layout(hostile(clean()))


def test_writers_write_no_hostile_field_even_unchecked() -> None:
    good = clean()
    lay = layout(good)  # positions of the clean twin; the hostile id maps to none of them
    lay.boxes[HOSTILE_ID] = lay.boxes.pop(good.boxes[0].id)
    bad = hostile(good)
    texts = {
        "dot": write_dot(bad),
        "mermaid": write_mermaid(bad),
        "text": write_text(bad),
        "tikz": write_tikz(bad, lay),
    }
    for name, text in texts.items():
        assert MARK not in text, name
    svg = write_svg(bad, lay)
    root = ET.fromstring(svg.split("?>", 1)[1])
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    for e in root.iter():
        assert "onload" not in e.attrib
        classes = e.attrib.get("class", "").split()
        if classes[:1] == ["node"]:
            assert classes[1:] == ["op"] and e.attrib["id"] in (HOSTILE_ID, *lay.boxes)
        if classes[:1] == ["edge"]:
            assert classes[1:] == ["data"]
    for e in root.iter():
        if e.tag.endswith("rect") and e.attrib.get("rx") == "7":
            assert e.attrib["fill"] == "#ffffff"  # the category's fill, not the hostile one
    page = write_html(bad, svg)
    assert _script_tags(page) == 1  # the page's own script only
    assert write_pdf(bad, lay).startswith(b"%PDF")


def _script_tags(page: str) -> int:
    class Count(HTMLParser):
        n = 0

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag == "script":
                Count.n += 1

    Count().feed(page)
    return Count.n


def test_every_format_writes_generated_box_names() -> None:
    d = clean()
    ids = [b.id for b in d.boxes]
    dot = encode(d, ".dot").decode()
    mmd = encode(d, ".mmd").decode()
    tex = encode(d, ".tex").decode()
    for k in range(len(ids)):
        assert f"  n{k} [" in dot
        assert f"  n{k}[" in mmd
        assert f"(n{k}) at" in tex


def test_vocabularies_match_the_writers() -> None:
    from chainrule.draw.colours import FILLS, STROKES

    assert set(FILLS) == set(BOX_CATEGORIES)
    assert set(STROKES) == set(ARROW_CATEGORIES)

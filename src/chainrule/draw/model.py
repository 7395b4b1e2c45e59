"""The neutral drawing model: boxes, rows of text, arrows. Writers read only this.

A ``Drawing`` knows nothing of nodes or ops: every label is already plain text, and every
writer escapes it for its own format. Every other field is data from a closed vocabulary
(categories, directions, colours), checked by ``Drawing.check`` — a drawing read back from JSON
may come from anyone — and writers never write a box's ``id`` into a format: they number the
boxes themselves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..core.errors import ValueInputError
from . import colours
from .colours import parse_colour

SCHEMA = "chainrule.drawing/1"

VIEWS = ("forward", "gradients", "backward")
#: roles a line of text can play; writers style them (bold title, grey value, red gradient)
ROLES = ("title", "value", "grad", "note")
#: categories of box; writers choose a shape and a fill from them
BOX_CATEGORIES = ("input", "const", "op", "output", "group", "gradient", "result")
#: categories of arrow: data flows forward, gradients flow back, faint ones carry nothing
ARROW_CATEGORIES = ("data", "gradient", "faint")
DIRECTIONS = ("BT", "TB", "LR", "RL")
MAX_ID = 200  # characters of a box id
MAX_TEXT = 10_000  # characters of one line of text


@dataclass
class Line:
    text: str
    role: str = "value"


@dataclass
class Box:
    id: str
    lines: list[Line]
    category: str = "op"
    fill: str | None = None  # a colour "#rrggbb" that overrides the category's fill
    tooltip: str = ""

    @property
    def title(self) -> str:
        return self.lines[0].text if self.lines else ""


@dataclass
class Arrow:
    source: str
    target: str
    lines: list[Line] = field(default_factory=list)
    category: str = "data"  # data | gradient | faint
    tooltip: str = ""


@dataclass
class Drawing:
    view: str
    boxes: list[Box]
    arrows: list[Arrow]
    direction: str = "BT"
    title: str = ""
    legend: list[Line] = field(default_factory=list)
    max_width: float | None = None  # points: wider ranks are laid out in rows

    def box(self, box_id: str) -> Box:
        for b in self.boxes:
            if b.id == box_id:
                return b
        raise KeyError(box_id)

    def numbers(self) -> dict[str, int]:
        """Each box id → the box's position: writers name boxes ``n<position>``, never by id."""
        return {b.id: k for k, b in reversed(list(enumerate(self.boxes)))}

    def labels(self) -> list[str]:
        """Every piece of text in the drawing (for search and for tests)."""
        out = [self.title] if self.title else []
        for b in self.boxes:
            out.extend(line.text for line in b.lines)
        for a in self.arrows:
            out.extend(line.text for line in a.lines)
        out.extend(line.text for line in self.legend)
        return out

    def check(self) -> Drawing:
        """Refuse anything outside the model's vocabulary, and bring fills to ``#rrggbb``.

        Returns the drawing, so that ``Drawing(...).check()`` reads as one step."""
        if self.view not in VIEWS:
            raise ValueInputError(f"drawing: view {_show(self.view)}; use {', '.join(VIEWS)}")
        if self.direction not in DIRECTIONS:
            raise ValueInputError(
                f"drawing: direction {_show(self.direction)}; use {', '.join(DIRECTIONS)}"
            )
        _text(self.title, "the title")
        _lines(self.legend, "the legend")
        seen: set[str] = set()
        for k, b in enumerate(self.boxes):
            where = f"box {k}"
            if not isinstance(b.id, str) or not 0 < len(b.id) <= MAX_ID or _SURROGATE.search(b.id):
                raise ValueInputError(f"{where}: an id is text of 1 to {MAX_ID} characters")
            if b.id in seen:
                raise ValueInputError(f"{where}: the id {_show(b.id)} is used twice")
            seen.add(b.id)
            if b.category not in BOX_CATEGORIES:
                raise ValueInputError(
                    f"{where}: category {_show(b.category)}; use {', '.join(BOX_CATEGORIES)}"
                )
            if b.fill is not None:
                fill = parse_colour(b.fill)
                if fill is None:
                    raise ValueInputError(
                        f"{where}: fill {_show(b.fill)}; use #rrggbb or a colour name"
                    )
                b.fill = fill
            _lines(b.lines, where)
            _text(b.tooltip, f"{where}, the tooltip")
        for k, a in enumerate(self.arrows):
            where = f"arrow {k}"
            for end in (a.source, a.target):
                if not isinstance(end, str) or end not in seen:
                    raise ValueInputError(f"{where}: {_show(end)} is not the id of a box")
            if a.category not in ARROW_CATEGORIES:
                raise ValueInputError(
                    f"{where}: category {_show(a.category)}; use {', '.join(ARROW_CATEGORIES)}"
                )
            _lines(a.lines, where)
            _text(a.tooltip, f"{where}, the tooltip")
        if self.max_width is not None and (
            isinstance(self.max_width, bool)
            or not isinstance(self.max_width, (int, float))
            or not 0 < self.max_width < 1e7
        ):
            raise ValueInputError(f"drawing: max_width {_show(self.max_width)}; use a width > 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Drawing:
        """A drawing from ``to_dict`` data (or the older form whose boxes and arrows had a
        ``kind``), checked: a mistake is one ``ValueInputError`` naming the box or arrow."""
        if not isinstance(data, Mapping):
            raise ValueInputError("a drawing is a JSON object")
        if data.get("schema", SCHEMA) != SCHEMA:
            raise ValueInputError(f"not a chainrule drawing (schema {_show(data.get('schema'))})")
        try:
            drawing = cls(
                view=data["view"],
                boxes=[
                    Box(
                        id=b["id"],
                        lines=_read_lines(b["lines"]),
                        category=b.get("category", b.get("kind", "op")),
                        fill=b.get("fill"),
                        tooltip=b.get("tooltip", ""),
                    )
                    for b in _items(data["boxes"])
                ],
                arrows=[
                    Arrow(
                        a["source"],
                        a["target"],
                        _read_lines(a.get("lines", [])),
                        a.get("category", a.get("kind", "data")),
                        a.get("tooltip", ""),
                    )
                    for a in _items(data["arrows"])
                ],
                direction=data.get("direction", "BT"),
                title=data.get("title", ""),
                legend=_read_lines(data.get("legend", [])),
                max_width=data.get("max_width"),
            )
        except KeyError as exc:
            raise ValueInputError(f"drawing: the key {exc.args[0]!r} is missing") from None
        return drawing.check()


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValueInputError("drawing: boxes, arrows and lines are lists of objects")
    return value


def _read_lines(items: Any) -> list[Line]:
    return [Line(item["text"], item.get("role", "value")) for item in _items(items)]


def _lines(lines: list[Line], where: str) -> None:
    for line in lines:
        _text(line.text, where)
        if line.role not in ROLES:
            raise ValueInputError(f"{where}: line role {_show(line.role)}; use {', '.join(ROLES)}")


_SURROGATE = re.compile("[\ud800-\udfff]")  # "\ud800" alone in JSON: no character


def _text(text: Any, where: str) -> None:
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ValueInputError(f"{where}: text of at most {MAX_TEXT:,} characters is expected")
    if _SURROGATE.search(text):
        raise ValueInputError(
            f"{where}: holds a lone surrogate {_show(text)}, which no file format can carry"
        )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# What writers read instead of the raw fields, so that even a drawing built by hand without
# ``check`` writes nothing but the model's own vocabulary into a file.


def box_category(box: Box) -> str:
    return box.category if box.category in BOX_CATEGORIES else "op"


def arrow_category(arrow: Arrow) -> str:
    return arrow.category if arrow.category in ARROW_CATEGORIES else "data"


def direction_of(drawing: Drawing) -> str:
    return drawing.direction if drawing.direction in DIRECTIONS else "BT"


def gradient_legend() -> list[Line]:
    """The key to the gradient fills of ``colours.gradient_fill``."""
    low, high = colours.LOW, colours.HIGH
    return [
        Line("fill: |dL/dnode| on a log scale", "note"),
        Line(
            f"blue ≤ 1e{int(low)} (vanishing) · yellow ≈ 1e{int((low + high) / 2)}"
            f" · red ≥ 1e{int(high)} (exploding) · grey = 0",
            "note",
        ),
    ]

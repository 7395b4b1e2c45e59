"""The neutral drawing model: boxes, rows of text, arrows. Writers read only this.

A ``Drawing`` knows nothing of nodes or ops: every label is already plain text, and every
writer escapes it for its own format."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "chainrule.drawing/1"

#: roles a line of text can play; writers style them (bold title, grey value, red gradient)
ROLES = ("title", "value", "grad", "note")
#: kinds of box; writers choose a shape and a fill from them
KINDS = ("input", "const", "op", "output", "group", "gradient", "result")
DIRECTIONS = ("BT", "TB", "LR", "RL")


@dataclass
class Line:
    text: str
    role: str = "value"


@dataclass
class Box:
    id: str
    lines: list[Line]
    kind: str = "op"
    fill: str | None = None  # a colour "#rrggbb" that overrides the kind's fill
    tooltip: str = ""

    @property
    def title(self) -> str:
        return self.lines[0].text if self.lines else ""


@dataclass
class Arrow:
    source: str
    target: str
    lines: list[Line] = field(default_factory=list)
    kind: str = "data"  # data | gradient | faint
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

    def labels(self) -> list[str]:
        """Every piece of text in the drawing (for search and for tests)."""
        out = [self.title] if self.title else []
        for b in self.boxes:
            out.extend(line.text for line in b.lines)
        for a in self.arrows:
            out.extend(line.text for line in a.lines)
        out.extend(line.text for line in self.legend)
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Drawing:
        def lines(items: list[dict[str, Any]]) -> list[Line]:
            return [Line(**item) for item in items]

        return cls(
            view=data["view"],
            boxes=[
                Box(
                    id=b["id"],
                    lines=lines(b["lines"]),
                    kind=b.get("kind", "op"),
                    fill=b.get("fill"),
                    tooltip=b.get("tooltip", ""),
                )
                for b in data["boxes"]
            ],
            arrows=[
                Arrow(
                    a["source"],
                    a["target"],
                    lines(a.get("lines", [])),
                    a.get("kind", "data"),
                    a.get("tooltip", ""),
                )
                for a in data["arrows"]
            ],
            direction=data.get("direction", "BT"),
            title=data.get("title", ""),
            legend=lines(data.get("legend", [])),
            max_width=data.get("max_width"),
        )

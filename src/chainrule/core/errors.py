"""One family of exceptions for user mistakes, so that callers (the CLI above all) can report them
in one paragraph without a traceback."""

from __future__ import annotations


class ChainruleError(Exception):
    """A mistake in what the user gave: a program, a value, an option, a shape."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
        node: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source = source
        self.node = node

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
            if self.column is not None:
                where.append(f"column {self.column}")
        if self.node is not None:
            where.append(f"node {self.node}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.source is not None and self.line is not None:
            shown, caret_at = source_window(self.source, max((self.column or 1) - 1, 0))
            text += f"\n    {shown}\n    {' ' * caret_at}^"
        return text


SOURCE_WIDTH = 120  # characters of a source line an error shows around its column


def source_window(source: str, at: int, width: int = SOURCE_WIDTH) -> tuple[str, int]:
    """The part of a source line an error shows, and the caret's place in it: a line of
    100,000 characters is cut to ``width`` around the column, not printed whole."""
    if len(source) <= width:
        return source, at
    start = min(max(at - width // 2, 0), len(source) - width)
    shown = source[start : start + width]
    caret = at - start
    if start > 0:
        shown, caret = "…" + shown, caret + 1
    if start + width < len(source):
        shown += "…"
    return shown, caret


class ProgramSyntaxError(ChainruleError):
    """The program text is not valid chainrule syntax."""


class NameNotDefined(ChainruleError):
    """A name is used before it is given a value."""


class DomainError(ChainruleError):
    """A value outside an operation's domain: log of a negative number, division by zero, ..."""


class ShapeError(ChainruleError):
    """Array shapes that do not fit together."""


class ValueInputError(ChainruleError):
    """A value given on the command line or through the API cannot be read."""

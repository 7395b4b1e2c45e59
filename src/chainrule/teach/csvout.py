"""CSV that spreadsheets open safely: text cells that a spreadsheet would run as a formula
(starting with =, +, -, @, a tab or a carriage return) get a leading apostrophe, the defence
OWASP describes for CSV injection; numbers are left as numbers (a decimal comma included:
``-2,2`` is a number, not a formula). Every cell that holds a separator a spreadsheet may split
on (``,`` ``;`` tab), a quote or a line break is quoted, and control characters are shown as
codes, never written raw."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..check.inert import inert_text

# a sign (+, - or −: "+-−" unescaped was the range from + to −, letters, = and @ among them,
# so "=1" passed as a number), digits with one optional decimal point or comma, an exponent;
# each text splits one way only, so a long run of digits is checked in linear time
_NUMBER = re.compile(r"^[+\-−]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+\-−]?\d+)?$")
_ACTIVE = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = re.compile(r'[,;\t"\r\n]')


def inert(cell: str) -> str:
    """A cell as text a spreadsheet shows, never evaluates."""
    cell = inert_text(cell)
    if cell.startswith(_ACTIVE) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def _quoted(cell: str) -> str:
    if _QUOTE.search(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """The lines of ``csv_text``, one at a time: a class's verdicts are written as they come,
    not built whole in memory first."""
    for row in rows:
        yield ",".join(_quoted(inert(str(c))) for c in row) + "\n"


def csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV (comma, quoted where a cell holds a separator, \\n line ends), every cell
    made inert."""
    return "".join(csv_lines(rows))

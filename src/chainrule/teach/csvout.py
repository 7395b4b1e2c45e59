"""CSV that spreadsheets open safely: text cells that a spreadsheet would run as a formula
(starting with =, +, -, @, a tab or a carriage return) get a leading apostrophe, the defence
OWASP describes for CSV injection; numbers we write ourselves are left as numbers."""

from __future__ import annotations

import csv
import io
import re

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ACTIVE = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A cell as text a spreadsheet shows, never evaluates."""
    if cell.startswith(_ACTIVE) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV (comma, quoted where needed, \\n line ends), every cell made inert."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([inert(str(c)) for c in row])
    return out.getvalue()

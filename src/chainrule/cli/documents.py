"""Exercises and solutions written as documents (LaTeX, Markdown with maths) on the command line:
the program understood is shown before anything runs, ``--print-program`` shows only that, and
``check --solution`` judges a worked solution and writes its marked-up copy."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..core.errors import ChainruleError, ValueInputError
from ..io.files import check_output, read_text, write_file
from ..lang.latex import is_document, is_latex_path

if TYPE_CHECKING:  # the reader (and pylatexenc) load only when a document is read
    from ..core.graph import Graph
    from ..exercise import Exercise
    from ..lang.latex.reader import Reading

FROM_CHOICES = ("program", "latex", "markdown")


def add_document_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="from_format",
        choices=FROM_CHOICES,
        default=None,
        help="what PROGRAM is written in (default: from its name: .tex is LaTeX, .md Markdown "
        "with maths, anything else a chainrule program)",
    )
    parser.add_argument(
        "--print-program",
        action="store_true",
        help="for an exercise written in LaTeX or Markdown: print the program read from it "
        "(each statement with its line) and stop",
    )


def wants_document(args: argparse.Namespace) -> bool:
    fmt = getattr(args, "from_format", None)
    if fmt == "program":
        return False
    return fmt in ("latex", "markdown") or is_document(getattr(args, "program", None))


def document_is_latex(args: argparse.Namespace, path: str | None) -> bool:
    fmt = getattr(args, "from_format", None)
    if fmt is not None:
        return fmt == "latex"
    return is_latex_path(path)


def show_reading(reading: Reading, stream: Any) -> None:
    """The program understood, and the maths that could not be read, each with its line."""
    stream.write(reading.program)
    for p in reading.problems:
        stream.write(f"# not read: {p}\n")


def document_graph(
    args: argparse.Namespace, text: str, *, exact: bool, at: dict[str, Any], output: str | None
) -> Graph:
    """The graph of an exercise written as a document; the program read is printed first (on
    stderr, so that the command's own output stays as it is), or alone with --print-program."""
    from pathlib import Path  # documents only: reading a program needs no pathlib

    from ..lang.latex.reader import graph_of, read_document  # pylatexenc: documents only

    path = args.program
    latex = document_is_latex(args, path)
    name = None if path == "-" else Path(path).name
    reading = read_document(text, latex=latex, filename=name, given=list(at), output=output)
    if getattr(args, "print_program", False):
        show_reading(reading, sys.stdout)
        sys.stdout.flush()
        raise SystemExit(0)
    show_reading(reading, sys.stderr)  # before it runs, and also when it fails to
    sys.stderr.flush()
    return graph_of(reading, exact=exact, at=at)


# ------------------------------------------------------------------ check --solution


def add_solution_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--solution",
        metavar="FILE",
        help="a worked solution (.md or .tex): every number of its equation chains is judged, "
        "each step on the learner's own numbers",
    )
    parser.add_argument(
        "-o",
        "--out",
        metavar="MARKED",
        help="with --solution: write the marked-up solution (.md, .tex or .html)",
    )


def run_solution(args: argparse.Namespace, graph: Graph) -> int:
    """``check EXERCISE --solution FILE [-o MARKED]``: the report, then the marked copy."""
    from pathlib import Path  # documents only: reading a program needs no pathlib

    from ..check import report  # check --solution only
    from ..check.marked import marked_copy  # check --solution only
    from ..check.rule import AS_WRITTEN, rule_from_args  # check --solution only
    from ..check.solution import check_solution  # check --solution only
    from ..io.jsonout import strict_dumps  # check --solution only
    from ..lang.latex.reader import read_document  # pylatexenc: documents only

    if args.claim or args.claims:
        raise ChainruleError("give either --solution or --claim/--claims, not both")
    path = args.solution
    if not Path(path).is_file():
        raise ValueInputError(f"{path}: no such solution file")
    if args.out:
        suffix = Path(args.out).suffix.lower()
        if suffix not in (".md", ".tex", ".html", ".htm"):
            raise ValueInputError(f"-o {args.out}: the marked copy is .md, .tex or .html")
        check_output(args.out, inputs=[args.program, path])
    text = read_text(path, "solution")
    latex = path.lower().endswith((".tex", ".ltx"))
    skip: set[int] = set()
    if args.program and args.program != "-" and _same_file(args.program, path):
        reading = read_document(text, latex=latex, given=[])
        skip = {s.offset for s in reading.statements}
    asked = (args.sigfig, args.decdig, args.rtol, args.atol)
    rule = AS_WRITTEN if all(a is None for a in asked) else rule_from_args(*asked)
    result = check_solution(graph, text, latex=latex, skip=skip, rule=rule)
    if not result.judged:
        raise ValueInputError(
            f"{path}: no equation of the solution names a quantity of the exercise "
            "(such as $L = 0,06$ or $\\frac{\\partial L}{\\partial z} = -0,06$)"
        )
    if args.json:
        data = report(graph, result.verdicts, as_json=True, rule=rule)
        data["not_checked"] = [str(p) for p in result.skipped]
        sys.stdout.write(strict_dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(report(graph, result.verdicts, rule=rule))
        for p in result.skipped:
            sys.stdout.write(f"not checked: {p}\n")
    if args.out:
        write_file(args.out, marked_copy(graph, result, args.out, source_name=Path(path).name))
        print(f"marked copy: {args.out}", file=sys.stderr)
    return 0 if result.ok else 1


def _same_file(a: str, b: str) -> bool:
    from pathlib import Path  # documents only: reading a program needs no pathlib

    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


# ------------------------------------------------------------------ solve


def document_exercise(path: str) -> Exercise:
    """An exercise written as a document, as ``solve`` takes it: the program read from it
    (printed on stderr first), exact numbers, every named value and every input's gradient."""
    from pathlib import Path  # documents only: reading a program needs no pathlib

    from ..exercise import Exercise  # solve only
    from ..lang.latex.reader import read_document  # pylatexenc: documents only

    if not Path(path).is_file():
        raise ChainruleError(f"{path}: no such exercise file")
    text = read_text(path, "exercise")
    reading = read_document(text, latex=is_latex_path(path), filename=Path(path).name)
    show_reading(reading, sys.stderr)
    return Exercise(source=reading.plain_program, title=reading.title, exact=True, filename=path)

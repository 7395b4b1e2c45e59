"""``chainrule eval``: values and gradients of a program, as a table or as one JSON object."""

from __future__ import annotations

import argparse
import io
import sys
from fractions import Fraction
from typing import Any, TextIO

import numpy as np

from ..core import anomaly
from ..core.autodiff import derivatives
from ..core.errors import ChainruleError
from ..core.graph import Graph
from ..core.lazy import is_sympy, sympy
from ..core.limits import check_order
from ..core.node import Node
from ..core.values import decimal, fraction_text, is_rational, plain
from ..io.files import check_output, write_file
from ..io.jsonout import strict_dumps
from ..io.table import box_table
from ..lang.naming import also_called, new_definition, stated
from ..lang.notation import (
    SUPERSCRIPTS,
    cancelled_value,
    definition,
    exact_form,
    nested_text,
    typographic,
)
from .common import add_program_args, input_files, load_graph


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="values and gradients of a program",
        description="Run the forward and backward pass of a program and report every named node. "
        'In JSON a number that is not finite is written as the string "inf", "-inf" or '
        '"nan".',
    )
    add_program_args(p, torch=True)
    p.add_argument(
        "--wrt", metavar="NAME", help="derivatives with respect to NAME (order 1 unless --order)"
    )
    p.add_argument(
        "--order", type=int, default=None, metavar="K", help="with --wrt: derivatives of order 1..K"
    )
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument("--digits", type=int, default=6, help="significant digits shown (default 6)")
    p.add_argument("-o", "--out", metavar="FILE", help="write the table or JSON to FILE")
    p.set_defaults(func=run)


def named_nodes(graph: Graph) -> dict[str, Node]:
    """Every node the table shows, by its label (x, x′, ŷ − y, a₁), then aliases."""
    return graph.labels()


def run(args: argparse.Namespace) -> int:
    if args.order is not None and args.wrt is None:
        raise ChainruleError("--order needs --wrt NAME, as in --wrt x --order 2")
    if args.wrt is not None and args.order is None:
        args.order = 1
    if args.order is not None and args.order < 1:
        raise ChainruleError("--order must be 1 or more")
    if args.order is not None:
        check_order(args.order)
    if args.digits < 1 or args.digits > 17:
        raise ChainruleError("--digits must be between 1 and 17")
    if args.out:
        check_output(args.out, inputs=input_files(args), label=f"-o {args.out}")
    graph = load_graph(args)
    graph.backward()
    names = named_nodes(graph)
    out_name = graph.label(graph.output)
    ders: dict[str, dict[str, Any]] | None = None
    if args.wrt is not None:
        wrt = graph.find(args.wrt)
        if wrt is None:
            raise ChainruleError(f"--wrt {args.wrt}: no such name (names: {', '.join(names)})")
        if args.order > 1 and (graph.output.shape != () or wrt.shape != ()):
            raise ChainruleError(
                "derivatives of order 2 or more need a scalar output and a scalar --wrt"
            )
        values = derivatives(graph.output, wrt, args.order)
        ders = {graph.label(wrt): {str(k + 1): v for k, v in enumerate(values)}}
        graph.backward()  # building derivative graphs leaves the first-order numbers in place
    out = io.StringIO() if args.out else sys.stdout
    found = anomaly.find(graph.nodes, graph.source)
    kinks = anomaly.kinks(graph.nodes)
    naming = graph.naming

    def defined(n: Node) -> str:
        return new_definition(n, naming)

    if args.json:
        data = to_json(graph, names, out_name, ders, args.exact)
        data["anomalies"] = [a.to_json(graph.label(a.node), defined(a.node)) for a in found]
        data["kinks"] = [
            {"node": graph.label(n), "op": n.op.name, "convention": c} for n, c in kinks
        ]
        out.write(strict_dumps(data) + "\n")
    else:
        print_table(graph, digits=args.digits, names=names, file=out)
        for a in found:
            out.write(f"warning: {a.describe(graph.label(a.node), defined(a.node))}\n")
        for n, convention in kinks:
            out.write(f"note: {stated(n, naming)} is at a kink of {n.op.name}: {convention}\n")
        if ders:
            for wrt_name, by_order in ders.items():
                for k, v in by_order.items():
                    sup = "" if k == "1" else k.translate(SUPERSCRIPTS)
                    shown = (_rational_text(v) if args.exact else None) or decimal(v, args.digits)
                    out.write(f"d{sup}{out_name}/d{wrt_name}{sup} = {typographic(shown)}\n")
    if args.out and isinstance(out, io.StringIO):
        write_file(args.out, out.getvalue(), inputs=input_files(args), label=f"-o {args.out}")
        print(f"wrote {args.out}")
    return 0


def to_json(
    graph: Graph,
    names: dict[str, Node],
    out_name: str,
    ders: dict[str, dict[str, Any]] | None,
    exact: bool,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "output": out_name,
        "values": {k: plain(n.value) for k, n in names.items()},
        "gradients": {k: None if n.grad is None else plain(n.grad) for k, n in names.items()},
    }
    if ders is not None:
        result["derivatives"] = {w: {k: plain(v) for k, v in by.items()} for w, by in ders.items()}
    if exact:
        result["exact"] = {
            k: exact_form(n, names=graph.naming) or decimal(n.value, 17) for k, n in names.items()
        }
        result["exact_gradients"] = {
            k: _exact_text(n.grad) for k, n in names.items() if _exact_text(n.grad) is not None
        }
        if ders is not None:
            result["exact_derivatives"] = {
                w: {k: _exact_text(v) for k, v in by.items()} for w, by in ders.items()
            }
    return result


def _rational_text(v: Any) -> str | None:
    """A rational gradient (or a vector of them) as text, 3/20; None for anything else (the
    table shows the decimal of a closed form, which fits its column)."""
    return _exact_text(v) if is_rational(v) else None


def _exact_text(v: Any) -> str | None:
    """An exact gradient as text: 3/20, or a closed form (20^(1/3)·log(20)); None for floats."""

    if isinstance(v, Fraction):
        return fraction_text(v)
    if is_sympy(v):
        return sympy.sstr(v).replace("**", "^").replace("*", "·")
    if isinstance(v, np.ndarray) and v.dtype == object:
        parts = [_exact_text(x) for x in v.reshape(-1)]
        if all(p is not None for p in parts):
            return nested_text(v, lambda x: _exact_text(x) or "")  # a matrix stays a matrix
    return None


def print_table(
    graph: Graph,
    digits: int = 6,
    names: dict[str, Node] | None = None,
    file: TextIO | None = None,
) -> None:
    """Every node: its name, its definition, its value and doutput/dnode (the total)."""
    out = graph.output
    naming = graph.naming
    out_label = naming.label(out)
    also = also_called(graph.aliases, naming)
    title = out_label
    if also.get(out):  # the output asked for by another name (``y = x``; ``--output y``)
        title = f"{out_label} (= {' = '.join(also[out])})"
    stream = sys.stdout if file is None else file
    rows: list[tuple[str, ...]] = []
    for n in graph.nodes:
        if n.op.name == "const" and not n.name:
            continue
        value = decimal(n.value, digits)
        if cancelled_value(n):  # 0.1 + 0.2 − 0.3 = 5.6e-17 is rounding: say so
            value = f"0 up to rounding ({value})"
        ex = exact_form(n, names=naming) if n.exact else None
        if ex is not None and ex != value:
            value = _exact_cell(ex, value)
        grad = "—" if n.grad is None else decimal(n.grad, digits)
        if n.exact and n.grad is not None:
            g = _rational_text(n.grad)
            if g is not None:
                grad = _exact_cell(g, grad)
        row = (naming.label(n), definition(n, digits=digits, names=naming), value, grad)
        rows.append(tuple(typographic(cell) for cell in row))
        for other in also.get(n, ()):  # a name given to the same node: a row of its own
            rows.append(tuple(typographic(cell) for cell in (other, naming.label(n), value, grad)))
    heading = f"forward and backward pass of {title}"
    header = ("node", "operation", "value", f"d{out_label}/dnode")  # a total: d, not ∂
    stream.write(box_table(heading, header, rows, (False, False, True, True)))


MAX_EXACT_CELL = 60  # characters of an exact form a table cell shows (--json has them all)


def _exact_cell(exact: str, rounded: str) -> str:
    """An exact form beside its decimal (3/20; σ(14/5) ≈ 0.94); one too long to read (a
    fraction of 400 digits from 1e-400) as the decimal, saying how long the exact form is."""
    if len(exact) > MAX_EXACT_CELL:
        return f"≈ {rounded} (exact: {len(exact):,} characters, in the JSON output)"
    return exact if _is_rational_text(exact) else f"{exact} ≈ {rounded}"


def _is_rational_text(s: str) -> bool:
    return all(ch.isdigit() or ch in "/-−[], " for ch in s)

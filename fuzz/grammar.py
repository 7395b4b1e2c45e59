"""Inputs for fuzzing chainrule, as Hypothesis strategies: valid programs drawn from the
language's grammar, the same programs mutated, arbitrary text and arbitrary bytes, and the
command lines to run them with.

Valid programs are typed by shape (numbers, vectors, matrices), so most of them get past the
parser and the shape checks and reach the forward pass, the backward pass, the drawings and the
worked solutions; a share of every draw ignores the types on purpose, so errors are reached too.
Every function a program may call (``chainrule.lang.language.functions()``, which reads the op
table) is drawn, with keyword parameters made from each op's declared ``Param`` readers, so a
new op is fuzzed as soon as it is registered."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import strategies as st

from chainrule.lang.language import functions
from chainrule.ops import Op
from chainrule.ops.arrays import as_index_value
from chainrule.ops.table import as_axes, as_axis, as_bool, as_number, as_perm, as_shape

Shape = tuple[int, ...]
T = TypeVar("T")
SHAPES: list[Shape] = [(), (), (2,), (3,), (2, 2), (2, 3)]
ASCII_NAMES = ["x", "y", "z", "w", "b", "L", "h", "t", "out", "a1"]
# subscripts, primes, Greek, a combining accent, a compatibility letter (ℓ is l to Python),
# CJK, and names that shadow a constant or a function
UNICODE_NAMES = ["ŷ", "b₀", "x₁", "α", "θ", "x′", "Δ", "ℓ", "l", "变量", "e\u0301", "wᵢ"]
SHADOWING = ["e", "pi", "π", "sum", "exp", "max"]
NUMBERS = [
    "0", "1", "2", "3", "5", "0.5", "1.5", "0.1", "0.25", "4/5", "3/7", "2/3", "1e-3",
    "2.5e1", "10", "7", "1_0", ".5", "1.", "100", "0.001",
]  # fmt: skip
FUNCTIONS: dict[str, Op] = functions()
FUNCTION_NAMES = sorted(FUNCTIONS)
ELEMENTWISE_1 = sorted(
    n for n, op in FUNCTIONS.items() if op.arity == 1 and op.elementwise and not op.params
)
ELEMENTWISE_2 = sorted(n for n, op in FUNCTIONS.items() if op.arity == 2 and op.elementwise)
REDUCTIONS = [n for n in ("sum", "mean", "reduce_max", "sum_squares") if n in FUNCTIONS]
BINOPS = ["+", "-", "*", "/", "**", "^"]

# what mutations insert: tokens of the language, of Python it refuses, and of neither
TOKENS = [
    "(", ")", "[", "]", ",", "=", "**", "^", "@", ".T", "#", "\n", ";", "-", "+", "/", "*",
    "0", "9", "1e308", "1e-320", "4096", "x", "ŷ", "sum(", "axis=", "keepdims=True", "[0]",
    "\x00", "\ufeff", "\t", " ", "\\", "'", '"', "lambda", "__import__", "import os", ":=",
    "if", "1j", "[[", "]]", "...", "None", "True", "-1", "e", "π", "σ(", "relu(", "\r",
    "\u2028", "°", "😀", "x.y", "x[1:]", "**-1", "0/0", "/0", "*{}", "**kw",
]  # fmt: skip


@dataclass
class Program:
    """A program's text and what the generator knows of it: each name's shape."""

    text: str
    shapes: dict[str, Shape] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.shapes)


# ------------------------------------------------------------------ drawing cheaply

# Hypothesis validates a strategy and works out its properties once per strategy object:
# building ``st.integers(0, 4)`` or ``st.sampled_from([...])`` afresh at every choice cost
# more than the choice itself. Every choice goes through one object per range instead, which
# draws the same values (``sampled_from`` draws an index the same way) at about half the cost.
_RANGES: dict[tuple[int, int], st.SearchStrategy[int]] = {}
BOOLEANS = st.booleans()
FLOATS = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
SMALL_AXES = st.lists(st.integers(-2, 2), min_size=1, max_size=2)
DIMS = st.lists(st.integers(-1, 4), max_size=3)


def integer(draw: Any, lo: int, hi: int) -> int:
    """``draw(st.integers(lo, hi))`` through one strategy object per range."""
    strategy = _RANGES.get((lo, hi))
    if strategy is None:
        strategy = st.integers(lo, hi)
        if len(_RANGES) < 50_000:  # ranges that depend on a text's length: bounded
            _RANGES[(lo, hi)] = strategy
    return int(draw(strategy))


def pick(draw: Any, options: Sequence[T]) -> T:
    """``draw(st.sampled_from(options))``: an index, shrinking towards the first option."""
    return options[integer(draw, 0, len(options) - 1)]


# ------------------------------------------------------------------ numbers and literals


NUMBER_POOL = NUMBERS + ["-" + n for n in NUMBERS[1:8]] + [str(k) for k in range(-20, 21)]


def number(draw: Any) -> str:
    """A number as people write it (one draw in most cases, which keeps generation fast)."""
    k = integer(draw, 0, len(NUMBER_POOL))
    if k < len(NUMBER_POOL):
        return NUMBER_POOL[k]
    return repr(draw(FLOATS))


def literal(draw: Any, shape: Shape) -> str:
    if not shape:
        return number(draw)
    inner = [literal(draw, shape[1:]) for _ in range(shape[0])]
    return "[" + ", ".join(inner) + "]"


# ------------------------------------------------------------------ parameters


def param_value(draw: Any, read: Any) -> str:
    """A keyword parameter's value as program text, mostly of the type the reader takes."""
    if integer(draw, 0, 14) == 0:  # the wrong type, on purpose
        return str(pick(draw, ["'a'", "x", "1.5", "(1, 'a')", "[[1]]", "True"]))
    big = integer(draw, 0, 30) == 0  # sizes that would allocate gigabytes
    if read is as_bool:
        return str(draw(BOOLEANS))
    if read is as_number:
        return str(pick(draw, ["0.1", "-1", "2.5", "0", "1e-3"]))
    if read is as_axis:
        return str(pick(draw, [10**9, 10**6]) if big else integer(draw, -2, 3))
    if read is as_axes:
        choice = integer(draw, 0, 2)
        if choice == 0:
            return "None"
        if choice == 1:
            return str(integer(draw, -2, 2))
        axes = draw(SMALL_AXES)
        return "(" + ", ".join(map(str, axes)) + ",)"
    if read in (as_shape, as_perm):
        if read is as_perm and draw(BOOLEANS):
            return "None"
        dims = draw(DIMS)
        if big:
            dims = [10**6, 10**6]
        return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"
    if read is as_index_value:
        return str(integer(draw, -3, 3))
    return str(integer(draw, -2, 3))


def keywords(draw: Any, op: Op) -> list[str]:
    out = []
    for q in op.params:
        if integer(draw, 0, 2) == 0:
            out.append(f"{q.name}={param_value(draw, q.read)}")
    if integer(draw, 0, 20) == 0:
        out.append(str(pick(draw, ["foo=1", "axis=0", "slope=0.1", "shape=(2,)"])))
    return out


# ------------------------------------------------------------------ expressions


def leaf(draw: Any, shape: Shape, env: dict[str, Shape]) -> str:
    fitting = [n for n, s in env.items() if s == shape]
    r = integer(draw, 0, 19)
    if r == 0:
        return str(pick(draw, ["e", "pi", "π"]))
    if r == 1 and env:
        return str(pick(draw, sorted(env)))  # any shape
    if r == 2:
        return str(pick(draw, ASCII_NAMES + UNICODE_NAMES))  # maybe undefined
    if fitting and r < 13:
        return str(pick(draw, fitting))
    return literal(draw, shape)


def expr(draw: Any, shape: Shape, env: dict[str, Shape], depth: int) -> str:
    """An expression of the given shape (most of the time)."""
    if depth <= 0 or integer(draw, 0, 4) == 0:
        return leaf(draw, shape, env)
    d = depth - 1
    kind = integer(draw, 0, 15)
    if kind <= 2:
        return f"{pick(draw, ELEMENTWISE_1)}({expr(draw, shape, env, d)})"
    if kind <= 5:
        a = expr(draw, shape, env, d)
        b = expr(draw, pick(draw, [shape, ()]), env, d)
        op = pick(draw, BINOPS)
        if op in ("**", "^") and draw(BOOLEANS):
            b = str(pick(draw, ["2", "3", "0.5", "-1", "(1/2)", "x"]))
        return f"({a} {op} {b})"
    if kind == 6:
        return f"-{expr(draw, shape, env, d)}"
    if kind == 7:
        f = pick(draw, ELEMENTWISE_2)
        return f"{f}({expr(draw, shape, env, d)}, {expr(draw, shape, env, d)})"
    if kind == 8 and not shape:
        f = pick(draw, REDUCTIONS)
        inner = pick(draw, SHAPES[2:])
        return f"{f}({expr(draw, inner, env, d)})"
    if kind == 9 and not shape:
        n = integer(draw, 2, 3)
        f = pick(draw, ["dot({}, {})", "({} @ {})", "mse({}, {})"])
        return f.format(expr(draw, (n,), env, d), expr(draw, (n,), env, d))
    if kind == 9 and len(shape) == 1:
        k = integer(draw, 2, 3)
        return f"({expr(draw, (shape[0], k), env, d)} @ {expr(draw, (k,), env, d)})"
    if kind == 10 and len(shape) == 1:
        f = pick(draw, ["softmax", "log_softmax"])
        return f"{f}({expr(draw, shape, env, d)})"
    if kind == 10 and len(shape) == 2:
        return f"{expr(draw, shape[::-1], env, d)}.T"
    if kind == 11 and len(shape) == 1:
        return "[" + ", ".join(expr(draw, (), env, d) for _ in range(shape[0])) + "]"
    if kind == 11 and not shape:
        n = integer(draw, 2, 3)
        i = integer(draw, -n - 1, n) if integer(draw, 0, 9) == 0 else integer(draw, 0, n - 1)
        return f"{expr(draw, (n,), env, d)}[{i}]"
    if kind == 12 and not shape:
        z = expr(draw, (2,), env, d)
        f = pick(draw, ["bce(σ({}), [1, 0])", "bce_with_logits({}, [0, 1])",
                                  "hinge({}, [1, -1])", "cross_entropy({}, 1)"])  # fmt: skip
        return f.format(z)
    if kind >= 13:
        return call_any(draw, env, d)
    return leaf(draw, shape, env)


def call_any(draw: Any, env: dict[str, Shape], depth: int) -> str:
    """Any function of the table, with arguments of any shape and keyword parameters."""
    name = pick(draw, FUNCTION_NAMES)
    op = FUNCTIONS[name]
    n = op.arity if op.arity >= 0 else integer(draw, 1, 3)
    if integer(draw, 0, 19) == 0:
        n = integer(draw, 0, 4)  # the wrong number of arguments
    args = [expr(draw, pick(draw, SHAPES), env, depth) for _ in range(n)]
    return f"{name}({', '.join(args + keywords(draw, op))})"


# ------------------------------------------------------------------ programs


def name(draw: Any) -> str:
    r = integer(draw, 0, 9)
    if r < 6:
        return str(pick(draw, ASCII_NAMES))
    if r < 9:
        return str(pick(draw, UNICODE_NAMES))
    return str(pick(draw, SHADOWING))


@st.composite
def programs(draw: Any, max_statements: int = 6, depth: int = 3) -> Program:
    """A program from the language's grammar: assignments of literals (inputs) and of
    expressions over the names assigned before."""
    env: dict[str, Shape] = {}
    lines = []
    for k in range(integer(draw, 1, max_statements)):
        shape = pick(draw, SHAPES)
        target = name(draw)
        if k == 0 or integer(draw, 0, 3) == 0:
            rhs = literal(draw, shape)
        else:
            rhs = expr(draw, shape, env, depth)
        env[target] = shape
        comment = "  # " + pick(draw, ["note", "σ′(z)", "x = 1"]) if k == 1 else ""
        lines.append(f"{target} = {rhs}{comment}")
    seps = ["\n", "\n", "\n", "; ", "\n\n", "\r\n"]
    sep = pick(draw, seps)
    text = sep.join(lines) + pick(draw, ["", "\n"])
    return Program(text, env)


@st.composite
def mutated(draw: Any) -> Program:
    """A valid program with a few edits: characters deleted, tokens inserted, spans
    duplicated, lines swapped."""
    prog = draw(PROGRAMS)
    text = prog.text
    for _ in range(integer(draw, 1, 3)):
        i = integer(draw, 0, len(text))
        kind = integer(draw, 0, 4)
        if kind == 0:
            j = integer(draw, i, min(len(text), i + 5))
            text = text[:i] + text[j:]
        elif kind <= 2:
            text = text[:i] + pick(draw, TOKENS) + text[i:]
        elif kind == 3:
            j = integer(draw, i, min(len(text), i + 12))
            text = text[:j] + text[i:j] + text[j:]
        else:
            lines = text.split("\n")
            lines = draw(st.permutations(lines))
            text = "\n".join(lines)
    return Program(text, prog.shapes)


PROGRAMS = programs()


def _from_bytes(data: bytes) -> Program:
    return Program(data.decode("utf-8", errors="surrogateescape"))


texts = st.text(max_size=120).map(Program)
raw_bytes = st.binary(max_size=120).map(_from_bytes)


@functools.cache
def sources() -> st.SearchStrategy[Program]:
    """Every kind of program text: valid, mutated, arbitrary text, arbitrary bytes (as
    surrogate escapes: ``encode`` gives the bytes back)."""
    return st.one_of(programs(), programs(), programs(), mutated(), mutated(), texts, raw_bytes)


def encode(prog: Program) -> bytes:
    return prog.text.encode("utf-8", errors="surrogateescape")


# ------------------------------------------------------------------ command lines

DRAW_FORMATS = ["svg", "svg", "txt", "dot", "mmd", "tex", "json", "html"]
CLAIM_VALUES = ["0", "1", "-0.5", "0,94", "2.8", "nan", "inf", "-inf", "1e20", "abc", "4/5", ""]


def at_value(draw: Any, shape: Shape) -> str:
    if integer(draw, 0, 7) == 0:
        return str(pick(draw, ["abc", "[1,", "1e999", "[]", "[[1],[1,2]]", "", "1/0"]))
    return literal(draw, shape).replace(" ", "")


@st.composite
def command_lines(draw: Any, prog: Program, program_path: str, out_dir: str) -> list[str]:
    """A command line for the program: eval (float, exact, JSON, higher derivatives), draw
    (text and files), explain (every format) or check (claims)."""
    return command_line(draw, prog, program_path, out_dir)


def command_line(draw: Any, prog: Program, program_path: str, out_dir: str) -> list[str]:
    """``command_lines`` drawn inside another strategy (no strategy object per program)."""
    names = prog.names or ["x"]
    command = pick(draw, ["eval", "eval", "draw", "draw", "explain", "check"])
    argv = [command, program_path]
    if integer(draw, 0, 3) == 0:
        target = pick(draw, names)
        argv += ["--at", f"{target}={at_value(draw, prog.shapes.get(target, ()))}"]
    if integer(draw, 0, 9) == 0:
        argv += ["--output", pick(draw, names)]
    if command in ("eval", "explain", "check", "draw") and draw(BOOLEANS):
        argv.append("--exact")
    if command == "eval":
        if draw(BOOLEANS):
            argv.append("--json")
        if integer(draw, 0, 3) == 0:
            argv += ["--wrt", pick(draw, names), "--order", str(integer(draw, 1, 4))]
    elif command == "draw":
        argv += ["--view", pick(draw, ["forward", "gradients", "backward"])]
        if draw(BOOLEANS):
            argv += ["-o", f"{out_dir}/drawing.{pick(draw, DRAW_FORMATS)}"]
        if integer(draw, 0, 5) == 0:
            argv.append("--expand")
        if integer(draw, 0, 7) == 0:
            argv += ["--collapse", pick(draw, names)]
        if integer(draw, 0, 7) == 0:
            argv += ["--paths-from", pick(draw, names)]
    elif command == "explain":
        argv += ["--format", pick(draw, ["txt", "md", "tex"])]
    else:
        for _ in range(integer(draw, 1, 3)):
            who = pick(draw, names)
            if draw(BOOLEANS):
                who = f"d{pick(draw, names)}/d{who}"
            argv += ["--claim", f"{who}={pick(draw, CLAIM_VALUES)}"]
        if draw(BOOLEANS):
            argv.append("--json")
    return argv

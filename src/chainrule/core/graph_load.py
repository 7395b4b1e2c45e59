"""Reading a saved graph (schema ``chainrule.graph/1``) from data nobody vouches for.

Every field is checked before it is used, and every mistake is one ``ValueInputError`` that
names the node and the field: never a ``KeyError``, ``TypeError`` or ``RecursionError``. Inputs
must refer to earlier nodes, so a graph read here can never hold a cycle; values are recomputed
by the engine from the leaves, and sizes are bounded before anything big is built."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from ..ops import OPS
from .errors import ChainruleError, ValueInputError
from .node import Node, apply, new_node
from .values import kind_of

SCHEMA = "chainrule.graph/1"

MAX_JSON_CHARS = 64 * 2**20  # characters of JSON text read by ``from_json``
MAX_ELEMENTS = 10_000_000  # elements of one value (read or computed)
MAX_EXACT_BITS = 100_000  # bits of numerator plus denominator of one exact number
MAX_NUMBER_TEXT = 2_000  # characters of a number written as text ("14/5", "inf")
MAX_NAME = 1_000  # characters of a node's name
SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair, alone: not a character
MAX_SOURCE = 10**9  # largest line or column number
FLOAT_DTYPES = ("float64", "float32", "float16")
MAX_PARAM_DEPTH = 4  # tuples in tuples: an index such as (slice, (1, 2))

_FRACTION = re.compile(r"-?[0-9]+(/[0-9]+)?")


def parse_json(text: str | bytes, max_chars: int = MAX_JSON_CHARS) -> Any:
    """JSON text → Python data, with the size and nesting of the text bounded."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueInputError(f"the graph JSON is not UTF-8 text: {exc}") from None
    if not isinstance(text, str):
        raise ValueInputError(f"the graph JSON must be text, not {type(text).__name__}")
    if len(text) > max_chars:
        raise ValueInputError(
            f"the graph JSON is {len(text):,} characters; the limit is {max_chars:,} "
            "(pass max_chars= to read a bigger graph you trust)"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueInputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueInputError("the graph JSON is nested too deeply to be a graph") from None
    except ValueError as exc:  # integers past Python's digit limit
        raise ValueInputError(f"the graph JSON holds a number that cannot be read: {exc}") from None


def read_graph(data: Any) -> tuple[list[Node], list[Node], dict[Node, tuple[int, int]]]:
    """Checked data → (nodes in order, outputs, source positions)."""
    if not isinstance(data, Mapping):
        raise ValueInputError(f"not a chainrule graph: expected a JSON object, got {_type(data)}")
    schema = data.get("schema")
    if schema != SCHEMA:
        raise ValueInputError(
            f"not a chainrule graph (schema {_short(schema)}, expected {SCHEMA!r})"
        )
    entries = _field(data, "nodes", list, "the graph")
    if not entries:
        raise ValueInputError("the graph has no nodes")
    built: list[Node] = []
    source: dict[Node, tuple[int, int]] = {}
    for i, entry in enumerate(entries):
        node = _read_node(i, entry, built)
        if isinstance(entry, Mapping) and "source" in entry:
            source[node] = _source(i, entry["source"])
        built.append(node)
    outputs = _field(data, "outputs", list, "the graph")
    if not outputs:
        raise ValueInputError("the graph names no output ('outputs' is empty)")
    chosen = []
    for k in outputs:
        if not _is_int(k) or not 0 <= k < len(built):
            raise ValueInputError(
                f"'outputs' must hold node numbers from 0 to {len(built) - 1}, not {_short(k)}"
            )
        chosen.append(built[k])
    return built, chosen, source


def _read_node(i: int, entry: Any, built: list[Node]) -> Node:
    where = f"node {i}"
    if not isinstance(entry, Mapping):
        raise ValueInputError(f"{where}: expected an object, got {_type(entry)}")
    if "id" in entry and entry["id"] != i:
        raise ValueInputError(
            f"{where}: its 'id' is {_short(entry['id'])}; nodes are numbered 0, 1, 2 … in order"
        )
    op_name = _field(entry, "op", str, where)
    op = OPS.get(op_name)
    if op is None:
        raise ValueInputError(f"{where}: unknown operation {_short(op_name)}")
    inputs = _field(entry, "inputs", list, where)
    if op.arity >= 0 and len(inputs) != op.arity:
        raise ValueInputError(
            f"{where}: {op.name} takes {op.arity} input{'s' if op.arity != 1 else ''}, "
            f"got {len(inputs)}"
        )
    if op.arity < 0 and not inputs:
        raise ValueInputError(f"{where}: {op.name} needs at least one input")
    args = []
    for j in inputs:
        if not _is_int(j):
            raise ValueInputError(f"{where}: an input must be a node number, not {_short(j)}")
        if j < 0:
            raise ValueInputError(f"{where}: input {j} is negative; use node numbers from 0")
        if j >= i:
            raise ValueInputError(
                f"{where}: input {j} is not an earlier node (inputs come before the nodes "
                "that use them, so a graph can hold no cycle)"
            )
        args.append(built[j])
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
        raise ValueInputError(f"{where}: 'name' must be text of at most {MAX_NAME} characters")
    if name is not None and SURROGATE.search(name):
        # JSON's "\ud800" alone is no character: every writer (UTF-8) would fail on it
        raise ValueInputError(f"{where}: 'name' holds a lone surrogate {_short(name)}, not text")
    if args:
        params = read_params(entry.get("params"), where, op.name)
        node = _compute(op, tuple(args), params, where)
    else:
        if "value" not in entry:
            raise ValueInputError(f"{where}: a leaf needs a 'value'")
        value = read_value(entry["value"], f"{where}, 'value'")
        rg = entry.get("requires_grad", True)
        if not isinstance(rg, bool):
            raise ValueInputError(f"{where}: 'requires_grad' must be true or false")
        node = new_node(value, op, (), kind_of(value), rg)
    node.name = name
    if entry.get("grad") is not None:
        grad = read_value(entry["grad"], f"{where}, 'grad'")
        if np.shape(grad) != np.shape(node.value):
            raise ValueInputError(
                f"{where}: the gradient has shape {np.shape(grad)}, "
                f"the value {np.shape(node.value)}"
            )
        node.grad = grad
    return node


def _compute(op: Any, args: tuple[Node, ...], params: dict[str, Any] | None, where: str) -> Node:
    try:
        node = apply(op, args, params)
    except ChainruleError as exc:
        raise ValueInputError(f"{where}: {op.name} cannot be computed here: {exc}") from None
    except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError) as exc:
        raise ValueInputError(
            f"{where}: {op.name} cannot be computed from these inputs and parameters "
            f"({type(exc).__name__}: {_clip(str(exc))})"
        ) from None
    except MemoryError:
        raise ValueInputError(f"{where}: {op.name} would need more memory than there is") from None
    check_size(node.value, where)
    return node


def check_size(value: Any, where: str) -> None:
    """Refuse values past ``MAX_ELEMENTS`` elements or exact numbers past ``MAX_EXACT_BITS``."""
    size = int(np.size(value)) if isinstance(value, np.ndarray) else 1
    if size > MAX_ELEMENTS:
        raise ValueInputError(f"{where}: {size:,} elements; the limit is {MAX_ELEMENTS:,}")
    items = (
        value.reshape(-1) if isinstance(value, np.ndarray) and value.dtype == object else [value]
    )
    for x in items:
        if isinstance(x, Fraction):
            bits = x.numerator.bit_length() + x.denominator.bit_length()
            if bits > MAX_EXACT_BITS:
                raise ValueInputError(
                    f"{where}: an exact number of {bits:,} bits; the limit is {MAX_EXACT_BITS:,}"
                )


# ------------------------------------------------------------------ values


def read_value(v: Any, where: str = "value") -> Any:
    """One encoded value (see ``graph.encode_value``) → float, Fraction or ndarray."""
    if _is_number(v):
        return _float(v, where)
    if not isinstance(v, Mapping):
        raise ValueInputError(f"{where}: cannot read the value {_short(v)}")
    if "fraction" in v:
        return _fraction(v["fraction"], where)
    if "array" in v:
        return _array(v["array"], v.get("dtype", "float64"), where)
    if "exact_array" in v:
        return _exact_array(v["exact_array"], v.get("shape"), where)
    if "float" in v:
        text = v["float"]
        if not isinstance(text, str) or len(text) > MAX_NUMBER_TEXT:
            raise ValueInputError(f"{where}: 'float' must be a number written as text")
        try:
            return float(text)
        except ValueError:
            raise ValueInputError(f"{where}: {_short(text)} is not a number") from None
    if "decimal" in v:
        if not _is_number(v["decimal"]):
            raise ValueInputError(f"{where}: 'decimal' must be a number")
        return _float(v["decimal"], where)
    raise ValueInputError(f"{where}: cannot read the value {_short(v)}")


def _float(v: Any, where: str) -> float:
    try:
        return float(v)
    except OverflowError:
        raise ValueInputError(f"{where}: {_short(v)} is past the range of floats") from None


def _fraction(text: Any, where: str) -> Fraction:
    if not isinstance(text, str) or len(text) > MAX_NUMBER_TEXT or not _FRACTION.fullmatch(text):
        raise ValueInputError(
            f'{where}: a fraction is written as text such as "14/5" or "-3" '
            f"(at most {MAX_NUMBER_TEXT} characters), not {_short(text)}"
        )
    try:
        value = Fraction(text)
    except ZeroDivisionError:
        raise ValueInputError(f"{where}: the fraction {_short(text)} divides by zero") from None
    except ValueError as exc:
        raise ValueInputError(f"{where}: cannot read the fraction: {exc}") from None
    check_size(value, where)
    return value


def _array(items: Any, dtype: Any, where: str) -> np.ndarray:
    if dtype not in FLOAT_DTYPES:
        raise ValueInputError(
            f"{where}: dtype {_short(dtype)}; use one of {', '.join(FLOAT_DTYPES)}"
        )
    if not isinstance(items, (list, int, float)) or isinstance(items, bool):
        raise ValueInputError(f"{where}: 'array' must be (nested lists of) numbers")
    _check_numbers(items, where)
    try:
        arr = np.asarray(items, dtype=dtype)
    except (ValueError, TypeError, OverflowError):
        raise ValueInputError(
            f"{where}: 'array' must be a rectangular array of numbers (rows of equal length)"
        ) from None
    check_size(arr, where)
    return arr


def _check_numbers(items: Any, where: str) -> None:
    """Every leaf of nested lists is a number (no text, no objects), walked without recursion;
    the count is bounded before numpy sees the data."""
    stack = [items]
    count = 0
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
            continue
        count += 1
        if count > MAX_ELEMENTS:
            raise ValueInputError(f"{where}: more than {MAX_ELEMENTS:,} elements")
        if not _is_number(x):
            raise ValueInputError(f"{where}: an array element is {_short(x)}, not a number")


def _exact_array(items: Any, shape: Any, where: str) -> np.ndarray:
    if not isinstance(items, list) or not isinstance(shape, list) or not all(map(_is_int, shape)):
        raise ValueInputError(f"{where}: 'exact_array' needs a list of numbers and a 'shape'")
    if len(shape) > 32 or any(n < 0 for n in shape) or math.prod(shape) != len(items):
        raise ValueInputError(
            f"{where}: the shape {_short(shape)} does not hold {len(items)} elements"
        )
    if len(items) > MAX_ELEMENTS:
        raise ValueInputError(f"{where}: {len(items):,} elements; the limit is {MAX_ELEMENTS:,}")
    flat: list[Any] = []
    for x in items:
        if isinstance(x, str):
            flat.append(_fraction(x, where))
        elif isinstance(x, Mapping) and _is_number(x.get("decimal")):
            flat.append(_float(x["decimal"], where))
        else:
            raise ValueInputError(f"{where}: an exact element is {_short(x)}")
    arr = np.empty(len(flat), dtype=object)
    arr[:] = flat
    return arr.reshape(shape)


# ------------------------------------------------------------------ parameters


#: the parameters of the ops that take some, as the functions that build them pass them; the
#: op table does not declare them yet, so they are listed here (checked against it by a test)
def op_params(name: str) -> tuple[str, ...]:
    """The parameters an op declares in the table (the one list of them)."""
    op = OPS.get(name)
    return tuple(q.name for q in op.params) if op is not None else ()


def read_params(params: Any, where: str, op: str | None = None) -> dict[str, Any] | None:
    """Operation parameters (axis, shape, index …) as ``graph._encode_params`` wrote them; with
    ``op``, exactly the parameters that op takes, each of the right type."""
    if params is not None and not isinstance(params, Mapping):
        raise ValueInputError(f"{where}: 'params' must be an object")
    given = dict(params or {})
    if op is not None and op_params(op):
        want = op_params(op)  # missing ones take the op's declared defaults
        extra = sorted(str(k) for k in given if k not in want)
        if extra:
            raise ValueInputError(
                f"{where}: {op} takes the parameters {', '.join(want)}; unknown {', '.join(extra)}"
            )
    elif op is not None and given:
        raise ValueInputError(f"{where}: {op} takes no parameters")
    if not given:
        return None
    out = {}
    for k, v in given.items():
        at = f"{where}, parameter {k!r}"
        value = _param(v, at)
        check = _PARAM_CHECKS.get(str(k))
        if check is not None and not check(value):
            raise ValueInputError(f"{at}: {_PARAM_TEXT[str(k)]}, not {_short(v)}")
        if k == "shape" and math.prod(value) > MAX_ELEMENTS:
            raise ValueInputError(
                f"{at}: {math.prod(value):,} elements; the limit is {MAX_ELEMENTS:,}"
            )
        out[str(k)] = value
    return out


def _ints(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) <= 32 and all(_is_int(a) for a in x)


def _index_part(x: Any) -> bool:
    return x is None or _is_int(x) or isinstance(x, slice) or _int_array(x)


def _int_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind in "iub"


_PARAM_CHECKS: dict[str, Any] = {
    "shape": lambda v: _ints(v) and all(a >= 0 for a in v),
    "axes": lambda v: v is None or _ints(v),
    "axis": lambda v: v is None or _is_int(v) or _ints(v),
    "keepdims": lambda v: isinstance(v, bool),
    "slope": lambda v: _is_number(v),
    "index": lambda v: _index_part(v) or (isinstance(v, tuple) and all(map(_index_part, v))),
}
_PARAM_TEXT = {
    "shape": "a shape is a list of whole numbers from 0",
    "axes": "axes are a list of whole numbers, or null",
    "axis": "an axis is a whole number, a list of them, or null",
    "keepdims": "keepdims is true or false",
    "slope": "a slope is a number",
    "index": "an index is a whole number, a slice, a list of whole numbers, or a tuple of them",
}


def _param(v: Any, where: str, depth: int = 0) -> Any:
    if depth > MAX_PARAM_DEPTH:
        raise ValueInputError(f"{where}: parameters nest at most {MAX_PARAM_DEPTH} levels deep")
    if v is None or isinstance(v, (bool, str)):
        return v
    if _is_number(v):
        _float(v, where)  # bounded like any number
        return v
    if isinstance(v, list):
        return tuple(_param(x, where, depth + 1) for x in v)
    if isinstance(v, Mapping):
        if "slice" in v:
            parts = v["slice"]
            if not (isinstance(parts, list) and len(parts) == 3):
                raise ValueInputError(f"{where}: a slice is [start, stop, step]")
            if not all(x is None or _is_int(x) for x in parts):
                raise ValueInputError(f"{where}: slice bounds are whole numbers or null")
            return slice(*parts)
        if isinstance(v.get("tuple"), list):
            return tuple(_param(x, where, depth + 1) for x in v["tuple"])
        if isinstance(v.get("ndarray"), list):
            _check_numbers(v["ndarray"], where)
            try:
                return np.asarray(v["ndarray"])
            except (ValueError, TypeError, OverflowError):
                raise ValueInputError(f"{where}: 'ndarray' must be rectangular") from None
    raise ValueInputError(f"{where}: cannot read the parameter {_short(v)}")


# ------------------------------------------------------------------ small helpers


def _field(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ValueInputError(f"{where}: the key {key!r} is missing")
    value = data[key]
    if not isinstance(value, kind):
        want = "a list" if kind is list else ("text" if kind is str else kind.__name__)
        raise ValueInputError(f"{where}: {key!r} must be {want}, not {_type(value)}")
    return value


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _source(i: int, pos: Any) -> tuple[int, int]:
    if (
        not isinstance(pos, list)
        or len(pos) != 2
        or not all(_is_int(p) and 0 <= p <= MAX_SOURCE for p in pos)
    ):
        raise ValueInputError(f"node {i}: 'source' must be [line, column]")
    return pos[0], pos[1]


def _type(x: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    for cls, name in names.items():
        if isinstance(x, cls):
            return name
    return "a number" if _is_number(x) else type(x).__name__


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _short(x: Any) -> str:
    """A bounded, printable rendering of a piece of untrusted data for an error message."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 200:
        return f"an integer of {x.bit_length():,} bits"
    try:
        text = repr(x) if isinstance(x, str) else json.dumps(x, ensure_ascii=False)[:200]
    except (TypeError, ValueError, RecursionError):
        text = type(x).__name__
    return _clip(text)

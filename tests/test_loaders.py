"""Loading data nobody vouches for: saved graphs (``Graph.from_json``) and saved parameters
(``Module.load``). Every malformed input is one ChainruleError naming what is wrong; nothing is
unpickled, nothing big is allocated on a header's word, and no cycle can be built."""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.lib import format as npy

import chainrule as cr
from chainrule import nn
from chainrule import tensor as T
from chainrule.core.graph import SCHEMA
from chainrule.nn.npz import MAX_LOAD_BYTES
from chainrule.ops import OPS

LEAF = {"id": 0, "op": "input", "inputs": [], "value": 1.0}
VECTOR = {"id": 0, "op": "input", "inputs": [], "value": {"array": [1.0, 2.0]}}


def graph(nodes: list[Any], outputs: list[Any] | None = None, **extra: Any) -> str:
    data = {"schema": SCHEMA, "nodes": nodes, "outputs": [0] if outputs is None else outputs}
    return json.dumps({**data, **extra})


def then(op: str, inputs: list[Any], **fields: Any) -> dict[str, Any]:
    return {"op": op, "inputs": inputs, **fields}


# (what is wrong, JSON text, a piece of the message that must name it)
MALFORMED = [
    ("a JSON list", "[1, 2]", "JSON object"),
    ("not JSON", "{nodes", "not valid JSON"),
    ("10⁵-deep nesting", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("10⁵-deep objects", '{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ("another schema", json.dumps({"schema": "x/1", "nodes": [], "outputs": []}), "schema"),
    ("no nodes key", json.dumps({"schema": SCHEMA, "outputs": [0]}), "'nodes' is missing"),
    ("nodes not a list", json.dumps({"schema": SCHEMA, "nodes": {}, "outputs": [0]}), "a list"),
    ("no outputs key", json.dumps({"schema": SCHEMA, "nodes": [LEAF]}), "'outputs' is missing"),
    ("empty outputs", graph([LEAF], []), "no output"),
    ("output out of range", graph([LEAF], [5]), "from 0 to 0"),
    ("negative output", graph([LEAF], [-1]), "from 0 to 0"),
    ("a node that is a number", graph([5]), "node 0"),
    ("missing op", graph([{"inputs": [], "value": 1}]), "'op' is missing"),
    ("op not text", graph([{"op": ["input"], "inputs": [], "value": 1}]), "'op' must be text"),
    ("unknown op", graph([LEAF, then("__import__", [0])], [1]), "unknown operation"),
    ("missing inputs", graph([{"op": "input", "value": 1}]), "'inputs' is missing"),
    ("wrong arity", graph([LEAF, then("add", [0])], [1]), "add takes 2 inputs"),
    ("a leaf with inputs", graph([LEAF, then("input", [0], value=1)], [1]), "takes 0 inputs"),
    ("negative input", graph([LEAF, then("tanh", [-1])], [1]), "negative"),
    ("a self-loop", graph([LEAF, then("tanh", [1])], [1]), "not an earlier node"),
    (
        "a cycle through a later node",
        graph([LEAF, then("add", [0, 2]), then("tanh", [1])], [2]),
        "not an earlier node",
    ),
    ("input out of range", graph([LEAF, then("tanh", [10**30])], [1]), "not an earlier node"),
    ("input as text", graph([LEAF, then("tanh", ["0"])], [1]), "node number"),
    ("input as true", graph([LEAF, then("tanh", [True])], [1]), "node number"),
    ("a leaf without value", graph([{"op": "input", "inputs": []}]), "needs a 'value'"),
    ("value as text", graph([{**LEAF, "value": "1"}]), "cannot read the value"),
    ("value true", graph([{**LEAF, "value": True}]), "cannot read the value"),
    ("huge int", graph([{**LEAF, "value": 9 * 10**4000}]), "past the range of floats"),
    (
        "int past Python's digit limit",
        graph([LEAF]).replace("1.0", "9" * 5000),
        "cannot be read",
    ),
    ("fraction 1/0", graph([{**LEAF, "value": {"fraction": "1/0"}}]), "divides by zero"),
    ("fraction as words", graph([{**LEAF, "value": {"fraction": "abc"}}]), "fraction"),
    ("float as words", graph([{**LEAF, "value": {"float": "abc"}}]), "not a number"),
    ("ragged array", graph([{**LEAF, "value": {"array": [[1, 2], [3]]}}]), "rectangular"),
    ("text in an array", graph([{**LEAF, "value": {"array": ["1", 2]}}]), "not a number"),
    ("object dtype", graph([{**LEAF, "value": {"array": [1], "dtype": "object"}}]), "dtype"),
    (
        "exact array of the wrong shape",
        graph([{**LEAF, "value": {"exact_array": ["1", "2"], "shape": [3]}}]),
        "does not hold 2 elements",
    ),
    ("gradient of the wrong shape", graph([{**LEAF, "grad": {"array": [1, 2]}}]), "shape"),
    ("requires_grad as text", graph([{**LEAF, "requires_grad": "yes"}]), "true or false"),
    ("name as a number", graph([{**LEAF, "name": 5}]), "'name'"),
    ("id out of order", graph([{**LEAF, "id": 3}]), "numbered"),
    ("source as one number", graph([{**LEAF, "source": [1]}]), "[line, column]"),
    ("params as a list", graph([LEAF, then("tanh", [0], params=[1])], [1]), "must be an object"),
    ("params on an op without", graph([LEAF, then("tanh", [0], params={"a": 1})], [1]), "no param"),
    (
        "unknown parameter",
        graph([VECTOR, then("index", [0], params={"idx": 0})], [1]),
        "unknown idx",
    ),
    ("index as text", graph([VECTOR, then("index", [0], params={"index": "a"})], [1]), "index"),
    (
        "a 10¹⁰-element broadcast",
        graph([LEAF, then("broadcast_to", [0], params={"shape": [10**5, 10**5]})], [1]),
        "the limit is",
    ),
    (
        "a 10¹²-element reshape",
        graph([VECTOR, then("reshape", [0], params={"shape": [10**12]})], [1]),
        "the limit is",
    ),
    (
        "an exact number doubling its digits 40 times",
        graph([{**LEAF, "value": {"fraction": "3/7"}}] + [then("mul", [i, i]) for i in range(40)]),
        "exact numbers are kept up to",
    ),
    ("log of −1", graph([{**LEAF, "value": -1.0}, then("log", [0])], [1]), "log"),
]


@pytest.mark.parametrize(
    ("text", "says"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_graph_json_is_one_chainrule_error(text: str, says: str) -> None:
    with pytest.raises(cr.ChainruleError) as caught:
        cr.Graph.from_json(text)
    assert says in str(caught.value)


def test_an_output_beyond_the_nodes_built_is_refused_even_when_outputs_come_first() -> None:
    text = json.dumps({"schema": SCHEMA, "outputs": [1], "nodes": [LEAF]})
    with pytest.raises(cr.ChainruleError, match="from 0 to 0"):
        cr.Graph.from_json(text)


def test_oversized_text_is_refused_before_it_is_parsed() -> None:
    x = cr.var(0.5, name="x")
    text = cr.Graph(cr.tanh(x) * x).to_json()
    with pytest.raises(cr.ChainruleError, match="the limit is 10"):
        cr.Graph.from_json(text, max_chars=10)
    assert cr.Graph.from_json(text, max_chars=len(text))["x"].value == 0.5


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(cr.ChainruleError, match="UTF-8"):
        cr.Graph.from_json(b"\xff\xfe{}")


def test_a_loaded_graph_only_refers_to_earlier_nodes() -> None:
    x = cr.var(0.3, name="x")
    w = cr.var([0.5, -1.0], name="w")
    y = cr.sum(cr.tanh(w * x)) + x * x
    back = cr.Graph.from_json(cr.Graph(y).to_json())
    for i, n in enumerate(back.nodes):
        assert all(back.index(a) < i for a in n.args)


def test_numbers_at_the_edges_still_load() -> None:
    text = graph(
        [
            {**LEAF, "value": {"float": "nan"}},
            {**LEAF, "id": 1, "value": {"fraction": "-" + "9" * 1000 + "/7"}},
            {**LEAF, "id": 2, "value": 2**1000},
        ],
        [0, 1, 2],
    )
    back = cr.Graph.from_json(text)
    assert np.isnan(back.nodes[0].value)
    assert back.nodes[1].value == Fraction(-int("9" * 1000), 7)
    assert back.nodes[2].value == float(2**1000)


def test_every_parameterised_op_survives_a_round_trip() -> None:
    rng = np.random.default_rng(0)
    a = cr.var(rng.standard_normal((2, 3)), name="a")
    b = cr.var(rng.standard_normal((2, 3)), name="b")
    parts = [
        a[1],
        a[0, 1:3],
        T.reshape(a, (3, 2)),
        T.broadcast_to(cr.var(rng.standard_normal(3), name="c"), (2, 3)),
        T.transpose(a, (1, 0)),
        T.sum_to(a, (1, 3)),
        T.concatenate([a, b], 0),
        T.stack([a, b], 1),
        T.sum(a, 1),
        T.mean(a, 0, keepdims=True),
        T.max(a, None),
        T.softmax(a, 1),
        T.log_softmax(a, 0),
        T.leaky_relu(a, 0.2),
    ]
    loss = cr.sum(T.sum_squares(parts))
    g = cr.Graph(loss)
    g.backward()
    used = {n.op.name for n in g.nodes}
    assert {"reshape", "stack", "softmax", "leaky_relu"} <= used
    back = cr.Graph.from_json(g.to_json())
    assert back.to_json() == g.to_json()
    np.testing.assert_allclose(back.output.value, g.output.value, rtol=0, atol=0)


def _named_params(fn: Any, arity: int) -> set[str] | None:
    """The parameter names a forward function takes after its inputs (None when numpy's
    ufuncs or builtins hide them)."""
    if isinstance(fn, np.ufunc):
        return None
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        rest = [p for p in params if p.kind is p.KEYWORD_ONLY]
        return {p.name for p in rest} if arity < 0 else None
    return {p.name for p in params[arity:] if p.kind is not p.VAR_KEYWORD}


def test_every_op_declares_the_parameters_its_forward_takes() -> None:
    for op in OPS.values():
        for fn in op.forward.values():
            names = _named_params(fn, op.arity)
            if names is not None:
                assert names == {q.name for q in op.params}, op.name


# ------------------------------------------------------------------ parameter files


def npz_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def model() -> nn.Module:
    return nn.MLP(3, [4, 2], rng=np.random.default_rng(1))


def test_parameters_round_trip(tmp_path: Path) -> None:
    m = model()
    m.save(tmp_path / "m.npz")
    other = nn.MLP(3, [4, 2], rng=np.random.default_rng(2)).load(tmp_path / "m.npz")
    for (k, p), (k2, q) in zip(m.named_parameters(), other.named_parameters(), strict=True):
        assert k == k2
        np.testing.assert_array_equal(p.value, q.value)


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.npz").write_bytes(b"hello, not a zip")
    with pytest.raises(cr.ChainruleError, match="not a zip archive"):
        model().load(tmp_path / "m.npz")
    np.save(tmp_path / "w.npy", np.zeros(3))
    with pytest.raises(cr.ChainruleError, match="not a zip archive"):
        model().load(tmp_path / "w.npy")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(cr.ChainruleError, match="cannot read parameters"):
        model().load(tmp_path / "nothing.npz")


class _Planted:
    """Unpickling this would create a file: the proof that a loader unpickled."""

    marker = Path()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


def test_pickled_objects_are_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    _Planted.marker = marker
    np.savez(tmp_path / "m.npz", **{"layer1.w": np.array([_Planted()], dtype=object)})
    with pytest.raises(cr.ChainruleError, match="never unpickled"):
        model().load(tmp_path / "m.npz")
    assert not marker.exists()


def test_a_header_claiming_a_trillion_elements_is_refused_before_allocating(
    tmp_path: Path,
) -> None:
    data = npy_header((10**12,)) + b"\0" * 16
    (tmp_path / "m.npz").write_bytes(npz_bytes({"layer1.w.npy": data}))
    with pytest.raises(cr.ChainruleError, match="claims shape") as caught:
        model().load(tmp_path / "m.npz")
    assert "8,000,000,000,000 bytes" in str(caught.value)


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    n = MAX_LOAD_BYTES // 8 + 1024  # zeros: a few hundred kilobytes once compressed
    path = tmp_path / "bomb.npz"
    chunk = b"\0" * 2**20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("layer1.w.npy", "w", force_zip64=True) as f:
            f.write(npy_header((n,)))
            left = n * 8
            while left:
                f.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
    assert path.stat().st_size < MAX_LOAD_BYTES // 100
    with pytest.raises(cr.ChainruleError, match="unpacks to .* the limit is"):
        model().load(path)


def test_a_smaller_limit_can_be_asked_for(tmp_path: Path) -> None:
    m = model()
    m.save(tmp_path / "m.npz")
    with pytest.raises(cr.ChainruleError, match="the limit is 100 "):
        model().load(tmp_path / "m.npz", max_bytes=100)


def test_a_member_that_is_not_an_array_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.npz").write_bytes(npz_bytes({"notes.txt": b"hello"}))
    with pytest.raises(cr.ChainruleError, match="not an array"):
        model().load(tmp_path / "m.npz")


def test_a_header_that_is_not_npy_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.npz").write_bytes(npz_bytes({"layer1.w.npy": b"hello, not npy"}))
    with pytest.raises(cr.ChainruleError, match="cannot be read"):
        model().load(tmp_path / "m.npz")


def test_text_and_complex_arrays_are_refused(tmp_path: Path) -> None:
    for bad in (np.array(["a", "b"]), np.array([1j, 2j])):
        np.savez(tmp_path / "m.npz", **{"layer1.w": bad})
        with pytest.raises(cr.ChainruleError, match="not numbers"):
            model().load(tmp_path / "m.npz")


def test_nan_parameters_are_refused_unless_asked_for(tmp_path: Path) -> None:
    m = model()
    w = m.state_dict()["layer2.weight"]
    w[0, 1] = np.nan
    w[1, 0] = np.inf
    state = {**m.state_dict(), "layer2.weight": w}
    np.savez(tmp_path / "m.npz", **state)  # type: ignore[arg-type]
    with pytest.raises(cr.ChainruleError, match="layer2.weight: 2 of 8 values are NaN or infinite"):
        model().load(tmp_path / "m.npz")
    loaded = model().load(tmp_path / "m.npz", allow_nan=True)
    got = loaded.state_dict()["layer2.weight"]
    assert np.isnan(got[0, 1]) and np.isinf(got[1, 0])

"""NaN and infinity traced to where they began, in the API, the table and the JSON."""

from __future__ import annotations

import json
import math

import numpy as np
from helpers import run_main

import chainrule as cr
from chainrule.core.anomaly import find, finite
from chainrule.core.autodiff import topo_order


def _eval(text: str, *args: str) -> tuple[int, str]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".cr", delete=False, encoding="utf-8") as f:
        f.write(text)
    ran = run_main("eval", f.name, *args)
    return ran.returncode, ran.stdout


def test_overflow_is_inf_in_every_op_and_traced_to_its_node() -> None:
    for build in (lambda v: v * 10, lambda v: v**2, lambda v: cr.exp(v / 1e305)):
        x = cr.var(1e308, "x")
        y = build(x)
        assert y.value == math.inf
        z = (y * 0.5).named("z")
        z.backward()
        found = find(topo_order(z))
        assert [(a.where, a.node) for a in found] == [("value", y)], found
        assert found[0].what == "inf" and found[0].inputs == tuple(a.value for a in y.args)


def test_a_gradient_that_overflows_is_traced_to_the_node_where_it_began() -> None:
    x = cr.var(1e-200, "x")
    y = cr.sqrt(x).named("y")  # 1e-100; its local partial 1 / (2y) = 5e99
    z = (y * 1e300).named("z")  # 1e200, finite; dz/dy = 1e300
    z.backward()
    assert finite(y.grad) and x.grad == math.inf
    found = find(topo_order(z))
    assert [(a.where, a.node, a.what) for a in found] == [("gradient", x, "inf")]


def test_eval_table_warns_and_json_lists_anomalies_with_line_and_column() -> None:
    text = "x = 1e308\ny = x * 10\nz = y - y\n"
    code, out = _eval(text)
    assert code == 0
    assert "warning: line 2, column 5: y = x · 10 is inf" in out
    code, out = _eval(text, "--json")
    data = json.loads(out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert data["values"]["y"] == "inf" and data["values"]["z"] == "nan"
    (a,) = data["anomalies"]
    assert (a["where"], a["node"], a["op"], a["line"], a["column"]) == ("value", "y", "mul", 2, 5)


def test_no_anomalies_on_a_finite_program() -> None:
    code, out = _eval("x = 2\ny = exp(x)\n", "--json")
    assert code == 0 and json.loads(out)["anomalies"] == []


def test_finite_reads_every_kind_of_number() -> None:
    assert finite(1.0) and not finite(math.inf) and not finite(math.nan)
    assert finite(np.array([1.0, 2.0])) and not finite(np.array([1.0, np.nan]))
    from fractions import Fraction

    assert finite(Fraction(10**400))
    assert finite(np.array([Fraction(1, 3)], dtype=object))


def test_kinks_are_named_with_their_convention_in_eval_and_explain() -> None:
    code, out = _eval("x = 0\ny = relu(x) + 3 * abs(x)\n", "--json")
    data = json.loads(out)
    assert code == 0 and [k["op"] for k in data["kinks"]] == ["relu", "abs"]
    assert data["gradients"]["x"] == 0.0  # relu′(0) = 0 and |·|′(0) = 0, as documented
    code, out = _eval("a = 2\nb = 2\nm = max(a, b)\n", "--json")
    data = json.loads(out)
    assert data["gradients"] == {"a": 1.0, "b": 0.0, "m": 1.0}
    assert "first argument" in data["kinks"][0]["convention"]
    g = cr.parse("x = 0\ny = relu(x)\n")
    from chainrule.explain import explain

    text = explain(g)
    assert "Points to watch" in text and "relu′(0) = 0" in text
    code, out = _eval("x = 0.5\ny = relu(x)\n", "--json")
    assert json.loads(out)["kinks"] == []

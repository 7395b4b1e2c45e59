"""The gallery: programs students write, each run through every teaching output.

Every program in ``tests/gallery`` goes through ``eval``, ``draw`` (every view, SVG),
``explain`` (every format, exact and float) and ``check`` (its own true gradients as claims),
as a user would run them. Each must exit 0 without a traceback, and the gradient of every scalar
input must be shown in the gradients drawing and in the worked solution.

The true gradients are checked against central differences of the forward pass
(``test_gradients_match_central_differences``), so the claims are not chainrule's word alone.

A program that crashes today because of a known engine bug declares it in its first lines,
``# xfail STAGE: engine core: why``, and the stage is marked xfail(strict=True): it turns into
a failure, to be unmarked, as soon as the engine is fixed."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers import run_main

import chainrule as cr

GALLERY = Path(__file__).parent / "gallery"
PROGRAMS = sorted(GALLERY.glob("*.cr"))
VIEWS = ("forward", "gradients", "backward")
MINUS = "\u2212"
INTERNAL_ID = re.compile(r"(?<![\w.])[vn]\d+\b")


def xfails(path: Path) -> dict[str, str]:
    """``# xfail STAGE: reason`` lines of a program: stage → reason."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*xfail\s+([\w-]+):\s*(.+)", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def cases(stage: str, variants: tuple[str, ...] = ("",)) -> list:  # type: ignore[type-arg]
    params = []
    for path in PROGRAMS:
        known = xfails(path)
        for v in variants:
            key = f"{stage}-{v}" if v else stage
            marks = []
            reason = known.get(key) or known.get(stage)
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            ident = f"{path.stem}-{v}" if v else path.stem
            params.append(pytest.param(path, v, marks=marks, id=ident))
    return params


def run(*args: str) -> str:
    """The CLI as a user runs it: exit status 0, no traceback."""
    ran = run_main(*args)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def shown(v: float) -> str:
    """A gradient as drawings and solutions write it: 5 significant digits, true minus."""
    return f"{v:.5g}".replace("-", MINUS)


def scalar_inputs(path: Path) -> tuple[str, dict[str, float]]:
    """The output's name, as totals write it, and the gradient of every scalar named input
    (checked against central differences in ``test_gradients_match_central_differences``)."""
    g = cr.parse(path.read_text(encoding="utf-8"))
    g.backward()
    out = g.output.name
    top = f"(Σ{out})" if np.ndim(g.output.value) > 0 else str(out)
    grads = {
        n.name: float(n.grad)
        for n in g.inputs
        if n.name and np.ndim(n.value) == 0 and n.requires_grad and n.grad is not None
    }
    return top, grads


def test_the_gallery_is_big_enough() -> None:
    assert len(PROGRAMS) >= 60
    names = " ".join(p.read_text(encoding="utf-8") for p in PROGRAMS)
    for fn in ("exp", "log", "ln", "sqrt", "sin", "cos", "tanh", "sigmoid", "σ", "relu", "abs",
               "softplus", "max", "min", "pow", "sum", "mean", "dot", "mse", "bce", "transpose",
               "@", "^", "**", "/", "π", ".T", "[0]"):  # fmt: skip
        assert fn in names, fn


@pytest.mark.parametrize(("path", "variant"), cases("eval", ("float", "exact")))
def test_eval(path: Path, variant: str) -> None:
    extra = ["--exact"] if variant == "exact" else []
    run("eval", str(path), *extra)
    data = json.loads(run("eval", str(path), "--json", *extra))
    assert data["output"] in data["gradients"]


@pytest.mark.parametrize(("path", "variant"), cases("draw", VIEWS))
def test_draw(path: Path, variant: str, tmp_path: Path) -> None:
    target = tmp_path / f"{variant}.svg"
    run("draw", str(path), "--view", variant, "-o", str(target))
    root = ET.fromstring(target.read_bytes())
    assert [el for el in root.iter() if el.tag.endswith("text")]
    if variant == "gradients":
        # a box's rows after its title, joined: "dL/dx = −0.12" or "df/dx = 3 + 3 + 1 = 7"
        boxes = [
            " ".join(el.text or "" for el in g if el.tag.endswith("text"))
            for g in root.iter()
            if (g.get("class") or "").startswith("node ")
        ]
        top, grads = scalar_inputs(path)
        for name, value in grads.items():
            label = f"d{top}/d{name} = "
            assert any(label in b and b.endswith(f" {shown(value)}") for b in boxes), label + shown(
                value
            )


@pytest.mark.parametrize(("path", "variant"), cases("explain", ("float", "exact")))
def test_explain(path: Path, variant: str) -> None:
    extra = ["--exact"] if variant == "exact" else []
    outputs = {
        fmt: run("explain", str(path), "--format", fmt, *extra) for fmt in ("txt", "md", "tex")
    }
    top, grads = scalar_inputs(path)
    rows = [line.split() for line in outputs["txt"].splitlines()]
    for name, value in grads.items():
        assert [f"d{top}/d{name}", shown(value)] in rows, f"d{top}/d{name} = {shown(value)}"
    for fmt in ("md", "tex"):
        for name, value in grads.items():
            assert f"{value:.5g}" in outputs[fmt], (fmt, name)


@pytest.mark.parametrize(("path", "variant"), cases("check"))
def test_check_accepts_the_true_gradients(path: Path, variant: str) -> None:
    data = json.loads(run("eval", str(path), "--json"))
    out = data["output"]
    g = cr.parse(path.read_text(encoding="utf-8"))
    claims = []
    named = [n.name for n in g.nodes if n.name]
    for n in g.inputs:
        if not n.name or not n.requires_grad or n.name not in data["gradients"]:
            continue
        if named.count(n.name) > 1:
            continue  # a reassigned name means its last node in claims (``x = x + 1``)
        v = data["gradients"][n.name]
        if isinstance(v, list):
            if any(isinstance(e, list) for e in v):
                continue  # matrices: claimed element by element elsewhere
            claims.append(f"d{out}/d{n.name}=[{'; '.join(repr(e) for e in v)}]")
        else:
            claims.append(f"d{out}/d{n.name}={v!r}")
    value = data["values"][out]
    if isinstance(value, list) and not any(isinstance(e, list) for e in value):
        claims.append(f"{out}=[{'; '.join(repr(e) for e in value)}]")
    elif not isinstance(value, list):
        claims.append(f"{out}={value!r}")
    assert claims
    args = ["check", str(path)]
    for c in claims:
        args += ["--claim", c]
    run(*args)


@pytest.mark.parametrize(("path", "variant"), cases("eval", ("float",)))
def test_gradients_match_central_differences(path: Path, variant: str) -> None:
    """chainrule's gradient of every scalar input against (f(x+h) − f(x−h)) / 2h of the forward
    pass alone, skipped where the one-sided slopes differ (a kink: relu, abs, max at a tie)."""
    text = path.read_text(encoding="utf-8")
    g = cr.parse(text)
    g.backward()
    named = [n.name for n in g.nodes if n.name]
    for n in g.inputs:
        if not n.name or np.ndim(n.value) != 0 or n.grad is None or named.count(n.name) > 1:
            continue
        x, h = float(n.value), 1e-6

        def f(at: float, name: str = n.name) -> float:
            values = json.loads(run("eval", str(path), "--json", "--at", f"{name}={at!r}"))
            return float(np.sum(values["values"][values["output"]]))

        left = (f(x) - f(x - h)) / h
        right = (f(x + h) - f(x)) / h
        if not math.isclose(left, right, rel_tol=1e-3, abs_tol=1e-4):
            continue  # a kink: the subgradient chainrule picks is a convention
        central = (f(x + h) - f(x - h)) / (2 * h)
        assert math.isclose(float(n.grad), central, rel_tol=1e-5, abs_tol=1e-6), n.name


def all_outputs(path: Path, tmp_path: Path) -> str:
    texts = [run("eval", str(path)), run("eval", str(path), "--json")]
    for view in VIEWS:
        target = tmp_path / f"{view}.svg"
        try:
            run("draw", str(path), "--view", view, "-o", str(target))
        except Exception:  # noqa: BLE001 - a view the engine cannot draw yet is tested above
            continue
        root = ET.fromstring(target.read_bytes())
        texts += [el.text or "" for el in root.iter() if el.tag.endswith(("text", "title"))]
    for fmt in ("txt", "md", "tex"):
        texts.append(run("explain", str(path), "--format", fmt))
    return "\n".join(texts)


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_no_internal_id_in_any_output(path: Path, tmp_path: Path) -> None:
    own = set(re.findall(r"^\s*(\w+)\s*=", path.read_text(encoding="utf-8"), re.M))
    found = set(INTERNAL_ID.findall(all_outputs(path, tmp_path))) - own  # a user's own v1 is fine
    assert not found, sorted(found)

"""Names, focus and what-if marks in the explorer, in a real browser (Debian's chromium,
headless, through Playwright).

A name means the node drawn and tabled under it: in a program that assigns ``x`` three times,
``x`` is the first node, ``x′`` the second and ``x″`` the third, as ``chainrule eval --json``
calls them; ``value``, ``grad``, ``inputs``, ``set`` and the find box agree with that. Keyboard
focus is never dropped to the page when the view switches between the forward and the
gradients drawings. A what-if change marks only the elements whose value changed. Expected
numbers come from ``chainrule eval --json`` of the same program (run here) or are worked out by
hand. These tests skip, with the reason, only when chromium or Playwright is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chromium import missing
from test_explorer_view import _page, tanh_chain

import chainrule as cr

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples/seed-exercise.cr"
REASSIGNED = "x = 2\nx = x * 3\nx = x + 1\ny = x^2\n"


def _eval(tmp: Path, program: str) -> dict[str, Any]:
    """``chainrule eval --json`` of a program, run as the command line runs it."""
    src = tmp / "program.cr"
    src.write_text(program, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "chainrule", "eval", "--json", str(src)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# every name eval answers, as the page answers it: [name, value, gradient]
ANSWERS = """(names) => names.map(n => [n, chainrule.value(n), chainrule.grad(n)])"""


def _differences(got: list[Any], want: dict[str, Any]) -> list[Any]:
    bad = []
    for name, value, grad in got:
        v, g = want["values"][name], want["gradients"][name]
        if value is None or grad is None or abs(value - v) > 1e-12 * max(1, abs(v)):
            bad.append([name, value, v])
        elif abs(grad - g) > 1e-12 * max(1, abs(g)):
            bad.append([name, grad, g])
    return bad


def test_a_name_given_three_times_means_the_node_drawn_under_it(
    session: Any, tmp_path: Path
) -> None:
    s = session
    want = _eval(tmp_path, REASSIGNED)
    assert list(want["values"]) == ["x", "x′", "x″", "y"]
    s.open(_page(tmp_path, cr.parse(REASSIGNED), "reassigned"))
    assert {"x", "x′", "x″", "y"} <= set(s.js("() => chainrule.names()"))
    assert _differences(s.js(ANSWERS, list(want["values"])), want) == []
    # by hand: x = 2, x′ = 6, x″ = 7, y = 49; dy/dx = 2·7·3 = 42
    assert s.js("() => [chainrule.value('x'), chainrule.grad('x')]") == [2, 42]
    # the node the page calls x in its tables is the one the API answers for
    first = s.js("() => chainrule.nodes().findIndex(n => n.name === 'x')")
    assert s.js("() => chainrule.nodes()[0].name") == "x" and first == 0
    # the inputs the API lists are the boxes of the what-if panel
    boxes = s.js("() => [...document.querySelectorAll('#inputs label')].map(l => l.textContent)")
    assert s.js("() => chainrule.inputs()") == boxes == ["x"]
    # set('x', 5) is the program with x = 5, as eval computes it (and as the panel's box does)
    s.js("() => chainrule.set('x', 5)")
    at5 = _eval(tmp_path, REASSIGNED.replace("x = 2", "x = 5"))
    assert _differences(s.js(ANSWERS, list(at5["values"])), at5) == []
    assert s.js("() => document.getElementById('in-0').value") == "5"
    s.js("() => chainrule.reset()")
    s.page.fill("#in-0", "5")
    s.page.press("#in-0", "Enter")
    assert _differences(s.js(ANSWERS, list(at5["values"])), at5) == []
    s.js("() => chainrule.reset()")
    # the find box finds the node labelled x, not the last version of x
    assert s.js("() => chainrule.find('x')") == 0
    s.page.fill("#search", "x")
    s.page.press("#search", "Enter")
    assert s.js("() => document.getElementById('step-title').textContent").endswith(
        "forward pass: x"
    )
    s.page.fill("#search", "x″")
    s.page.press("#search", "Enter")
    assert s.js("() => document.getElementById('step-title').textContent").endswith(
        "forward pass: x″"
    )
    assert s.errors == []


def test_a_name_given_251_times_on_a_big_chain(session: Any, tmp_path: Path) -> None:
    s = session
    program = tanh_chain(250)
    want = _eval(tmp_path, program)
    s.open(_page(tmp_path, cr.parse(program), "h251"))
    names = [n for n in want["values"] if n.startswith("h")]
    assert len(names) == 250 and {"h", "h′", "h″", "h‴", "h⁽²⁵⁰⁾"} <= set(names)
    assert _differences(s.js(ANSWERS, names), want) == []
    assert s.js("() => chainrule.find('h')") == s.js(
        "() => chainrule.nodes().findIndex(n => n.name === 'h')"
    )
    assert s.errors == []


# what has the focus: [the drawing it is in, its class, its id, its aria-label], or BODY
FOCUSED = """() => {
  const a = document.activeElement;
  if (!a || a === document.body) return ['BODY'];
  const pane = a.closest('.drawing');
  return [pane ? pane.id : '', a.getAttribute('class') || '', a.id, a.getAttribute('aria-label')];
}"""


def _tab_to(s: Any, selector: str) -> list[Any]:
    """Tab from the top of the page until the focus is on an element matching selector."""
    s.page.focus("body")
    for _ in range(80):
        s.page.keyboard.press("Tab")
        if s.js("(sel) => document.activeElement.matches(sel)", selector):
            return list(s.js(FOCUSED))
    raise AssertionError(f"Tab never reached {selector}")


def test_focus_follows_a_box_or_an_arrow_into_the_gradients_drawing(
    session: Any, tmp_path: Path
) -> None:
    s = session
    path = tmp_path / "seed.html"
    cr.explore(cr.parse(SEED.read_text()), exact=True).save(path)
    for kind in ("g.node", "g.edge"):
        s.open(path)
        assert s.js("() => document.getElementById('view').value") == "auto"
        before = _tab_to(s, f"#draw-forward {kind}")
        s.page.keyboard.press("End")
        after = s.js(FOCUSED)
        # the same box (same node) or the same arrow (same edge) in the gradients drawing
        assert after[0] == "draw-gradients", (before, after)
        assert after[1].split()[0] == before[1].split()[0], (before, after)
        if kind == "g.node":
            assert after[2] == before[2], (before, after)
        else:
            assert after[3] == before[3], (before, after)
        # Tab goes on from there, not from the top of the page
        s.page.keyboard.press("Tab")
        assert s.js(FOCUSED)[0] != "BODY"
        assert s.js("() => document.activeElement.id") != "first"
    assert s.errors == []


@pytest.fixture(scope="module")
def chain_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,000-node chain with every group open."""
    return _page(tmp_path_factory.mktemp("chain"), cr.parse(tanh_chain(200)), "open", False)


def test_focus_survives_the_step_into_the_backward_pass_on_a_big_chain(
    session: Any, chain_page: Path
) -> None:
    s = session
    s.open(chain_page)
    assert all(g["open"] for g in s.js("() => chainrule.groups()"))
    last_forward = s.js(
        "() => { document.getElementById('back-start').click(); return chainrule.step() - 1; }"
    )
    s.js("(i) => chainrule.step(i)", last_forward)
    assert s.js("() => document.getElementById('draw-gradients').classList.contains('hidden')")
    s.page.focus("#draw-forward [aria-current=step]")
    before = s.js(FOCUSED)
    assert before[0] == "draw-forward"
    s.page.keyboard.press("ArrowRight")
    assert s.js("() => chainrule.step()") == last_forward + 1
    assert not s.js("() => document.getElementById('draw-gradients').classList.contains('hidden')")
    after = s.js(FOCUSED)
    assert after[0] == "draw-gradients", (before, after)
    # a far step from the script, with a box of the forward drawing focused
    s.js("() => chainrule.step(10)")
    s.page.focus("#draw-forward [aria-current=step]")
    s.js("() => chainrule.step(1500)")
    assert "backward pass" in s.js("() => document.getElementById('step-title').textContent")
    after = s.js(FOCUSED)
    assert after[0] != "BODY" and after[0] == "draw-gradients", after
    assert s.errors == []


def test_what_if_marks_only_the_element_changed(session: Any, tmp_path: Path) -> None:
    s = session
    s.open(_page(tmp_path, cr.parse(SEED.read_text()), "marks"))
    labels = s.js(
        "() => [...document.querySelectorAll('#inputs .cell label')].map(l => l.textContent)"
    )
    assert {"w₁", "w₂"} <= set(labels)
    marked = """() => [...document.querySelectorAll('#inputs .cell label')]
      .filter(l => getComputedStyle(l).textDecorationLine.includes('underline'))
      .map(l => l.textContent)"""
    assert s.js(marked) == []
    box = s.js(
        "() => [...document.querySelectorAll('#inputs .cell')]"
        ".find(c => c.querySelector('label').textContent === 'w₁').querySelector('input').id"
    )
    s.page.fill(f"#{box}", "1/3")
    s.page.press(f"#{box}", "Enter")
    assert s.js("() => chainrule.value('w₁')") == pytest.approx(1 / 3, rel=1e-15)
    assert s.js("() => chainrule.value('w₂')") == 1.4
    assert s.js(marked) == ["w₁"]
    # w₂ changed too: both marked; w₂ back to 1.4: only w₁ again
    s.js("() => chainrule.set('w₂', 0.5)")
    assert s.js(marked) == ["w₁", "w₂"]
    s.js("() => chainrule.set('w₂', 1.4)")
    assert s.js(marked) == ["w₁"]
    s.js("() => chainrule.reset()")
    assert s.js(marked) == []
    assert s.errors == []


def test_focus_goes_from_a_lid_to_its_tab_and_back(session: Any, tmp_path: Path) -> None:
    """Enter on a closed group's box opens it (the box leaves the document): the focus goes to
    the ⊟ tab that closes it again, and from the tab, when it closes, to the box."""
    s = session
    s.open(_page(tmp_path, cr.parse(tanh_chain(60)), "lids", True))
    s.js("() => chainrule.step(3)")
    s.page.focus("#draw-forward g.lid.current")
    group = s.js("() => document.activeElement.dataset.group")
    s.page.keyboard.press("Enter")
    assert s.js(FOCUSED)[:2] == ["draw-forward", "frame-tab"]
    s.page.keyboard.press("Enter")
    assert s.js(FOCUSED)[:3] == ["draw-forward", "lid current", f"lid-forward-{group}"]
    assert s.errors == []

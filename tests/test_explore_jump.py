"""A far jump's work is bounded by what the view shows, counted, not timed.

On a big chain (1,000 nodes) the explorer keeps only what is near the camera in the document.
A jump to a far step must put in the document only what the new view shows (a margin round it
follows while the page is idle), and never put in things that the same step takes out again
(the camera set on the whole graph first, then on the step). A MutationObserver records every
element the step adds and removes; where the added ones lie is read with
getBoundingClientRect. These tests skip, with the reason, only when chromium or Playwright is
missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chromium import missing
from test_explorer_view import CONTRACT, _page, tanh_chain

import chainrule as cr

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture(scope="module")
def chain() -> cr.Graph:
    return cr.parse(tanh_chain(200))


# One step with every element it adds to or removes from the drawings recorded: the boxes,
# lids and arrows added (how many, how many of them are gone again by the end of the step, and
# how many lie wholly outside the pane grown by half its size on each side), and the removed.
JUMP = """(i) => {
  const kinds = 'g.node, g.lid, g.edge, g.edge-label';
  const added = [];
  let removed = 0;
  const seen = new MutationObserver(() => {});
  for (const p of document.querySelectorAll('.drawing svg')) {
    seen.observe(p, {childList: true, subtree: true});
  }
  chainrule.step(i);
  for (const r of seen.takeRecords()) {
    for (const n of r.addedNodes) if (n.nodeType === 1 && n.matches(kinds)) added.push(n);
    for (const n of r.removedNodes) if (n.nodeType === 1 && n.matches(kinds)) removed++;
  }
  seen.disconnect();
  let gone = 0, outside = 0;
  for (const el of new Set(added)) {
    if (!el.isConnected) { gone++; continue; }
    const pane = el.closest('.drawing').getBoundingClientRect();
    const b = el.getBoundingClientRect();
    const mx = pane.width / 2, my = pane.height / 2;
    if (b.right < pane.left - mx || b.left > pane.right + mx || b.bottom < pane.top - my
        || b.top > pane.bottom + my) outside++;
  }
  return {added: new Set(added).size, gone, outside, removed};
}"""


def _far_steps(n: int) -> list[int]:
    return [(i * 7919) % n for i in range(1, 12)]


def test_a_far_jump_on_a_closed_chain_adds_only_the_lids_in_view(
    session: Any, chain: cr.Graph, tmp_path: Path
) -> None:
    """The first step into the backward pass shows the gradients pane for the first time: the
    camera goes straight to the step, not first to the whole graph (which put every one of the
    200 lids in the document, to take them out again in the same step)."""
    s = session
    s.open(_page(tmp_path, chain, "closed"))
    n = s.js("() => chainrule.steps()")
    assert s.js("() => chainrule.groups().every(g => !g.open)") is True
    for i in _far_steps(n):
        got = s.js(JUMP, i)
        assert got["gone"] == 0 and got["outside"] == 0, (i, got)
        assert got["added"] < 40, (i, got)  # a view's worth, not the chain's 200 lids
    assert s.js(CONTRACT, _far_steps(n)) == []
    assert s.errors == []


def test_a_far_jump_on_an_open_chain_draws_the_view_then_the_margin(
    session: Any, chain: cr.Graph, tmp_path: Path
) -> None:
    """Every group open: a far jump puts in the document the boxes and arrows of the groups the
    view shows, none a view away; the groups round the view follow while the page is idle."""
    s = session
    s.open(_page(tmp_path, chain, "open", collapse=False))
    n = s.js("() => chainrule.steps()")
    for i in _far_steps(n):
        got = s.js(JUMP, i)
        assert got["added"] > 0 and got["gone"] == 0 and got["outside"] == 0, (i, got)
    assert s.js(CONTRACT, _far_steps(n)) == []
    # left idle, the margin comes: boxes beyond the pane's edge enter the document
    beyond = """() => {
      const el = document.querySelector('[aria-current=step]');
      const pane = el.closest('.drawing');
      const r = pane.getBoundingClientRect();
      return Array.from(pane.querySelectorAll('g.node')).filter(g => {
        const b = g.getBoundingClientRect();
        return b.top > r.bottom || b.bottom < r.top;
      }).length;
    }"""
    s.page.wait_for_function(f"() => ({beyond})() > 0", timeout=30_000)
    assert s.errors == []


def test_keyboard_focus_survives_the_camera_and_the_controls_reach_every_step(
    session: Any, chain: cr.Graph, tmp_path: Path
) -> None:
    """Only drawn boxes can take the focus, so the step controls are how a keyboard reaches any
    step: tab reaches them, and a step number typed in the step box goes there, its box drawn
    and focusable. A box that has the focus stays in the document while the arrow keys take the
    camera away from it (it used to leave, dropping the focus to the page)."""
    s = session
    s.open(_page(tmp_path, chain, "keys"))
    n = s.js("() => chainrule.steps()")
    s.page.focus("body")
    reached = []
    for _ in range(30):
        s.page.keyboard.press("Tab")
        reached.append(s.js("() => document.activeElement.id"))
        if reached[-1] == "jump":
            break
    assert {"first", "prev", "next", "last", "back-start", "jump"} <= set(reached), reached
    far = n - 5
    s.page.keyboard.press("Control+A")
    s.page.keyboard.type(str(far + 1))
    s.page.keyboard.press("Enter")
    assert s.js("() => chainrule.step()") == far
    assert (
        s.js("() => document.querySelector('[aria-current=step]').getAttribute('tabindex')") == "0"
    )
    # the focus on the current lid, then 40 steps with the arrow key: the lid keeps it
    s.page.focus("#draw-gradients g.lid.current")
    focused = s.js("() => document.activeElement.id")
    for _ in range(40):
        s.page.keyboard.press("ArrowLeft")
    s.page.wait_for_timeout(600)  # the camera's last move (220 ms) has ended
    assert s.js("() => chainrule.step()") == far - 40
    assert s.js("() => document.activeElement.id") == focused
    assert s.js("() => document.activeElement.isConnected") is True
    s.page.keyboard.press("Tab")  # and tab goes on from there, not from the top of the page
    assert s.js("() => document.activeElement !== document.body") is True
    assert s.errors == []


def test_a_focused_open_box_stays_drawn_while_the_camera_moves_away(
    session: Any, chain: cr.Graph, tmp_path: Path
) -> None:
    s = session
    s.open(_page(tmp_path, chain, "keys-open", collapse=False))
    s.page.focus("#draw-forward [aria-current=step]")
    focused = s.js("() => document.activeElement.id")
    assert focused.startswith("n")
    for _ in range(60):
        s.page.keyboard.press("ArrowRight")
    s.page.wait_for_timeout(600)
    assert s.js("() => chainrule.step()") == 60
    assert s.js("() => document.activeElement.id") == focused
    assert s.js("() => document.activeElement.isConnected") is True
    assert s.errors == []

"""Groups the explorer collapses: the repeated blocks of a program and a PyTorch model's modules,
and what the page is sent for them (closed groups' boxes wait outside the first picture).
The browser side (one step per closed group, opening on click, the numbers) is in
test_explorer_view.py."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import EXERCISE, ROOT

import chainrule as cr
from chainrule.draw.select import module_groups
from chainrule.explorer.groups import find_groups
from chainrule.explorer.page import page_parts


def tanh_chain(neurons: int) -> str:
    lines = ["x = 0.5", "h = x"]
    for i in range(neurons):
        lines += [f"w{i} = {0.5 + (i % 7) / 10}", f"b{i} = {((i % 5) - 2) / 10}"]
        lines.append(f"h = tanh(w{i}*h + b{i})")
    lines.append("L = h^2")
    return "\n".join(lines)


def layers(n: int) -> str:
    """A layer h ← tanh(Wᵢ @ h + bᵢ) applied n times to a 3-vector, then a sum of squares."""
    rng = np.random.default_rng(4)
    lines = ["x = [0.5, -0.2, 0.1]", "h = x"]
    for i in range(1, n + 1):
        w = np.round(rng.uniform(-0.5, 0.5, (3, 3)), 2).tolist()
        b = np.round(rng.uniform(-0.2, 0.2, 3), 2).tolist()
        lines += [f"W{i} = {w}", f"b{i} = {b}", f"h = tanh(W{i} @ h + b{i})"]
    lines.append("L = sum(h * h)")
    return "\n".join(lines)


def _names(g: cr.Graph, members: list[int]) -> set[str]:
    return {g.nodes[k].name for k in members if g.nodes[k].name and not g.nodes[k].args}


def test_a_chain_of_neurons_is_one_block_a_neuron() -> None:
    g = cr.parse(tanh_chain(12))
    groups = find_groups(g)
    assert [grp.name for grp in groups] == [f"block {i} of 12" for i in range(1, 13)]
    tanhs = [k for k, n in enumerate(g.nodes) if n.op.name == "tanh"]
    for i, grp in enumerate(groups):
        # the neuron's own weight and bias, its product, sum and tanh (the first also holds x)
        assert _names(g, grp.members) == {f"w{i}", f"b{i}"} | ({"x"} if i == 0 else set())
        ops = sorted(g.nodes[k].op.name for k in grp.members if g.nodes[k].args)
        assert ops == ["add", "mul", "tanh"]
        assert grp.outputs == [tanhs[i]]
        assert grp.inputs == ([] if i == 0 else [tanhs[i - 1]])
    # every node but the loss and its constant is in exactly one block
    inside = [k for grp in groups for k in grp.members]
    assert len(inside) == len(set(inside)) == len(g.nodes) - 2


def test_a_layer_applied_five_times_is_five_blocks() -> None:
    g = cr.parse(layers(5))
    groups = find_groups(g)
    assert len(groups) == 5
    for i, grp in enumerate(groups, 1):
        assert _names(g, grp.members) >= {f"W{i}", f"b{i}"}
        assert g.nodes[grp.outputs[0]].op.name == "tanh"


def test_two_runs_are_named_apart_and_a_plain_program_has_no_blocks() -> None:
    text = (
        tanh_chain(3)
        + "\n"
        + "\n".join(f"c{i} = 0.{i + 1}\nL = exp(c{i} * L) - L" for i in range(3))
    )
    names = [grp.name for grp in find_groups(cr.parse(text))]
    assert names[:3] == ["run 1, block 1 of 3", "run 1, block 2 of 3", "run 1, block 3 of 3"]
    assert names[3:] == ["run 2, block 1 of 3", "run 2, block 2 of 3", "run 2, block 3 of 3"]
    assert find_groups(cr.parse(EXERCISE.read_text())) == []
    assert find_groups(cr.parse(tanh_chain(2))) == []  # twice is not yet a run


def test_a_pytorch_models_groups_are_its_drawn_modules() -> None:
    pytest.importorskip("torch", reason="the PyTorch bridge needs torch (the torch extra)")
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo", ROOT / "examples/torch_models.py")
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    g = cr.from_torch(*_flat(zoo.stack()))
    groups = find_groups(g)
    assert [grp.kind for grp in groups] == ["module"] * 3
    assert [grp.name for grp in groups] == module_groups(g) == [f"blocks[{i}]" for i in range(3)]
    for grp in groups:  # the module's parameters and operations, no other's
        params = [g.nodes[k].name for k in grp.members if not g.nodes[k].args]
        assert len(params) == 4 and all(p.startswith(grp.name + ".") for p in params)
        paths = [g.modules[g.nodes[k]] for k in grp.members if g.nodes[k] in g.modules]
        assert paths and all(p.startswith(grp.name) for p in paths)


def _flat(made: tuple) -> tuple:
    model, inputs = made
    return (model, *inputs)


def test_a_big_graph_starts_closed_and_its_boxes_wait_outside_the_picture() -> None:
    g = cr.parse(tanh_chain(60))  # 302 nodes: above the 200 drawn nodes of a first overview
    parts = page_parts(g)
    data = parts["data"]
    assert data["closed"] == list(range(60))
    # the first picture has no box of a closed group; its markup waits in the data
    drawn = set(re.findall(r'<g class="node[^"]*" id="n(\d+)', parts["body"]))
    members = {k for grp in data["groups"] for k in grp["members"]}
    assert not drawn & members
    late = "".join(data["drawings"]["forward"]["lateNodes"].values())
    assert set(map(int, re.findall(r'id="n(\d+)"', late))) == members
    # each closed group has a place: its output's box
    assert all(r is not None for r in data["drawings"]["forward"]["lids"])
    # small graphs start open, and collapse= decides either way
    assert page_parts(cr.parse(layers(5)))["data"]["closed"] == []
    assert page_parts(cr.parse(layers(5)), collapse=True)["data"]["closed"] == list(range(5))
    assert page_parts(g, collapse=False)["data"]["closed"] == []
    assert cr.explore(g, collapse=False).html.count('<g class="node') >= 2 * 300


def test_the_command_line_opens_or_closes_every_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """explore --collapse / --no-collapse do what collapse=True / False do; without either
    a small program starts open."""
    from chainrule.cli import main

    program = tmp_path / "layers.cr"
    program.write_text(layers(5), encoding="utf-8")

    def closed(*flags: str) -> str:
        page = tmp_path / f"page{''.join(flags)}.html"
        assert main(["explore", str(program), *flags, "-o", str(page)]) == 0
        return page.read_text(encoding="utf-8")

    open_page, closed_page = closed("--no-collapse"), closed("--collapse")
    assert closed() == open_page
    assert open_page == cr.explore(cr.parse(layers(5)), collapse=False).html
    assert closed_page == cr.explore(cr.parse(layers(5)), collapse=True).html
    assert open_page != closed_page

"""The explorer's steps, read off ``explain``'s Derivation: one node per forward step, one edge
per backward step.

Each step carries its text twice. ``blocks`` is what ``explain`` writes for the program's own
numbers (the very blocks of ``explain.document``, as plain text). ``live`` is the same text with
every number replaced by a slot the page fills from its recomputed values, so that after a
what-if change the sentence still reads as ``explain`` would write it; the tests check that the
live text at the program's own inputs is ``explain``'s text, character for character."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.node import Node, apply
from ..core.node_math import NodeMath
from ..explain import document as doc
from ..explain import formulas as f
from ..explain.formulas import Math
from ..explain.model import ROLE_CONSTANT, ROLE_INPUT, BackwardStep, Derivation, Term

Piece = str | dict[str, Any]


@dataclass
class Step:
    kind: str  # forward | seed | backward
    node: int
    edge: tuple[int, int] | None  # (consumer, input) for a backward step
    blocks: list[dict[str, Any]]
    live: list[dict[str, Any]]
    complete: bool = True  # the node's gradient is complete after this step

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "node": self.node,
            "edge": list(self.edge) if self.edge else None,
            "blocks": self.blocks,
            "live": self.live,
            "complete": self.complete,
        }


@dataclass
class Builder:
    d: Derivation
    index: dict[Node, int]
    steps: list[Step] = field(default_factory=list)

    # ---------------------------------------------------------------- static text (explain's)
    @staticmethod
    def static(blocks: list[doc.Block]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for b in blocks:
            if isinstance(b, doc.Paragraph):
                out.append({"p": "".join(p.text if isinstance(p, Math) else p for p in b.pieces)})
            elif isinstance(b, doc.Equation):
                s = b.parts[0].text
                for rel, part in zip(b.relations, b.parts[1:], strict=True):
                    s += f" {rel} {part.text}"
                out.append({"eq": s})
        return out

    # ---------------------------------------------------------------- slots
    def slot(self, q: str, of: Any, fmt: str = "num", tight: bool = False) -> dict[str, Any]:
        """A number of the page: q is v (value), g (gradient), l (local partial) or c
        (contribution); ``of`` a node or an edge (consumer, input)."""
        if isinstance(of, Node):
            ref: Any = self.index[of]
        else:
            ref = [self.index[of[0]], of[1]]
        out: dict[str, Any] = {"q": q, "of": ref, "fmt": fmt}
        if tight:
            out["tight"] = True
        return out

    def chain(self, parts: list[list[Piece]], final: dict[str, Any]) -> dict[str, Any]:
        """``document._chain`` to be done in the page: parts, then the decimal of ``final``."""
        return {"chain": parts, "final": final}

    # ---------------------------------------------------------------- forward
    def forward(self) -> None:
        for s in self.d.forward:
            node = s.node
            live_parts: list[list[Piece]] = [[s.label.text]]
            if s.role not in (ROLE_INPUT, ROLE_CONSTANT):
                if s.formula is not None:
                    live_parts.append([s.formula.text])
                sub = self.substituted(node)
                if sub is not None:
                    live_parts.append(sub)
            live = [self.chain(live_parts, self.slot("v", node))]
            blocks = self.static([doc._forward(s, self.d.digits)])
            self.steps.append(Step("forward", self.index[node], None, blocks, live))

    def substituted(self, node: Node) -> list[Piece] | None:
        """``formulas.substituted`` with a slot where each input's number goes."""
        if not node.args:
            return None
        tight, bare = f.number_brackets(node)
        fills: dict[str, dict[str, Any]] = {}
        for i, a in enumerate(node.args):
            if not f._is_literal(a):
                token = f._TOKEN.format(f._letters(i))
                fills[token] = self.slot("v", a, "num" if bare else "shown", tight)
        return self.fill_text(f.with_tokens(node)[0], fills)

    def fill(self, expr: Node, fills: dict[str, dict[str, Any]]) -> list[Piece]:
        return self.fill_text(f._write(expr, "text", None), fills)

    def fill_text(self, written: str, fills: dict[str, dict[str, Any]]) -> list[Piece]:
        """An expression written with tokens, each token replaced by its slot."""
        text = f._text_minus(written)
        for token in fills:  # 2x at x = 3 is 2·3, as the worked solution writes it
            text = f.glue_text(text, token)
        pieces: list[Piece] = [text]
        for token, s in fills.items():
            nxt: list[Piece] = []
            for p in pieces:
                if not isinstance(p, str):
                    nxt.append(p)
                    continue
                bits = p.split(token)
                for j, b in enumerate(bits):
                    if j:
                        nxt.append(s)
                    if b:
                        nxt.append(b)
            pieces = nxt
        return pieces

    # ---------------------------------------------------------------- backward
    def backward(self) -> None:
        d = self.d
        for step in d.backward:
            k = self.index[step.node]
            if step.seed:
                blocks = self.static(doc._backward(step, d))
                self.steps.append(Step("seed", k, None, blocks, blocks))
                continue
            if not step.terms:
                blocks = self.static(doc._backward(step, d))
                live = [{"chain": [[step.label.text]], "final": self.slot("g", step.node)}]
                self.steps.append(Step("backward", k, None, blocks, live))
                continue
            for j, term in enumerate(step.terms):
                edge = (self.index[term.consumer], term.index)
                last = j == len(step.terms) - 1
                if last:
                    blocks = self.static(doc._backward(step, d))
                    live = self.node_live(step, blocks)
                else:
                    blocks, live = self.edge_text(step, term, j)
                self.steps.append(Step("backward", k, edge, blocks, live, complete=last))

    def local_live(self, term: Term) -> dict[str, Any] | None:
        loc = term.local
        if loc.value is None:
            return None
        parts: list[list[Piece]] = [[loc.label.text]]
        if loc.formula is not None:
            parts.append([loc.formula.text])
        return self.chain(parts, self.slot("l", (term.consumer, term.index)))

    def numeric(self, term: Term) -> list[Piece]:
        """``document._numeric`` with slots."""
        edge = (term.consumer, term.index)
        if term.local.value is not None:
            op = doc._times(term.upstream, term.local.value)
            m: list[Piece] = [
                self.slot("g", term.consumer, "factor"),
                f" {op} ",
                self.slot("l", edge, "factor"),
            ]
            if doc.summed(term):
                m = ["Σ(", *m, ")"]
            return m
        if term.vjp is not None:
            live = self.vjp_numeric(term)
            if live is not None:
                return live
            return [term.vjp[1].text]
        return [self.slot("c", edge)]

    def vjp_numeric(self, term: Term) -> list[Piece] | None:
        """``formulas.vjp_formula``'s numeric half with slots for the gradient and the inputs."""
        node = term.consumer
        op = node.op
        g_token = f._TOKEN.format("G")
        g = f._placeholder(node.grad, node.kind, g_token)
        holders: list[Node] = []
        fills: dict[str, dict[str, Any]] = {g_token: self.slot("g", node, "factor")}
        for k, a in enumerate(node.args):
            if f._is_literal(a):
                holders.append(a)
                continue
            token = f._TOKEN.format(f._letters(k))
            holders.append(f._placeholder(a.value, a.kind, token))
            fills[token] = self.slot("v", a, "shown", True)
        try:
            numeric = op.vjps[term.index](
                NodeMath, g, tuple(holders), apply(op, tuple(holders), node.params), node.params
            )
        except Exception:  # noqa: BLE001 - as formulas.vjp_formula: no readable form
            return None
        if not isinstance(numeric, Node):
            return None
        return self.fill(numeric, fills)

    def edge_text(
        self, step: BackwardStep, term: Term, j: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """An edge before the last one into a node: its local partial, its product, and (at
        fan-out) the running sum, in explain's words."""
        d = self.d
        digits = d.digits
        edge = (term.consumer, term.index)
        blocks: list[doc.Block] = []
        live: list[dict[str, Any]] = []
        loc = term.local
        if loc.value is not None:
            parts = [loc.label] + ([loc.formula] if loc.formula is not None else [])
            blocks.append(doc._chain(parts, loc.value, digits))
            ll = self.local_live(term)
            if ll is not None:
                live.append(ll)
        blocks.append(
            doc._chain([doc._symbolic(term), doc._numeric(term, digits)], term.contribution, digits)
        )
        live.append(
            self.chain([[doc._symbolic(term).text], self.numeric(term)], self.slot("c", edge))
        )
        text = self.static(blocks)
        done = step.terms[: j + 1]
        if j:
            carried = [f.num(t.contribution, digits) for t in done]
            running = sum((t.contribution for t in done[1:]), done[0].contribution)
            so_far = doc._chain(
                [step.label, Math(doc._plus(carried, "text"), doc._plus(carried, "latex"))],
                running,
                digits,
            )
            text.append({"p": f"So far, {len(done)} of {len(step.terms)} edges:"})
            text.extend(self.static([so_far]))
            live.append({"p": f"So far, {len(done)} of {len(step.terms)} edges:"})
            live.append(
                self.chain(
                    [
                        [step.label.text],
                        [{"plus": [self.slot("c", (t.consumer, t.index)) for t in done]}],
                    ],
                    self.slot("r", edge),
                )
            )
        else:
            note = f"Edge 1 of {len(step.terms)} into {step.label.text}; the total is the sum."
            text.append({"p": note})
            live.append({"p": note})
        return text, live

    def node_live(self, step: BackwardStep, static: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``document._backward`` for a node whose last edge this is, with slots (``static``:
        its blocks as ``static`` writes them)."""
        d = self.d
        out: list[dict[str, Any]] = []
        if len(step.terms) == 1 and step.terms[0].consumer is d.output:
            loc = step.terms[0].local
            if loc.value is not None:
                parts: list[list[Piece]] = [[step.label.text]]
                if loc.formula is not None:
                    parts.append([loc.formula.text])
                return [self.chain(parts, self.slot("g", step.node))]
        if step.fan_out:
            out.append(static[0])  # the fan-out sentence: no numbers in it
        for term in step.terms:
            ll = self.local_live(term)
            if ll is not None:
                out.append(ll)
        symbolic = doc._join([doc._symbolic(t) for t in step.terms]).text
        numeric: list[Piece] = []
        for k, t in enumerate(step.terms):
            if k:
                numeric.append(" + ")
            numeric.extend(self.numeric(t))
        parts = [[step.label.text], [symbolic], numeric]
        if step.fan_out:
            parts.append([{"plus": [self.slot("c", (t.consumer, t.index)) for t in step.terms]}])
        out.append(self.chain(parts, self.slot("g", step.node)))
        return out


def build_steps(d: Derivation) -> list[Step]:
    """Every step of the explorer: the forward pass node by node, the seed, then the backward
    pass edge by edge (grouped by the node that receives the gradient, as ``explain`` orders
    it)."""
    b = Builder(d, {n: k for k, n in enumerate(d.graph.nodes)})
    b.forward()
    b.backward()
    return b.steps

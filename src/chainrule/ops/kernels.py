"""The compiled forms of ops (``Op.planned``): each op's numpy calls written out for the traced
shapes, into buffers the plan keeps, with ``out=`` (see ``core/kernels.py`` for what a form
receives and the source it writes).

A form computes exactly what the op's entry computes, call for call and in the same order, so a
compiled step gives the uncompiled run's numbers to the last bit (``tests/test_compile.py``);
the checks that can fail on new numbers (class labels) are kept. A form answers None for shapes
or dtypes it does not cover, and the plan takes the op table's rule instead. Each entry names
its forms; this module holds the longer ones, as ``ops/tensor.py`` holds ``_torch_xent``."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from ..core.errors import ValueInputError
from ..core.kernels import Kernel, Site


def _floats(values: list[Any]) -> bool:
    return all(v.__class__ is np.ndarray and v.dtype.kind == "f" for v in values)


def _dense(y: Any) -> bool:
    """A result the plan can keep a buffer for: a C-contiguous float array."""
    return y.__class__ is np.ndarray and y.dtype.kind == "f" and y.flags.c_contiguous


def _not_traced() -> None:
    raise ValueError("not the traced shapes")  # the compiled function replays fn instead


def _edges(site: Site) -> list[int]:
    return [i for i, _, _ in site.dst]


def _reverse_source(kind: str, body: str) -> str:
    """A reverse step's source: the gradient arriving at the node (``g``), the node marked
    unreached when nothing came, another kind of gradient than the trace's handed to the
    uncompiled step; ``body`` (dedented) runs on the traced kind."""
    head = [
        "g = G[$o]",
        "if g is EMPTY:",
        "    $unreached()",
        f"elif g.__class__ is not {kind}:",
        "    $not_traced()",
        "else:",
    ]
    return "\n".join(head + ["    " + line for line in textwrap.dedent(body).strip().splitlines()])


# ------------------------------------------------------------------ reshape


def reshape_forward(site: Site) -> Kernel | None:
    y = site.y
    if not _floats(site.ins) or y.__class__ is not np.ndarray or not y.ndim:
        return None
    env = {"o": site.o, "a": site.src[0], "shape": tuple(site.params["shape"])}
    return Kernel("V[$o] = V[$a].reshape($shape)", env, "ndarray.reshape")


def reshape_reverse(site: Site) -> Kernel | None:
    y = site.y
    if y.__class__ is not np.ndarray or not y.ndim or len(site.dst) != 1:
        return None
    source = _reverse_source("ndarray", "c = g.reshape($shape)\nSEND($d)")
    env = {"o": site.o, "d": site.dst[0][1], "shape": site.ins[0].shape}
    env.update(unreached=site.unreached, not_traced=_not_traced)
    return Kernel(source, env, "ndarray.reshape")


# ------------------------------------------------------------------ sum_squares


def sum_squares_forward(site: Site) -> Kernel | None:
    if not _floats(site.ins) or site.y.__class__ is not float:
        return None
    held: list[Any] = [None] * len(site.src)  # each input's array and its flat view
    flats: list[Any] = [None] * len(site.src)
    lines = ["total = 0.0"]
    for k, i in enumerate(site.src):
        lines += [
            f"v = V[{i}]",
            f"if v is $held[{k}]:",
            f"    r = $flats[{k}]",
            "else:",
            "    r = v.reshape(-1)",
            "    if v.flags.c_contiguous:",  # a view: it follows updates in place
            f"        $flats[{k}], $held[{k}] = r, v",
            "total += float(r.dot(r))",  # r @ r: the same BLAS dot
        ]
    lines.append(f"V[{site.o}] = total")
    return Kernel("\n".join(lines), {"held": held, "flats": flats}, "Σ r·r, one dot per input")


def sum_squares_reverse(site: Site) -> Kernel | None:
    if site.y.__class__ is not float:
        return None
    plan, o = site.plan, site.o
    lines = ["two_g = 2 * g"]
    env: dict[str, Any] = {"o": o, "unreached": site.unreached, "not_traced": _not_traced}
    for e, (i, d, _) in enumerate(site.dst):
        buf = env[f"buf{e}"] = site.buffer(f"ssq{e}", np.empty_like(site.ins[i]))
        if d not in plan.owned and d not in plan.visible_values:
            plan.owned[d] = buf  # the first to reach d: later ones may add into it
        lines += [
            f"c = multiply(V[{site.src[i]}], two_g, out=$buf{e})",  # 2·g·x
            f"if G[{d}] is EMPTY:",
            f"    G[{d}] = c",
            "else:",
            f"    send(G, V, {d}, c)",
        ]
    return Kernel(_reverse_source("float", "\n".join(lines)), env, "2·g·x into kept buffers")


# ------------------------------------------------------------------ hinge


def hinge_forward(site: Site) -> Kernel | None:
    ins = site.ins
    if (
        not _floats(ins)
        or site.y.__class__ is not float
        or ins[0].shape != ins[1].shape
        or ins[0].dtype != ins[1].dtype
        or not ins[0].ndim
    ):
        return None
    margin = site.buffer("margin", np.empty_like(ins[0], order="C"))
    hinged = site.buffer("forward", np.empty_like(margin))
    source = """
        s, t = V[$s], V[$t]
        if s.shape != t.shape:
            $not_traced()
        multiply(t, s, out=$margin)
        subtract(1, $margin, out=$margin)
        V[$o] = float(reduce(maximum(0, $margin, out=$hinged), axis=None) / $size)
    """
    env = {"s": site.src[0], "t": site.src[1], "o": site.o, "margin": margin, "hinged": hinged}
    env.update(size=max(margin.size, 1), not_traced=_not_traced)
    return Kernel(source, env, "1 − t·s, max(0, ·), mean: into kept buffers")


def hinge_reverse(site: Site) -> Kernel | None:
    margin = site.plan.buffers.get(("margin", site.o))
    if margin is None or _edges(site) != [0]:
        return None
    source = _reverse_source(
        "float",
        """
        greater($margin, 0, out=$active)
        multiply(V[$t], -g, out=$buf)
        multiply($buf, $active, out=$buf)
        c = divide($buf, $size, out=$buf)
        SEND($d)
        """,
    )
    # step(1 − t·s) from the forward's margin; −g·t·step / n
    env = {"o": site.o, "t": site.src[1], "d": site.dst[0][1], "margin": margin}
    env.update(
        active=site.buffer("hinge-active", np.empty(margin.shape, bool)),
        buf=site.buffer("hinge-grad", np.empty_like(margin)),
        size=max(margin.size, 1),
        unreached=site.unreached,
        not_traced=_not_traced,
    )
    return Kernel(source, env, "−g·t·(margin > 0)/n into a kept buffer")


# ------------------------------------------------------------------ softmax cross-entropy


def xent_forward(site: Site) -> Kernel | None:
    """``ops.tensor._xent_labels`` (with ``_labels``' checks and ``softmax_terms_along``) for
    many short rows of logits, classes first, every temporary a kept buffer."""
    ins = site.ins
    if not (
        _floats(ins)
        and site.y.__class__ is float
        and ins[0].ndim == 2
        and ins[1].shape == ins[0].shape[:1]
        and ins[0].shape[1] <= 64
        and ins[0].size >= 256
        and ins[0].dtype.itemsize >= 4
        and (site.keep or not site.node.requires_grad)
    ):
        return None
    rows, classes = ins[0].shape
    dt = ins[0].dtype
    keep = site.keep
    a = np.empty((classes, rows), dt)
    row = (1, rows)
    names = ("a", "mx", "shifted", "e", "top", "rest", "ties", "rest_total", "denom", "probs")
    made: list[np.ndarray] = [a, np.empty(row, dt), np.empty_like(a), np.empty_like(a)]
    made += [np.empty(a.shape, bool), np.empty_like(a), np.empty(row, dt), np.empty(row, dt)]
    made += [np.empty(row, dt), np.empty_like(a)]
    env: dict[str, Any] = {}
    for k, (name, b) in enumerate(zip(names, made, strict=True)):
        env[name] = site.buffer(f"xent{k}", b)
    idx = np.empty(rows, np.intp)
    message = f"class labels must be whole numbers from 0 to {classes - 1}"

    def refuse() -> None:
        raise ValueInputError(message)

    env.update(
        z=site.src[0],
        t=site.src[1],
        o=site.o,
        traced=(rows, classes),
        rows_=(rows,),
        rows=rows,
        dt=dt,
        idx=idx,
        as_unsigned=idx.view(np.uintp),
        top_label=np.maximum.reduce,
        any_=np.logical_or.reduce,
        bad=np.empty(rows, bool),
        at=np.empty(rows, np.intp),
        picked=np.empty(rows, dt),
        arange=np.arange(rows),
        flat_probs=env["probs"].reshape(-1),
        flat_shifted=env["shifted"].reshape(-1),
        kept=env["probs"].T,  # (rows, classes): the op table's (probs.T).reshape(z.shape)
        big=classes,
        np=np,
        refuse=refuse,
        not_traced=_not_traced,
        top_reduce=np.maximum.reduce,
    )
    rest = "$rest" if keep else "$e"
    lines = [
        "z, t = V[$z], V[$t]",
        "if z.shape != $traced or t.shape != $rows_ or z.dtype != $dt:",
        "    $not_traced()",
        "$np.copyto($idx, t, casting=$unsafe)",  # labels.astype(np.intp)
        # a label out of range (a negative one reads as a huge one), or not a whole number
        "if $top_label($as_unsigned) >= $big or $any_($np.not_equal($idx, t, out=$bad)):",
        "    $refuse()",
        "multiply($idx, $rows, out=$at)",
        "add($at, $arange, out=$at)",
        "$np.copyto($a, z.T)",
        "$top_reduce($a, axis=0, keepdims=True, out=$mx)",
        "subtract($a, $mx, out=$shifted)",
        "$np.exp($shifted, out=$e)",
        "$np.equal($shifted, 0, out=$top)",
        f"subtract($e, $top, out={rest})",
        "reduce($top, axis=0, keepdims=True, dtype=$dt, out=$ties)",
        f"reduce({rest}, axis=0, keepdims=True, out=$rest_total)",
    ]
    if keep:
        lines += ["add($rest_total, $ties, out=$denom)", "divide($e, $denom, out=$probs)"]
    lines += [
        "$ties.__isub__(1)",
        "$ties.__iadd__($rest_total)",
        "$np.log1p($ties, out=$ties)",
        "subtract($ties.reshape(-1), $flat_shifted.take($at), out=$picked)",
        "V[$o] = float(reduce($picked, axis=None) / $rows)",
    ]
    if keep:
        lines += ["$flat_probs[$at] -= 1", "$probs.__itruediv__($rows)", "K[$o] = $kept"]
    env["unsafe"] = "unsafe"
    text = "softmax cross-entropy at labels, fused: classes first, into kept buffers"
    return Kernel("\n".join(lines), env, text)


def xent_reverse(site: Site) -> Kernel | None:
    o, plan = site.o, site.plan
    if _edges(site) != [0] or ("xent0", o) not in plan.buffers:
        return None
    kept0 = plan.kept[o] if plan.kept[o] is not None else site.node.kept
    if kept0.__class__ is not np.ndarray:
        return None
    # the kept gradient's layout (classes first, transposed)
    buf = site.buffer("xent-grad", np.empty_like(kept0))
    # g · kept; 1·x is x to the last bit, so the seed's 1 sends the kept array itself
    source = """
        g = G[$o]
        if g is EMPTY:
            $unreached()
        else:
            kept = K[$o]
            if g.__class__ is not float or kept.shape != $shape:
                $not_traced()
            c = kept if g == 1.0 else multiply(kept, g, out=$buf)
            SEND($d)
    """
    env = {"o": o, "d": site.dst[0][1], "shape": buf.shape, "buf": buf}
    env.update(unreached=site.unreached, not_traced=_not_traced)
    return Kernel(source, env, "g · kept into a kept buffer (the kept array itself when g = 1)")


# ------------------------------------------------------------------ dense layers and ReLU


def linear_forward(site: Site) -> Kernel | None:
    ins, y = site.ins, site.y
    if not (_dense(y) and _floats(ins) and ins[0].ndim == 2 and ins[1].ndim == 2):
        return None
    buf = site.buffer("forward", np.empty_like(y))
    tw = bool(site.params.get("transpose_w"))
    source = f"""
        matmul(V[$x], V[$w]{".T" if tw else ""}, out=$buf)
        add($buf, V[$b], out=$buf)
        V[$o] = $buf
    """
    x_, w_, b_ = site.src
    env = {"x": x_, "w": w_, "b": b_, "o": site.o, "buf": buf}
    return Kernel(source, env, f"np.matmul(x, {'wᵀ' if tw else 'w'}, out=), += b")


def relu_forward(site: Site) -> Kernel | None:
    if not (_dense(site.y) and _floats(site.ins) and len(site.ins) == 1):
        return None
    buf = site.buffer("forward", np.empty_like(site.y))
    env = {"o": site.o, "a": site.src[0], "buf": buf}
    return Kernel("V[$o] = maximum(V[$a], 0, out=$buf)", env, "np.maximum(x, 0, out=)")


def relu_reverse(site: Site) -> Kernel | None:
    """g · (x > 0) into a kept buffer, or in place into the gradient a dense layer (the ReLU's
    only user) has just written and nobody reads after this step."""
    ins, y, plan, o = site.ins, site.y, site.plan, site.o
    if y.__class__ is not np.ndarray or not _floats(ins) or ins[0].dtype.itemsize < 4:
        return None
    x_ = site.src[0]
    d = site.dst[0][1]
    unreached, send = site.unreached, site.send
    assert unreached is not None and send is not None
    cell: list[Any] = [None, None]
    user = plan.only_user.get(o)
    inplace = (
        o not in plan.visible_grads
        and user is not None
        and user.op.name == "linear"
        and o in plan.fast_linear
    )

    def general() -> None:
        """Another gradient than the trace's (or other shapes): the rule, g · step(x)."""
        if unreached():
            return
        g = plan.grads[o]
        x = plan.values[x_]
        mask = cell[1]
        if mask is None or mask.shape != x.shape:
            mask = cell[1] = np.empty(x.shape, dtype=bool)
            plan.buffers[("mask", o)] = mask
        if (
            g.__class__ is np.ndarray
            and g.shape == x.shape
            and g.dtype == np.result_type(g.dtype, x.dtype)
        ):
            np.greater(x, 0, out=mask)
            if inplace:
                c = np.multiply(g, mask, out=g)  # g·1 and g·0, as g · (x > 0) in x's type
            else:
                buf = cell[0]
                if buf is None or buf.shape != g.shape or buf.dtype != g.dtype:
                    buf = cell[0] = np.empty_like(g)
                    plan.buffers[("relu", o)] = buf
                c = np.multiply(g, mask, out=buf)
        else:
            c = g * (x > 0).astype(x.dtype)
        send(plan.grads, plan.values, d, c)

    how = "g · (x > 0)" + (" in place" if inplace else " into a kept buffer")
    shape, dt = ins[0].shape, np.dtype(ins[0].dtype)
    if y.shape != shape or y.dtype != dt:
        return Kernel("", {}, how, general)
    # the traced shapes and dtype: the step's buffers made now, its gradient sent as is
    mask = cell[1] = site.buffer("mask", np.empty(shape, dtype=bool))
    buf = None if inplace else site.buffer("relu", np.empty(shape, dtype=dt))
    cell[0] = buf
    source = f"""
        g = G[$o]
        if g is EMPTY:
            $unreached()
        elif g.__class__ is not ndarray or g.shape != $shape or g.dtype is not $dt:
            $general()
        else:
            greater(V[$x], 0, out=$mask)
            c = multiply(g, $mask, out={"g" if buf is None else "$buf"})
            ag = G[$d]
            if ag is EMPTY:
                G[$d] = c
            elif ag is $own:
                add(ag, c, out=ag)
            else:
                G[$d] = ag + c
    """
    env = {"o": o, "x": x_, "d": d, "shape": shape, "dt": dt, "mask": mask, "buf": buf}
    env.update(own=plan.owned.get(d), unreached=unreached, general=general)
    return Kernel(source, env, how)


def linear_reverse(site: Site) -> Kernel | None:
    """A dense layer's reverse step: ``np.matmul`` and ``np.add.reduce`` over rows into kept
    buffers, each result sent as the engine adds it; the input's gradient goes into the
    input's own forward buffer when nothing reads that value after this step (a ReLU's
    output: its reverse step reads its input)."""
    ins, y, plan, o, n = site.ins, site.y, site.plan, site.o, site.node
    if not (
        y.__class__ is np.ndarray
        and _floats(ins)
        and n.kept is None
        and ins[0].ndim == 2
        and ins[1].ndim == 2
        and ins[2].ndim == 1
        and y.ndim == 2
        and ins[2].shape == y.shape[1:]
    ):
        return None
    unreached, send = site.unreached, site.send
    assert unreached is not None and send is not None
    tw = bool((n.params or {}).get("transpose_w"))
    x_, w_, _b = site.src
    todo = [(i, d) for i, d, _ in site.dst]
    cells: dict[int, Any] = {}
    plan.buffers_of[o] = cells
    reuse = (
        ("forward", x_) in plan.buffers
        and plan.uses.get(x_, 0) == 1
        and x_ not in plan.visible_values
        and n.args[0].op.name == "relu"
        and any(i == 0 for i, _ in todo)
    )
    if reuse:  # the weight's gradient first: it reads the input's value
        todo.sort(key=lambda e: e[0] == 0)
    if any(i == 0 for i, _ in todo):
        plan.fast_linear.add(x_)
    V, G = plan.values, plan.grads

    def general() -> None:
        """Another gradient than the trace's: the same calls, buffers where shapes allow."""
        if unreached():
            return
        g = G[o]
        if g.__class__ is not np.ndarray or g.ndim != 2:
            _not_traced()
        for i, d in todo:
            buf = cells.get(i)
            if i == 0:
                w = V[w_]
                wt = w if tw else w.T
                if reuse:
                    own = plan.buffers[("forward", x_)]
                    if own.shape == (g.shape[0], wt.shape[1]) and own.dtype == (
                        np.result_type(g, wt)
                    ):
                        buf = own
                c = np.matmul(g, wt) if buf is None else np.matmul(g, wt, out=buf)
                if not reuse:
                    cells[i] = c
            elif i == 1:
                xt = V[x_].T
                c = np.matmul(xt, g) if buf is None else np.matmul(xt, g, out=buf)
                cells[i] = c
                if tw:
                    c = c.T
            else:
                c = np.add.reduce(g, axis=0) if buf is None else np.add.reduce(g, axis=0, out=buf)
                cells[i] = c
            send(G, V, d, c, plan.owned.get(d))

    how = "np.matmul / np.add.reduce into kept buffers" + (
        ", the input's gradient into its value's buffer" if reuse else ""
    )
    x0, w0, b0 = ins
    dt = y.dtype
    own_x = plan.buffers.get(("forward", x_)) if reuse else None
    if not (x0.dtype == dt and w0.dtype == dt and b0.dtype == dt) or (
        reuse and (own_x is None or own_x.shape != x0.shape or own_x.dtype != dt)
    ):
        return Kernel("", {}, how, general)
    # the traced shapes, one dtype throughout: buffers made now
    lines = [
        "g = G[$o]",
        "if g.__class__ is not ndarray or g.shape != $shape or g.dtype is not $dt:",
        "    $general()",  # (it also gives what nothing reached)
        "else:",
    ]
    env: dict[str, Any] = {"o": o, "shape": y.shape, "dt": np.dtype(dt), "general": general}
    for e, (i, d) in enumerate(todo):
        if i == 0:
            buf = own_x if reuse else cells.setdefault(0, np.empty(x0.shape, dt))
            lines.append(f"    c = matmul(g, V[{w_}]{'' if tw else '.T'}, out=$buf{e})")
        elif i == 1:
            buf = cells.setdefault(1, np.empty((x0.shape[1], y.shape[1]), dt))
            lines.append(f"    c = matmul(V[{x_}].T, g, out=$buf{e}){'.T' if tw else ''}")
        else:
            buf = cells.setdefault(2, np.empty(y.shape[1:], dt))
            lines.append(f"    c = reduce(g, axis=0, out=$buf{e})")
        env[f"d{e}"], env[f"buf{e}"], env[f"own{e}"] = d, buf, plan.owned.get(d)
        lines += [
            f"    ag = G[$d{e}]",
            "    if ag is EMPTY:",
            f"        G[$d{e}] = c",
            f"    elif ag is $own{e}:",
            "        add(ag, c, out=ag)",
            "    else:",
            f"        G[$d{e}] = ag + c",
        ]
    return Kernel("\n".join(lines), env, how)

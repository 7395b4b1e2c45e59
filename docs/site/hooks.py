"""Build-time pages of the documentation site (MkDocs hooks; `make docs`).

Everything that could drift is generated when the site is built, never committed: the reference
of the program language comes from the op table, the gallery from `tests/gallery/*.cr` (drawings
and an explorer page for every program), the program-language guide from the README's own
sections, and the benchmark page from `benchmarks/RESULTS.md`."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

GALLERY = ROOT / "tests" / "gallery"


def _escape_md(text: str) -> str:
    """Text from the table or a program, safe inside a Markdown table cell or paragraph."""
    text = html.escape(text, quote=False)
    return re.sub(r"([\\`*_\[\]|$])", r"\\\1", text)


def _code(text: str) -> str:
    """Inline code that may hold backticks and pipes (an HTML code element)."""
    return f"<code>{html.escape(text)}</code>"


# ------------------------------------------------------------------ the op reference


def _placeholders(op: Any) -> list[str]:
    if op.arity == 1:
        return ["x"]
    if op.arity == 2:
        return ["x", "y"]
    return []


def op_reference() -> str:
    """One section per function of the program language, read from the op table."""
    import chainrule as cr
    from chainrule.core.node import apply
    from chainrule.lang.notation import definition, partial_formula
    from chainrule.ops import OPS
    from chainrule.ops.table import _EXPECT

    lines = [
        "# Ops of the program language",
        "",
        "Generated from the op table when the site is built, so it cannot drift from the code.",
        "Each entry: the names a program may call it by, what it computes, its parameters with",
        "their defaults, and its local partials as chainrule prints them (written on placeholder",
        "inputs x, y). Ops that mix elements (reductions, matrix products, softmax, fused",
        "losses) are differentiated by a vector–Jacobian product; for them the rule's",
        "description is shown. Each op also states its domain: where it gives a value, and",
        "where its derivative exists when that is narrower (declared on the op; for functions",
        "of numbers as intervals that the tests evaluate just inside and just outside). Outside",
        "it a number is refused with an error; an element of a float array gives NaN or ±∞, as",
        "numpy computes, and `eval` reports where the first such value began.",
        "",
    ]
    funcs = sorted((op for op in OPS.values() if op.in_programs), key=lambda o: o.name)
    lines.append("| function | names in programs | inputs |")
    lines.append("|---|---|---|")
    for op in funcs:
        names = ", ".join(_code(n) for n in (op.name, *op.aliases))
        arity = "any number" if op.arity < 0 else str(op.arity)
        lines.append(f"| [{op.name}](#{op.name}) | {names} | {arity} |")
    lines.append("")
    for op in funcs:
        lines.append(f"## {op.name}")
        lines.append("")
        if op.aliases:
            lines.append("Also called " + ", ".join(_code(a) for a in op.aliases) + ".")
            lines.append("")
        if op.doc:
            lines.append(_escape_md(op.doc))
            lines.append("")
        if op.domain is not None:
            lines.append(f"Domain: {_escape_md(op.domain.text)}.")
            lines.append("")
        holders = _placeholders(op)
        if holders and op.partials is not None:
            try:
                args = [cr.var(0.5 + i, name=h) for i, h in enumerate(holders)]
                node = apply(op, tuple(args), None)
                lines.append(f"Written {_code(definition(node))}.")
                lines.append("")
                lines.append("| local partial | formula |")
                lines.append("|---|---|")
                for i, h in enumerate(holders):
                    formula = partial_formula(node, i)
                    shown = _code(formula) if formula else "not written (see the rule)"
                    lines.append(f"| ∂/∂{h} | {shown} |")
                lines.append("")
            except Exception as exc:  # noqa: BLE001 - an op that needs arrays: say so
                lines.append(f"Its partials need array inputs ({_escape_md(type(exc).__name__)}).")
                lines.append("")
        elif op.vjps is not None:
            kind = "elementwise" if op.elementwise else "mixes elements"
            lines.append(f"Differentiated by a vector–Jacobian product ({kind}).")
            lines.append("")
        if not op.differentiable:
            lines.append("Not differentiable: gradients do not flow through it.")
            lines.append("")
        if op.params:
            lines.append("| parameter | default | takes | meaning |")
            lines.append("|---|---|---|---|")
            for p in op.params:
                takes = _EXPECT.get(p.read, "a value")
                lines.append(
                    f"| {_code(p.name)} | {_code(repr(p.default))} | {_escape_md(takes)} |"
                    f" {_escape_md(p.doc)} |"
                )
            lines.append("")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the gallery


def _first_comment(text: str) -> str:
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") and "xfail" not in s:
            return s.lstrip("# ").strip()
        if s and not s.startswith("#"):
            break
    return ""


def gallery_pages() -> dict[str, str | bytes]:
    """`gallery/NAME.md` with the program, its forward and gradients drawings (SVG), the
    backward view for programs with a matrix, and its explorer page embedded, for every
    program of tests/gallery; and an index."""
    import numpy as np

    import chainrule as cr
    from chainrule import draw

    out: dict[str, str | bytes] = {}
    index = [
        "# Gallery",
        "",
        "Programs students write, each drawn and explorable. Every drawing and every explorer",
        "below is made from the program when the site is built, and the same programs run",
        "through every output in the test suite (`tests/gallery/`).",
        "",
        "| program | what it shows |",
        "|---|---|",
    ]
    for path in sorted(GALLERY.glob("*.cr")):
        name = path.stem
        text = path.read_text(encoding="utf-8")
        about = _first_comment(text)
        index.append(f"| [{name}]({name}.md) | {_escape_md(about)} |")
        graph = cr.parse(text)
        page = [f"# {name}", ""]
        if about:
            page += [_escape_md(about), ""]
        page += ["```text", text.rstrip("\n"), "```", ""]
        views = ["forward", "gradients"]
        if any(np.ndim(n.value) >= 2 for n in graph.inputs):
            views.append("backward")  # matrix programs: the gradient graph, as on paper
        for view in views:
            svg = draw.to_svg(graph, view)
            out[f"gallery/{name}-{view}.svg"] = svg
            page += [
                f"## {view.capitalize()}",
                "",
                f"![{name}, {view} view]({name}-{view}.svg)",
                "",
            ]
        out[f"gallery/{name}-explorer.html"] = cr.explore(graph).html
        page += [
            "## Explore",
            "",
            "Step through both passes with the arrow keys, or change an input (what-if).",
            "",
            f'<iframe class="chainrule-explorer" title="explorer of {html.escape(name)}" '
            f'src="{name}-explorer.html" style="width:100%;height:560px;border:1px solid #bbb">'
            "</iframe>",
            "",
            f"[Open the explorer on its own page]({name}-explorer.html)",
            "",
        ]
        out[f"gallery/{name}.md"] = "\n".join(page)
    out["gallery/index.md"] = "\n".join(index) + "\n"
    return out


# ---------------------------------------------------- figures of the tutorials and the home page

MICROGRAD_LECTURE = "a = 2\nb = -3\nc = 10\ne = a*b\nd = e + c\nf = -2\nL = d*f\n"

# (where, program file or text, drawings, with an explorer)
FIGURES = [
    ("tutorials/exercise", ROOT / "examples" / "seed-exercise.cr", ("forward", "gradients"), True),
    ("exercise", ROOT / "examples" / "seed-exercise.cr", (), True),
    ("tutorials/fan-out", GALLERY / "fan-out.cr", ("gradients",), False),
    ("tutorials/net", GALLERY / "net-2-3-2-1.cr", ("gradients",), True),
    ("tutorials/micrograd", MICROGRAD_LECTURE, ("gradients",), False),
]


def figures() -> dict[str, str | bytes]:
    import chainrule as cr
    from chainrule import draw

    out: dict[str, str | bytes] = {}
    for where, program, views, explorer in FIGURES:
        text = program.read_text(encoding="utf-8") if isinstance(program, Path) else program
        graph = cr.parse(text)
        for view in views:
            out[f"{where}-{view}.svg"] = draw.to_svg(graph, view)
        if explorer:
            out[f"{where}-explorer.html"] = cr.explore(graph).html
    out["tutorials/torch-mlp-gradients.svg"] = _torch_mlp_drawing()
    return out


def _torch_mlp_drawing() -> str:
    """The PyTorch tutorial's figure, from the model it names (examples/torch_models.py)."""
    import importlib.util

    import chainrule as cr
    from chainrule import draw

    spec = importlib.util.spec_from_file_location(
        "torch_models", ROOT / "examples" / "torch_models.py"
    )
    assert spec is not None and spec.loader is not None
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    model, inputs = models.mlp()
    return draw.to_svg(cr.from_torch(model, *inputs), "gradients")


# ---------------------------------------------------- pages from the README and benchmarks


def _readme_sections(*titles: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(## .+)$", text)
    chosen = []
    for i in range(1, len(parts), 2):
        if parts[i][3:].strip() in titles:
            chosen.append(parts[i] + parts[i + 1])
    return "".join(chosen)


def _relink(text: str) -> str:
    """README links point into the repository; in the site, docs/ is the root."""
    return text.replace("](docs/", "](").replace("`docs/", "`")


def language_page() -> str:
    body = _readme_sections("Programs", "Command line")
    return (
        "# The program language and the command line\n\n"
        "This page is the README's own sections, so the two never differ.\n\n"
        + _relink(body).replace("\n### ", "\n## ").replace("\n## Programs", "\n## Programs", 1)
    )


def benchmarks_page() -> str:
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    return (
        text.replace("](../docs/", "](")
        + "\n\nRe-run with `make bench` (see the scripts in `benchmarks/`).\n"
    )


# ------------------------------------------------------------------ MkDocs hooks


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    pages: dict[str, str | bytes] = {
        "reference/ops.md": op_reference(),
        "language.md": language_page(),
        "benchmarks.md": benchmarks_page(),
    }
    pages.update(gallery_pages())
    pages.update(figures())
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files

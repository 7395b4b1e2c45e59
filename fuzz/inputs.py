"""The teacher's and the PyTorch user's inputs, for fuzzing: exercise files and templates
(TOML), class manifests (JSON), submissions (CSV with control characters), and PyTorch models
written with in-place idioms.

Each case is a set of files written into a work folder and a command line run on them
(``solve``, ``generate``, ``grade``, ``eval --torch``); the property is the harness's
(``harness.cli_finding``: exit 0 or 2 with one paragraph, never an internal error, a
traceback, a hang or a warning). PyTorch models are also converted through the API and their
values and gradients compared with PyTorch's own (``torch_finding``)."""

from __future__ import annotations

import functools
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
TEACH = ROOT / "examples" / "teaching"
SEED_PROGRAM = ROOT / "examples" / "seed-exercise.cr"


@dataclass
class Case:
    """Files to write (name → bytes) and the command line, with ``{work}`` for the folder."""

    kind: str
    files: dict[str, bytes]
    argv: list[str]
    main: str  # the file recorded with a finding
    torch_factory: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, work: Path) -> list[str]:
        for name, data in self.files.items():
            p = work / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return [a.replace("{work}", str(work)) for a in self.argv]


# ------------------------------------------------------------------ hostile values

HUGE_INT = "9" * 5000
DEEP = "[" * 1000 + "]" * 1000
CONTROL = [
    "\x1b]0;PWNED\x07",
    "\x1b[2J",
    "\x1b[31m",
    "\x00",
    "\r",
    "\x7f",
    "\u202e",
    "\x0b",
    "\x01",
    "\ufeff",
    "\ud800",
]
TOML_VALUES = [
    "1",
    "0",
    "-1",
    "1e-3",
    "1e400",
    "-1e400",
    "inf",
    "nan",
    "1" + "0" * 400,
    HUGE_INT,
    DEEP,
    '"text"',
    "true",
    "[]",
    "[1, 2]",
    "[-1e308, 1e308]",
    "{}",
    '"\\u0000"',
    '"\\u001b[2J"',
]


def _replace_value(draw: Any, text: str) -> str:
    """One ``key = value`` line of a TOML text given a hostile value."""
    lines = text.splitlines()
    spots = [k for k, line in enumerate(lines) if " = " in line and not line.startswith("#")]
    if not spots:
        return text
    k = draw(st.sampled_from(spots))
    key = lines[k].split(" = ", 1)[0]
    lines[k] = f"{key} = {draw(st.sampled_from(TOML_VALUES))}"
    return "\n".join(lines) + "\n"


def _mutate_text(draw: Any, text: str) -> str:
    how = draw(st.integers(0, 6))
    if how <= 2:
        return _replace_value(draw, text)
    if how == 3:  # an extra key, hostile
        return text + f"\nzz = {draw(st.sampled_from(TOML_VALUES))}\n"
    if how == 4:  # a control character somewhere in a string
        k = draw(st.integers(0, max(len(text) - 1, 0)))
        return text[:k] + draw(st.sampled_from(CONTROL)) + text[k:]
    if how == 5:  # a span deleted
        a = draw(st.integers(0, max(len(text) - 1, 0)))
        return text[:a] + text[a + draw(st.integers(1, 40)) :]
    return text  # unchanged: the valid case


def _bytes(text: str) -> bytes:
    """UTF-8, with the lone surrogate U+D800 standing for a byte that is not UTF-8 (0xff)."""
    return text.replace("\ud800", "\udcff").encode("utf-8", errors="surrogateescape")


# ------------------------------------------------------------------ solve and generate


@st.composite
def exercise_case(draw: Any) -> Case:
    base = (ROOT / "examples" / "seed-exercise.toml").read_text(encoding="utf-8")
    text = _mutate_text(draw, base)
    return Case(
        "toml-exercise",
        {"ex.toml": _bytes(text), "seed-exercise.cr": SEED_PROGRAM.read_bytes()},
        ["solve", "{work}/ex.toml", "-o", "{work}/solution", "--force"],
        "ex.toml",
    )


@st.composite
def template_case(draw: Any) -> Case:
    base = (TEACH / "neuron-pool.toml").read_text(encoding="utf-8")
    text = _mutate_text(draw, base)
    count = str(draw(st.sampled_from([1, 2, 3])))
    return Case(
        "toml-template",
        {"t.toml": _bytes(text)},
        ["generate", "{work}/t.toml", "--count", count, "-o", "{work}/cls", "--force",
         "--no-pdf", "--no-solutions"],
        "t.toml",
    )  # fmt: skip


# ------------------------------------------------------------------ grade: manifests and CSV

MANIFEST_VALUES: list[Any] = [
    10**400,
    -(10**400),
    1e308,
    float("inf"),
    float("nan"),
    "x",
    None,
    True,
    [],
    {},
    [[[[]]]],
    "\x1b[2J",
]


@st.composite
def manifest_case(draw: Any) -> Case:
    data = json.loads((TEACH / "class" / "manifest.json").read_text(encoding="utf-8"))
    how = draw(st.integers(0, 5))
    if how == 0:
        text = draw(st.sampled_from(["[" * 100_000 + "]" * 100_000, '{"variants": ' + DEEP + "}"]))
    else:
        v = data["variants"][draw(st.integers(0, len(data["variants"]) - 1))]
        field_name = draw(st.sampled_from(["answers", "seed", "id", "program", "digits", "title"]))
        value = draw(st.sampled_from(MANIFEST_VALUES))
        if field_name == "answers" and v["answers"]:
            v["answers"][draw(st.sampled_from(sorted(v["answers"])))] = value
        elif field_name in ("digits", "title"):
            data[field_name] = value
        else:
            v[field_name] = value
        text = json.dumps(data, allow_nan=True)
    csv = draw(submissions_csv())
    return Case(
        "manifest",
        {"cls/manifest.json": text.encode("utf-8"), "subs.csv": csv},
        ["grade", "{work}/cls", "{work}/subs.csv", "-o", "{work}/report", "--force"],
        "cls/manifest.json",
        extra={"class": True},
    )


@st.composite
def submissions_csv(draw: Any) -> bytes:
    rows = (TEACH / "submissions.csv").read_text(encoding="utf-8").splitlines()
    out = []
    for row in rows[: draw(st.integers(1, len(rows)))]:
        if draw(st.integers(0, 4)) == 0:
            cells = row.split(",")
            k = draw(st.integers(0, len(cells) - 1))
            cells[k] = cells[k] + draw(st.sampled_from(CONTROL + ['"', ",", "\n", "=cmd|"]))
            row = ",".join(cells)
        out.append(row)
    return _bytes("\n".join(out) + "\n")


@st.composite
def csv_case(draw: Any) -> Case:
    return Case(
        "csv",
        {"subs.csv": draw(submissions_csv())},
        ["grade", "{work}/cls", "{work}/subs.csv", "-o", "{work}/report", "--force"],
        "subs.csv",
        extra={"class": True},
    )


def ensure_class(work: Path) -> None:
    """The reference class folder (examples/teaching/class) copied into the work folder."""
    target = work / "cls"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(TEACH / "class", target)


# ------------------------------------------------------------------ PyTorch with in-place ops

LAYERS = [
    "nn.Linear({n}, {n})",
    "nn.ReLU(inplace=True)",
    "nn.ReLU()",
    "nn.Tanh()",
    "nn.Sigmoid()",
    "nn.LeakyReLU(0.1, inplace=True)",
    "nn.Hardtanh(inplace=True)",
    "nn.ELU(inplace=True)",
    "nn.Dropout(0.0, inplace=True)",
]
STEPS = [
    "h = self.layers[{k}](h)",
    "h += x",
    "h = h + x",
    "h.mul_(0.5)",
    "h.add_(x, alpha=2.0)",
    "h.sub_(1.0)",
    "h.clamp_(-2.0, 2.0)",
    "h = torch.relu_(h)",
    "h.div_(3.0)",
    "h = h * h",
]


@st.composite
def torch_case(draw: Any) -> Case:
    n = draw(st.integers(2, 4))
    layers = [draw(st.sampled_from(LAYERS)).format(n=n) for _ in range(draw(st.integers(1, 4)))]
    body = []
    for _ in range(draw(st.integers(1, 6))):
        step = draw(st.sampled_from(STEPS))
        body.append(step.format(k=draw(st.integers(0, len(layers) - 1))))
    reduce = draw(st.sampled_from(["(h * h).sum()", "h.mean()", "h.sum()"]))
    source = "\n".join(
        [
            "import torch",
            "import torch.nn as nn",
            "",
            "class Model(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            f"        self.layers = nn.ModuleList([{', '.join(layers)}])",
            "",
            "    def forward(self, x):",
            "        h = self.layers[0](x) if isinstance(self.layers[0], nn.Linear) else x * 1.0",
            *[f"        {line}" for line in body],
            f"        return {reduce}",
            "",
            "def make():",
            f"    torch.manual_seed({draw(st.integers(0, 1000))})",
            f"    return Model().double(), (torch.randn(3, {n}, dtype=torch.float64),)",
            "",
        ]
    )
    return Case(
        "torch-inplace",
        {"model.py": source.encode("utf-8")},
        ["eval", "--torch", "{work}/model.py:make", "--json"],
        "model.py",
        torch_factory="make",
    )


def warm_up() -> None:
    """Import PyTorch and trace one tiny model before the first timed input: on a loaded
    machine the first import and export took 16 s, which the per-input deadline counted as
    a hang of the first model drawn."""
    try:
        import torch

        import chainrule as cr
    except ImportError:
        return
    cr.from_torch(torch.nn.Linear(2, 1).double(), torch.zeros(1, 2, dtype=torch.float64))


@functools.cache
def teacher_cases() -> st.SearchStrategy[Case]:
    return st.one_of(exercise_case(), template_case(), manifest_case(), csv_case())


@functools.cache
def all_cases() -> st.SearchStrategy[Case]:
    return st.one_of(teacher_cases(), torch_case())


# ------------------------------------------------------------------ properties


def case_finding(case: Case, work: Path, seconds: float) -> Any:
    """Write the case's files and run its command line through the harness."""
    from fuzz import harness

    if case.extra.get("class"):
        ensure_class(work)
    argv = case.write(work)
    f = harness.cli_finding(argv, case.files[case.main], seconds)
    if f is None and case.torch_factory is not None:
        f = torch_finding(work / case.main, case.torch_factory, case.files[case.main])
    return f


def torch_finding(path: Path, factory: str, source: bytes) -> Any:
    """The model converted by ``from_torch``: its output value and every parameter's gradient
    equal PyTorch's (float64, to 1e-9), where PyTorch itself can differentiate the model."""
    import numpy as np

    import chainrule as cr
    from chainrule.core.errors import ChainruleError
    from chainrule.torch_bridge.load import load_factory
    from fuzz.harness import Finding

    try:
        model, inputs, kwargs = load_factory(f"{path}:{factory}")
        expected = model(*[t.clone() for t in inputs], **kwargs)
        expected.backward()
    except (RuntimeError, ChainruleError):
        return None  # PyTorch itself refuses this model (an in-place op needed by backward)
    want = {n: p.grad.numpy().copy() for n, p in model.named_parameters() if p.grad is not None}
    try:
        g = cr.from_torch(model, *inputs, **kwargs)
        g.backward()
    except ChainruleError:
        return None  # refused with a message: the CLI property already judged it
    got = float(np.asarray(g.output.value))
    if not np.isclose(got, expected.item(), rtol=1e-9, atol=1e-12):
        return Finding("torch-value", f"{got} against PyTorch's {expected.item()}", [], source)
    for name, grad in want.items():
        node = g.find(name)
        if node is None or node.grad is None:
            return Finding("torch-grad", f"no gradient on {name}", [], source)
        if not np.allclose(node.grad, grad, rtol=1e-9, atol=1e-12):
            return Finding("torch-grad", f"{name}: {node.grad} against {grad}", [], source)
    return None

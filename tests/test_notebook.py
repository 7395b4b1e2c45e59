"""The example notebook runs on a real kernel and shows the drawings with their numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"


def shown(x: float) -> str:
    return f"{x:.5g}".replace("-", "\u2212")


def test_example_notebook_executes_and_displays_svg(tmp_path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    svgs = []
    texts = []
    for cell in code:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            data = out.get("data", {})
            if "image/svg+xml" in data:
                svgs.append(data["image/svg+xml"])
            if out.get("output_type") == "stream":
                texts.append(out["text"])
    assert len(svgs) == 3  # the graph, the gradient drawing, the node ŷ
    yhat = 1 / (1 + math.exp(-14 / 5))
    dl_dz = 2 * (yhat - 1) * yhat * (1 - yhat)
    assert f"σ(14/5) ≈ {shown(yhat)}" in svgs[0]
    assert f"dL/dw₁ = {shown(dl_dz)}" in svgs[1]
    assert "ŷ = σ(z)" in svgs[2]
    assert f"dL/db₀ = {shown(dl_dz)}" in "".join(texts)

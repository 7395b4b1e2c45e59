"""Write examples/teaching/submissions.csv: a small synthetic class for examples/teaching/class.

Ada answers everything right; Bob rounds to two digits (too few: the rule asks for three)
and writes decimal commas; Chen gets the
sign of ∂ŷ/∂z wrong and carries it into every later gradient; Dee writes text where a number
belongs. Run it after regenerating the class:

    chainrule generate examples/teaching/reference.toml --count 3 --seed 2024 \\
        --no-pdf --no-solutions -o examples/teaching/class --force
    rm -r examples/teaching/class/exports
    python examples/teaching/make_submissions.py
    chainrule grade examples/teaching/class examples/teaching/submissions.csv \\
        -o examples/teaching/report --force
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import chainrule as cr

HERE = Path(__file__).resolve().parent


def main() -> None:
    manifest = json.loads((HERE / "class" / "manifest.json").read_text(encoding="utf-8"))
    v1, v2, v3 = manifest["variants"][:3]
    rows = [["student", "variant", "quantity", "value"]]
    rows += [["Ada Lovelace", v1["id"], q, f"{a:#.4g}"] for q, a in v1["answers"].items()]
    rows += [["Bob", v2["id"], q, f"{a:#.2g}".replace(".", ",")] for q, a in v2["answers"].items()]
    a = dict(v3["answers"])
    x = [float(v) for v in cr.parse(v3["program"])["x"].value]
    a["∂ŷ/∂z"] = -a["∂ŷ/∂z"]
    a["dL/dz"] = a["dL/dŷ"] * a["∂ŷ/∂z"]
    a["dL/dw1"], a["dL/dw2"], a["dL/db₀"] = a["dL/dz"] * x[0], a["dL/dz"] * x[1], a["dL/dz"]
    rows += [["Chen", v3["id"], q, f"{val:#.4g}"] for q, val in a.items()]
    rows += [["Dee", v1["id"], "L", "about a half"], ["Dee", v1["id"], "yhat", "0.5"]]
    with open(HERE / "submissions.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


if __name__ == "__main__":
    main()

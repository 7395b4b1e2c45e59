"""``make fuzz``: the test suite's fuzzing properties for a million inputs, in parallel workers.

Each worker process runs Hypothesis in batches (a new seed per batch, generation only: a
finding is recorded with its input and the run goes on instead of shrinking and stopping),
under the same per-input deadline and address-space limit as the tests. The parent adds up
the inputs run, the rate and the distinct findings, stops at the number of inputs or the time
budget, whichever comes first, and writes the record between ``<!-- fuzz:start -->`` and
``<!-- fuzz:end -->`` in benchmarks/RESULTS.md (and each distinct finding's reproducer under
``--findings DIR``).

    .venv/bin/python -m fuzz.run --inputs 1000000 --workers 2 --minutes 30
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import platform
import queue
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import write_section

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 20.0
EXTRA_MEMORY = 2 << 30
BATCH = 500
# Hypothesis spends about as long drawing a program as chainrule spends running it, so each
# program drawn for the command line is run with this many command lines (each one input).
COMMANDS_PER_PROGRAM = 3


def worker(index: int, stop: Any, out: Any, agreement_share: int, files_share: int = 0) -> None:
    """Run batches until told to stop; send (inputs run, findings) after each batch."""
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    from fuzz import grammar, harness
    from fuzz import inputs as file_inputs

    work = Path(tempfile.mkdtemp(prefix=f"chainrule-fuzz-{index}-", dir=_scratch()))
    program_path = work / "program.cr"
    files_dir = work / "files"
    files_dir.mkdir()
    if files_share:
        file_inputs.warm_up()
    harness.reuse_pure_work()

    files, sources, path = file_inputs.all_cases(), grammar.sources(), str(program_path)

    @st.composite
    def inputs(draw: Any) -> tuple[str, Any, list[list[str]]]:
        roll = grammar.integer(draw, 0, 99)
        if roll < files_share:  # TOML, manifests, CSV, PyTorch models with in-place ops
            return "files", draw(files), []
        if roll < files_share + agreement_share:
            prog = draw(grammar.PROGRAMS)
            return "agreement", grammar.encode(prog), []
        prog = draw(sources)
        lines = [
            grammar.command_line(draw, prog, path, str(work)) for _ in range(COMMANDS_PER_PROGRAM)
        ]
        return "cli", grammar.encode(prog), lines

    batch_no = 0
    with harness.limit_memory(EXTRA_MEMORY), _removed(work):
        while not stop.is_set():
            ran = 0
            agreed = 0
            found: list[harness.Finding] = []  # noqa: B023 - read after each batch, by design

            @seed(index * 1_000_003 + batch_no + int(time.time()))
            @settings(
                max_examples=BATCH,
                database=None,
                deadline=None,
                derandomize=False,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=inputs())
            def one(case: tuple[str, bytes, list[list[str]]]) -> None:
                nonlocal ran, agreed
                kind, program, argvs = case
                if kind == "files":
                    ran += 1
                    fcase = program
                    _record(
                        found, fcase.argv, fcase.files[fcase.main],  # noqa: B023
                        lambda: file_inputs.case_finding(fcase, files_dir, SECONDS),
                    )  # fmt: skip
                    return
                if kind == "agreement":
                    ran += 1
                    agreed += 1
                    text = program.decode("utf-8", errors="surrogateescape")
                    check = lambda: harness.agreement_finding(text, SECONDS)  # noqa: E731
                    _record(found, [], program, check)  # noqa: B023
                    return
                program_path.write_bytes(program)
                for argv in argvs:
                    ran += 1
                    _record(
                        found, argv, program,  # noqa: B023
                        lambda argv=argv: harness.cli_finding(argv, program, SECONDS),  # type: ignore[misc]
                    )  # fmt: skip

            one()
            batch_no += 1
            out.put((index, ran, agreed, [(f.signature(), f.kind, f.detail, f.argv, f.program)
                                  for f in found]))  # fmt: skip


def _record(found: list[Any], argv: list[str], program: bytes, check: Any) -> None:
    """Run one property; a finding (or the harness's own bug) goes into ``found``."""
    from fuzz import harness

    try:
        f = check()
    except Exception as exc:  # noqa: BLE001 - the harness's own bug: recorded
        f = harness.Finding("harness-error", repr(exc), argv, program)
    if f is not None:
        found.append(f)


@contextlib.contextmanager
def _removed(work: Path) -> Any:
    """The worker's scratch folder (in /dev/shm: memory) is removed when the worker stops."""
    try:
        yield
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _scratch() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--minutes", type=float, default=None, help="stop after this long")
    ap.add_argument("--agreement-share", type=int, default=30, help="percent of inputs")
    ap.add_argument(
        "--files-share",
        type=int,
        default=10,
        help="percent of inputs that are files: TOML, manifests, CSV, PyTorch models",
    )
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    ap.add_argument("--findings", default=str(ROOT / "fuzz-findings"))
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)

    ctx = mp.get_context("fork")
    stop = ctx.Event()
    out: Any = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker,
            args=(i, stop, out, args.agreement_share, args.files_share),
            daemon=True,
        )
        for i in range(args.workers)
    ]
    start = time.time()
    for p in procs:
        p.start()
    total = 0
    agreement = 0
    findings: dict[str, dict[str, Any]] = {}
    budget = None if args.minutes is None else args.minutes * 60
    last_print = start
    try:
        while total < args.inputs:
            if budget is not None and time.time() - start > budget:
                break
            if not any(p.is_alive() for p in procs):
                print("every worker stopped", file=sys.stderr)
                break
            try:
                _, ran, agreed, found = out.get(timeout=5)
            except queue.Empty:
                continue
            total += ran
            agreement += agreed
            for sig in tally(findings, found):  # shown and saved as they come
                print(f"finding: {sig}", flush=True)
            if found and not args.no_write:
                save_findings(Path(args.findings), findings)
            now = time.time()
            if now - last_print > 30:
                last_print = now
                print(
                    f"{total:,} inputs, {total / (now - start):.0f}/s, "
                    f"{len(findings)} distinct findings",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        stop.set()
        stopped = time.time()
    while any(p.is_alive() for p in procs):  # each worker ends the batch it is running
        try:
            _, ran, agreed, found = out.get(timeout=1)
        except queue.Empty:
            if time.time() - stopped > 120:  # a batch stuck past its inputs' deadlines
                for p in procs:
                    p.terminate()
            continue
        total += ran
        agreement += agreed
        tally(findings, found)
    elapsed = time.time() - start  # the rate counts the last batches' inputs and time
    while True:
        try:
            _, ran, agreed, found = out.get(timeout=1)
        except queue.Empty:
            break
        total += ran
        agreement += agreed
        tally(findings, found)
    text = report(total, agreement, elapsed, args, findings)
    print(text)
    if not args.no_write:
        write_section("fuzz", text, Path(args.results))
        if findings:
            save_findings(Path(args.findings), findings)
    return 1 if findings else 0


def tally(findings: dict[str, dict[str, Any]], found: list[Any]) -> list[str]:
    """Count a batch's findings by signature; the signatures seen for the first time."""
    new = []
    for sig, kind, detail, fargv, program in found:
        if sig not in findings:
            new.append(sig)
            findings[sig] = {"count": 0, "kind": kind, "detail": detail, "argv": fargv,
                             "program": program}  # fmt: skip
        findings[sig]["count"] += 1
    return new


def report(
    total: int, agreement: int, elapsed: float, args: Any, findings: dict[str, dict[str, Any]]
) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rate = total / elapsed if elapsed else 0.0
    lines = [
        "### Fuzzing (issue 10)",
        "",
        f"- machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
        f"Python {platform.python_version()}; load average at the end {load}",
        f"- command: `.venv/bin/python -m fuzz.run --inputs {args.inputs} --workers "
        f"{args.workers}" + (f" --minutes {args.minutes:g}`" if args.minutes else "`"),
        f"- inputs run: **{total:,}** of {args.inputs:,} asked"
        + ("" if total >= args.inputs else " (stopped by the time budget)")
        + f", in {elapsed / 60:.1f} min with {args.workers} workers",
        f"- code: commit {_commit()}",
        f"- rate: **{rate:.0f} inputs/s** ({rate / max(args.workers, 1):.0f} per worker)",
        f"- inputs: {agreement:,} float-vs-exact agreement checks ({args.agreement_share} % of "
        f"the programs drawn), about {args.files_share} % file inputs (exercise files and "
        "templates in TOML, class manifests, CSV submissions with control characters, PyTorch "
        "models with in-place operations, compared with PyTorch) and command lines (eval, "
        f"draw, explain, check) on valid, mutated and random programs, {COMMANDS_PER_PROGRAM} "
        "command lines per program drawn",
        f"- per input: deadline {SECONDS:g} s, address space limited to "
        f"{EXTRA_MEMORY >> 30} GiB above the start",
        f"- distinct findings: **{len(findings)}**",
    ]
    if findings:
        lines += ["", "| kind | count | signature | command |", "|---|---:|---|---|"]
        for sig, rec in sorted(findings.items(), key=lambda kv: -kv[1]["count"]):
            safe = sig.replace("|", "\\|").replace("\n", " ")
            cmd = " ".join(rec["argv"][:1] + rec["argv"][2:]).replace("|", "\\|")
            lines.append(f"| {rec['kind']} | {rec['count']} | {safe} | `{cmd}` |")
    return "\n".join(lines) + "\n"


def _commit() -> str:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def save_findings(folder: Path, findings: dict[str, dict[str, Any]]) -> None:
    folder.mkdir(exist_ok=True)
    for k, rec in enumerate(findings.values()):
        (folder / f"{k:03d}.cr").write_bytes(rec["program"])
        (folder / f"{k:03d}.txt").write_text(
            f"{rec['kind']} x{rec['count']}\nchainrule {' '.join(rec['argv'])}\n\n"
            f"{rec['detail']}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `--generate` on the shipped example, split into scan / generate / check.

Runs the same data path as the CLI (services.scan -> plan_staging -> check) in one process, three
times: the first run pays dbt's import and a cold parse; later runs show the warm in-process runner
that the language server keeps. Also times the whole CLI as a subprocess, as CI would call it.

    .venv/bin/python benchmarks/generate_benchmark.py [--write-results]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line, replace_section  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def one_run(services, ctx) -> dict[str, float]:
    scan, t_scan = timed(lambda: services.scan(ctx))
    plan, t_plan = timed(lambda: services.plan_staging(ctx, scan, replace=True))
    checks, t_check = timed(lambda: services.check(ctx, plan))
    failed = [c for c in checks if c.status != "pass"]
    if failed:
        raise SystemExit(f"benchmark run had failing models: {failed}")
    return {
        "tables": len(scan.tables),
        "files": len(plan.changes),
        "scan": t_scan,
        "generate": t_plan,
        "check": t_check,
    }


def full_run(services, ctx) -> dict[str, float]:
    """The whole project: deep scan, all layers with verified tests and docs, then the check."""
    from cartridge_core.planning import Options

    options = Options(layers=("staging", "intermediate", "marts"), tests=True, docs=True, force=True)
    scan, t_scan = timed(lambda: services.deep_scan(ctx).scan)
    plan, t_plan = timed(lambda: services.plan_generation(ctx, scan, options))
    checks, t_check = timed(lambda: services.check(ctx, plan))
    if any(c.status != "pass" for c in checks):
        raise SystemExit("benchmark run had failing models")
    tests = sum(c.content.count("evidence:") for c in plan.changes if c.path.endswith(".yml"))
    return {"files": len(plan.changes), "tests": tests, "deep scan": t_scan, "plan": t_plan, "check": t_check}


def cli_run() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cartridge_lsp", "--generate", "--project-dir", str(EXAMPLE)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-results", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    subprocess.run([sys.executable, str(EXAMPLE / "make_data.py")], check=True, capture_output=True)

    from cartridge_core import services

    ctx, t_load = timed(lambda: services.load_context(EXAMPLE))
    runs = [one_run(services, ctx) for _ in range(3)]
    cli = [cli_run() for _ in range(3)]

    lines = [
        f"{machine_line()}",
        "",
        f"Example project `examples/shop`: {runs[0]['tables']} source tables, {runs[0]['files']} files.",
        "",
        "| phase | first run (cold) | warm (median of later runs) |",
        "|---|---|---|",
        f"| load project + profile | {t_load:.3f} s | — |",
    ]
    for phase in ("scan", "generate", "check"):
        warm = statistics.median(r[phase] for r in runs[1:])
        lines.append(f"| {phase} | {runs[0][phase]:.3f} s | {warm:.3f} s |")
    total_cold = sum(runs[0][p] for p in ("scan", "generate", "check"))
    total_warm = statistics.median(sum(r[p] for p in ("scan", "generate", "check")) for r in runs[1:])
    lines.append(f"| **total in process** | {total_cold:.3f} s | {total_warm:.3f} s |")
    lines.append(
        f"| `cartridge-lsp --generate` as a subprocess (median of 3) | {statistics.median(cli):.2f} s | — |"
    )
    full = [full_run(services, ctx) for _ in range(3)]
    lines += [
        "",
        "The whole project (`--layers staging,intermediate,marts --tests --docs`): "
        f"{full[0]['files']} files, {full[0]['tests']} tests written, each run on the data first "
        "(plan = proposals + two `dbt test` runs).",
        "",
        "| phase | first run | median of later runs |",
        "|---|---|---|",
    ]
    for phase in ("deep scan", "plan", "check"):
        warm = statistics.median(r[phase] for r in full[1:])
        lines.append(f"| {phase} | {full[0][phase]:.3f} s | {warm:.3f} s |")
    report = "\n".join(lines)
    print(report)
    if args.write_results:
        replace_section(ROOT / "benchmarks" / "RESULTS.md", "## Generate on the example", report)


if __name__ == "__main__":
    main()

"""The `cartridge-lsp` command: serve LSP over stdio, or run headless for CI.

Exit codes of the headless modes: 0 when everything generated passes dbt's check, 1 when a model
fails it, 2 on a configuration or connection error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from cartridge_core import __version__

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The command line: no mode flag serves LSP over stdio."""
    parser = argparse.ArgumentParser(
        prog="cartridge-lsp",
        description="Cartridge: a dbt language server. Without a mode flag it serves LSP over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"cartridge-lsp {__version__}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--generate",
        action="store_true",
        help="scan the warehouse, write staging models, check them with dbt, then exit",
    )
    parser.add_argument("--project-dir", type=Path, default=None, help="the dbt project (default: .)")
    parser.add_argument("--profiles-dir", type=Path, default=None, help="where profiles.yml is")
    parser.add_argument("--target", default=None, help="the profile target (default: the profile's)")
    parser.add_argument(
        "--schema",
        action="append",
        dest="schemas",
        metavar="SCHEMA",
        help="a source schema to model (repeatable; default: every source schema)",
    )
    parser.add_argument("--dry-run", action="store_true", help="write nothing; print the plan")
    parser.add_argument(
        "--replace", action="store_true", help="replace existing files that differ from the output"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cartridge-lsp` console script."""
    args = build_parser().parse_args(argv)
    if not args.generate:
        from cartridge_lsp.server import serve

        serve()
        return EXIT_OK
    _configure_logging(args.verbose)
    try:
        return run_generate(args, out=sys.stdout)
    except KeyboardInterrupt:
        print("Cartridge: interrupted; nothing more was written.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


class _Timer:
    """Wall-clock time per phase, for the summary line."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    def run(self, phase: str, fn: Callable[[], object]) -> object:
        start = time.perf_counter()
        try:
            return fn()
        finally:
            self.phases[phase] = time.perf_counter() - start

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())


def run_generate(args: argparse.Namespace, *, out: TextIO) -> int:
    """Headless generation: scan -> plan -> check -> write, printing each file and a summary."""
    from cartridge_core import services
    from cartridge_core.errors import CartridgeError

    timer = _Timer()
    try:
        # Paths typed on the command line are relative to where the user ran the command.
        profiles_dir = args.profiles_dir.resolve() if args.profiles_dir else None
        ctx = services.load_context(
            (args.project_dir or Path.cwd()).resolve(), profiles_dir=profiles_dir, target=args.target
        )
        scan = timer.run("scan", lambda: services.scan(ctx, schemas=args.schemas))
        plan = timer.run("generate", lambda: services.plan_staging(ctx, scan, replace=args.replace))
        if args.dry_run:
            return _print_dry_run(plan, out)
        checks = timer.run("check", lambda: services.check(ctx, plan))
        services.apply(ctx, plan)
    except CartridgeError as error:
        print(f"Cartridge: {error.message}", file=sys.stderr)
        return error.exit_code
    return _print_report(plan, checks, timer, out)


_VERBS = {
    "create": "created",
    "replace": "replaced",
    "unchanged": "unchanged",
    "conflict": "skipped",
}


def _print_dry_run(plan, out: TextIO) -> int:
    for change in plan.changes:
        verb = {"create": "would create", "replace": "would replace"}.get(change.kind)
        verb = verb or _VERBS[change.kind]
        print(f"{verb:<13} {change.path}{_reason(change.kind)}", file=out)
    counts = _counts(plan)
    print(f"Cartridge: dry run, nothing written; {counts}.", file=out)
    return EXIT_OK


def _print_report(plan, checks, timer: _Timer, out: TextIO) -> int:
    for change in plan.changes:
        print(f"{_VERBS[change.kind]:<9} {change.path}{_reason(change.kind)}", file=out)
    failed = [c for c in checks if c.status == "error"]
    for check in failed:
        where = f"{check.path}:{check.line}" if check.line else check.path
        print(f"failed    {where}  {check.message}", file=out)
    passed = len(checks) - len(failed)
    print(
        f"Cartridge: {_counts(plan)}; {passed} models passed the dbt check, {len(failed)} failed ({timer}).",
        file=out,
    )
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _reason(kind: str) -> str:
    if kind == "conflict":
        return "  (exists and differs; --replace to overwrite)"
    return ""


def _counts(plan) -> str:
    parts = []
    for kind, verb in _VERBS.items():
        parts.append(f"{len(plan.of_kind(kind))} {verb}")
    return ", ".join(parts)

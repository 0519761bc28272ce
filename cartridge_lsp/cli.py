"""The `cartridge-lsp` command: serve LSP over stdio, or run headless for CI.

Exit codes of the headless modes: 0 when everything generated passes dbt's check, 1 when a model
fails it, 2 on a configuration or connection error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

if TYPE_CHECKING:
    from cartridge_core.models import ModelCheck
    from cartridge_core.planning import Layer, Options
    from cartridge_core.project.changes import ChangeKind, Plan
    from cartridge_core.services import Context, ScanReport

from cartridge_core import __version__
from cartridge_lsp.cli_llm import add_llm_arguments, run_llm_generate, wants_llm
from cartridge_lsp.cli_project import add_project_arguments, run_project_mode, wants_project_mode

log = logging.getLogger(__name__)
T = TypeVar("T")

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
        help="scan the warehouse, write models (--layers), tests and docs, check them with dbt, then exit",
    )
    mode.add_argument(
        "--scan",
        action="store_true",
        help="scan and profile the warehouse, infer relationships and table roles, print a summary",
    )
    add_project_arguments(parser, mode)
    parser.add_argument("--json", action="store_true", help="with --scan: print the scan as JSON")
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
    parser.add_argument(
        "--layers",
        default="staging",
        help="with --generate: comma-separated layers among staging, intermediate, marts (default: staging)",
    )
    parser.add_argument("--dry-run", action="store_true", help="write nothing; print the plan")
    parser.add_argument(
        "--tests",
        action="store_true",
        help="with --generate: add schema tests, each run on the data before it is written",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="with --generate: describe models and columns (keys, timestamps, …)",
    )
    parser.add_argument(
        "--on-test-failure",
        choices=("drop", "warn"),
        default="drop",
        help="with --tests: a proposed test that fails on the data is dropped (default) or kept as a warning",
    )
    parser.add_argument(
        "--domain", default=None, help="with marts: the folder for intermediate and mart models"
    )
    parser.add_argument(
        "--force",
        "--replace",
        dest="force",
        action="store_true",
        help="overwrite SQL files a person edited (YAML files are merged, never overwritten)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    add_llm_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cartridge-lsp` console script."""
    args = build_parser().parse_args(argv)
    if not (args.generate or args.scan or wants_project_mode(args)):
        from cartridge_lsp.server import serve

        serve()
        return EXIT_OK
    _configure_logging(args.verbose)
    try:
        if wants_project_mode(args):
            return run_project_mode(args, out=sys.stdout)
        return run_scan(args, out=sys.stdout) if args.scan else run_generate(args, out=sys.stdout)
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

    def run(self, phase: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            return fn()
        finally:
            self.phases[phase] = time.perf_counter() - start

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())


def _load(args: argparse.Namespace) -> Context:
    from cartridge_core import services

    # Paths typed on the command line are relative to where the user ran the command.
    profiles_dir = args.profiles_dir.resolve() if args.profiles_dir else None
    return services.load_context(
        (args.project_dir or Path.cwd()).resolve(), profiles_dir=profiles_dir, target=args.target
    )


def run_scan(args: argparse.Namespace, *, out: TextIO) -> int:
    """Headless deep scan: catalog, profiles, relationships, roles; a summary or JSON."""
    from cartridge_core import services
    from cartridge_core.errors import CartridgeError
    from cartridge_core.scan_cache import scan_to_json

    try:
        report = services.deep_scan(_load(args), schemas=args.schemas)
    except CartridgeError as error:
        print(f"Cartridge: {error.message}", file=sys.stderr)
        return error.exit_code
    if args.json:
        document = json.loads(scan_to_json(report.scan))
        document["changes_since_last_scan"] = list(report.changes)
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    for line in scan_summary(report):
        print(line, file=out)
    return EXIT_OK


def scan_summary(report: ScanReport) -> list[str]:
    """Human lines: per table its role and keys, then the totals and what changed."""
    scan = report.scan
    roles = {(r.schema, r.table): r for r in scan.roles}
    lines = []
    for table in scan.tables:
        role = roles.get((table.schema, table.name))
        why = f" ({', '.join(role.reasons)})" if role and role.reasons else ""
        lines.append(f"{table.schema}.{table.name}: {role.role if role else 'other'}{why}")
    for rel in scan.relationships:
        child = f"{rel.child_schema}.{rel.child_table}({', '.join(rel.child_columns)})"
        parent = f"{rel.parent_schema}.{rel.parent_table}({', '.join(rel.parent_columns)})"
        lines.append(f"{rel.source:<8} {child} -> {parent}  confidence {rel.confidence:.2f}")
    for skipped in scan.skipped:
        lines.append(f"skipped  {skipped.schema}.{skipped.name}: {skipped.reason}")
    if report.previous_at:
        lines.append(f"Changes since the scan of {report.previous_at}: {len(report.changes) or 'none'}")
        lines.extend(f"  {change}" for change in report.changes)
    declared = sum(r.source == "declared" for r in scan.relationships)
    columns = sum(len(t.columns) for t in scan.tables)
    counts: dict[str, int] = {}
    for role in scan.roles:
        counts[role.role] = counts.get(role.role, 0) + 1
    role_text = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no roles"
    lines.append(
        f"Cartridge: {len(scan.tables)} tables, {columns} columns in {_plural(len(scan.schemas), 'schema')}; "
        f"{declared} declared and {len(scan.relationships) - declared} inferred relationships; "
        f"{role_text}."
    )
    return lines


def run_generate(args: argparse.Namespace, *, out: TextIO) -> int:
    """Headless generation: scan -> plan -> check -> write, printing each file and a summary."""
    from cartridge_core import services
    from cartridge_core.errors import CartridgeError

    timer = _Timer()
    try:
        ctx = _load(args)
        if wants_llm(args):
            return run_llm_generate(args, ctx, out=out)
        options = _options(args)
        if options.needs_analysis:
            scan = timer.run("scan", lambda: services.deep_scan(ctx, schemas=args.schemas).scan)
        else:
            scan = timer.run("scan", lambda: services.scan(ctx, schemas=args.schemas))
        progress = TestProgress(sys.stderr)
        plan = timer.run("generate", lambda: services.plan_generation(ctx, scan, options, progress=progress))
        if args.dry_run:
            return _print_dry_run(plan, out)
        checks = timer.run("check", lambda: services.check(ctx, plan))
        services.apply(ctx, plan)
    except CartridgeError as error:
        print(f"Cartridge: {error.message}", file=sys.stderr)
        return error.exit_code
    return _print_report(plan, checks, timer, out)


_VERBS: dict[ChangeKind, str] = {
    "create": "created",
    "replace": "replaced",
    "unchanged": "unchanged",
    "conflict": "skipped",
}


def _print_dry_run(plan: Plan, out: TextIO) -> int:
    for change in plan.changes:
        verb = {"create": "would create", "replace": "would replace"}.get(change.kind)
        verb = verb or _VERBS[change.kind]
        print(f"{verb:<13} {change.path}{_reason(change.kind)}", file=out)
    counts = _counts(plan)
    print(f"Cartridge: dry run, nothing written; {counts}.", file=out)
    return EXIT_OK


def _print_report(plan: Plan, checks: list[ModelCheck], timer: _Timer, out: TextIO) -> int:
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


class TestProgress:
    """Prints what the test run found (a headless run has no progress bar); never cancelled."""

    __test__ = False  # not a pytest class, whatever its name says

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def report(self, message: str, percentage: int | None = None) -> None:
        if "test" in message:
            print(f"Cartridge: {message}", file=self._stream)

    def cancelled(self) -> bool:
        return False


def _options(args: argparse.Namespace) -> Options:
    from cartridge_core.planning import Options

    return Options(
        layers=_layers(args.layers),
        tests=args.tests,
        docs=args.docs,
        on_failure=args.on_test_failure,
        force=args.force,
        domain=args.domain,
    )


LAYERS: tuple[Layer, ...] = ("staging", "intermediate", "marts")


def _layers(text: str) -> tuple[Layer, ...]:
    """The --layers value as known layer names, in pipeline order."""
    from cartridge_core.errors import ConfigError

    asked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(asked - set(LAYERS))
    if unknown or not asked:
        raise ConfigError(f"--layers takes {', '.join(LAYERS)}; got {text!r}")
    return tuple(layer for layer in LAYERS if layer in asked)


def _reason(kind: str) -> str:
    if kind == "conflict":
        return "  (edited since it was generated; --force to overwrite)"
    return ""


def _counts(plan: Plan) -> str:
    parts = []
    for kind, verb in _VERBS.items():
        parts.append(f"{len(plan.of_kind(kind))} {verb}")
    return ", ".join(parts)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

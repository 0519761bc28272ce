"""The headless modes about a whole project: `--check` (CI), `--init DIR` (a new project), `--archive FILE`.

Exit codes as for the other headless modes: 0 done (for --check: up to date), 1 out of date (--check)
or a generated model failed dbt's check (--init), 2 on a configuration or connection error.

--init takes its connection from flags and writes a profiles.yml without secrets: `--adapter
postgres` with `--host`, `--port`, `--user` (the default of the user variable) and `--database`, or
`--adapter duckdb` with `--path`. The password is never a flag: profiles.yml reads it with
env_var(), and the variable must be set before --init runs (it scans the warehouse).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from cartridge_core.errors import CartridgeError
    from cartridge_core.project.init import NewConnection

EXIT_OK = 0
EXIT_OUT_OF_DATE = 1


def add_project_arguments(parser: argparse.ArgumentParser, mode: argparse._MutuallyExclusiveGroup) -> None:
    """Add --check, --init and --archive to the mode group, and --init's connection flags."""
    mode.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing what differs between the project's sources and staging "
        "models and the warehouse (for CI)",
    )
    mode.add_argument(
        "--init",
        type=Path,
        metavar="DIR",
        help="create a dbt project in DIR (new or empty) over the warehouse named by --adapter and its "
        "flags, then generate its models",
    )
    mode.add_argument(
        "--archive",
        type=Path,
        metavar="FILE",
        help="pack the project into FILE (.tar.gz) to hand it over: no target/, packages, logs, "
        "warehouse data files or literal secrets",
    )
    init = parser.add_argument_group("connection of a new project (--init)")
    init.add_argument("--adapter", choices=("postgres", "duckdb"), help="the warehouse type")
    init.add_argument("--host", default="localhost", help="postgres: the server (default: localhost)")
    init.add_argument("--port", type=int, default=5432, help="postgres: the port (default: 5432)")
    init.add_argument(
        "--user", default=None, help="postgres: the user, as the default of <PROJECT>_USER in profiles.yml"
    )
    init.add_argument("--database", default=None, help="postgres: the database")
    init.add_argument("--path", type=Path, default=None, help="duckdb: the database file")


def wants_project_mode(args: argparse.Namespace) -> bool:
    """Whether the command line asks for one of this module's modes."""
    return bool(args.check) or args.init is not None or args.archive is not None


def run_project_mode(args: argparse.Namespace, *, out: TextIO) -> int:
    """Run --check, --init or --archive, whichever was asked for."""
    if args.check:
        return run_check(args, out=out)
    if args.init is not None:
        return run_init(args, out=out)
    return run_archive(args, out=out)


def run_check(args: argparse.Namespace, *, out: TextIO) -> int:
    """Scan the warehouse and compare it with the project, writing nothing; one line per difference."""
    from cartridge_core import services
    from cartridge_core.errors import CartridgeError
    from cartridge_lsp.cli import _load

    try:
        ctx = _load(args)
        found = services.drift(ctx, services.scan(ctx, schemas=args.schemas), schemas=args.schemas)
    except CartridgeError as error:
        return _fail(error)
    for line in found.lines():
        print(line, file=out)
    where = f"{found.tables} tables in {', '.join(found.schemas) or 'no schema'}"
    if found.up_to_date:
        print(f"Cartridge: the project is up to date with the warehouse ({where}).", file=out)
        return EXIT_OK
    count = len(found.differences)
    noun = "difference" if count == 1 else "differences"
    print(
        f"Cartridge: the project is out of date with the warehouse: {count} {noun} ({where}); "
        "cartridge-lsp --generate brings it up to date.",
        file=out,
    )
    return EXIT_OUT_OF_DATE


def run_init(args: argparse.Namespace, *, out: TextIO) -> int:
    """Create the project (nothing is left behind if its warehouse cannot be scanned), then generate."""
    from cartridge_core import services
    from cartridge_core.errors import CartridgeError
    from cartridge_lsp.cli import run_generate

    try:
        _refuse_project_flags(args)
        ctx = services.init_project(args.init, _connection(args), schemas=args.schemas)
    except CartridgeError as error:
        return _fail(error)
    print(f"Cartridge: created the dbt project {ctx.project.name} in {ctx.project.root}.", file=out)
    layers = [p.strip() for p in args.layers.split(",") if p.strip()]
    generate = argparse.Namespace(**vars(args))
    generate.project_dir = ctx.project.root
    generate.profiles_dir = ctx.project.root
    generate.layers = ",".join(["staging", *(layer for layer in layers if layer != "staging")])
    return run_generate(generate, out=out)


def _refuse_project_flags(args: argparse.Namespace) -> None:
    from cartridge_core.errors import ConfigError

    for flag, value in (
        ("--project-dir", args.project_dir),
        ("--profiles-dir", args.profiles_dir),
        ("--target", args.target),
        ("--dry-run", args.dry_run or None),
    ):
        if value is not None:
            raise ConfigError(f"{flag} does not apply to --init, which makes a new project and its profile")
    if args.adapter is None:
        raise ConfigError(
            "--init needs --adapter postgres (with --database) or --adapter duckdb (with --path)"
        )


def _connection(args: argparse.Namespace) -> NewConnection:
    from cartridge_core.project.init import NewConnection

    path = args.path.expanduser().resolve() if args.path is not None else None
    return NewConnection(
        adapter=args.adapter,
        host=args.host,
        port=args.port,
        user=args.user,
        database=args.database,
        path=path,
    )


def run_archive(args: argparse.Namespace, *, out: TextIO) -> int:
    """Pack the project into a .tar.gz; warn (stderr) about files left out because they hold secrets."""
    from cartridge_core import services
    from cartridge_core.errors import CartridgeError

    try:
        archive = services.archive_project((args.project_dir or Path.cwd()).resolve(), args.archive)
    except CartridgeError as error:
        return _fail(error)
    for warning in archive.warnings:
        print(f"Cartridge: {warning}", file=sys.stderr)
    data = f"; left out warehouse data: {', '.join(archive.data_files)}" if archive.data_files else ""
    print(f"Cartridge: packed {len(archive.files)} files into {archive.path}{data}.", file=out)
    return EXIT_OK


def _fail(error: CartridgeError) -> int:
    print(f"Cartridge: {error.message}", file=sys.stderr)
    return error.exit_code

"""The scan and staging use cases behind the commands, and the session's scan cache.

cartridge.scanWarehouse deep-scans and remembers the scan; cartridge.generateStaging plans staging
models, checks them with dbt, and only then delivers them as one edit (see flow.py for the steps).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from cartridge_core import services
from cartridge_core.errors import Cancelled, CartridgeError
from cartridge_core.models import Scan
from cartridge_core.progress import check_cancelled
from cartridge_lsp.convert import scan_summary
from cartridge_lsp.features.flow import (
    catalog_scan,
    configured_schemas,
    context,
    deliver,
    finish,
    one_run,
)
from cartridge_lsp.features.progress import WorkDone
from cartridge_lsp.options import GenerateArgs, ScanArgs

if TYPE_CHECKING:
    from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Scanned:
    root: Path
    target: str
    requested: tuple[str, ...] | None  # None: the default schemas
    scan: Scan
    deep: bool  # with profiles, relationships and roles


class ScanCache:
    """The session's last scan, reused until the user asks to rescan or the settings change."""

    def __init__(self) -> None:
        self._last: _Scanned | None = None

    def get(self, ctx: services.Context, schemas: Sequence[str] | None, *, deep: bool = False) -> Scan | None:
        """The last scan if it was of this project and target, covers `schemas`, and is deep if asked."""
        last = self._last
        if last is None or (last.root, last.target) != _identity(ctx) or (deep and not last.deep):
            return None
        if schemas is None:
            return last.scan if last.requested is None else None
        return last.scan if set(schemas) <= set(last.scan.schemas) else None

    def put(self, ctx: services.Context, schemas: Sequence[str] | None, scan: Scan, *, deep: bool) -> None:
        root, target = _identity(ctx)
        requested = tuple(schemas) if schemas is not None else None
        self._last = _Scanned(root=root, target=target, requested=requested, scan=scan, deep=deep)

    def schemas_for(self, root: Path) -> tuple[str, ...]:
        """The schemas of the last scan of the project at `root` (none if it was another project)."""
        if self._last is None or self._last.root != root:
            return ()
        return self._last.scan.schemas

    def clear(self) -> None:
        self._last = None


def _identity(ctx: services.Context) -> tuple[Path, str]:
    return ctx.project.root, f"{ctx.target.profiles_file}:{ctx.target.target_name}"


async def scan_warehouse(
    ls: CartridgeServer, args: ScanArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.scanWarehouse: scan, remember the scan for the session, summarise it."""

    async def work(progress: WorkDone) -> dict[str, Any]:
        ctx = await context(ls, args.uri)
        schemas = configured_schemas(ls, args.schema)
        report = await ls.run_core(services.deep_scan, ctx, schemas=schemas, progress=progress)
        ls.scans.put(ctx, schemas, report.scan, deep=True)
        summary = scan_summary(report.scan) | {"changes": list(report.changes)}
        where = ", ".join(report.scan.schemas) or "no schemas"
        changed = f"; {len(report.changes)} changes since the last scan" if report.changes else ""
        message = (
            f"Cartridge: scanned {summary['tables']} tables in {where}: {summary['relationships']} "
            f"relationships ({summary['inferred']} inferred){changed}"
        )
        ls.show(types.MessageType.Info, message)
        return summary

    def failed(error: CartridgeError) -> dict[str, Any]:
        return {"error": error.message, "cancelled": isinstance(error, Cancelled)}

    return await one_run(ls, "Cartridge: scanning the warehouse", token, work, failed)


async def generate_staging(
    ls: CartridgeServer, args: GenerateArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.generateStaging: scan (or reuse the scan), plan, check with dbt, deliver one edit."""
    title = "Cartridge: generating staging models"
    return await one_run(ls, title, token, lambda progress: _generate(ls, args, progress))


async def _generate(ls: CartridgeServer, args: GenerateArgs, progress: WorkDone) -> dict[str, Any]:
    ctx = await context(ls, args.uri)
    schemas = configured_schemas(ls, args.schema)
    scan = await catalog_scan(ls, ctx, schemas, progress, rescan=args.rescan)
    check_cancelled(progress)
    progress.report("Planning staging models…")
    plan = await ls.run_core(
        services.plan_staging,
        ctx,
        scan,
        tables=_tables(scan, args),
        replace=args.replace if args.replace is not None else ls.options.replace_existing,
    )
    check_cancelled(progress)
    progress.report(f"Planned {len(plan.changes)} files")  # the check reports its own steps
    checks = await ls.run_core(services.check, ctx, plan, progress=progress)
    check_cancelled(progress)  # the last moment to stop: after this, files change
    progress.report("Applying the changes…")
    written = await deliver(ls, ctx, plan, label="Cartridge: generate staging models")
    return finish(ls, ctx, plan, checks, written)


def _tables(scan: Scan, args: GenerateArgs) -> list[tuple[str, str]] | None:
    if args.schema and args.table:
        return [(args.schema, args.table)]
    if args.schema:  # the reused scan may hold more schemas than the one asked for
        return [(t.schema, t.name) for t in scan.tables_in(args.schema)]
    return None

"""The two use cases behind the commands: scan the warehouse; generate, check and deliver staging models.

Each step calls one core service on the server's core thread; between steps the user may cancel,
and nothing reaches a file until every step before delivery has finished.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from cartridge_core import services
from cartridge_core.errors import Cancelled, CartridgeError
from cartridge_core.models import Scan
from cartridge_core.progress import check_cancelled
from cartridge_core.project.changes import Plan, resolve_inside
from cartridge_lsp.convert import (
    Delivery,
    EditSupport,
    delivery,
    empty_summary,
    generate_summary,
    scan_summary,
    summary_message,
    uri_of,
)
from cartridge_lsp.features.progress import WorkDone, work_done
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


class ScanCache:
    """The session's last scan, reused until the user asks to rescan or the settings change."""

    def __init__(self) -> None:
        self._last: _Scanned | None = None

    def get(self, ctx: services.Context, schemas: Sequence[str] | None) -> Scan | None:
        """The last scan if it was of this project and target and covers `schemas`."""
        last = self._last
        if last is None or (last.root, last.target) != _identity(ctx):
            return None
        if schemas is None:
            return last.scan if last.requested is None else None
        return last.scan if set(schemas) <= set(last.scan.schemas) else None

    def put(self, ctx: services.Context, schemas: Sequence[str] | None, scan: Scan) -> None:
        root, target = _identity(ctx)
        requested = tuple(schemas) if schemas is not None else None
        self._last = _Scanned(root=root, target=target, requested=requested, scan=scan)

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
        ctx = await _context(ls, args.uri)
        schemas = _schemas(ls, args.schema)
        report = await ls.run_core(services.deep_scan, ctx, schemas=schemas, progress=progress)
        ls.scans.put(ctx, schemas, report.scan)
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

    return await _one_run(ls, "Cartridge: scanning the warehouse", token, work, failed)


async def generate_staging(
    ls: CartridgeServer, args: GenerateArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.generateStaging: scan (or reuse the scan), plan, check with dbt, deliver one edit."""

    def failed(error: CartridgeError) -> dict[str, Any]:
        if isinstance(error, Cancelled):
            return empty_summary(cancelled=True)
        return empty_summary(error=error.message)

    return await _one_run(
        ls,
        "Cartridge: generating staging models",
        token,
        lambda progress: _generate(ls, args, progress),
        failed,
    )


async def _one_run(
    ls: CartridgeServer,
    title: str,
    token: types.ProgressToken | None,
    work: Callable[[WorkDone], Awaitable[dict[str, Any]]],
    failed: Callable[[CartridgeError], dict[str, Any]],
) -> dict[str, Any]:
    """Run `work` under progress, one run at a time; a failure is one message and `failed(error)`."""
    if ls.busy.locked():  # e.g. a double click on the code action
        busy = CartridgeError("Another Cartridge scan or generation is running; try again when it ends")
        ls.show(types.MessageType.Warning, f"Cartridge: {busy.message}")
        return failed(busy)
    async with ls.busy, work_done(ls, title, token=token) as progress:
        try:
            return await work(progress)
        except CartridgeError as error:
            _report(ls, progress, error)
            return failed(error)
        except Exception:
            # The one place a bug is caught: the user sees one line, the log has the traceback.
            logger.exception("%s failed", title)
            internal = CartridgeError("Internal error; the details are in the log")
            _report(ls, progress, internal)
            return failed(internal)


async def _generate(ls: CartridgeServer, args: GenerateArgs, progress: WorkDone) -> dict[str, Any]:
    ctx = await _context(ls, args.uri)
    schemas = _schemas(ls, args.schema)
    scan = await _scan(ls, ctx, schemas, progress, rescan=args.rescan)
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
    written = await _deliver(ls, ctx, plan)
    ls.check_diagnostics.publish(ls, ctx.project.root, checks)
    summary = generate_summary(plan, checks, written_to_disk=written)
    level = types.MessageType.Warning if summary["failed"] else types.MessageType.Info
    ls.show(level, summary_message(summary))
    return summary


def _report(ls: CartridgeServer, progress: WorkDone, error: CartridgeError) -> None:
    if isinstance(error, Cancelled):
        progress.end_message = "Cancelled"
        ls.show(types.MessageType.Info, "Cartridge: cancelled; no file was changed")
        return
    progress.end_message = "Failed"
    logger.warning("%s", error.message)
    ls.show(types.MessageType.Error, f"Cartridge: {error.message}")


async def _context(ls: CartridgeServer, uri: str | None) -> services.Context:
    start = ls.project_start(uri)
    options = ls.options
    return await ls.run_core(
        services.load_context, start, profiles_dir=options.profiles_path, target=options.target
    )


def _schemas(ls: CartridgeServer, schema: str | None) -> list[str] | None:
    if schema:
        return [schema]
    return list(ls.options.schemas) or None


def _tables(scan: Scan, args: GenerateArgs) -> list[tuple[str, str]] | None:
    if args.schema and args.table:
        return [(args.schema, args.table)]
    if args.schema:  # the reused scan may hold more schemas than the one asked for
        return [(t.schema, t.name) for t in scan.tables_in(args.schema)]
    return None


async def _scan(
    ls: CartridgeServer,
    ctx: services.Context,
    schemas: list[str] | None,
    progress: WorkDone,
    *,
    rescan: bool,
) -> Scan:
    if not rescan and (cached := ls.scans.get(ctx, schemas)) is not None:
        progress.report(f"Using this session's scan of {', '.join(cached.schemas)}")
        return cached
    if not rescan and (stored := await ls.run_core(services.cached_scan, ctx, schemas=schemas)):
        # The server starts warm from the scan cached under target/; the check catches staleness.
        ls.scans.put(ctx, schemas, stored)
        progress.report(f"Using the cached scan of {', '.join(stored.schemas)}")
        return stored
    what = f"schema {', '.join(schemas)}" if schemas else "every source schema"
    progress.report(f"Scanning {what}…")
    scan = await ls.run_core(services.scan, ctx, schemas=schemas, progress=progress)
    ls.scans.put(ctx, schemas, scan)
    return scan


async def _deliver(ls: CartridgeServer, ctx: services.Context, plan: Plan) -> list[str]:
    """Send the edit, then write what the client cannot create; the paths written by the server."""
    root = ctx.project.root
    planned: Delivery = delivery(
        plan,
        root,
        EditSupport.of(ls.client_capabilities),
        current_text=lambda relpath: _current_text(ls, root, relpath),
        units=ls.workspace.position_codec.client_num_units,
    )
    if planned.edit is not None:
        params = types.ApplyWorkspaceEditParams(edit=planned.edit, label="Cartridge: generate staging models")
        result = await ls.workspace_apply_edit_async(params)
        if not result.applied:
            reason = result.failure_reason or "no reason given"
            raise CartridgeError(f"The editor did not apply the generated files: {reason}")
    if not planned.to_disk:
        return []
    return await ls.run_core(services.apply, ctx, Plan(changes=planned.to_disk))


def _current_text(ls: CartridgeServer, root: Path, relpath: str) -> str:
    """A replaced file's text as the editor has it: the open buffer if any, else the disk."""
    document = ls.workspace.text_documents.get(uri_of(root, relpath))
    if document is not None:
        return document.source
    return resolve_inside(root, relpath).read_text(encoding="utf-8")

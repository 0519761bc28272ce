"""The steps every Cartridge run in the editor shares: one run at a time under cancellable progress,
the project's context, a scan (reused when it can be), one undoable edit, and the summary.

A run calls core services on the server's core thread; between steps the user may cancel. Files
change only through `deliver`, which sends one workspace/applyEdit, writes what the client cannot
create, and records what was written as Cartridge's (see cartridge_core.project.record).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from cartridge_core import services
from cartridge_core.errors import Cancelled, CartridgeError
from cartridge_core.models import ModelCheck, Scan
from cartridge_core.project.changes import FileChange, Plan, resolve_inside
from cartridge_core.project.record import RECORD_PATH, record_written
from cartridge_lsp.convert import (
    Delivery,
    EditSupport,
    delivery,
    empty_summary,
    generate_summary,
    summary_message,
    uri_of,
)
from cartridge_lsp.features.progress import WorkDone, work_done

if TYPE_CHECKING:
    from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)


def failed_generation(error: CartridgeError) -> dict[str, Any]:
    """The result of a generating command that delivered nothing."""
    if isinstance(error, Cancelled):
        return empty_summary(cancelled=True)
    return empty_summary(error=error.message)


async def one_run(
    ls: CartridgeServer,
    title: str,
    token: types.ProgressToken | None,
    work: Callable[[WorkDone], Awaitable[dict[str, Any]]],
    failed: Callable[[CartridgeError], dict[str, Any]] = failed_generation,
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


def _report(ls: CartridgeServer, progress: WorkDone, error: CartridgeError) -> None:
    if isinstance(error, Cancelled):
        progress.end_message = "Cancelled"
        ls.show(types.MessageType.Info, "Cartridge: cancelled; no file was changed")
        return
    progress.end_message = "Failed"
    logger.warning("%s", error.message)
    ls.show(types.MessageType.Error, f"Cartridge: {error.message}")


async def context(ls: CartridgeServer, uri: str | None) -> services.Context:
    """The dbt project holding `uri` (else the workspace root) and its warehouse target."""
    start = ls.project_start(uri)
    options = ls.options
    return await ls.run_core(
        services.load_context, start, profiles_dir=options.profiles_path, target=options.target
    )


def configured_schemas(ls: CartridgeServer, schema: str | None = None) -> list[str] | None:
    """`schema`, else the schemas the settings name; None: every source schema."""
    if schema:
        return [schema]
    return list(ls.options.schemas) or None


async def catalog_scan(
    ls: CartridgeServer,
    ctx: services.Context,
    schemas: list[str] | None,
    progress: WorkDone,
    *,
    rescan: bool,
) -> Scan:
    """A scan of `schemas`: this session's, the cached one under target/, or a fresh catalog scan."""
    if (reused := await _reused_scan(ls, ctx, schemas, progress, deep=False, rescan=rescan)) is not None:
        return reused
    what = f"schema {', '.join(schemas)}" if schemas else "every source schema"
    progress.report(f"Scanning {what}…")
    scan = await ls.run_core(services.scan, ctx, schemas=schemas, progress=progress)
    ls.scans.put(ctx, schemas, scan, deep=False)
    return scan


async def deep_scan(
    ls: CartridgeServer,
    ctx: services.Context,
    schemas: list[str] | None,
    progress: WorkDone,
    *,
    rescan: bool,
) -> Scan:
    """A scan with profiles, relationships and roles (what tests and marts are proposed from)."""
    if (reused := await _reused_scan(ls, ctx, schemas, progress, deep=True, rescan=rescan)) is not None:
        return reused
    what = f"schema {', '.join(schemas)}" if schemas else "every source schema"
    progress.report(f"Scanning and profiling {what}…")
    report = await ls.run_core(services.deep_scan, ctx, schemas=schemas, progress=progress)
    ls.scans.put(ctx, schemas, report.scan, deep=True)
    return report.scan


async def _reused_scan(
    ls: CartridgeServer,
    ctx: services.Context,
    schemas: list[str] | None,
    progress: WorkDone,
    *,
    deep: bool,
    rescan: bool,
) -> Scan | None:
    if rescan:
        return None
    if (cached := ls.scans.get(ctx, schemas, deep=deep)) is not None:
        progress.report(f"Using this session's scan of {', '.join(cached.schemas)}")
        return cached
    # Only deep scans are cached under target/. The server starts warm from one; what it proposes
    # is checked against the warehouse, which catches a scan gone stale.
    if stored := await ls.run_core(services.cached_scan, ctx, schemas=schemas):
        ls.scans.put(ctx, schemas, stored, deep=True)
        progress.report(f"Using the cached scan of {', '.join(stored.schemas)}")
        return stored
    return None


async def deliver(ls: CartridgeServer, ctx: services.Context, plan: Plan, *, label: str) -> list[str]:
    """Send one edit, write what the client cannot create, record both; the paths the server wrote."""
    root = ctx.project.root
    planned: Delivery = delivery(
        plan,
        root,
        EditSupport.of(ls.client_capabilities),
        current_text=lambda relpath: _current_text(ls, root, relpath),
        units=ls.workspace.position_codec.client_num_units,
    )
    if planned.edit is not None:
        params = types.ApplyWorkspaceEditParams(edit=planned.edit, label=label)
        result = await ls.workspace_apply_edit_async(params)
        if not result.applied:
            reason = result.failure_reason or "no reason given"
            raise CartridgeError(f"The editor did not apply the generated files: {reason}")
        in_edit = [c for c in plan.to_write if c not in planned.to_disk]
        await ls.run_core(_record, root, in_edit)
    if not planned.to_disk:
        return []
    # services.apply records the files it writes itself.
    return await ls.run_core(services.apply, ctx, Plan(changes=planned.to_disk))


def _record(root: Path, changes: Iterable[FileChange]) -> None:
    """Record the files the editor took as Cartridge's, so a later run may replace them if untouched.

    When the record cannot be saved the edit stands; those files then count as a person's.
    """
    try:
        record_written(root, changes)
    except OSError as exc:
        logger.warning("Could not update %s: %s", root / RECORD_PATH, exc)


def ensure_saved(ls: CartridgeServer, root: Path, plan: Plan) -> None:
    """Refuse to replace an open file whose unsaved text differs from the disk the plan was made from.

    The plan adds to the saved file; replacing the buffer with it would lose the unsaved edits.
    """
    for change in plan.of_kind("replace"):
        document = ls.workspace.text_documents.get(uri_of(root, change.path))
        if document is None:
            continue
        saved = resolve_inside(root, change.path).read_text(encoding="utf-8")
        if document.source != saved:
            raise CartridgeError(f"Save {change.path} first: Cartridge adds to the file as saved")


def _current_text(ls: CartridgeServer, root: Path, relpath: str) -> str:
    """A replaced file's text as the editor has it: the open buffer if any, else the disk."""
    document = ls.workspace.text_documents.get(uri_of(root, relpath))
    if document is not None:
        return document.source
    return resolve_inside(root, relpath).read_text(encoding="utf-8")


def finish(
    ls: CartridgeServer,
    ctx: services.Context,
    plan: Plan,
    checks: list[ModelCheck],
    written: list[str],
) -> dict[str, Any]:
    """Publish the check's diagnostics and say in one message what the run did; its JSON result."""
    ls.check_diagnostics.publish(ls, ctx.project.root, checks)
    support = EditSupport.of(ls.client_capabilities)
    reviewed = [c.path for c in plan.of_kind("conflict")] if support.apply_edit and support.review else []
    summary = generate_summary(plan, checks, written_to_disk=written, reviewed=reviewed)
    level = types.MessageType.Warning if summary["failed"] else types.MessageType.Info
    ls.show(level, summary_message(summary))
    return summary

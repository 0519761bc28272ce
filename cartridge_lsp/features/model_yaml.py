"""The use cases that build on staging: verified tests and descriptions for a staging model, and the
intermediate and mart models over the staging layer.

Each plans from a deep scan (profiles, relationships and roles decide tests and marts), delivers one
edit the user can undo, and then checks with dbt what the edit left: a failing model gets its
diagnostic. A models YAML is edited in place: what the user wrote stays byte for byte.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from cartridge_core import services
from cartridge_core.errors import Cancelled, CartridgeError
from cartridge_core.models import DbtProject
from cartridge_core.planning import Options as GenerationOptions
from cartridge_core.progress import check_cancelled
from cartridge_core.project.changes import FileChange, Plan
from cartridge_core.project.model_entries import model_at
from cartridge_lsp.convert import generate_summary, path_of
from cartridge_lsp.features.flow import (
    configured_schemas,
    context,
    deep_scan,
    deliver,
    ensure_saved,
    finish,
    one_run,
)
from cartridge_lsp.features.progress import WorkDone
from cartridge_lsp.options import MartsArgs, ModelArgs

if TYPE_CHECKING:
    from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)

STAGING_PREFIX = "stg_"
YAML_SUFFIXES = (".yml", ".yaml")


async def add_tests(
    ls: CartridgeServer, args: ModelArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.addTests: the model's proposed tests, run on the data, added to its models YAML."""
    options = GenerationOptions(tests=True, on_failure=ls.options.tests.on_failure)
    title = "Cartridge: adding verified schema tests"
    return await one_run(ls, title, token, lambda progress: _model_yaml(ls, args, options, progress))


async def document_columns(
    ls: CartridgeServer, args: ModelArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.documentColumns: descriptions for the model and its columns, added to its models YAML."""
    options = GenerationOptions(docs=True)
    title = "Cartridge: documenting columns"
    return await one_run(ls, title, token, lambda progress: _model_yaml(ls, args, options, progress))


async def generate_marts(
    ls: CartridgeServer, args: MartsArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.generateMarts: intermediate and mart models from the relationship graph, as one edit."""
    settings = ls.options
    options = GenerationOptions(
        layers=("intermediate", "marts"),
        tests=True,
        docs=True,
        on_failure=settings.tests.on_failure,
        force=settings.replace_existing,
        domain=args.domain or settings.domain,
    )
    title = "Cartridge: generating intermediate and mart models"
    return await one_run(ls, title, token, lambda progress: _marts(ls, args, options, progress))


async def _model_yaml(
    ls: CartridgeServer, args: ModelArgs, options: GenerationOptions, progress: WorkDone
) -> dict[str, Any]:
    ctx = await context(ls, args.uri)
    name = args.model or _model_here(ls, ctx.project, args)
    scan = await deep_scan(ls, ctx, configured_schemas(ls), progress, rescan=args.rescan)
    check_cancelled(progress)
    progress.report(f"Planning the models YAML of {name}…")
    plan = await ls.run_core(services.plan_model_yaml, ctx, scan, [name], options, progress=progress)
    model = await ls.run_core(_model_file, ctx, name)
    return await _deliver_then_check(ls, ctx, plan, progress, also_check=[model] if model else [])


def _model_here(ls: CartridgeServer, project: DbtProject, args: ModelArgs) -> str:
    """The staging model the command was run in (from a palette, the client sends only where)."""
    model = staging_model_at(ls, project, args.uri, args.line or 0) if args.uri else None
    if model is None:
        raise CartridgeError(
            "Name a model, or run this in a staging model (stg_*.sql) or on its entry in a models YAML"
        )
    return model


def staging_model_at(ls: CartridgeServer, project: DbtProject, uri: str, line: int) -> str | None:
    """The staging model the file at `uri` is (`stg_*.sql`), or whose models YAML entry spans `line`."""
    path = path_of(uri)
    if path is None or not _in_model_paths(project, path):
        return None
    if path.suffix == ".sql":
        return path.stem if path.stem.startswith(STAGING_PREFIX) else None
    if path.suffix not in YAML_SUFFIXES:
        return None
    # The open buffer (pygls reads the disk for documents the client has not opened).
    model = model_at(ls.workspace.get_text_document(uri).source, line)
    return model if model and model.startswith(STAGING_PREFIX) else None


def _in_model_paths(project: DbtProject, path: Path) -> bool:
    """Whether dbt reads `path` as part of the models (a file elsewhere is not a model)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to((project.root / d).resolve()) for d in project.model_paths)


async def _marts(
    ls: CartridgeServer, args: MartsArgs, options: GenerationOptions, progress: WorkDone
) -> dict[str, Any]:
    ctx = await context(ls, args.uri)
    scan = await deep_scan(ls, ctx, configured_schemas(ls), progress, rescan=args.rescan)
    check_cancelled(progress)
    progress.report("Planning intermediate and mart models…")
    plan = await ls.run_core(services.plan_generation, ctx, scan, options, progress=progress)
    return await _deliver_then_check(ls, ctx, plan, progress)


async def _deliver_then_check(
    ls: CartridgeServer,
    ctx: services.Context,
    plan: Plan,
    progress: WorkDone,
    *,
    also_check: list[FileChange] | None = None,
) -> dict[str, Any]:
    """Deliver the plan as one edit, then check with dbt what it left; `also_check`: models it documents.

    The check runs on the plan's text (laid over a shadow of the project), which is what the edit
    put in the user's buffers whether or not they are saved yet.
    """
    ensure_saved(ls, ctx.project.root, plan)
    check_cancelled(progress)  # the last moment to stop before files change
    progress.report("Applying the edit…")
    written = await deliver(ls, ctx, plan, label=f"Cartridge: {_edit_label(plan)}")
    checked = Plan(changes=plan.changes + tuple(also_check or ()))
    try:
        checks = await ls.run_core(services.check, ctx, checked, progress=progress)
    except Cancelled:  # too late for "no file was changed": say what happened instead
        progress.end_message = "Check cancelled"
        ls.show(types.MessageType.Info, "Cartridge: the edit was applied; its dbt check was cancelled")
        return generate_summary(plan, (), written_to_disk=written) | {"checked": False}
    return finish(ls, ctx, plan, checks, written) | {"checked": True}


def _edit_label(plan: Plan) -> str:
    """The edit's label, as editors show it in their undo history."""
    models = sum(PurePosixPath(c.path).suffix == ".sql" for c in plan.to_write)
    return f"generate {models} models" if models else "edit models YAML"


def _model_file(ctx: services.Context, model: str) -> FileChange | None:
    """The model's SQL file as it is on disk, so the check runs the model its YAML describes."""
    project = ctx.project
    for models_dir in project.model_paths:
        folder = project.root / models_dir
        found = next(iter(sorted(folder.rglob(f"{model}.sql"))), None) if folder.is_dir() else None
        if found is not None:
            path = found.relative_to(project.root).as_posix()
            return FileChange(path=path, content=found.read_text(encoding="utf-8"), kind="unchanged")
    logger.info("No SQL file for model %s: its models YAML is checked without it", model)
    return None

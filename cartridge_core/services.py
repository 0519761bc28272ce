"""The one door into core: the use cases the language server and the CLI call.

The data path is always the same: find the project and its warehouse -> scan -> plan file changes
-> check the planned models with dbt -> the caller delivers the plan (editor edit or disk).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cartridge_core.models import DbtProject, ModelCheck, Scan, WarehouseTarget
from cartridge_core.progress import NullProgress, Progress
from cartridge_core.project.changes import Plan, plan_changes, write_plan


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """A dbt project and the warehouse target its profile names."""

    project: DbtProject
    target: WarehouseTarget


def load_context(
    start: Path, *, profiles_dir: Path | None = None, target: str | None = None
) -> Context:
    """Find the dbt project at or above `start` and resolve its profile target as dbt does."""
    from cartridge_core.project.discovery import find_project
    from cartridge_core.project.profiles import load_target

    project = find_project(start)
    return Context(
        project=project, target=load_target(project, profiles_dir=profiles_dir, target=target)
    )


def scan(
    ctx: Context, *, schemas: Sequence[str] | None = None, progress: Progress | None = None
) -> Scan:
    """Scan the warehouse read-only: the chosen schemas, or every source schema by default."""
    from cartridge_core.warehouse import scan_warehouse

    return scan_warehouse(ctx.target, schemas=schemas, progress=progress or NullProgress())


def plan_staging(
    ctx: Context,
    warehouse: Scan,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    replace: bool = False,
) -> Plan:
    """Plan staging models, sources and models YAML for the scanned tables (or only `tables`)."""
    from cartridge_core.generation.staging import generate_staging

    proposed = generate_staging(warehouse, ctx.project, tables=tables)
    return plan_changes(ctx.project.root, proposed, replace=replace)


def check(ctx: Context, plan: Plan, *, progress: Progress | None = None) -> list[ModelCheck]:
    """Check the models the plan writes (and those it leaves unchanged) with dbt, against the warehouse."""
    from cartridge_core.dbt.check import check_models

    return check_models(ctx.project, ctx.target, plan, progress=progress or NullProgress())


def apply(ctx: Context, plan: Plan) -> list[str]:
    """Write the plan's new and replaced files to disk, atomically; return their paths."""
    return write_plan(ctx.project.root, plan.to_write)

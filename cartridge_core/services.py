"""The one door into core: the use cases the language server and the CLI call.

The data path is always the same: find the project and its warehouse -> scan -> plan file changes
-> check the planned models with dbt -> the caller delivers the plan (editor edit or disk).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cartridge_core.models import (
    Containment,
    ContainmentQuery,
    DbtProject,
    ModelCheck,
    Scan,
    WarehouseTarget,
)
from cartridge_core.planning import Options
from cartridge_core.progress import NullProgress, Progress
from cartridge_core.project.changes import Plan, write_plan

if TYPE_CHECKING:
    from cartridge_core.drift import Drift
    from cartridge_core.llm import LlmConfig, LlmModelResult, StagingEnrichment
    from cartridge_core.project.archive import Archive
    from cartridge_core.project.init import NewConnection


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """A dbt project and the warehouse target its profile names."""

    project: DbtProject
    target: WarehouseTarget


def load_context(start: Path, *, profiles_dir: Path | None = None, target: str | None = None) -> Context:
    """Find the dbt project at or above `start` and resolve its profile target as dbt does."""
    from cartridge_core.project.discovery import find_project
    from cartridge_core.project.profiles import load_target

    project = find_project(start)
    return Context(project=project, target=load_target(project, profiles_dir=profiles_dir, target=target))


def scan(ctx: Context, *, schemas: Sequence[str] | None = None, progress: Progress | None = None) -> Scan:
    """Scan the warehouse read-only: the chosen schemas, or every source schema by default."""
    from cartridge_core.warehouse import scan_warehouse

    found = scan_warehouse(ctx.target, schemas=schemas, progress=progress or NullProgress())
    if schemas is None:  # by default, a schema with nothing in it (DuckDB's `main`) is no source
        found = replace(found, schemas=tuple(s for s in found.schemas if found.tables_in(s)))
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """A deep scan and what changed since the previous scan of the same schemas."""

    scan: Scan
    changes: tuple[str, ...] = ()  # human lines, e.g. "+ table raw.refunds"
    previous_at: str | None = None  # when the previous scan was taken (UTC ISO), if there was one


def analyze(ctx: Context, warehouse: Scan, *, progress: Progress | None = None) -> Scan:
    """Add what the data says to a catalog scan: profiles, inferred relationships, table roles."""
    from cartridge_core.relationships import infer_relationships
    from cartridge_core.roles import classify_tables
    from cartridge_core.warehouse import measure_containment, profile_tables

    progress = progress or NullProgress()
    profiles = profile_tables(ctx.target, warehouse.tables, progress=progress)

    def measure(queries: Sequence[ContainmentQuery]) -> Sequence[Containment]:
        return measure_containment(ctx.target, queries, progress=progress)

    relationships = infer_relationships(warehouse, measure, profiles=profiles)
    roles = classify_tables(warehouse, relationships, profiles)
    return replace(warehouse, profiles=tuple(profiles), relationships=relationships, roles=roles)


def deep_scan(
    ctx: Context, *, schemas: Sequence[str] | None = None, progress: Progress | None = None
) -> ScanReport:
    """Scan, analyze, compare with the cached previous scan, and cache the new one under target/."""
    from cartridge_core import scan_cache

    progress = progress or NullProgress()
    warehouse = analyze(ctx, scan(ctx, schemas=schemas, progress=progress), progress=progress)
    previous = scan_cache.load_latest_scan(ctx.project, ctx.target.target_name, warehouse.schemas)
    scan_cache.save_scan(ctx.project, ctx.target.target_name, warehouse)
    if previous is None:
        return ScanReport(scan=warehouse)
    diff = scan_cache.diff_scans(previous.scan, warehouse)
    return ScanReport(
        scan=warehouse, changes=tuple(diff.lines()), previous_at=previous.scanned_at.isoformat()
    )


def cached_scan(ctx: Context, *, schemas: Sequence[str] | None = None) -> Scan | None:
    """The last scan cached for this target (and exactly these schemas, when given), if any."""
    from cartridge_core import scan_cache

    cached = scan_cache.load_latest_scan(ctx.project, ctx.target.target_name, schemas)
    return cached.scan if cached else None


def plan_staging(
    ctx: Context,
    warehouse: Scan,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    replace: bool = False,
) -> Plan:
    """Plan staging models, sources and models YAML (comments only, no tests) for the scanned tables."""
    return plan_generation(ctx, warehouse, Options(force=replace), tables=tables)


def plan_generation(
    ctx: Context,
    warehouse: Scan,
    options: Options | None = None,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Plan the layers `options` asks for: staging for the scanned tables (or only `tables`), and from the
    scan's roles and relationships intermediate and mart models; tests run on the data first.

    Intermediate and marts need an analysed scan (`analyze` or `deep_scan`): roles drive them.
    Models YAML is merged into what is on disk; dbt_project.yml gains layer materializations.
    """
    from cartridge_core.planning import plan_generation as plan

    return plan(ctx.project, ctx.target, warehouse, options or Options(), tables=tables, progress=progress)


def plan_model_yaml(
    ctx: Context,
    warehouse: Scan,
    models: Collection[str],
    options: Options,
    *,
    progress: Progress | None = None,
) -> Plan:
    """Plan verified tests (`options.tests`) and/or descriptions (`options.docs`) for the named staging
    models, merged into their models YAML in place; nothing else changes."""
    from cartridge_core.planning import plan_model_yaml as plan

    return plan(ctx.project, ctx.target, warehouse, models, options, progress=progress)


def check(ctx: Context, plan: Plan, *, progress: Progress | None = None) -> list[ModelCheck]:
    """Check the models the plan writes (and those it leaves unchanged) with dbt, against the warehouse."""
    from cartridge_core.dbt.check import check_models

    return check_models(ctx.project, ctx.target, plan, progress=progress or NullProgress())


def apply(ctx: Context, plan: Plan) -> list[str]:
    """Write the plan's new and replaced files to disk, atomically; return their paths."""
    return write_plan(ctx.project.root, plan.to_write)


def drift(ctx: Context, warehouse: Scan, *, schemas: Sequence[str] | None = None) -> Drift:
    """What differs between the project's sources and staging models and the scan; writes nothing.

    `schemas`: the ones the scan was asked for; None when it covered every source schema.
    """
    from cartridge_core.drift import find_drift

    return find_drift(ctx.project, warehouse, target_schema=ctx.target.schema, every_schema=schemas is None)


def init_project(
    directory: Path,
    connection: NewConnection,
    *,
    schemas: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Context:
    """Create a new dbt project in `directory` over `connection`, with one exploration query per source.

    Nothing is left behind unless its warehouse was scanned; generation is the caller's next step.
    """
    from cartridge_core.dbt.package import package_path
    from cartridge_core.project import init

    directory = directory.expanduser().resolve()
    init.check_new_directory(directory)
    name = init.project_name(directory)
    init.check_connection(connection, name)

    def explore(work: Path) -> dict[str, str]:
        return init.exploration_queries(
            scan(load_context(work, profiles_dir=work), schemas=schemas, progress=progress)
        )

    init.create_project(directory, init.scaffold_files(name, connection, package_path()), explore)
    return load_context(directory, profiles_dir=directory)


def archive_project(start: Path, destination: Path) -> Archive:
    """Pack the dbt project at or above `start` into the .tar.gz `destination`: no build output,
    warehouse data or secrets. Needs no profile: packing connects to nothing."""
    from cartridge_core.project.archive import archive_project as pack
    from cartridge_core.project.discovery import find_project

    return pack(find_project(start), destination)


# --- LLM-assisted generation (cartridge_core.llm): used only when a provider is configured. ---


def llm_prompt(ctx: Context, warehouse: Scan, config: LlmConfig, *, request: str | None = None) -> str:
    """Exactly what would be sent for `request` (a model in plain words) or, without one, for better
    staging names and descriptions; nothing is sent."""
    from cartridge_core.llm import render_prompt

    if request:
        return render_prompt(ctx.project, warehouse, config, task="model", request=request).as_text()
    return render_prompt(ctx.project, warehouse, config, task="staging").as_text()


def ask_llm(
    ctx: Context, warehouse: Scan, request: str, config: LlmConfig, *, progress: Progress | None = None
) -> tuple[Plan, LlmModelResult]:
    """A model answering `request`, written by the LLM and checked with dbt (repaired, else marked
    failed); the plan of its files and what happened."""
    from cartridge_core.llm import ask_for_model
    from cartridge_core.project.changes import plan_changes

    result = ask_for_model(ctx, warehouse, request, config, progress=progress)
    return plan_changes(ctx.project.root, result.files), result


def enrich_with_llm(
    ctx: Context,
    warehouse: Scan,
    config: LlmConfig,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> tuple[Plan, StagingEnrichment]:
    """Staging models with the LLM's names and descriptions where they pass dbt's check."""
    from cartridge_core.llm import enrich_staging
    from cartridge_core.project.changes import plan_changes

    enrichment = enrich_staging(ctx, warehouse, config, progress=progress, tables=tables)
    return plan_changes(ctx.project.root, enrichment.files, replace=force), enrichment


def llm_test_ideas(
    ctx: Context, warehouse: Scan, config: LlmConfig, options: Options, *, progress: Progress | None = None
) -> tuple[Plan, tuple[str, ...]]:
    """Extra tests the LLM proposes for the staging models, each run on the data before it is kept
    (as `options.on_failure` says), merged into the models YAML; the plan and what was said."""
    from cartridge_core.llm import propose_tests
    from cartridge_core.planning import plan_test_ideas

    ideas = propose_tests(warehouse, config, progress=progress)
    plan = plan_test_ideas(ctx.project, ctx.target, ideas.docs, ideas.staging, options, progress=progress)
    return plan, (*ideas.messages, ideas.usage.summary())


def llm_docs(
    ctx: Context, warehouse: Scan, config: LlmConfig, *, progress: Progress | None = None
) -> tuple[Plan, tuple[str, ...]]:
    """Descriptions the LLM writes for the project's staging models, added where the models YAML has
    none (a description already there, a person's or Cartridge's, is never replaced)."""
    from cartridge_core.generation.staging import staging_models
    from cartridge_core.llm import ModelSource, write_docs
    from cartridge_core.planning import plan_yaml_additions, staging_sql_on_disk

    on_disk = staging_sql_on_disk(ctx.project)
    models = [m for m in staging_models(warehouse) if m.name in on_disk]
    sources = [
        ModelSource(
            name=m.name,
            sql=on_disk[m.name].read_text(encoding="utf-8"),
            columns=tuple(c.name for c in m.columns),
        )
        for m in models
    ]
    if not sources:
        return plan_yaml_additions(ctx.project, [], models), (
            "No staging models to document: generate them first",
        )
    result = write_docs(ctx.project, warehouse, config, sources, progress=progress)
    return plan_yaml_additions(ctx.project, result.docs, models), (*result.messages, result.usage.summary())

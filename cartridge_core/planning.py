"""What one generation run proposes: models, their YAML (tests run on the data first) and layer configs.

The services call this; it is the "plan" step of the one data path. Generation is pure (files from a
scan); this module adds what needs the disk or dbt: the tests proposed for staging models are run by
`dbt.verify` before they are written, models YAML is merged into the file a person may have edited
(`project.yaml_edit`: additions only, every byte of theirs kept), and the layers' materializations
go into the user's dbt_project.yml the same way. `project.changes.plan_changes` then decides, per
file, whether writing it creates, replaces or would clobber a person's work (a conflict, skipped).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from cartridge_core.errors import CartridgeError
from cartridge_core.models import DbtProject, ModelDoc, Scan, WarehouseTarget
from cartridge_core.progress import NullProgress, Progress
from cartridge_core.project.changes import Plan, plan_changes, resolve_inside

if TYPE_CHECKING:
    from cartridge_core.generation.staging import StagingModel

Layer = Literal["staging", "intermediate", "marts"]
LAYERS: tuple[Layer, ...] = ("staging", "intermediate", "marts")
OnFailure = Literal["drop", "warn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What a generation run writes. Tests and docs beyond the warehouse's comments are opt-in."""

    layers: tuple[Layer, ...] = ("staging",)
    tests: bool = False  # verified schema tests (run on the data before they are written)
    docs: bool = False  # deterministic descriptions for keys, foreign keys, timestamps, flags
    on_failure: OnFailure = "drop"  # a proposed test that fails on the data: dropped, or kept as a warning
    force: bool = False  # replace SQL files a person edited (YAML is always merged, never replaced)
    domain: str | None = None  # the folder of intermediate and mart models (default: the source's name)

    @property
    def needs_analysis(self) -> bool:
        """Tests, docs and marts follow what the data says (profiles, relationships, roles), not the
        catalog alone: the scan they plan from must be analysed (`services.analyze`/`deep_scan`)."""
        return self.tests or self.docs or self.layers != ("staging",)


@dataclass(slots=True)
class _Proposal:
    files: dict[str, str]
    merged: set[str]

    def put(self, path: str, content: str, *, merged: bool = False) -> None:
        self.files[path] = content
        if merged:
            self.merged.add(path)


def plan_generation(
    project: DbtProject,
    target: WarehouseTarget,
    scan: Scan,
    options: Options,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    progress: Progress | None = None,
) -> Plan:
    """The file changes of generating `options.layers` for the scan (staging: only `tables`, if given)."""
    from cartridge_core.generation.staging import generate_staging, select_models, staging_models

    progress = progress or NullProgress()
    unknown = sorted(set(options.layers) - set(LAYERS))
    if unknown:
        raise CartridgeError(f"Unknown layer {unknown[0]!r}: choose among {', '.join(LAYERS)}")
    everything = staging_models(scan)
    proposal = _Proposal(files={}, merged=set())
    if "staging" in options.layers:
        chosen = select_models(everything, tables)
        for path, content in generate_staging(scan, project, tables=tables).items():
            if path.endswith("__sources.yml"):
                _put_sources_yaml(proposal, project, path, content)
            else:
                proposal.put(path, content)
        docs = staging_docs(project, target, scan, chosen, options, progress=progress, files=proposal.files)
        _put_models_yaml(proposal, project, _by_yaml_file(project, chosen, docs), replace_generated=True)
    if {"intermediate", "marts"} & set(options.layers):
        _propose_marts(proposal, project, target, scan, everything, options, progress)
    return plan_changes(project.root, proposal.files, replace=options.force, merged=proposal.merged)


def plan_model_yaml(
    project: DbtProject,
    target: WarehouseTarget,
    scan: Scan,
    models: Collection[str],
    options: Options,
    *,
    progress: Progress | None = None,
) -> Plan:
    """Changes to staging models YAML only: the named models' tests and/or docs, merged in place."""
    from cartridge_core.generation.staging import staging_models

    by_name = {m.name: m for m in staging_models(scan)}
    missing = sorted(set(models) - set(by_name))
    if missing:
        raise CartridgeError(f"Model {missing[0]} is not a staging model of the scanned tables; scan first")
    chosen = [by_name[name] for name in sorted(models)]
    docs = staging_docs(project, target, scan, chosen, options, progress=progress or NullProgress())
    proposal = _Proposal(files={}, merged=set())
    _put_models_yaml(proposal, project, _by_yaml_file(project, chosen, docs), replace_generated=False)
    return plan_changes(project.root, proposal.files, merged=proposal.merged)


def plan_test_ideas(
    project: DbtProject,
    target: WarehouseTarget,
    docs: Sequence[ModelDoc],
    staging: Sequence[StagingModel],
    options: Options,
    *,
    progress: Progress | None = None,
) -> Plan:
    """Tests proposed elsewhere (an LLM's ideas) for staging models: run on the data first like
    Cartridge's own, the kept ones merged into the models YAML in place."""
    from cartridge_core.dbt.verify import verify_tests

    by_name = {m.name: m for m in staging}
    wanted = [d for d in docs if d.name in by_name]
    verified = verify_tests(
        project, target, wanted, staging, on_failure=options.on_failure, progress=progress or NullProgress()
    )
    return plan_yaml_additions(project, verified, staging)


def plan_yaml_additions(
    project: DbtProject, docs: Sequence[ModelDoc], staging: Sequence[StagingModel]
) -> Plan:
    """`docs` of staging models merged into their models YAML: additions only, nothing replaced."""
    by_name = {m.name: m for m in staging}
    wanted = [d for d in docs if d.name in by_name]
    models = [by_name[d.name] for d in wanted]
    proposal = _Proposal(files={}, merged=set())
    _put_models_yaml(proposal, project, _by_yaml_file(project, models, wanted), replace_generated=False)
    return plan_changes(project.root, proposal.files, merged=proposal.merged)


def staging_docs(
    project: DbtProject,
    target: WarehouseTarget,
    scan: Scan,
    models: Sequence[StagingModel],
    options: Options,
    *,
    progress: Progress,
    files: Mapping[str, str] | None = None,
) -> list[ModelDoc]:
    """The models YAML entries of `models`: comments (or full docs), and tests that passed on the data."""
    from cartridge_core.generation.docs import describe_staging, with_tests
    from cartridge_core.generation.staging import basic_docs, staging_models

    docs = (
        describe_staging(scan, models, sources=_source_docs(project)) if options.docs else basic_docs(models)
    )
    if not options.tests or not models:
        return docs
    from cartridge_core.dbt.verify import verify_tests
    from cartridge_core.generation.tests import propose_staging_tests

    refs = {m.name for m in models} | set(staging_sql_on_disk(project))
    proposed = propose_staging_tests(scan, models, refs=refs)
    verified = verify_tests(
        project,
        target,
        proposed,
        staging_models(scan),
        on_failure=options.on_failure,
        progress=progress,
        files=files,
    )
    return [with_tests(doc, tested) for doc, tested in zip(docs, verified, strict=True)]


def _source_docs(project: DbtProject) -> dict[tuple[str, str], ModelDoc]:
    """What the project's sources YAML says about each source table, by (schema, warehouse name):
    a person's descriptions there come before the warehouse's comments."""
    from cartridge_core.drift import declared_sources
    from cartridge_core.models import ColumnDoc

    return {
        (t.schema, t.identifier): ModelDoc(
            name=t.table,
            description=t.description,
            columns=tuple(ColumnDoc(name=c, description=d) for c, d in t.column_descriptions),
        )
        for t in declared_sources(project)
    }


def staging_sql_on_disk(project: DbtProject) -> dict[str, Path]:
    """The staging models already in the project (name -> SQL file): what relationships tests may
    refer to, and what an LLM may document."""
    folder = project.root / project.models_dir / "staging"
    return {path.stem: path for path in folder.rglob("stg_*.sql")} if folder.is_dir() else {}


def _by_yaml_file(
    project: DbtProject, models: Sequence[StagingModel], docs: Sequence[ModelDoc]
) -> dict[str, list[ModelDoc]]:
    from cartridge_core.generation.staging import models_yaml_path

    grouped: dict[str, list[ModelDoc]] = {}
    for model, doc in zip(models, docs, strict=True):
        grouped.setdefault(models_yaml_path(project, model.source_name), []).append(doc)
    return grouped


def _put_models_yaml(
    proposal: _Proposal, project: DbtProject, grouped: dict[str, list[ModelDoc]], *, replace_generated: bool
) -> None:
    """Each models YAML: fresh when new (or, if `replace_generated`, when Cartridge wrote it and nobody
    edited it since), else the file on disk with only what it lacks added."""
    from cartridge_core.project.record import load_record
    from cartridge_core.project.yaml_edit import fresh_models_yaml, merge_models_yaml

    record = load_record(project.root)
    for path, docs in grouped.items():
        on_disk = resolve_inside(project.root, path)
        if not on_disk.exists():
            proposal.put(path, fresh_models_yaml(docs))
            continue
        current = on_disk.read_bytes()
        if replace_generated and record.wrote(path, current):
            proposal.put(path, fresh_models_yaml(docs))
            continue
        text = current.decode("utf-8")
        proposal.put(path, merge_models_yaml(text, docs, path=path), merged=True)


def _put_sources_yaml(proposal: _Proposal, project: DbtProject, path: str, generated: str) -> None:
    """A sources YAML: Cartridge's own when new or still as it wrote it, else merged into the person's
    file (their freshness, tags and descriptions kept; new tables and columns added)."""
    from cartridge_core.project.record import load_record
    from cartridge_core.project.yaml_sources import merge_sources_yaml

    on_disk = resolve_inside(project.root, path)
    if not on_disk.exists():
        proposal.put(path, generated)
        return
    current = on_disk.read_bytes()
    if load_record(project.root).wrote(path, current):
        proposal.put(path, generated)
        return
    proposal.put(path, merge_sources_yaml(current.decode("utf-8"), generated, path=path), merged=True)


def _propose_marts(
    proposal: _Proposal,
    project: DbtProject,
    target: WarehouseTarget,
    scan: Scan,
    staging: Sequence[StagingModel],
    options: Options,
    progress: Progress,
) -> None:
    """Intermediate and mart models, their YAML (tests, run on the new models first, only with
    `options.tests`) and the layers' materializations in dbt_project.yml."""
    from cartridge_core.generation.marts import generate_marts
    from cartridge_core.generation.project_config import with_layer_materializations

    documented = _documented_columns(project, proposal.files)
    marts = generate_marts(scan, staging, project, domain=options.domain, documented=documented)
    docs = {d.name: d if options.tests else _untested(d) for d in marts.docs}
    grouped: dict[str, list[ModelDoc]] = {}
    yaml_of = {PurePosixPath(p).parent: p for p in marts.files if p.endswith(".yml")}
    for path, content in marts.files.items():
        layer = "intermediate" if "/intermediate/" in f"/{path}" else "marts"
        if layer in options.layers and path.endswith(".sql"):
            proposal.put(path, content)
            sql = PurePosixPath(path)
            grouped.setdefault(yaml_of[sql.parent], []).append(docs[sql.stem])
    if options.tests and grouped:
        from cartridge_core.dbt.verify_models import verify_model_tests

        grouped = verify_model_tests(
            project, target, proposal.files, grouped, on_failure=options.on_failure, progress=progress
        )
    _put_models_yaml(proposal, project, grouped, replace_generated=True)
    text = project.project_file.read_text(encoding="utf-8")
    configured = with_layer_materializations(text, project.name, path=str(project.project_file))
    if configured != text:
        proposal.put("dbt_project.yml", configured, merged=True)


def _documented_columns(project: DbtProject, planned: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """(staging model, column) -> description, as the staging models YAML says once the plan is
    applied: what a person wrote there reaches the marts built on those columns."""
    from cartridge_core.project.yamlio import load_yaml_text

    folder = project.root / project.models_dir / "staging"
    texts = (
        {p.relative_to(project.root).as_posix(): p for p in folder.rglob("_*__models.yml")}
        if folder.is_dir()
        else {}
    )
    found: dict[tuple[str, str], str] = {}
    for path in sorted({*texts, *(p for p in planned if p.endswith("__models.yml"))}):
        text = planned[path] if path in planned else texts[path].read_text(encoding="utf-8")
        document = load_yaml_text(text, path=path)
        for model in document.get("models") or [] if isinstance(document, dict) else []:
            for column in (model.get("columns") or []) if isinstance(model, dict) else []:
                said = column.get("description") if isinstance(column, dict) else None
                if isinstance(said, str) and said.strip() and isinstance(model.get("name"), str):
                    found[(model["name"], str(column.get("name")))] = said.strip()
    return found


def _untested(doc: ModelDoc) -> ModelDoc:
    return replace(doc, columns=tuple(replace(c, tests=()) for c in doc.columns))

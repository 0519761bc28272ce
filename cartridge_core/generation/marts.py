"""Marts and intermediate models over the staging layer, laid out as dbt Labs' structure guide says.

    models/intermediate/<domain>/int_<child>s__aggregated_to_<fact>s.sql, _int_<domain>__models.yml
    models/marts/<domain>/dim_<table>.sql, fct_<table>.sql, dim_<table>_bridge.sql, _<domain>__models.yml

Which models, and why, is `dimensional`'s reading of the scan's roles and relationships. Marts
and intermediates `ref()` staging models (and a fact its rollups), never a source. The domain is
the staging source's name unless the caller names one. Pure and deterministic: the same scan and
staging models give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import PurePosixPath

from cartridge_core.generation.dimensional import Planned, Star, plan_models, rollup_links, table_key
from cartridge_core.generation.docs import describe_staging
from cartridge_core.generation.intermediate import Rollup, plan_rollup, rollup_doc, rollup_select
from cartridge_core.generation.mart_builder import Built, Context, build_bridge, build_dimension, build_fact
from cartridge_core.generation.mart_sql import render_model_sql
from cartridge_core.generation.naming import relation_name
from cartridge_core.generation.sql import needs_quotes
from cartridge_core.generation.staging import StagingModel
from cartridge_core.models import DbtProject, ModelDoc, Scan
from cartridge_core.project.yaml_edit import fresh_models_yaml


@dataclass(frozen=True, slots=True, kw_only=True)
class MartsOutput:
    """The files of the generated models (path relative to the project root -> content) and their docs."""

    files: dict[str, str]
    docs: list[ModelDoc]  # one per model, in the order planned: dimensions, bridges, facts, rollups


def generate_marts(
    scan: Scan,
    staging: Sequence[StagingModel],
    project: DbtProject,
    *,
    domain: str | None = None,
    documented: Mapping[tuple[str, str], str] | None = None,
) -> MartsOutput:
    """Dimensions, facts, bridges and the rollups they need, over the given staging models.

    Only tables with a staging model take part; `domain` names the folder for all of them
    (snake_cased), or each goes under its staging source's name. `documented` holds descriptions
    the project already gives staging columns, by (staging model, column): they come before
    Cartridge's own and follow each column into the marts.
    """
    star = Star(scan, staging)
    planned = plan_models(star, domain=relation_name(domain, prefix="domain") if domain else None)
    rollups = _rollups(star, planned)
    ctx = Context(
        star=star,
        described={**_described(scan, staging), **(documented or {})},
        dimensions={p.table: p.name for p in planned if p.kind == "dimension"},
        rollups=rollups,
    )
    built = [_build(ctx, p) for p in planned]
    return MartsOutput(files=_files(project, planned, built), docs=[b.doc for b in built])


def _rollups(star: Star, planned: Sequence[Planned]) -> dict[tuple[str, str], list[Rollup]]:
    """The rollups feeding each fact, keyed by the fact's table, in planned order."""
    facts = [p.table for p in planned if p.kind == "fact"]
    names = {(p.table, p.into): p.name for p in planned if p.kind == "rollup"}
    found: dict[tuple[str, str], list[Rollup]] = {}
    for fact in facts:
        for link in rollup_links(star, fact, facts):
            found.setdefault(fact, []).append(plan_rollup(names[(table_key(link.child), fact)], link))
    return found


def _described(scan: Scan, staging: Sequence[StagingModel]) -> dict[tuple[str, str], str]:
    """(staging model, staged column) -> the column's description, as the staging docs give it."""
    return {
        (doc.name, column.name): column.description
        for doc in describe_staging(scan, list(staging))
        for column in doc.columns
        if column.description
    }


def _build(ctx: Context, planned: Planned) -> Built:
    if planned.kind == "dimension":
        return build_dimension(ctx, planned)
    if planned.kind == "bridge":
        return build_bridge(ctx, planned)
    if planned.kind == "fact":
        return build_fact(ctx, planned)
    assert planned.into is not None
    rollup = next(r for r in ctx.rollups[planned.into] if r.name == planned.name)
    return Built(select=rollup_select(rollup), doc=_quoted(rollup_doc(rollup)))


def _quoted(doc: ModelDoc) -> ModelDoc:
    return replace(doc, columns=tuple(replace(c, quote=needs_quotes(c.name)) for c in doc.columns))


def _files(project: DbtProject, planned: Sequence[Planned], built: Sequence[Built]) -> dict[str, str]:
    files: dict[str, str] = {}
    pairs = sorted(
        zip(planned, built, strict=True), key=lambda pair: (_folder(project, pair[0]), pair[0].name)
    )
    for folder, group in groupby(pairs, key=lambda pair: _folder(project, pair[0])):
        in_folder = list(group)
        for model, done in in_folder:
            files[f"{folder}/{model.name}.sql"] = render_model_sql(done.select)
        domain = in_folder[0][0].domain
        yaml_name = (
            f"_int_{domain}__models.yml" if in_folder[0][0].kind == "rollup" else f"_{domain}__models.yml"
        )
        files[f"{folder}/{yaml_name}"] = fresh_models_yaml([done.doc for _, done in in_folder])
    return dict(sorted(files.items()))


def _folder(project: DbtProject, planned: Planned) -> str:
    layer = "intermediate" if planned.kind == "rollup" else "marts"
    return PurePosixPath(project.models_dir, layer, planned.domain).as_posix()

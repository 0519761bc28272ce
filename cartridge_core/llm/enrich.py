"""Staging models with the LLM's better column names and descriptions, within dbt conventions.

The deterministic staging model is the starting point and the fallback: a name the LLM proposes
is kept only if it is snake_case, needs no quoting, is unique in the model and keeps the
conventions the rules already met (keys end in `_id`, timestamps in `_at`, flags start with `is_`
or `has_`). The renamed models then go through the dbt check; one that fails keeps its
deterministic names. The SQL is still written by the deterministic renderer, so only names change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal

from cartridge_core.generation.docs import describe_staging
from cartridge_core.generation.sql import needs_quotes, render_staging_sql
from cartridge_core.generation.staging import (
    StagedColumn,
    StagingModel,
    generate_staging,
    models_yaml_path,
    staging_models,
)
from cartridge_core.llm.answers import STAGING_SCHEMA, StagedColumnAnswer, StagingAnswer, StagingModelAnswer
from cartridge_core.llm.config import LlmConfig
from cartridge_core.llm.exchange import Message, OutputSchema, Prompt, json_text
from cartridge_core.llm.prompt import describe_warehouse, system_message
from cartridge_core.llm.providers import Provider
from cartridge_core.llm.repair import ModelChecker, dbt_checker
from cartridge_core.llm.session import LlmSession
from cartridge_core.llm.usage import Usage
from cartridge_core.models import ColumnDoc, DbtProject, ModelDoc, Scan, SchemaTest
from cartridge_core.progress import NullProgress, Progress, check_cancelled
from cartridge_core.project.changes import plan_changes
from cartridge_core.project.yaml_edit import fresh_models_yaml

if TYPE_CHECKING:
    from cartridge_core.services import Context

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_FLAGS = ("is_", "has_", "was_", "can_", "should_")
TASK = """\
Task: give the staging models below business-friendly column names and one-sentence descriptions.
Return every column of every model listed, with its source_column exactly as given. Keep names that are
already good. A name must be unique in its model."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StagingEnrichment:
    """Staging models with the LLM's names and descriptions, checked; and what happened to each.

    `files` are the staging SQL, sources YAML and models YAML to plan, as generate_staging lays them out.
    `sources` says per model whether the LLM's names were kept ("llm") or not ("fallback").
    """

    files: Mapping[str, str]
    models: tuple[StagingModel, ...]
    docs: tuple[ModelDoc, ...]
    sources: Mapping[str, Literal["llm", "fallback"]]
    messages: tuple[str, ...]
    usage: Usage


def staging_prompt(
    scan: Scan, config: LlmConfig, *, tables: Iterable[tuple[str, str]] | None = None
) -> Prompt[StagingAnswer]:
    """The prompt asking for better names and descriptions of the chosen tables' staging models."""
    models = chosen_models(scan, tables)
    listing = ["Staging models to improve (source_column -> current name):"]
    for model in models:
        listing.append(f"- {model.name} (from {model.table.schema}.{model.table.name})")
        listing.extend(f"    {c.column.name} -> {c.name}" for c in model.columns)
    known = {m.name: {c.column.name for c in m.columns} for m in models}
    return Prompt(
        task="staging",
        messages=(
            Message(role="system", content=system_message(scan.engine, TASK)),
            Message(
                role="user",
                content=describe_warehouse(scan, config, tables=[m.table for m in models])
                + "\n"
                + "\n".join(listing),
            ),
        ),
        schema=OutputSchema(
            name="staging_names",
            description="Better names and descriptions for staging models' columns.",
            json_schema=STAGING_SCHEMA,
            answer_type=StagingAnswer,
            problems=lambda answer: _unknown(answer, known),
        ),
        example=json_text(_example(scan, models)),
    )


def enrich_staging(
    ctx: Context,
    scan: Scan,
    config: LlmConfig,
    *,
    check: ModelChecker | None = None,
    progress: Progress | None = None,
    provider: Provider | None = None,
    tables: Iterable[tuple[str, str]] | None = None,
) -> StagingEnrichment:
    """Ask the LLM for better staging names and descriptions; keep those that pass the dbt check."""
    progress = progress or NullProgress()
    wanted = list(tables) if tables is not None else None
    models = chosen_models(scan, wanted)
    session = LlmSession(config, provider=provider, progress=progress)
    answer, _ = session.ask(staging_prompt(scan, config, tables=wanted))
    renamed, messages = _renamed(models, answer)
    docs = _docs(scan, models, renamed, answer)
    files = staging_files(ctx.project, scan, renamed, docs, wanted)
    check_cancelled(progress)
    checker = check or dbt_checker(ctx, progress=progress)
    verdicts = {c.model: c for c in checker(plan_changes(ctx.project.root, files, replace=True))}
    sources: dict[str, Literal["llm", "fallback"]] = {}
    for index, model in enumerate(renamed):
        verdict = verdicts.get(model.name)
        if verdict is not None and verdict.status == "error" and model != models[index]:
            messages.append(
                f"{model.name}: the new names fail the dbt check ({verdict.message}); kept the usual names"
            )
            renamed[index] = models[index]
            sources[model.name] = "fallback"
        else:
            sources[model.name] = "llm"
    if "fallback" in sources.values():
        docs = _docs(scan, models, renamed, answer)
        files = staging_files(ctx.project, scan, renamed, docs, wanted)
    messages.append(session.usage.summary())
    return StagingEnrichment(
        files=files,
        models=tuple(renamed),
        docs=tuple(docs),
        sources=sources,
        messages=tuple(messages),
        usage=session.usage,
    )


def chosen_models(scan: Scan, tables: Iterable[tuple[str, str]] | None) -> list[StagingModel]:
    """The staging models of the chosen (schema, table) pairs, or of every scanned table."""
    models = staging_models(scan)
    if tables is None:
        return models
    wanted = set(tables)
    return [m for m in models if (m.table.schema, m.table.name) in wanted]


def staging_files(
    project: DbtProject,
    scan: Scan,
    models: Sequence[StagingModel],
    docs: Sequence[ModelDoc],
    tables: Iterable[tuple[str, str]] | None,
) -> dict[str, str]:
    """generate_staging's files, with each model's SQL and models YAML from the given names and docs."""
    files = generate_staging(scan, project, tables=tables)
    by_source: dict[str, list[ModelDoc]] = {}
    for model, doc in zip(models, docs, strict=True):
        folder = PurePosixPath(project.models_dir, "staging", model.source_name)
        files[(folder / f"{model.name}.sql").as_posix()] = render_staging_sql(
            source_name=model.source_name,
            table_name=model.table_name,
            columns=[(c.column.name, c.name) for c in model.columns],
        )
        by_source.setdefault(model.source_name, []).append(doc)
    for source, source_docs in by_source.items():
        files[models_yaml_path(project, source)] = fresh_models_yaml(source_docs)
    return dict(sorted(files.items()))


def _renamed(models: Sequence[StagingModel], answer: StagingAnswer) -> tuple[list[StagingModel], list[str]]:
    proposals = {m.name: {c.source_column: c for c in m.columns} for m in answer.models}
    renamed, messages = [], []
    for model in models:
        proposed = proposals.get(model.name, {})
        columns, taken = [], set()
        for staged in model.columns:
            new = proposed.get(staged.column.name)
            problem = _name_problem(model, staged, new.name) if new else None
            name = new.name if new and problem is None and new.name not in taken else staged.name
            if new and problem:
                messages.append(f"{model.name}.{staged.name}: kept the usual name ({new.name!r} {problem})")
            taken.add(name)
            columns.append(replace(staged, name=name))
        renamed.append(_unique(model, columns))
    return renamed, messages


def _unique(model: StagingModel, columns: list[StagedColumn]) -> StagingModel:
    """The model with `columns`, or its own if a kept name collides with another (never both)."""
    names = [c.name for c in columns]
    return model if len(set(names)) != len(names) else replace(model, columns=tuple(columns))


def _name_problem(model: StagingModel, staged: StagedColumn, name: str) -> str | None:
    """Why a proposed name breaks the conventions the deterministic name met, if it does."""
    if not _NAME.match(name) or needs_quotes(name):
        return "is not plain snake_case"
    if staged.name.endswith("_id") and _is_key(model, staged) and not name.endswith("_id"):
        return "is a key and must end in _id"
    if staged.name.endswith("_at") and not name.endswith("_at"):
        return "is a timestamp and must end in _at"
    if staged.name.startswith(_FLAGS) and not name.startswith(_FLAGS):
        return "is a flag and must start with is_ or has_"
    return None


def _is_key(model: StagingModel, staged: StagedColumn) -> bool:
    table = model.table
    foreign = {c for fk in table.foreign_keys for c in fk.columns}
    return staged.column.name in table.primary_key or staged.column.name in foreign


def _docs(
    scan: Scan, original: Sequence[StagingModel], renamed: Sequence[StagingModel], answer: StagingAnswer
) -> list[ModelDoc]:
    """Descriptions (the LLM's, else the deterministic ones) and the key tests staging always has."""
    said = {m.name: m for m in answer.models}
    docs = []
    for model, usual, base in zip(renamed, original, describe_staging(scan, original), strict=True):
        proposed = said.get(model.name)
        texts = {c.source_column: c.description for c in proposed.columns} if proposed else {}
        tests = _key_tests(model)
        columns = tuple(
            ColumnDoc(
                name=staged.name,
                description=_text(texts.get(staged.column.name)) or described.description,
                tests=tests.get(staged.column.name, ()),
                quote=needs_quotes(staged.name),
            )
            for staged, described in zip(model.columns, base.columns, strict=True)
        )
        description = _text(proposed.description if proposed else None) or base.description
        docs.append(ModelDoc(name=usual.name, description=description, columns=columns))
    return docs


def _key_tests(model: StagingModel) -> dict[str, tuple[SchemaTest, ...]]:
    # The same key tests generate_staging writes: unique + not_null on a one-column key.
    key = model.table.primary_key
    if len(key) == 1:
        return {key[0]: (SchemaTest(kind="unique"), SchemaTest(kind="not_null"))}
    return {name: (SchemaTest(kind="not_null"),) for name in key}


def _text(text: str | None) -> str | None:
    flat = " ".join((text or "").split())
    if not flat:
        return None
    return "{% raw %}" + flat + "{% endraw %}" if any(o in flat for o in ("{{", "{%", "{#")) else flat


def _unknown(answer: StagingAnswer, known: Mapping[str, set[str]]) -> list[str]:
    found = []
    for model in answer.models:
        if model.name not in known:
            found.append(f"there is no staging model {model.name} in the list")
            continue
        found.extend(
            f"{model.name} has no source_column {c.source_column!r}"
            for c in model.columns
            if c.source_column not in known[model.name]
        )
    return found


def _example(scan: Scan, models: Sequence[StagingModel]) -> StagingAnswer:
    """The mock provider's answer: the deterministic names and descriptions."""
    answers = []
    for model, doc in zip(models, describe_staging(scan, models), strict=True):
        columns = tuple(
            StagedColumnAnswer(source_column=c.column.name, name=c.name, description=d.description or "")
            for c, d in zip(model.columns, doc.columns, strict=True)
        )
        answers.append(
            StagingModelAnswer(name=model.name, description=doc.description or "", columns=columns)
        )
    return StagingAnswer(models=tuple(answers))

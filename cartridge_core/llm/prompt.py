"""What the LLM is told about the warehouse and the project, and nothing more than the user allows.

By default only metadata leaves the machine: schema, table and column names, types, nullability,
keys, relationships, table roles, row counts and null/distinct counts, plus the project's own model
files as style examples. Sample values, min/max, top values and declared value lists are added only
with `send_samples`, and never for a column whose name matches the denylist; warehouse comments only
with `send_comments`. Credentials, profiles and API keys are never read here at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from cartridge_core.generation.staging import StagingModel, staging_models
from cartridge_core.llm.config import LlmConfig
from cartridge_core.llm.exchange import Prompt
from cartridge_core.models import Column, ColumnProfile, DbtProject, Scan, Table, TableProfile

Task = Literal["model", "staging", "docs", "tests"]

MAX_EXAMPLES = 3
MAX_EXAMPLE_LINES = 60
MAX_VALUES = 8
MAX_VALUE_CHARS = 40
MAX_MODEL_NAMES = 200

CONVENTIONS = """\
Follow dbt Labs' conventions ("How we structure our dbt projects"):
- Staging models (stg_<source>__<table>) select from {{ source() }}; every other model selects only from
  {{ ref() }} of existing models, never from raw tables.
- Intermediate models are named int_<entity>__<verb>; marts are fct_<plural event> or dim_<entity>.
- Names are lowercase snake_case. Keys end in _id, timestamps in _at, dates in _date, booleans start with
  is_ or has_. Avoid SQL reserved words as names.
- SQL: one CTE per input (`with orders as (select * from {{ ref('stg_...') }})`), then transformation CTEs,
  then `select * from final`; lowercase keywords; explicit column lists in the final select; no
  `select *` from a join.
- Write SQL the {engine} warehouse runs unchanged; no trailing semicolon."""


def system_message(engine: str, task_text: str) -> str:
    """The system message every task shares: who the assistant is, the conventions, the task."""
    return (
        f"You are a senior analytics engineer writing dbt models for a {engine} warehouse.\n\n"
        f"{CONVENTIONS.replace('{engine}', engine)}\n\n{task_text}\n\n"
        "Answer only with JSON matching the given schema. Use only the tables, models and columns listed; "
        "never invent one."
    )


def denied(name: str, patterns: Iterable[str]) -> bool:
    """Whether a column name matches a denylist pattern, so its values are never sent."""
    return any(re.search(p, name, flags=re.IGNORECASE) for p in patterns)


def describe_warehouse(scan: Scan, config: LlmConfig, *, tables: Sequence[Table] | None = None) -> str:
    """The scan as the LLM sees it: tables, columns, keys, staging names, relationships, roles."""
    chosen = list(tables) if tables is not None else list(scan.tables)
    staged = {(m.table.schema, m.table.name): m for m in staging_models(scan)}
    profiles = {(p.schema, p.table): p for p in scan.profiles}
    roles = {(r.schema, r.table): r.role for r in scan.roles}
    lines = [f"Warehouse: {scan.engine}. Source schemas: {', '.join(scan.schemas) or '(none)'}.", ""]
    for table in chosen:
        key = (table.schema, table.name)
        lines.extend(_table_lines(table, staged.get(key), profiles.get(key), roles.get(key), config))
        lines.append("")
    wanted = {(t.schema, t.name) for t in chosen}
    related = [
        r
        for r in scan.relationships
        if (r.child_schema, r.child_table) in wanted or (r.parent_schema, r.parent_table) in wanted
    ]
    if related:
        lines.append("Relationships (child columns -> parent columns):")
        for r in related:
            lines.append(
                f"- {r.child_schema}.{r.child_table}({', '.join(r.child_columns)}) -> "
                f"{r.parent_schema}.{r.parent_table}({', '.join(r.parent_columns)}), "
                f"{r.source}, confidence {r.confidence:.2f}"
            )
    return "\n".join(lines).rstrip() + "\n"


def _table_lines(
    table: Table,
    model: StagingModel | None,
    profile: TableProfile | None,
    role: str | None,
    config: LlmConfig,
) -> list[str]:
    facts: list[str] = [table.kind]
    rows = profile.row_count if profile else table.row_estimate
    if rows is not None:
        facts.append(f"{rows:,} rows")
    if role:
        facts.append(f"role: {role}")
    head = f"Table {table.schema}.{table.name} ({'; '.join(facts)})"
    if model is not None:
        head += f", staged as {{{{ ref('{model.name}') }}}}"
    lines = [head]
    if config.send_comments and table.comment:
        lines.append(f"  comment: {_short(table.comment, 200)}")
    if table.primary_key:
        lines.append(f"  primary key: {', '.join(table.primary_key)}")
    for unique in table.unique_keys:
        lines.append(f"  unique: {', '.join(unique)}")
    for fk in table.foreign_keys:
        parent = f"{fk.ref_schema}.{fk.ref_table}({', '.join(fk.ref_columns)})"
        lines.append(f"  foreign key: {', '.join(fk.columns)} -> {parent}")
    names = {s.column.name: s.name for s in model.columns} if model else {}
    lines.append("  columns (warehouse name: type -> staged name):")
    for column in sorted(table.columns, key=lambda c: c.position):
        column_profile = profile.column(column.name) if profile else None
        lines.append("    - " + _column_line(column, names.get(column.name), column_profile, config))
    return lines


def _column_line(column: Column, staged: str | None, profile: ColumnProfile | None, config: LlmConfig) -> str:
    text = f"{column.name}: {column.data_type}{'' if column.nullable else ' not null'}"
    if staged and staged != column.name:
        text += f" -> {staged}"
    facts = []
    if profile is not None:
        if profile.null_fraction is not None:
            facts.append(f"{profile.null_fraction:.0%} null")
        if profile.distinct_count is not None:
            facts.append(f"{profile.distinct_count:,} distinct")
    sampled = config.send_samples and not denied(column.name, config.denylist)
    if sampled and staged and denied(staged, config.denylist):
        sampled = False
    if sampled:
        facts.extend(_value_facts(column, profile))
    if config.send_comments and column.comment:
        facts.append(f"comment: {_short(column.comment, 160)}")
    return text + (f" [{'; '.join(facts)}]" if facts else "")


def _value_facts(column: Column, profile: ColumnProfile | None) -> list[str]:
    """Row-level values: only ever called with sampling on and the column not denylisted."""
    facts = []
    if column.enum_values:
        facts.append("allowed values: " + _values(column.enum_values))
    if profile is None:
        return facts
    if profile.min_value is not None:
        facts.append(f"min {_short(profile.min_value, MAX_VALUE_CHARS)}")
    if profile.max_value is not None:
        facts.append(f"max {_short(profile.max_value, MAX_VALUE_CHARS)}")
    if profile.top_values:
        facts.append("top values: " + _values(f"{v} ({n:,})" for v, n in profile.top_values))
    elif profile.samples:
        facts.append("samples: " + _values(profile.samples))
    return facts


def _values(values: Iterable[str]) -> str:
    return ", ".join(_short(v, MAX_VALUE_CHARS) for v in list(values)[:MAX_VALUES])


def _short(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def project_models(project: DbtProject) -> dict[str, str]:
    """The project's model files (relative posix path -> text), in path order."""
    found: dict[str, str] = {}
    for base in project.model_paths:
        folder = project.root / base
        for path in sorted(folder.rglob("*.sql")) if folder.is_dir() else ():
            try:
                found[path.relative_to(project.root).as_posix()] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
    return found


def describe_project(project: DbtProject, models: Mapping[str, str] | None = None) -> str:
    """The project's model names, and a few of its models as examples of the house style."""
    models = project_models(project) if models is None else models
    if not models:
        return f"dbt project {project.name}: no models yet.\n"
    names = sorted({Path(p).stem for p in models})
    lines = [f"dbt project {project.name}. Existing models: {', '.join(names[:MAX_MODEL_NAMES])}."]
    for path in _examples(models):
        text = models[path].rstrip().splitlines()
        body = "\n".join(text[:MAX_EXAMPLE_LINES]) + ("\n-- (cut)" if len(text) > MAX_EXAMPLE_LINES else "")
        lines.append(f"\nExample of the house style, {path}:\n```sql\n{body}\n```")
    return "\n".join(lines) + "\n"


def _examples(models: Mapping[str, str]) -> list[str]:
    """Up to MAX_EXAMPLES paths: models beyond staging first, as they show the most style."""

    def rank(path: str) -> tuple[int, str]:
        return (0 if re.match(r"(int|fct|dim|mart)_", Path(path).stem) else 1, path)

    return sorted(models, key=rank)[:MAX_EXAMPLES]


def render_prompt(
    project: DbtProject, scan: Scan, config: LlmConfig, *, task: Task = "model", **details: Any
) -> Prompt[Any]:
    """Exactly what a task would send, without sending it (`--show-prompt`, `cartridge.previewPrompt`).

    `details` are the task's own arguments: `request=` for "model"; `tables=` for "staging" and
    "tests"; `models=` (ModelSource values) for "docs".
    """
    from cartridge_core.llm import describe, enrich, modelling, suggest

    if task == "model":
        if not details.get("request"):
            raise ValueError("render_prompt(task='model') needs request=, the user's words")
        return modelling.model_prompt(project, scan, config, details["request"])
    if task == "staging":
        return enrich.staging_prompt(scan, config, tables=details.get("tables"))
    if task == "docs":
        if "models" not in details:
            raise ValueError("render_prompt(task='docs') needs models=, the ModelSource values to document")
        return describe.docs_prompt(project, scan, config, details["models"])
    return suggest.tests_prompt(scan, config, tables=details.get("tables"))

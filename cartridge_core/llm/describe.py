"""Model and column descriptions written by the LLM, for models whose SQL and columns are known.

The result is a ModelDoc per model, with only the columns the caller named (an invented column is
dropped and said), ready for `merge_models_yaml`, which never replaces a description a person wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cartridge_core.generation.sql import needs_quotes
from cartridge_core.llm.answers import DOCS_SCHEMA, ColumnText, DocsAnswer, ModelDocsAnswer
from cartridge_core.llm.config import LlmConfig
from cartridge_core.llm.exchange import Message, OutputSchema, Prompt, json_text
from cartridge_core.llm.prompt import describe_project, describe_warehouse, system_message
from cartridge_core.llm.providers import Provider
from cartridge_core.llm.session import LlmSession
from cartridge_core.llm.usage import Usage
from cartridge_core.models import ColumnDoc, DbtProject, ModelDoc, Scan
from cartridge_core.progress import Progress

TASK = """\
Task: document the dbt models below for the people who query them: for each model, what one row is and
what it is for; for each column listed, one plain sentence. Describe only the columns listed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSource:
    """A model to document: its name, its SQL, and its columns (from its YAML, or as planned)."""

    name: str
    sql: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DocsResult:
    """The LLM's descriptions as ModelDocs, what was dropped, and the usage."""

    docs: tuple[ModelDoc, ...]
    messages: tuple[str, ...]
    usage: Usage


def docs_prompt(
    project: DbtProject, scan: Scan, config: LlmConfig, models: Sequence[ModelSource]
) -> Prompt[DocsAnswer]:
    """The prompt asking for descriptions of `models`."""
    parts = [describe_warehouse(scan, config), describe_project(project), "Models to document:"]
    for model in models:
        columns = ", ".join(model.columns) if model.columns else "(as the SQL selects them)"
        parts.append(f"\n{model.name} (columns: {columns}):\n```sql\n{model.sql.strip()}\n```")
    known = {m.name for m in models}
    return Prompt(
        task="docs",
        messages=(
            Message(role="system", content=system_message(scan.engine, TASK)),
            Message(role="user", content="\n".join(parts)),
        ),
        schema=OutputSchema(
            name="model_docs",
            description="Descriptions of dbt models and their columns.",
            json_schema=DOCS_SCHEMA,
            answer_type=DocsAnswer,
            problems=lambda answer: [
                f"{m.name} is not a model listed" for m in answer.models if m.name not in known
            ],
        ),
        example=json_text(_example(models)),
    )


def write_docs(
    project: DbtProject,
    scan: Scan,
    config: LlmConfig,
    models: Sequence[ModelSource],
    *,
    provider: Provider | None = None,
    progress: Progress | None = None,
) -> DocsResult:
    """Ask the LLM to describe `models` and their columns; ModelDocs with descriptions only."""
    session = LlmSession(config, provider=provider, progress=progress)
    answer, _ = session.ask(docs_prompt(project, scan, config, models))
    said = {m.name: m for m in answer.models}
    docs, messages = [], []
    for model in models:
        proposed = said.get(model.name)
        if proposed is None:
            messages.append(f"{model.name}: the LLM did not describe it")
            continue
        columns = []
        for column in proposed.columns:
            if model.columns and column.name not in model.columns:
                messages.append(
                    f"{model.name}: dropped a description of {column.name}, which it does not have"
                )
                continue
            columns.append(
                ColumnDoc(
                    name=column.name, description=_text(column.description), quote=needs_quotes(column.name)
                )
            )
        docs.append(
            ModelDoc(name=model.name, description=_text(proposed.description), columns=tuple(columns))
        )
    messages.append(session.usage.summary())
    return DocsResult(docs=tuple(docs), messages=tuple(messages), usage=session.usage)


def _text(text: str) -> str | None:
    flat = " ".join(text.split())
    if not flat:
        return None
    # dbt renders descriptions with Jinja: an LLM's `{{` must not break the project's parse.
    return "{% raw %}" + flat + "{% endraw %}" if any(o in flat for o in ("{{", "{%", "{#")) else flat


def _example(models: Sequence[ModelSource]) -> DocsAnswer:
    """The mock provider's answer: a plain sentence naming each model and column."""
    return DocsAnswer(
        models=tuple(
            ModelDocsAnswer(
                name=m.name,
                description=f"The {m.name.replace('_', ' ')} model.",
                columns=tuple(
                    ColumnText(name=c, description=f"The {c.replace('_', ' ')}.") for c in m.columns
                ),
            )
            for m in models
        )
    )

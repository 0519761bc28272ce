"""An intermediate or mart model written by the LLM from a request in plain words, checked by dbt.

The LLM sees the warehouse's metadata (prompt.py), the staging models it may `ref`, the project's
existing models as style examples, and the request. Its model then goes through the repair loop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from cartridge_core.generation.naming import MAX_MODEL_NAME, snake_case
from cartridge_core.generation.sql import needs_quotes, sql_identifier
from cartridge_core.generation.staging import generate_staging, staging_models
from cartridge_core.llm.answers import MODEL_SCHEMA, ColumnText, ModelAnswer
from cartridge_core.llm.config import LlmConfig
from cartridge_core.llm.exchange import Message, OutputSchema, Prompt, json_text
from cartridge_core.llm.prompt import describe_project, describe_warehouse, project_models, system_message
from cartridge_core.llm.providers import Provider
from cartridge_core.llm.repair import (
    Draft,
    LlmModelResult,
    ModelChecker,
    dbt_checker,
    repair_loop,
    with_usage,
)
from cartridge_core.llm.session import LlmSession
from cartridge_core.models import ColumnDoc, DbtProject, ModelCheck, ModelDoc, Scan
from cartridge_core.progress import NullProgress, Progress
from cartridge_core.project.yaml_edit import fresh_models_yaml

if TYPE_CHECKING:
    from cartridge_core.services import Context

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_PREFIXES = {"intermediate": ("int_",), "marts": ("fct_", "dim_")}
TASK = """\
Task: write ONE new dbt model that answers the user's request below. Choose the layer: "intermediate"
for a reusable transformation step, "marts" for a table people query. Select from the staging models
listed (with {{ ref('...') }}) or from existing models; use the staged column names."""


def model_prompt(project: DbtProject, scan: Scan, config: LlmConfig, request: str) -> Prompt[ModelAnswer]:
    """The prompt asking for a model from `request`: metadata, project style examples, the request."""
    models = project_models(project)
    taken = {PurePosixPath(p).stem for p in models}
    user = (
        f"{describe_warehouse(scan, config)}\n{describe_project(project, models)}\n"
        f"Request: {' '.join(request.split())}"
    )
    schema = OutputSchema(
        name="dbt_model",
        description="A new dbt model: name, layer, description, SQL and its columns.",
        json_schema=MODEL_SCHEMA,
        answer_type=ModelAnswer,
        problems=lambda answer: _problems(answer, taken),
    )
    return Prompt(
        task="model",
        messages=(
            Message(role="system", content=system_message(scan.engine, TASK)),
            Message(role="user", content=user),
        ),
        schema=schema,
        example=json_text(_example(scan, request)),
    )


def ask_for_model(
    ctx: Context,
    scan: Scan,
    request: str,
    config: LlmConfig,
    *,
    check: ModelChecker | None = None,
    progress: Progress | None = None,
    provider: Provider | None = None,
    fallback: Mapping[str, str] | None = None,
    context: Mapping[str, str] | None = None,
) -> LlmModelResult:
    """Ask the LLM for a model answering `request`; check it with dbt, repair it, else fall back.

    `check` defaults to dbt against the context's warehouse. `context` holds files the model needs
    (default: the generated staging files of sources the project has no staging models for).
    `fallback` is the deterministic output to use if the LLM's model never passes, if any.
    """
    progress = progress or NullProgress()
    project = ctx.project
    session = LlmSession(config, provider=provider, progress=progress)
    answer, conversation = session.ask(model_prompt(project, scan, config, request))
    state = {"conversation": conversation}

    def repair(draft: Draft, failed: ModelCheck) -> Draft:
        from cartridge_core.llm.repair import repair_message

        follow = state["conversation"].followed_by(
            Message(role="user", content=repair_message(draft, failed))
        )
        fixed, state["conversation"] = session.ask(follow)
        return model_draft(project, fixed)

    result = repair_loop(
        model_draft(project, answer),
        root=project.root,
        check=check or dbt_checker(ctx, progress=progress),
        repair=repair,
        max_repairs=config.max_repairs,
        context=staging_context(project, scan) if context is None else context,
        fallback=fallback,
        progress=progress,
    )
    return with_usage(result, session.usage)


def model_draft(project: DbtProject, answer: ModelAnswer) -> Draft:
    """The files of the LLM's model: its SQL, and a models YAML with its descriptions."""
    folder = PurePosixPath(project.models_dir, answer.layer)
    path = (folder / f"{answer.name}.sql").as_posix()
    sql = answer.sql.strip().rstrip(";").rstrip() + "\n"
    doc = ModelDoc(
        name=answer.name,
        description=_jinja_safe(answer.description),
        columns=tuple(
            ColumnDoc(name=c.name, description=_jinja_safe(c.description), quote=needs_quotes(c.name))
            for c in answer.columns
        ),
    )
    yaml_path = (folder / f"_{answer.name}__models.yml").as_posix()
    return Draft(model=answer.name, path=path, files={path: sql, yaml_path: fresh_models_yaml([doc])})


def staging_context(project: DbtProject, scan: Scan) -> dict[str, str]:
    """Generated staging files of each source none of whose staging models the project has yet.

    A source some of whose staging models exist is the user's own: adding ours beside it would
    define models or sources twice, so the LLM's model must `ref` what is there.
    """
    have = {Path(p).stem for p in project_models(project)}
    models = staging_models(scan)
    theirs = {m.source_name for m in models if m.name in have}
    mine = {f"{project.models_dir}/staging/{m.source_name}/" for m in models if m.source_name not in theirs}
    files = generate_staging(scan, project)
    return {path: text for path, text in files.items() if any(path.startswith(f) for f in mine)}


def _problems(answer: ModelAnswer, taken: set[str]) -> list[str]:
    found = []
    if not _NAME.match(answer.name) or len(answer.name) > MAX_MODEL_NAME:
        found.append(
            f"the name {answer.name!r} is not lowercase snake_case of at most {MAX_MODEL_NAME} characters"
        )
    elif not answer.name.startswith(_PREFIXES[answer.layer]):
        found.append(f"a model in {answer.layer} must be named {' or '.join(_PREFIXES[answer.layer])}...")
    if answer.name in taken:
        found.append(f"a model named {answer.name} exists already; choose a new name")
    if not answer.sql.strip():
        found.append("the sql is empty")
    return found


def _example(scan: Scan, request: str) -> ModelAnswer:
    """The mock provider's answer: a pass-through of the first fact's staging model (or any table's)."""
    models = staging_models(scan)
    facts = {(r.schema, r.table) for r in scan.roles if r.role == "fact"}
    chosen = next(
        (m for m in models if (m.table.schema, m.table.name) in facts), models[0] if models else None
    )
    slug = snake_case(request)[:40].strip("_") or "request"
    if chosen is None:
        return ModelAnswer(
            name=f"int_{slug}", layer="intermediate", description=request, sql="select 1 as id", columns=()
        )
    names = [c.name for c in chosen.columns]
    listed = ",\n        ".join(sql_identifier(n) for n in names)
    sql = (
        f"with {chosen.table_name} as (\n\n    select * from {{{{ ref('{chosen.name}') }}}}\n\n)\n\n"
        f"select\n        {listed}\nfrom {chosen.table_name}\n"
    )
    return ModelAnswer(
        name=f"int_{slug}",
        layer="intermediate",
        description=f"{request.strip()} (written by the mock provider: every column of {chosen.name}).",
        sql=sql,
        columns=tuple(ColumnText(name=n, description="") for n in names),
    )


def _jinja_safe(text: str) -> str:
    # dbt renders descriptions with Jinja: an LLM's `{{` must not break the project's parse.
    text = " ".join(text.split())
    return "{% raw %}" + text + "{% endraw %}" if any(o in text for o in ("{{", "{%", "{#")) else text

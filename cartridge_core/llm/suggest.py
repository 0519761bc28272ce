"""Extra dbt tests proposed by the LLM, as SchemaTests for the same run-before-write path.

Proposals come back as ModelDocs of the staging models, holding only the new tests; the caller
runs them with `cartridge_core.dbt.verify.verify_tests` like any proposal, so a test the data
does not pass is dropped or kept as a warning, never written as if it held. A proposal on an
unknown model or column, or a duplicate of a test the rules already propose, is dropped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cartridge_core.generation.sql import needs_quotes, quote_identifier
from cartridge_core.generation.staging import StagingModel, staging_models
from cartridge_core.generation.tests import propose_staging_tests
from cartridge_core.llm.answers import TESTS_SCHEMA, TestIdea, TestsAnswer
from cartridge_core.llm.config import LlmConfig
from cartridge_core.llm.enrich import chosen_models
from cartridge_core.llm.exchange import Message, OutputSchema, Prompt, json_text
from cartridge_core.llm.prompt import describe_warehouse, system_message
from cartridge_core.llm.providers import Provider
from cartridge_core.llm.session import LlmSession
from cartridge_core.llm.usage import Usage
from cartridge_core.models import ColumnDoc, ModelDoc, Scan, SchemaTest
from cartridge_core.progress import Progress
from cartridge_core.warehouse.types import column_family

NUMERIC = ("integer", "decimal", "float")
TASK = """\
Task: propose extra dbt generic tests (unique, not_null, relationships, accepted_values) on the staging
models' columns that the data should pass and the tests already listed do not cover. Each proposal is
run on the data before it is kept, so propose only tests with a clear reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TestProposals:
    """New tests as ModelDocs of staging models, what was dropped, the usage.

    `staging` holds every staging model of the scan: verify_tests places each test, and each
    relationships parent, among them.
    """

    __test__ = False  # not a pytest class, whatever its name says

    docs: tuple[ModelDoc, ...]
    staging: tuple[StagingModel, ...]
    messages: tuple[str, ...]
    usage: Usage


def tests_prompt(
    scan: Scan,
    config: LlmConfig,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    existing: Sequence[ModelDoc] | None = None,
) -> Prompt[TestsAnswer]:
    """The prompt asking for new tests on the chosen tables' staging models."""
    models = chosen_models(scan, tables)
    existing = propose_staging_tests(scan, models) if existing is None else existing
    # Only test kinds are listed: an accepted_values test's values came from the data.
    tested = {(d.name, c.name): sorted({t.kind for t in c.tests}) for d in existing for c in d.columns}
    lines = ["Staging models (staged columns; tests already proposed):"]
    for model in models:
        lines.append(f"- {model.name}")
        for c in model.columns:
            kinds = tested.get((model.name, c.name))
            lines.append(f"    {c.name}" + (f" (tested: {', '.join(kinds)})" if kinds else ""))
    user = describe_warehouse(scan, config, tables=[m.table for m in models]) + "\n" + "\n".join(lines)
    return Prompt(
        task="tests",
        messages=(
            Message(role="system", content=system_message(scan.engine, TASK)),
            Message(role="user", content=user),
        ),
        schema=OutputSchema(
            name="test_proposals",
            description="Proposed dbt generic tests on staging columns.",
            json_schema=TESTS_SCHEMA,
            answer_type=TestsAnswer,
        ),
        example=json_text(TestsAnswer(tests=())),
    )


def propose_tests(
    scan: Scan,
    config: LlmConfig,
    *,
    tables: Iterable[tuple[str, str]] | None = None,
    existing: Sequence[ModelDoc] | None = None,
    provider: Provider | None = None,
    progress: Progress | None = None,
) -> TestProposals:
    """Ask the LLM for extra tests; the usable new ones as ModelDocs, to be run by verify_tests."""
    wanted = list(tables) if tables is not None else None
    models = chosen_models(scan, wanted)
    existing = propose_staging_tests(scan, models) if existing is None else existing
    session = LlmSession(config, provider=provider, progress=progress)
    answer, _ = session.ask(tests_prompt(scan, config, tables=wanted, existing=existing))
    by_name = {m.name: m for m in models}
    every = {m.name: m for m in staging_models(scan)}  # a relationship's parent may be any table's
    have = {(d.name, c.name, t.kind) for d in existing for c in d.columns for t in c.tests}
    found: dict[str, dict[str, list[SchemaTest]]] = {}
    messages = []
    for idea in answer.tests:
        test, problem = _test(idea, by_name, every)
        if problem:
            messages.append(f"Dropped the proposed {idea.kind} test on {idea.model}.{idea.column}: {problem}")
        elif test is not None and (idea.model, idea.column, idea.kind) not in have:
            have.add((idea.model, idea.column, idea.kind))
            found.setdefault(idea.model, {}).setdefault(idea.column, []).append(test)
    messages.append(session.usage.summary())
    return TestProposals(
        docs=tuple(_doc(by_name[name], columns) for name, columns in found.items()),
        staging=tuple(every.values()),
        messages=tuple(messages),
        usage=session.usage,
    )


def _test(
    idea: TestIdea, models: Mapping[str, StagingModel], parents: Mapping[str, StagingModel]
) -> tuple[SchemaTest | None, str | None]:
    """The SchemaTest an idea stands for, or why it cannot be one."""
    model = models.get(idea.model)
    if model is None:
        return None, "no such staging model"
    column = next((c for c in model.columns if c.name == idea.column), None)
    if column is None:
        return None, "no such column"
    evidence = f"proposed by the LLM: {' '.join(idea.reason.split())}"[:200]
    if idea.kind in ("unique", "not_null"):
        return SchemaTest(kind=idea.kind, evidence=evidence), None
    if idea.kind == "accepted_values":
        values = tuple(v for v in idea.values if v.strip())
        if not values:
            return None, "no values given"
        numeric = column_family(column.column) in NUMERIC
        return SchemaTest(
            kind="accepted_values", values=values, quote_values=not numeric, evidence=evidence
        ), None
    parent = parents.get(idea.to_model)
    if parent is None:
        return None, f"the parent {idea.to_model!r} is not a staging model here"
    if not any(c.name == idea.field for c in parent.columns):
        return None, f"{idea.to_model} has no column {idea.field!r}"
    field = quote_identifier(idea.field) if needs_quotes(idea.field) else idea.field
    return SchemaTest(kind="relationships", to=f"ref('{parent.name}')", field=field, evidence=evidence), None


def _doc(model: StagingModel, columns: Mapping[str, list[SchemaTest]]) -> ModelDoc:
    ordered = [c for c in model.columns if c.name in columns]
    return ModelDoc(
        name=model.name,
        columns=tuple(
            ColumnDoc(name=c.name, quote=needs_quotes(c.name), tests=tuple(columns[c.name])) for c in ordered
        ),
    )

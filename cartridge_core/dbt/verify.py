"""Running proposed schema tests against the data before they are written: read-only, with dbt.

Cartridge never builds staging models in the warehouse, but a staging model selects its source's
rows unchanged (only columns are renamed), so a test on a staged column is the same test on the
source column. Each proposal becomes that test, with dbt's own generic test macros, in a temporary
sources YAML laid over the shadow project only (the user's files are never touched), and ONE
`dbt test --select source:...` runs them all. A generic test only selects; each carries its own
config so that a project-wide `store_failures` cannot make it write, and the project's
`on-run-start`/`on-run-end` hooks are left out of the shadow's dbt_project.yml for the run.

Results map back to the proposals: a passing test is kept with its evidence; a failing one is
dropped, or kept as a warning that says what was found ("3 nulls found"); a test dbt could not
run at all is always dropped, since a warning severity would not stop it erroring in `dbt test`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cartridge_core.dbt.check import _shadow_lock
from cartridge_core.dbt.runner import DbtInvocation, DbtRunner, NodeResult, default_runner, one_line
from cartridge_core.dbt.shadow import shadow_command, sync_shadow
from cartridge_core.errors import DbtError
from cartridge_core.generation.sql import needs_quotes, quote_identifier
from cartridge_core.models import DbtProject, ModelDoc, SchemaTest, WarehouseTarget
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.project.yamlio import dump_yaml, load_yaml_file

if TYPE_CHECKING:  # the values only; generation sits a floor above dbt/
    from cartridge_core.generation.staging import StagingModel

logger = logging.getLogger(__name__)

OnFailure = Literal["drop", "warn"]

VERIFY_FILE = "_cartridge_verify__sources.yml"  # written under the first model path, in the shadow only
SOURCE_PREFIX = "cartridge_verify__"
TEST_PREFIX = "cartridge_verify_"
MODEL_LEVEL = ""  # the "column" of a model-level test in a probe's key
# Set on every test, over whatever the project configures for tests: a failure is an error (so
# dbt reports it as `fail`), failing rows are counted, nothing is stored in the warehouse.
TEST_CONFIG: dict[str, Any] = {
    "enabled": True,
    "severity": "error",
    "store_failures": False,
    "store_failures_as": "ephemeral",
    "fail_calc": "count(*)",
    "warn_if": "!= 0",
    "error_if": "!= 0",
}
_HOOK_KEYS = ("on-run-start", "on-run-end", "on_run_start", "on_run_end")
_FAILURES = re.compile(r"\bGot (\d+) results?\b")
_REF = re.compile(r"""^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$""")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Place:
    """A staged column's source column in the warehouse: its staging model and warehouse name."""

    model: StagingModel
    column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Probe:
    """One proposed test as run on the source: its dbt name, where it runs, what it stands for."""

    name: str  # the dbt test's name, unique in the run
    key: tuple[str, str, int]  # (model, staged column, index of the test in the column's tests)
    test: SchemaTest
    place: _Place
    parent: _Place | None = None  # relationships: the parent's key column

    @property
    def parent_label(self) -> str | None:
        """The parent a relationships test looks in, as a person names it: `customers.id`."""
        return f"{self.parent.model.table.name}.{self.parent.column}" if self.parent else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    passed: bool
    reason: str | None = None  # why it did not pass, one line
    ran: bool = True  # False when dbt could not run the test: it is dropped whatever on_failure says


def verify_tests(
    project: DbtProject,
    target: WarehouseTarget,
    docs: Sequence[ModelDoc],
    staging: Sequence[StagingModel],
    *,
    on_failure: OnFailure,
    progress: Progress,
    runner: DbtRunner | None = None,
    files: Mapping[str, str] | None = None,
) -> list[ModelDoc]:
    """`docs` with every test run on the data first: kept if it passes, else dropped or made a warning.

    `staging` must hold the model of each doc and of each `relationships` parent (all of
    `staging_models(scan)` always does). `files` are planned files laid over the shadow too, so the
    project parses as it will once they are written (marts there may ref staging models still to
    come). Descriptions pass through untouched.
    """
    probes, found = _probes(docs, staging)
    if probes:
        check_cancelled(progress)
        noun = "test" if len(probes) == 1 else "tests"
        progress.report(f"Running {len(probes)} proposed {noun} with dbt", 0)
        invocation = _run(project, target, probes, runner or default_runner(), files or {})
        found.update(outcomes(project, target, probes, invocation))
        kept = sum(o.passed for o in found.values())
        progress.report(f"{kept} of {len(found)} proposed tests pass on the data", 100)
    return [decided(doc, found, on_failure) for doc in docs]


def _sources_yaml(probes: Sequence[_Probe]) -> str:
    """The temporary sources YAML: each probe as a dbt generic test on its source column."""
    models: dict[str, StagingModel] = {}  # the tables tested, and the parents they refer to
    tests: dict[str, dict[str, list[dict[str, Any]]]] = {}  # model -> source column -> tests
    for probe in probes:
        for place in (probe.place, probe.parent):
            if place is not None:
                models.setdefault(place.model.name, place.model)
        by_column = tests.setdefault(probe.place.model.name, {})
        by_column.setdefault(probe.place.column, []).append(_test_entry(probe))
    sources: dict[str, dict[str, Any]] = {}
    for name, model in sorted(models.items()):
        source = sources.setdefault(model.source_name, _source_entry(model))
        source["tables"].append(_table_entry(model, tests.get(name, {})))
    return dump_yaml({"version": 2, "sources": list(sources.values())}, spaced=True)


def _source_entry(model: StagingModel) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": SOURCE_PREFIX + model.source_name, "schema": model.table.schema}
    if needs_quotes(model.table.schema):
        entry["quoting"] = {"schema": True}
    return {**entry, "tables": []}


def _table_entry(model: StagingModel, tests: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": model.table_name, "identifier": model.table.name}
    if needs_quotes(model.table.name):
        entry["quoting"] = {"identifier": True}
    if tests.get(MODEL_LEVEL):
        entry["data_tests"] = tests[MODEL_LEVEL]
    columns = [_column_entry(column, found) for column, found in tests.items() if column != MODEL_LEVEL]
    if columns:
        entry["columns"] = columns
    return entry


def _column_entry(column: str, tests: list[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column}
    if needs_quotes(column):
        entry["quote"] = True
    return {**entry, "data_tests": tests}


def _probes(
    docs: Sequence[ModelDoc], staging: Sequence[StagingModel]
) -> tuple[list[_Probe], dict[tuple[str, str, int], Outcome]]:
    """A probe per test that maps onto a source column; an outcome already for those that do not."""
    models = {m.name: m for m in staging}
    probes: list[_Probe] = []
    unplaced: dict[tuple[str, str, int], Outcome] = {}
    for doc in docs:
        model = models.get(doc.name)
        for index, test in enumerate(doc.tests):  # model-level: an expression of the source's columns
            key = (doc.name, MODEL_LEVEL, index)
            expression = _source_expression(model, test.column_name) if model else None
            if model is None or expression is None:
                unplaced[key] = Outcome(passed=False, ran=False, reason="no source columns to run it on")
                continue
            on_table = _Place(model=model, column=MODEL_LEVEL)
            source_test = replace(test, column_name=expression)
            probes.append(
                _Probe(name=f"{TEST_PREFIX}{len(probes) + 1}", key=key, test=source_test, place=on_table)
            )
        for column in doc.columns:
            for index, test in enumerate(column.tests):
                key = (doc.name, column.name, index)
                place = _place(models.get(doc.name), column.name)
                parent = _parent(test, models) if test.kind == "relationships" else None
                if place is None or (test.kind == "relationships" and parent is None):
                    unplaced[key] = Outcome(passed=False, ran=False, reason="no source column to run it on")
                    continue
                name = f"{TEST_PREFIX}{len(probes) + 1}"
                probes.append(_Probe(name=name, key=key, test=test, place=place, parent=parent))
    return probes, unplaced


def _source_expression(model: StagingModel, expression: str | None) -> str | None:
    """A row value of staged columns, "(product_id, tag_id)", in the source's own column names."""
    if not expression or not (expression.startswith("(") and expression.endswith(")")):
        return None
    source = {c.name: c.column.name for c in model.columns}
    names = [_unquoted(part.strip()) for part in expression[1:-1].split(",")]
    if not names or any(name not in source for name in names):
        return None
    columns = [source[name] for name in names]
    return "(" + ", ".join(quote_identifier(c) if needs_quotes(c) else c for c in columns) + ")"


def _unquoted(name: str) -> str:
    return name[1:-1].replace('""', '"') if len(name) > 1 and name.startswith('"') else name


def _place(model: StagingModel | None, staged: str) -> _Place | None:
    column = next((c for c in model.columns if c.name == staged), None) if model else None
    return _Place(model=model, column=column.column.name) if model and column else None


def _parent(test: SchemaTest, models: Mapping[str, StagingModel]) -> _Place | None:
    found = _REF.match(test.to or "")
    if found is None or test.field is None:
        return None
    return _place(models.get(found.group(1)), _unquoted(test.field))


def _test_entry(probe: _Probe) -> dict[str, Any]:
    test = probe.test
    arguments: dict[str, Any] = {}
    if test.column_name is not None:
        arguments = {"column_name": test.column_name}
    elif test.kind == "accepted_values":
        arguments = {"values": list(test.values), "quote": test.quote_values}
    elif test.kind == "relationships" and probe.parent is not None:
        parent = probe.parent
        table = f"source('{SOURCE_PREFIX}{parent.model.source_name}', '{parent.model.table_name}')"
        field = quote_identifier(parent.column) if needs_quotes(parent.column) else parent.column
        arguments = {"to": table, "field": field}
    body: dict[str, Any] = {"name": probe.name, "config": dict(TEST_CONFIG)}
    if arguments:
        body["arguments"] = arguments
    return {test.kind: body}


def _run(
    project: DbtProject,
    target: WarehouseTarget,
    probes: Sequence[_Probe],
    runner: DbtRunner,
    files: Mapping[str, str],
) -> DbtInvocation:
    """One `dbt test` of the temporary sources in the shadow; the shadow is put back afterwards."""
    path = PurePosixPath(project.models_dir, VERIFY_FILE).as_posix()
    overlay = {**files, path: _sources_yaml(probes), **without_hooks(project)}
    sources = sorted({SOURCE_PREFIX + p.place.model.source_name for p in probes})
    with _shadow_lock(project):
        sync_shadow(project, overlay)
        try:
            return runner.invoke(_test_args(project, target, sources), cwd=project.root)
        finally:
            sync_shadow(project, {})  # the shadow as the project is: no verify file, hooks back


def _test_args(project: DbtProject, target: WarehouseTarget, sources: Sequence[str]) -> list[str]:
    return shadow_command(project, target, "test", "--select", *(f"source:{name}" for name in sources))


def without_hooks(project: DbtProject) -> dict[str, str]:
    """The shadow's dbt_project.yml without run hooks, when the project has any (they may write)."""
    settings = load_yaml_file(project.project_file)
    if not isinstance(settings, dict) or not any(key in settings for key in _HOOK_KEYS):
        return {}
    logger.info("Leaving %s's on-run hooks out of the shadow while proposed tests run", project.name)
    kept = {key: value for key, value in settings.items() if key not in _HOOK_KEYS}
    return {project.project_file.relative_to(project.root).as_posix(): dump_yaml(kept)}


class Probe(Protocol):
    """A proposed test as dbt runs it: its unique name, which test it stands for, its parent's label."""

    @property
    def name(self) -> str: ...
    @property
    def key(self) -> tuple[str, str, int]: ...
    @property
    def test(self) -> SchemaTest: ...
    @property
    def parent_label(self) -> str | None: ...


def outcomes(
    project: DbtProject,
    target: WarehouseTarget,
    probes: Sequence[Probe],
    invocation: DbtInvocation,
    *,
    test_files: Collection[str] = (VERIFY_FILE,),
) -> dict[tuple[str, str, int], Outcome]:
    """Each probe's outcome in dbt's results; DbtError when dbt could not run at all for another reason
    than the proposals (none of `test_files`, the files holding them, named in its error)."""
    by_name = {n.name: n for n in invocation.nodes if n.unique_id.startswith("test.")}
    if not by_name and not invocation.success:
        text = _scrub(invocation.error_text or invocation.error or "dbt failed without a message", target)
        if not any(file in text for file in test_files):
            raise DbtError(f"dbt cannot run the proposed tests on {project.name}: {one_line(text)}")
        logger.warning("dbt rejected the proposed tests, none is kept: %s", one_line(text))
        return {p.key: Outcome(passed=False, ran=False, reason=one_line(text)) for p in probes}
    return {p.key: _outcome(p, by_name.get(p.name)) for p in probes}


def _outcome(probe: Probe, node: NodeResult | None) -> Outcome:
    if node is None or node.status not in ("pass", "fail", "warn"):
        said = one_line(node.message) if node is not None and node.message else "dbt did not run it"
        logger.info("Proposed test %s on %s could not run: %s", probe.test.kind, probe.key[:2], said)
        return Outcome(passed=False, ran=False, reason=said)
    if node.status == "pass":
        return Outcome(passed=True)
    found = _FAILURES.search(node.message or "")
    return Outcome(passed=False, reason=_failure_reason(probe, int(found.group(1)) if found else None))


def _failure_reason(probe: Probe, failures: int | None) -> str:
    """What the failing test found, in the user's words: "3 nulls found"."""
    if failures is None:
        return "the test failed on the data"
    kind = probe.test.kind
    if kind == "not_null":
        return f"{_plural(failures, 'null')} found"
    if kind == "unique":
        return f"{_plural(failures, 'duplicated value')} found"
    if kind == "accepted_values":
        return f"{_plural(failures, 'other value')} found"
    where = probe.parent_label or "the parent"
    return f"{_plural(failures, 'value')} not found in {where}"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def decided(doc: ModelDoc, found: Mapping[tuple[str, str, int], Outcome], on_failure: OnFailure) -> ModelDoc:
    """`doc` with each test as its outcome decides: kept with evidence, made a warning, or dropped."""
    columns = [replace(c, tests=_kept(doc.name, c.name, c.tests, found, on_failure)) for c in doc.columns]
    return replace(
        doc, columns=tuple(columns), tests=_kept(doc.name, MODEL_LEVEL, doc.tests, found, on_failure)
    )


def _kept(
    model: str,
    column: str,
    tests: Sequence[SchemaTest],
    found: Mapping[tuple[str, str, int], Outcome],
    on_failure: OnFailure,
) -> tuple[SchemaTest, ...]:
    kept = []
    for index, test in enumerate(tests):
        outcome = found[(model, column, index)]
        if outcome.passed:
            kept.append(replace(test, evidence=test.evidence or "passed on the data"))
        elif outcome.ran and on_failure == "warn":
            kept.append(replace(test, severity="warn", evidence=outcome.reason))
        else:
            logger.info("Dropped %s on %s.%s: %s", test.kind, model, column or "(model)", outcome.reason)
    return tuple(kept)


def _scrub(text: str, target: WarehouseTarget) -> str:
    password = target.credentials.get("password")
    if isinstance(password, str) and len(password) >= 3:
        return text.replace(password, "****")
    return text

"""Running the tests proposed for models nobody has built yet (marts, intermediates), before they are written.

`verify.py` runs staging proposals on the source tables. A mart's tests have no source column to run
on: they hold on the mart's own rows. Every model is ephemeral in the shadow (see shadow.py), so
`dbt test --select <the new models>` there inlines each model's whole chain, down to the sources, as
CTEs in the test's query: the tests run on the data as the models would produce it, and nothing is
built or stored in the warehouse. The planned files are laid over the shadow, with each models YAML
replaced by one whose every test carries a unique name and the read-only configuration of
`verify.TEST_CONFIG`; results map back to the proposals and are decided as `verify.decided` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from cartridge_core.dbt.check import _shadow_lock
from cartridge_core.dbt.runner import DbtInvocation, DbtRunner, default_runner
from cartridge_core.dbt.shadow import shadow_command, sync_shadow
from cartridge_core.dbt.verify import (
    MODEL_LEVEL,
    TEST_CONFIG,
    OnFailure,
    Outcome,
    decided,
    outcomes,
    without_hooks,
)
from cartridge_core.models import DbtProject, ModelDoc, SchemaTest, WarehouseTarget
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.project.yaml_edit import test_arguments
from cartridge_core.project.yamlio import dump_yaml

TEST_PREFIX = "cartridge_verify_model_"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Probe:
    name: str
    key: tuple[str, str, int]  # (model, column, index of the test in the column's tests)
    test: SchemaTest

    @property
    def parent_label(self) -> str | None:
        return self.test.to


def verify_model_tests(
    project: DbtProject,
    target: WarehouseTarget,
    files: Mapping[str, str],
    docs: Mapping[str, Sequence[ModelDoc]],
    *,
    on_failure: OnFailure,
    progress: Progress,
    runner: DbtRunner | None = None,
) -> dict[str, list[ModelDoc]]:
    """`docs` (models YAML path -> its models' entries) with every test run on the data first.

    `files` are the planned files (relative path -> content) the models need; each path of `docs` is
    laid over them with the proposals. Descriptions pass through untouched.
    """
    probes: list[_Probe] = []
    overlay = {**files, **without_hooks(project)}
    for path, models in docs.items():
        overlay[path] = _probe_yaml(models, probes)
    if not probes:
        return {path: list(models) for path, models in docs.items()}
    check_cancelled(progress)
    noun = "test" if len(probes) == 1 else "tests"
    progress.report(f"Running {len(probes)} proposed {noun} on the new models with dbt", 0)
    names = sorted({model.name for models in docs.values() for model in models})
    invocation = _run(project, target, overlay, names, runner or default_runner())
    found: dict[tuple[str, str, int], Outcome] = outcomes(
        project, target, probes, invocation, test_files=[PurePosixPath(p).name for p in docs]
    )
    kept = sum(o.passed for o in found.values())
    progress.report(f"{kept} of {len(found)} proposed tests pass on the new models", 100)
    return {path: [decided(model, found, on_failure) for model in models] for path, models in docs.items()}


def _probe_yaml(models: Sequence[ModelDoc], probes: list[_Probe]) -> str:
    """The models YAML as dbt will run it: each test named and configured to only select."""
    entries = []
    for model in models:
        model_tests = [
            _named(model.name, MODEL_LEVEL, index, test, probes) for index, test in enumerate(model.tests)
        ]
        columns = []
        for column in model.columns:
            tests = [
                _named(model.name, column.name, index, test, probes)
                for index, test in enumerate(column.tests)
            ]
            entry: dict[str, Any] = {"name": column.name}
            if column.quote:
                entry["quote"] = True
            columns.append({**entry, "data_tests": tests} if tests else entry)
        model_entry: dict[str, Any] = {"name": model.name}
        entries.append(
            {**model_entry, "data_tests": model_tests, "columns": columns}
            if model_tests
            else {**model_entry, "columns": columns}
        )
    return dump_yaml({"version": 2, "models": entries})


def _named(model: str, column: str, index: int, test: SchemaTest, probes: list[_Probe]) -> dict[str, Any]:
    """The test as dbt runs it: uniquely named (a probe remembers which proposal it is), read-only."""
    probe = _Probe(name=f"{TEST_PREFIX}{len(probes) + 1}", key=(model, column, index), test=test)
    probes.append(probe)
    body: dict[str, Any] = {"name": probe.name, "config": dict(TEST_CONFIG)}
    if arguments := test_arguments(test):
        body["arguments"] = arguments
    return {test.kind: body}


def _run(
    project: DbtProject,
    target: WarehouseTarget,
    overlay: dict[str, str],
    models: Sequence[str],
    runner: DbtRunner,
) -> DbtInvocation:
    """One `dbt test` of the new models in the shadow; the shadow is put back afterwards."""
    with _shadow_lock(project):
        sync_shadow(project, overlay)
        try:
            return runner.invoke(
                shadow_command(project, target, "test", "--select", *models), cwd=project.root
            )
        finally:
            sync_shadow(project, {})

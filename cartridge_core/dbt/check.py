"""Checking planned models with real dbt against the warehouse, before anything is written.

The plan's files are laid over a shadow copy of the project, and `dbt show --limit 0` runs each
planned model: unlike `dbt compile`, which only renders Jinja, it sends the SQL to the warehouse,
which rejects unknown columns and bad syntax. A select with `limit 0` writes nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cartridge_core.dbt.messages import error_line, model_message
from cartridge_core.dbt.runner import DbtInvocation, DbtRunner, default_runner, one_line
from cartridge_core.dbt.shadow import restore_file, shadow_command, sync_shadow
from cartridge_core.errors import DbtError
from cartridge_core.models import DbtProject, ModelCheck, WarehouseTarget
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.project.changes import Plan

logger = logging.getLogger(__name__)

_YAML_FILE = re.compile(r"Error reading [^:\s]+: (\S+)")
_NODE_FILE = re.compile(r"\(([^()\s]+\.(?:sql|py|ya?ml|csv))\)")
_NEAR_LINE = re.compile(r"\bline (\d+)\b")

_shadow_locks: dict[Path, threading.Lock] = {}
_shadow_locks_guard = threading.Lock()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Model:
    name: str
    path: str  # relative to the project root, posix
    source: str  # the model's text as the plan has it


def check_models(
    project: DbtProject,
    target: WarehouseTarget,
    plan: Plan,
    *,
    progress: Progress,
    runner: DbtRunner | None = None,
) -> list[ModelCheck]:
    """Run each model the plan writes or keeps through dbt against the warehouse; one result each."""
    models = planned_models(project, plan)
    if not models:
        return []
    check_cancelled(progress)
    with _shadow_lock(project):
        sync_shadow(project, shadow_overlay(plan))
        check_cancelled(progress)
        runner = runner or default_runner()
        noun = "model" if len(models) == 1 else "models"
        progress.report(f"Checking {len(models)} {noun} with dbt", 0)
        results = _check_until_decided(project, target, models, runner, progress)
    return [results[m.path] for m in models]


def shadow_overlay(plan: Plan) -> dict[str, str]:
    """The plan's files as the shadow holds them: a conflicting file stays as it is on disk."""
    return {c.path: c.content for c in plan.changes if c.kind != "conflict"}


def planned_models(project: DbtProject, plan: Plan) -> list[_Model]:
    """The plan's .sql files under the project's model paths (conflicts excluded)."""
    roots = [PurePosixPath(p).parts for p in project.model_paths]
    models = []
    for change in plan.changes:
        path = PurePosixPath(change.path)
        if change.kind == "conflict" or path.suffix != ".sql":
            continue
        if any(path.parts[: len(r)] == r for r in roots):
            models.append(_Model(name=path.stem, path=change.path, source=change.content))
    return models


def _check_until_decided(
    project: DbtProject,
    target: WarehouseTarget,
    models: Sequence[_Model],
    runner: DbtRunner,
    progress: Progress,
) -> dict[str, ModelCheck]:
    # dbt show stops at its first failing node, and a model that breaks parsing stops them all:
    # so run again on what is still undecided. Each round decides at least one model, or raises.
    decided: dict[str, ModelCheck] = {}
    pending = list(models)
    while pending:
        check_cancelled(progress)
        invocation = runner.invoke(_show_args(project, target, pending), cwd=project.root)
        newly = _decide(pending, invocation, target)
        if not newly and invocation.success:
            newly = {m.path: _not_run(m) for m in pending}
        elif not newly:
            newly = _blame_parse_error(project, target, pending, invocation)
        decided.update(newly)
        pending = [m for m in pending if m.path not in decided]
        progress.report(f"Checked {len(decided)} of {len(models)} models", _percent(decided, models))
    return decided


def _show_args(project: DbtProject, target: WarehouseTarget, models: Sequence[_Model]) -> list[str]:
    return shadow_command(
        project, target, "show", "--limit", "0", "--select", *(f"path:{m.path}" for m in models)
    )


def _decide(
    pending: Sequence[_Model], invocation: DbtInvocation, target: WarehouseTarget
) -> dict[str, ModelCheck]:
    """The models dbt finished in this invocation, passed or failed (skipped ones stay pending)."""
    decided = {}
    for model in pending:
        node = next(
            (n for n in invocation.nodes if n.unique_id.startswith("model.") and n.name == model.name),
            None,
        )
        if node is None or node.status not in ("success", "error"):
            continue
        if node.status == "success":
            decided[model.path] = ModelCheck(model=model.name, path=model.path, status="pass")
        else:
            decided[model.path] = _failed(model, _scrub(node.message or "dbt failed", target))
    return decided


def _failed(model: _Model, text: str) -> ModelCheck:
    return ModelCheck(
        model=model.name,
        path=model.path,
        status="error",
        message=model_message(text),
        line=error_line(text, model.source),
    )


def _not_run(model: _Model) -> ModelCheck:
    message = "dbt did not run this model: is it disabled, or not a model dbt finds?"
    return ModelCheck(model=model.name, path=model.path, status="error", message=message)


def _blame_parse_error(
    project: DbtProject,
    target: WarehouseTarget,
    pending: Sequence[_Model],
    invocation: DbtInvocation,
) -> dict[str, ModelCheck]:
    """Pin a whole-run failure on the planned model it names, and take that model out of the shadow."""
    text = _scrub(invocation.error_text or invocation.error or "dbt failed without a message", target)
    said = text.replace("\\", "/")
    culprit = next((m for m in pending if m.path in said), None)
    if culprit is None:
        raise _project_error(project, text)
    logger.info("%s breaks the dbt project: checking the other models without it", culprit.path)
    restore_file(project, culprit.path)
    return {culprit.path: _failed(culprit, text)}


def _project_error(project: DbtProject, text: str) -> DbtError:
    """A dbt failure that is no planned model's fault, naming the file dbt named."""
    # YAML errors go on with an excerpt of the file after a rule of dashes: the head says it all.
    head = text.split("-" * 10, 1)[0]
    relpath = _named_file(project, text)
    near = _NEAR_LINE.search(head)
    return DbtError(
        f"dbt cannot run on {project.name}: {one_line(head)}",
        file=str(project.root / relpath) if relpath else None,
        line=int(near.group(1)) if near and relpath else None,
    )


def _named_file(project: DbtProject, text: str) -> str | None:
    found = _NODE_FILE.search(text)
    if found and (project.root / found.group(1)).is_file():
        return found.group(1)
    found = _YAML_FILE.search(text)
    if found:  # dbt names a YAML file relative to the resource path it was found in
        for base in project.model_paths:
            candidate = f"{base}/{found.group(1)}"
            if (project.root / candidate).is_file():
                return candidate
    return None


def _scrub(text: str, target: WarehouseTarget) -> str:
    password = target.credentials.get("password")
    if isinstance(password, str) and len(password) >= 3:
        return text.replace(password, "****")
    return text


def _percent(decided: Mapping[str, ModelCheck], models: Sequence[_Model]) -> int:
    return int(100 * len(decided) / len(models))


def _shadow_lock(project: DbtProject) -> threading.Lock:
    # Two checks of one project at once would sync the same shadow under each other.
    with _shadow_locks_guard:
        return _shadow_locks.setdefault(project.root.resolve(), threading.Lock())

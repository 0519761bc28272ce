"""Check what the LLM wrote exactly like deterministic output, and send failures back to be fixed.

A draft model is laid over the project with the files it needs (context), and the injected check
runs it (in production: dbt against the warehouse, `dbt_checker`). A failure goes back to the LLM
with dbt's message and the failing line, for at most `max_repairs` rounds. If it still fails, the
deterministic output is used where there is one, and the result says so; nothing unchecked is
offered for writing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cartridge_core.llm.errors import LlmError
from cartridge_core.llm.usage import Usage
from cartridge_core.models import ModelCheck
from cartridge_core.progress import NullProgress, Progress, check_cancelled
from cartridge_core.project.changes import Plan, plan_changes

if TYPE_CHECKING:
    from cartridge_core.services import Context

logger = logging.getLogger(__name__)

ModelChecker = Callable[[Plan], Sequence[ModelCheck]]
ResultSource = Literal["llm", "llm-repaired", "fallback", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """One model as the LLM wrote it: its name, its SQL file's path, and its files (SQL and YAML)."""

    model: str
    path: str  # the SQL file, relative to the project root (posix)
    files: Mapping[str, str]

    @property
    def sql(self) -> str:
        return self.files[self.path]


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmModelResult:
    """What came of asking the LLM for a model.

    `source`: "llm" (passed the check first time), "llm-repaired" (passed after repairs),
    "fallback" (the deterministic output, since the LLM's never passed), "failed" (it never passed
    and there is no deterministic output: `files` is empty, `sql` keeps the last attempt to show).
    `files` is what to plan and write: the model, its YAML and any staging files it needs.
    """

    source: ResultSource
    files: Mapping[str, str]
    model: str | None = None
    path: str | None = None
    sql: str | None = None
    check: ModelCheck | None = None  # the last check of the LLM's model
    repairs: int = 0
    messages: tuple[str, ...] = ()
    usage: Usage | None = field(default=None)


def dbt_checker(ctx: Context, *, progress: Progress | None = None) -> ModelChecker:
    """The production check: each planned model run by dbt against the context's warehouse."""
    from cartridge_core.dbt.check import check_models

    def check(plan: Plan) -> Sequence[ModelCheck]:
        return check_models(ctx.project, ctx.target, plan, progress=progress or NullProgress())

    return check


def check_draft(root: Path, draft: Draft, check: ModelChecker, context: Mapping[str, str]) -> ModelCheck:
    """The check of the draft's model, with the context files laid over the project too.

    The draft's own files are planned as replacements: this is only a check in the shadow, and
    whether a file on disk may be replaced is decided when the result is planned for writing.
    """
    plan = Plan(
        changes=plan_changes(root, context).changes + plan_changes(root, draft.files, replace=True).changes
    )
    found = next((c for c in check(plan) if c.path == draft.path), None)
    if found is None:
        return ModelCheck(
            model=draft.model, path=draft.path, status="error", message="dbt did not check this model"
        )
    return found


def repair_message(draft: Draft, failed: ModelCheck) -> str:
    """What goes back to the LLM: dbt's one-line error and, when dbt names one, the failing line."""
    where = draft.path
    if failed.line is not None:
        lines = draft.sql.splitlines()
        text = lines[failed.line - 1].strip() if 0 < failed.line <= len(lines) else ""
        where += f", line {failed.line}" + (f": `{text}`" if text else "")
    return (
        f"dbt checked the model against the warehouse and it failed ({where}): {failed.message}. "
        f"Fix the SQL and answer again with the complete JSON; keep the name {draft.model}."
    )


def repair_loop(
    first: Draft,
    *,
    root: Path,
    check: ModelChecker,
    repair: Callable[[Draft, ModelCheck], Draft],
    max_repairs: int,
    context: Mapping[str, str] | None = None,
    fallback: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> LlmModelResult:
    """Check `first`; while it fails and repairs remain, `repair` it and check again; else fall back."""
    progress = progress or NullProgress()
    context = dict(context or {})
    draft, repairs = first, 0
    while True:
        check_cancelled(progress)
        progress.report(f"Checking {draft.model} with dbt")
        verdict = check_draft(root, draft, check, context)
        if verdict.status == "pass":
            source: ResultSource = "llm-repaired" if repairs else "llm"
            said = f"{draft.model} passed the dbt check" + (f" after {_times(repairs)}" if repairs else "")
            return _result(source, {**context, **draft.files}, draft, verdict, repairs, (said,))
        logger.info("%s failed the dbt check: %s", draft.path, verdict.message)
        if repairs >= max_repairs:
            return _fallback(draft, verdict, repairs, fallback, ())
        progress.report(f"Asking the LLM to repair {draft.model} ({repairs + 1} of {max_repairs})")
        try:
            draft = repair(draft, verdict)
        except LlmError as exc:  # the LLM failed while repairing: same as a repair that did not work
            return _fallback(draft, verdict, repairs, fallback, (f"The repair request failed: {exc}",))
        repairs += 1


def _fallback(
    draft: Draft,
    verdict: ModelCheck,
    repairs: int,
    fallback: Mapping[str, str] | None,
    notes: tuple[str, ...],
) -> LlmModelResult:
    line = f" at line {verdict.line}" if verdict.line else ""
    why = f"{draft.model} still fails the dbt check after {_times(repairs)}{line}: {verdict.message}"
    if fallback:
        said = (*notes, f"{why}; using the deterministic output instead.")
        return _result("fallback", dict(fallback), draft, verdict, repairs, said)
    return _result("failed", {}, draft, verdict, repairs, (*notes, f"{why}; nothing will be written."))


def _result(
    source: ResultSource,
    files: Mapping[str, str],
    draft: Draft,
    verdict: ModelCheck,
    repairs: int,
    messages: tuple[str, ...],
) -> LlmModelResult:
    return LlmModelResult(
        source=source,
        files=files,
        model=draft.model,
        path=draft.path,
        sql=draft.sql,
        check=verdict,
        repairs=repairs,
        messages=messages,
    )


def with_usage(result: LlmModelResult, usage: Usage) -> LlmModelResult:
    """The result with the run's usage, and its one-line summary among the messages."""
    return replace(result, usage=usage, messages=(*result.messages, usage.summary()))


def _times(repairs: int) -> str:
    return "1 repair" if repairs == 1 else f"{repairs} repairs"

"""Cartridge's dbt package (cartridge_core/dbt_package): where it lives, and its macros called from Python.

Each macro runs as `dbt run-operation cartridge.<macro>` in a dbt project that has the package: the
user's (`- local: <package_path()>` in packages.yml, then `dbt deps`), or Cartridge's shadow copy of
it, where the package is linked in without the user doing anything (see `dbt/shadow.py`; the
generic warehouse scanner runs there, through a `MacroSite`). Each prints its result as
one JSON line, {"macro": "cartridge.<macro>", "result": ...}. dbt is called through the shared
runner (cartridge_core.dbt.runner); the runner's result carries no printed output, so the call asks
dbt for a JSON file log in a temporary directory and reads the result line (and any operation
error) from it. The macros only select: nothing is written to the warehouse.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartridge_core.dbt.runner import DbtRunner, default_runner, one_line
from cartridge_core.errors import DbtError, WarehouseError

logger = logging.getLogger(__name__)

PACKAGE_NAME = "cartridge"
# Events that say why `dbt run-operation` failed inside the macro (MainEncounteredError, for the
# whole run, reaches DbtInvocation.error already).
_OPERATION_ERRORS = frozenset({"RunningOperationCaughtError", "RunningOperationUncaughtError"})

RelationArg = str | Mapping[str, str]  # "schema.table", "db.schema.table", or {database, schema, identifier}


@dataclass(frozen=True, slots=True, kw_only=True)
class RelationRef:
    """A relation as the warehouse names it (exact case), with dbt's relation type."""

    database: str | None
    schema: str
    identifier: str
    type: str | None = None  # "table", "view", "materialized_view", ... as the adapter says


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnInfo:
    """A column as the adapter describes it, with what its type allows (see `ColumnProfile.kind`)."""

    name: str
    data_type: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueCount:
    """One of a column's most frequent values (as text) and how many rows hold it."""

    value: str
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnProfile:
    """What one column's data looks like."""

    name: str
    data_type: str
    kind: str  # "number", "string", "temporal", "boolean" or "other" (no min/max)
    non_null_count: int
    null_count: int
    null_fraction: float | None  # None for an empty relation
    distinct_count: int | None  # approximate when RelationProfile.distinct_approximate
    min: str | None  # as text, for numbers, strings and dates/times
    max: str | None
    top_values: tuple[ValueCount, ...] | None  # None when not computed (high cardinality, or top_n=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelationProfile:
    """The profile of one relation (or of a sample of it, when sample_percent is set)."""

    relation: RelationRef
    row_count: int
    sample_percent: float | None
    distinct_approximate: bool  # the engine estimated distinct counts (DuckDB, Snowflake, ...)
    columns: tuple[ColumnProfile, ...]

    @property
    def approximate(self) -> bool:
        """Whether any figure is an estimate (a sample was read, or distinct counts were estimated)."""
        return self.distinct_approximate or self.sample_percent is not None

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of the column called `name` (exact), if profiled."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Containment:
    """How many of the child column's non-null values occur in the parent column."""

    child: RelationRef
    child_column: str
    parent: RelationRef
    parent_column: str
    sample_percent: float | None  # the share of the child's rows read, when sampled
    child_non_null: int
    child_found: int

    @property
    def share(self) -> float | None:
        """child_found / child_non_null; None when the child column holds no value."""
        return self.child_found / self.child_non_null if self.child_non_null else None


@dataclass(frozen=True, slots=True, kw_only=True)
class MacroSite:
    """Where the package's macros run: a dbt project holding the package, and the profile target."""

    project_dir: Path
    profiles_dir: Path | None = None
    profile: str | None = None  # the project's own profile when None
    target: str | None = None  # the profile's default target when None
    cwd: Path | None = None  # dbt's working directory (relative profile paths): project_dir if None
    target_path: Path | None = None  # where dbt keeps its parse state: the project's if None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainmentCheck:
    """One question for `check_containments`: how much of a child column is in a parent column."""

    child: RelationArg
    child_column: str
    parent: RelationArg
    parent_column: str
    sample_percent: float | None = None


def package_path() -> Path:
    """The shipped dbt package's directory (holding dbt_project.yml): the `local:` path for packages.yml."""
    return Path(__file__).resolve().parent.parent / "dbt_package"


def profile_relation(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    relation: RelationArg,
    *,
    columns: Sequence[str] | None = None,
    sample_percent: float | None = None,
    top_n: int = 5,
    runner: DbtRunner | None = None,
) -> RelationProfile:
    """Profile a relation's columns with `cartridge.profile_relation` (one select, one for top values)."""
    args: dict[str, Any] = {"relation": _relation_arg(relation), "top_n": top_n}
    if columns is not None:
        args["columns"] = list(columns)
    if sample_percent is not None:
        args["sample_percent"] = sample_percent
    return _relation_profile(
        run_macro(project_dir, profiles_dir, target, "profile_relation", args, runner=runner)
    )


def check_containment(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    child: RelationArg,
    child_column: str,
    parent: RelationArg,
    parent_column: str,
    *,
    sample_percent: float | None = None,
    runner: DbtRunner | None = None,
) -> Containment:
    """How much of `child.child_column` is found in `parent.parent_column` (one select)."""
    args: dict[str, Any] = {
        "child_relation": _relation_arg(child),
        "child_column": child_column,
        "parent_relation": _relation_arg(parent),
        "parent_column": parent_column,
    }
    if sample_percent is not None:
        args["sample_percent"] = sample_percent
    return _containment(
        run_macro(project_dir, profiles_dir, target, "check_containment", args, runner=runner)
    )


def list_relations(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    schemas: str | Sequence[str],
    *,
    runner: DbtRunner | None = None,
) -> tuple[RelationRef, ...]:
    """The tables and views of `schemas` ("schema" or "database.schema"), as the adapter lists them."""
    args = {"schemas": [schemas] if isinstance(schemas, str) else list(schemas)}
    found = run_macro(project_dir, profiles_dir, target, "list_relations", args, runner=runner)
    return tuple(_relation(r) for r in found["relations"])


def list_columns(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    relation: RelationArg,
    *,
    runner: DbtRunner | None = None,
) -> tuple[ColumnInfo, ...]:
    """The columns of one relation, as the adapter describes them."""
    args = {"relation": _relation_arg(relation)}
    found = run_macro(project_dir, profiles_dir, target, "list_columns", args, runner=runner)
    return tuple(
        ColumnInfo(name=c["name"], data_type=c["data_type"], kind=c["kind"]) for c in found["columns"]
    )


def profile_relations(
    site: MacroSite,
    relations: Sequence[RelationArg],
    *,
    sample_percent: float | None = None,
    top_n: int = 5,
    runner: DbtRunner | None = None,
) -> tuple[RelationProfile, ...]:
    """Profile several relations in one dbt call (`cartridge.profile_relations`), in the given order."""
    items: list[dict[str, Any]] = [{"relation": _relation_arg(r)} for r in relations]
    if sample_percent is not None:
        for item in items:
            item["sample_percent"] = sample_percent
    found = run_macro_at(site, "profile_relations", {"items": items, "top_n": top_n}, runner=runner)
    return tuple(_relation_profile(p) for p in found["profiles"])


def check_containments(
    site: MacroSite, checks: Sequence[ContainmentCheck], *, runner: DbtRunner | None = None
) -> tuple[Containment, ...]:
    """Answer several containment checks in one dbt call (`cartridge.check_containments`), in order."""
    args = [
        {
            "child_relation": _relation_arg(c.child),
            "child_column": c.child_column,
            "parent_relation": _relation_arg(c.parent),
            "parent_column": c.parent_column,
            "sample_percent": c.sample_percent,
        }
        for c in checks
    ]
    found = run_macro_at(site, "check_containments", {"checks": args}, runner=runner)
    return tuple(_containment(c) for c in found["results"])


def run_macro(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    macro: str,
    args: Mapping[str, Any],
    *,
    runner: DbtRunner | None = None,
) -> Any:
    """Run `dbt run-operation cartridge.<macro>` in the project and return the result the macro printed."""
    site = MacroSite(project_dir=project_dir, profiles_dir=profiles_dir, target=target)
    return run_macro_at(site, macro, args, runner=runner)


def run_macro_at(
    site: MacroSite, macro: str, args: Mapping[str, Any], *, runner: DbtRunner | None = None
) -> Any:
    """Run `dbt run-operation cartridge.<macro>` at `site` and return the result the macro printed."""
    runner = runner or default_runner()
    # dbt may keep its log file open until its next run: a failed clean-up must not fail the call.
    with tempfile.TemporaryDirectory(prefix="cartridge-dbt-log-", ignore_cleanup_errors=True) as log_dir:
        command = [
            "run-operation", f"{PACKAGE_NAME}.{macro}", "--args", json.dumps(args),
            "--project-dir", str(site.project_dir),
            "--log-path", log_dir, "--log-format-file", "json",
            # run-operation would replace target/run_results.json, which `dbt retry` relies on.
            "--no-write-json",
        ]  # fmt: skip
        for flag, value in (
            ("--profiles-dir", site.profiles_dir),
            ("--profile", site.profile),
            ("--target", site.target),
            ("--target-path", site.target_path),
        ):
            if value is not None:
                command += [flag, str(value)]
        invocation = runner.invoke(command, cwd=site.cwd or site.project_dir)
        events = list(_log_events(Path(log_dir) / "dbt.log"))
    if not invocation.success:
        errors = [str(e["data"].get("exc", "")) for e in events if e["info"].get("name") in _OPERATION_ERRORS]
        raise _failure(macro, site.project_dir, errors[0] if errors else invocation.error_text or "")
    result = _printed_result(events, macro)
    if result is None:
        raise DbtError(f"dbt run-operation {PACKAGE_NAME}.{macro} printed no result (is --no-print set?)")
    logger.debug("dbt run-operation %s.%s: ok", PACKAGE_NAME, macro)
    return result


def _log_events(log_file: Path) -> Iterator[dict[str, Any]]:
    """dbt's JSON file log, one event per line; anything else in it is skipped."""
    if not log_file.is_file():
        return
    with log_file.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("info"), dict):
                event.setdefault("data", {})
                yield event


def _printed_result(events: list[dict[str, Any]], macro: str) -> Any:
    wanted = f"{PACKAGE_NAME}.{macro}"
    for event in events:
        if event["info"].get("name") != "PrintEvent":
            continue
        try:
            printed = json.loads(event["data"].get("msg", ""))
        except ValueError:
            continue
        if isinstance(printed, dict) and printed.get("macro") == wanted:
            return printed.get("result")
    return None


def _failure(macro: str, project_dir: Path, text: str) -> Exception:
    detail = _detail(text) or "unknown error"
    if f'in the "{PACKAGE_NAME}" package' in text or "in any package" in text:
        return DbtError(
            f"The dbt package '{PACKAGE_NAME}' is not installed in {project_dir}: add "
            f"'- local: {package_path()}' to packages.yml and run dbt deps ({detail})"
        )
    error = WarehouseError if "Database Error" in text else DbtError
    return error(f"dbt run-operation {PACKAGE_NAME}.{macro} failed: {detail}")


def _detail(text: str) -> str:
    """The line that says what went wrong: the macro's own "cartridge: ..." message if there is one."""
    lines = [line.strip() for line in text.splitlines()]
    ours = next((line for line in lines if line.startswith(f"{PACKAGE_NAME}:")), None)
    # Lines starting with ">" are dbt's macro call stack ("> in macro ... > called by ...").
    return ours or one_line("\n".join(line for line in lines if not line.startswith(">")))


def _relation_arg(relation: RelationArg) -> str | dict[str, str]:
    return relation if isinstance(relation, str) else dict(relation)


def _relation(found: Mapping[str, Any]) -> RelationRef:
    return RelationRef(
        database=found.get("database"),
        schema=found["schema"],
        identifier=found["identifier"],
        type=found.get("type"),
    )


def _relation_profile(found: Mapping[str, Any]) -> RelationProfile:
    return RelationProfile(
        relation=_relation(found["relation"]),
        row_count=int(found["row_count"]),
        sample_percent=found.get("sample_percent"),
        distinct_approximate=bool(found["distinct_approximate"]),
        columns=tuple(_column_profile(c) for c in found["columns"]),
    )


def _containment(found: Mapping[str, Any]) -> Containment:
    return Containment(
        child=_relation(found["child"]),
        child_column=found["child_column"],
        parent=_relation(found["parent"]),
        parent_column=found["parent_column"],
        sample_percent=found.get("sample_percent"),
        child_non_null=int(found["child_non_null"]),
        child_found=int(found["child_found"]),
    )


def _column_profile(found: Mapping[str, Any]) -> ColumnProfile:
    top = found.get("top_values")
    return ColumnProfile(
        name=found["name"],
        data_type=found["data_type"],
        kind=found["kind"],
        non_null_count=int(found["non_null_count"]),
        null_count=int(found["null_count"]),
        null_fraction=found.get("null_fraction"),
        distinct_count=found.get("distinct_count"),
        min=found.get("min"),
        max=found.get("max"),
        top_values=None
        if top is None
        else tuple(ValueCount(value=t["value"], count=int(t["count"])) for t in top),
    )

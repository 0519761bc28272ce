"""Any dbt adapter: read the warehouse through dbt, with Cartridge's dbt package, in the project's shadow.

For warehouses without a native scanner (Snowflake, BigQuery, Redshift, Databricks, ...). dbt
connects, so whatever the adapter supports (key pairs, OAuth, service accounts) just works, and the
package's macros read the catalog the adapter's own way: dbt's `get_catalog` (what `dbt docs
generate` runs: one query per database) gives tables and views, their columns in order with the
types as the adapter spells them, and comments; `information_schema.columns` gives nullability
where the warehouse has it (elsewhere every column counts as nullable).

Not available generically, and so never in a scan from here: keys (primary, unique, foreign; dbt
has no portable way to list them, so relationships come from the data alone, inferred and verified
by containment), row estimates, sizes, view definitions and CHECK values.

The package needs no set-up: it is linked into the shadow copy of the project (`dbt/shadow.py`),
where each call is one `dbt run-operation` (seconds when dbt parses, well under one when warm). A
scan makes one call (two when the schemas are not named); profiling and containment make one per
batch of tables or checks. Read-only: the macros only select. `statement_timeout` is not enforced
here: the adapter's own settings apply (e.g. BigQuery's `job_execution_timeout_seconds`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from cartridge_core.dbt import package
from cartridge_core.dbt.runner import DbtRunner
from cartridge_core.dbt.shadow import shadow_dir, sync_shadow, work_dir
from cartridge_core.errors import CartridgeError, WarehouseError
from cartridge_core.models import (
    ColumnProfile,
    Containment,
    ContainmentQuery,
    Scan,
    Table,
    TableKind,
    TableProfile,
    WarehouseTarget,
)
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.warehouse.base import (
    DEFAULT_STATEMENT_TIMEOUT_S,
    ColumnRow,
    RelationRow,
    build_tables,
    choose_schemas,
    redact,
    source_schemas,
)
from cartridge_core.warehouse.types import enum_labels, type_family

log = logging.getLogger(__name__)

# Tables profiled, and containment checks answered, per dbt call: few calls, and a batch that
# fails (a broken view, a missing privilege) is split to find the culprits without losing the rest.
PROFILE_BATCH = 50
CONTAINMENT_BATCH = 100
# When this many single tables (or checks) failed and no call succeeded, the warehouse or the
# project is at fault, not the tables: stop rather than try every table alone.
_FAILURES_BEFORE_GIVING_UP = 3

# Schemas that belong to the warehouse itself on the engines dbt supports.
_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_internal", "sys"})
_SYSTEM_PREFIXES = ("pg_toast", "pg_temp_")
# Profile keys that may hold a secret (password, pass, private_key_passphrase, token, ...).
_SECRET_WORDS = ("pass", "secret", "token", "private", "auth")

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class GenericScanner:
    """Reads any dbt adapter's warehouse through Cartridge's dbt package; no keys, comments where known."""

    # Adapters fold unquoted names (Snowflake to upper case): a schema asked for as `raw` is `RAW`
    # there, and dbt's target schema matches its own schemas whatever their case.
    fold_case = True

    def __init__(
        self,
        target: WarehouseTarget,
        *,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
        runner: DbtRunner | None = None,
    ) -> None:
        self._target = target
        self._runner = runner
        self._site: package.MacroSite | None = None
        self._where = (
            f"the {target.type} target {target.profile_name}.{target.target_name} in {target.profiles_file}"
        )

    def default_schemas(self) -> list[str]:
        """Every schema of the target's database except system ones and those dbt builds into, sorted."""
        listed = self._run("list_schemas", {})
        return self._defaults(listed["schemas"])

    def scan(self, schemas: Sequence[str] | None, progress: Progress) -> Scan:
        """Scan the named schemas (or the default ones) in one dbt call: tables, columns, comments."""
        check_cancelled(progress)
        progress.report("Reading the catalog through dbt", 0)
        if schemas is None:
            chosen = self.default_schemas()
            check_cancelled(progress)
            relations = self._catalog(chosen)["relations"] if chosen else []
        else:
            found = self._catalog(schemas) if schemas else {"schemas": [], "relations": []}
            existing = [s["schema"] for s in found["schemas"]]
            chosen = choose_schemas(spelled_as(schemas, existing), existing, lambda: [], self._where)
            relations = found["relations"]
        check_cancelled(progress)
        tables = catalog_tables(relations, set(chosen))
        log.info(
            "Scanned %d tables in %d schemas of %s through dbt (keys are not read generically)",
            len(tables),
            len(chosen),
            self._where,
        )
        database = self._target.database or next((r["database"] or "" for r in relations), "")
        return Scan(engine=self._target.type, database=database, schemas=tuple(chosen), tables=tuple(tables))

    def profile_tables(
        self, tables: Sequence[Table], *, progress: Progress, sample_percent: float | None = None
    ) -> tuple[TableProfile, ...]:
        """Profile each table through the package, in order, a batch per dbt call; a table that fails
        gets a profile of its column names with a note, as natively profiled ones do."""

        def profile(batch: Sequence[Table]) -> list[TableProfile]:
            relations = [self._relation(t.schema, t.name) for t in batch]
            with self._secrets_redacted():
                found = package.profile_relations(
                    self._ensure_site(), relations, sample_percent=sample_percent, runner=self._runner
                )
            return [table_profile(t, p) for t, p in zip(batch, found, strict=True)]

        return _batched(tables, PROFILE_BATCH, profile, _unprofiled, progress, "Profiling")

    def measure_containment(
        self,
        queries: Sequence[ContainmentQuery],
        *,
        progress: Progress,
        sample_percent: float | None = None,
    ) -> tuple[Containment, ...]:
        """Answer each query through the package, in order, a batch per dbt call; a query that fails
        comes back with no values looked at (which relationship inference rejects), as natively."""

        def measure(batch: Sequence[ContainmentQuery]) -> list[Containment]:
            checks = [self._check(q, sample_percent) for q in batch]
            with self._secrets_redacted():
                found = package.check_containments(self._ensure_site(), checks, runner=self._runner)
            return [
                Containment(
                    query=q,
                    child_non_null=c.child_non_null,
                    child_found=c.child_found,
                    sampled=c.sample_percent is not None,
                )
                for q, c in zip(batch, found, strict=True)
            ]

        return _batched(queries, CONTAINMENT_BATCH, measure, _unmeasured, progress, "Measuring containment")

    def _catalog(self, schemas: Sequence[str]) -> Any:
        try:
            return self._run("catalog", {"schemas": list(schemas)})
        except WarehouseError as exc:
            # Some warehouses have no information_schema (Spark's Hive metastore) or deny it: the
            # catalog without nullability is still worth having.
            log.warning(
                "Nullability not read from %s (%s): columns count as nullable", self._where, exc.message
            )
            return self._run("catalog", {"schemas": list(schemas), "nullability": False})

    def _defaults(self, existing: Iterable[str]) -> list[str]:
        return source_schemas(
            existing, target_schema=self._target.schema, is_system=is_system_schema, fold_case=self.fold_case
        )

    def _relation(self, schema: str, name: str) -> dict[str, str]:
        relation = {"schema": schema, "identifier": name}
        if self._target.database:
            relation["database"] = self._target.database
        return relation

    def _check(self, query: ContainmentQuery, sample_percent: float | None) -> package.ContainmentCheck:
        return package.ContainmentCheck(
            child=self._relation(query.child_schema, query.child_table),
            child_column=query.child_column,
            parent=self._relation(query.parent_schema, query.parent_table),
            parent_column=query.parent_column,
            sample_percent=sample_percent,
        )

    def _run(self, macro: str, args: Mapping[str, Any]) -> Any:
        with self._secrets_redacted():
            return package.run_macro_at(self._ensure_site(), macro, args, runner=self._runner)

    @contextmanager
    def _secrets_redacted(self) -> Iterator[None]:
        """dbt's errors with the profile's secrets blanked out, should an adapter echo one."""
        try:
            yield
        except CartridgeError as exc:
            message = exc.message
            for key, value in self._target.credentials.items():
                if (
                    isinstance(value, str)
                    and len(value) >= 3
                    and any(w in key.lower() for w in _SECRET_WORDS)
                ):
                    message = redact(message, value)
            if message == exc.message:
                raise
            raise type(exc)(message, file=exc.file, line=exc.line) from None

    def _ensure_site(self) -> package.MacroSite:
        """The project's shadow, synced once per scanner, where the package's macros run."""
        if self._site is None:
            project = self._target.project
            if project is None:
                raise WarehouseError(
                    f"Cannot read {self._where} through dbt: the target names no dbt project "
                    "(load it with load_target)."
                )
            sync_shadow(project, {})
            self._site = package.MacroSite(
                project_dir=shadow_dir(project),
                profiles_dir=self._target.profiles_dir,
                profile=self._target.profile_name,
                target=self._target.target_name,
                cwd=project.root,  # dbt runs there: relative paths in profiles.yml resolve as usual
                target_path=work_dir(project) / "target",  # shared with model checks: parsing stays warm
            )
        return self._site


def _batched(
    items: Sequence[Item],
    size: int,
    call: Callable[[Sequence[Item]], list[Answer]],
    failed: Callable[[Item, str], Answer],
    progress: Progress,
    what: str,
) -> tuple[Answer, ...]:
    """`call` on batches of `size` items, reporting progress: one answer per item, in order."""
    answers: list[Answer] = []
    tally = _Tally()
    for start in range(0, len(items), size):
        check_cancelled(progress)
        progress.report(f"{what} through dbt ({start}/{len(items)})", start * 100 // len(items))
        answers.extend(_answer_or_split(items[start : start + size], call, failed, tally))
    return tuple(answers)


@dataclass(slots=True)
class _Tally:
    succeeded: int = 0
    failed_alone: int = 0


def _answer_or_split(
    batch: Sequence[Item],
    call: Callable[[Sequence[Item]], list[Answer]],
    failed: Callable[[Item, str], Answer],
    tally: _Tally,
) -> list[Answer]:
    """`call(batch)`; if it fails, each half on its own, down to single items, answered by `failed`."""
    try:
        answers = call(batch)
    except CartridgeError as exc:
        if len(batch) > 1:
            middle = len(batch) // 2
            return _answer_or_split(batch[:middle], call, failed, tally) + _answer_or_split(
                batch[middle:], call, failed, tally
            )
        tally.failed_alone += 1
        if tally.succeeded == 0 and tally.failed_alone >= _FAILURES_BEFORE_GIVING_UP:
            raise
        return [failed(batch[0], exc.message)]
    tally.succeeded += 1
    return answers


def _unprofiled(table: Table, reason: str) -> TableProfile:
    note = f"Profiling failed ({reason}): no column was measured."
    log.warning("%s.%s: %s", table.schema, table.name, note)
    return TableProfile(
        schema=table.schema,
        table=table.name,
        row_count=table.row_estimate or 0,
        method="exact",
        columns=tuple(ColumnProfile(column=c.name) for c in table.columns),
        note=note,
    )


def _unmeasured(query: ContainmentQuery, reason: str) -> Containment:
    log.warning(
        "Containment not measured: %s.%s.%s in %s.%s.%s: %s",
        query.child_schema,
        query.child_table,
        query.child_column,
        query.parent_schema,
        query.parent_table,
        query.parent_column,
        reason,
    )
    return Containment(query=query, child_non_null=0, child_found=0)


def catalog_tables(relations: Iterable[Mapping[str, Any]], schemas: set[str]) -> list[Table]:
    """Tables from the package's catalog rows, only those of `schemas` (exact names), sorted."""
    relation_rows: list[RelationRow] = []
    column_rows: list[ColumnRow] = []
    for found in relations:
        schema, name = found["schema"], found["identifier"]
        if schema not in schemas:
            continue
        relation_rows.append(
            RelationRow(
                schema=schema, name=name, kind=table_kind(found.get("type")), comment=found.get("comment")
            )
        )
        for column in found["columns"]:
            data_type = column.get("data_type") or ""
            column_rows.append(
                ColumnRow(
                    schema=schema,
                    table=name,
                    name=column["name"],
                    data_type=data_type,
                    # Unknown (the adapter did not say) counts as nullable: the safe assumption.
                    nullable=column.get("nullable") is not False,
                    comment=column.get("comment"),
                    type_family=type_family(data_type),
                    enum_values=enum_labels(data_type),
                )
            )
    return sorted(build_tables(relation_rows, column_rows, ()), key=lambda t: (t.schema, t.name))


def table_kind(type_name: str | None) -> TableKind:
    """The kind of a relation from the type the catalog or dbt gives it ('BASE TABLE', 'view', ...)."""
    spelled = (type_name or "").lower().replace("_", " ")
    if "materialized" in spelled:
        return "materialized_view"
    if "view" in spelled:
        return "view"
    if "foreign" in spelled or "external" in spelled:
        return "foreign_table"
    return "table"


def is_system_schema(schema: str) -> bool:
    """The warehouse's own schemas (information_schema, pg_catalog, ...), whatever their case."""
    lowered = schema.lower()
    return lowered in _SYSTEM_SCHEMAS or lowered.startswith(_SYSTEM_PREFIXES)


def spelled_as(requested: Iterable[str], existing: Sequence[str]) -> list[str]:
    """Each requested schema as the warehouse spells it: exact, else the one match ignoring case."""
    present = set(existing)
    spelled = []
    for name in requested:
        matches = [e for e in existing if e.lower() == name.lower()]
        spelled.append(name if name in present or len(matches) != 1 else matches[0])
    return spelled


def table_profile(table: Table, found: package.RelationProfile) -> TableProfile:
    """The package's profile of a table as the rest of Cartridge reads profiles."""
    return TableProfile(
        schema=table.schema,
        table=table.name,
        row_count=found.row_count,
        method="sample" if found.sample_percent is not None else "exact",
        sample_percent=found.sample_percent,
        columns=tuple(
            ColumnProfile(
                column=c.name,
                null_fraction=c.null_fraction,
                distinct_count=c.distinct_count,
                min_value=c.min,
                max_value=c.max,
                top_values=tuple((v.value, v.count) for v in c.top_values or ()),
            )
            for c in found.columns
        ),
    )

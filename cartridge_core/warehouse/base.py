"""The interface every warehouse engine implements, and the parts of a scan all engines share.

Engines differ only in how they read their catalog; each one turns its catalog rows into the
plain rows below, and `build_tables` turns those into `Table` values the same way for all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, NamedTuple, Protocol

from cartridge_core.errors import WarehouseError
from cartridge_core.models import Column, ForeignKey, Scan, Table, TableKind, TypeFamily
from cartridge_core.progress import Progress, check_cancelled

log = logging.getLogger(__name__)

DEFAULT_STATEMENT_TIMEOUT_S = 30.0
DEFAULT_CONNECT_TIMEOUT_S = 10


class WarehouseScanner(Protocol):
    """Reads one warehouse's catalog, read-only. One implementation per dbt adapter type."""

    def default_schemas(self) -> list[str]:
        """The source schemas scanned when none are named: all but system and dbt's own, sorted."""
        ...

    def scan(self, schemas: Sequence[str] | None, progress: Progress) -> Scan:
        """Scan the named schemas (or the default ones): tables, columns, keys and comments."""
        ...


# Catalog rows are NamedTuples, not frozen dataclasses: a scan builds tens of thousands of them
# and a NamedTuple costs a quarter as much to create.


class RelationRow(NamedTuple):
    """One table or view as an engine's catalog lists it."""

    schema: str
    name: str
    kind: TableKind
    comment: str | None = None
    row_estimate: int | None = None
    view_definition: str | None = None
    size_bytes: int | None = None
    check_constraints: tuple[str, ...] = ()


class ColumnRow(NamedTuple):
    """One column as an engine's catalog lists it; rows of a table come in ordinal order."""

    schema: str
    table: str
    name: str
    data_type: str
    nullable: bool
    comment: str | None = None
    type_family: TypeFamily = "other"
    enum_values: tuple[str, ...] = ()


class KeyRow(NamedTuple):
    """One primary, unique or foreign key, its columns in key order."""

    schema: str
    table: str
    kind: Literal["primary", "unique", "foreign"]
    name: str | None
    columns: tuple[str, ...]
    ref_schema: str = ""
    ref_table: str = ""
    ref_columns: tuple[str, ...] = ()


def is_dbt_schema(schema: str, target_schema: str, *, fold_case: bool = False) -> bool:
    """Whether dbt builds into `schema` for this target: the target schema or a `<target>_` one."""
    if fold_case:
        schema, target_schema = schema.lower(), target_schema.lower()
    return schema == target_schema or schema.startswith(target_schema + "_")


def source_schemas(
    schemas: Iterable[str],
    *,
    target_schema: str,
    is_system: Callable[[str], bool],
    fold_case: bool = False,
) -> list[str]:
    """The schemas a scan reads by default: neither system schemas nor those dbt builds into."""
    return sorted(
        {s for s in schemas if not is_system(s) and not is_dbt_schema(s, target_schema, fold_case=fold_case)}
    )


def choose_schemas(
    requested: Sequence[str] | None, existing: Iterable[str], defaults: Callable[[], list[str]], where: str
) -> list[str]:
    """The schemas to scan, sorted: the requested ones (all must exist) or the defaults."""
    if requested is None:
        return defaults()
    present = set(existing)
    missing = sorted(set(requested) - present)
    if missing:
        names = ", ".join(f'"{m}"' for m in missing)
        raise WarehouseError(f"Schema {names} not found in {where}.")
    return sorted(set(requested))


def scan_each_schema(
    schemas: Sequence[str], progress: Progress, read_schema: Callable[[str], list[Table]]
) -> list[Table]:
    """Read the schemas one at a time, reporting progress and stopping if the user cancels."""
    tables: list[Table] = []
    for index, schema in enumerate(schemas, start=1):
        check_cancelled(progress)
        progress.report(
            f"Scanning schema {schema} ({index}/{len(schemas)})",
            (index - 1) * 100 // len(schemas),
        )
        tables.extend(read_schema(schema))
    return sorted(tables, key=lambda t: (t.schema, t.name))


def build_tables(
    relations: Iterable[RelationRow], columns: Iterable[ColumnRow], keys: Iterable[KeyRow]
) -> list[Table]:
    """Join catalog rows into tables; columns keep their order and get dense 1-based positions."""
    columns_of: dict[tuple[str, str], list[Column]] = {}
    for c in columns:
        found = columns_of.setdefault((c.schema, c.table), [])
        found.append(
            Column(
                name=c.name,
                data_type=c.data_type,
                nullable=c.nullable,
                position=len(found) + 1,
                comment=c.comment,
                type_family=c.type_family,
                enum_values=c.enum_values,
            )
        )
    primary: dict[tuple[str, str], tuple[str, ...]] = {}
    unique: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    foreign: dict[tuple[str, str], list[ForeignKey]] = {}
    for k in keys:
        if k.kind == "primary":
            primary[(k.schema, k.table)] = k.columns
        elif k.kind == "unique":
            unique.setdefault((k.schema, k.table), set()).add(k.columns)
        else:
            foreign.setdefault((k.schema, k.table), []).append(_foreign_key(k))
    return [
        Table(
            schema=r.schema,
            name=r.name,
            kind=r.kind,
            columns=tuple(columns_of.get((r.schema, r.name), ())),
            primary_key=primary.get((r.schema, r.name), ()),
            foreign_keys=tuple(sorted(foreign.get((r.schema, r.name), ()), key=_fk_order)),
            comment=r.comment,
            row_estimate=r.row_estimate,
            # Sorted, so a key declared as a constraint and again as an index counts once, in the
            # same order on every engine.
            unique_keys=tuple(sorted(unique.get((r.schema, r.name), ()))),
            check_constraints=r.check_constraints,
            view_definition=r.view_definition,
            size_bytes=r.size_bytes,
        )
        for r in relations
    ]


def _foreign_key(k: KeyRow) -> ForeignKey:
    return ForeignKey(
        name=k.name,
        columns=k.columns,
        ref_schema=k.ref_schema,
        ref_table=k.ref_table,
        ref_columns=k.ref_columns,
    )


def _fk_order(fk: ForeignKey) -> tuple[tuple[str, ...], str, str, str]:
    # Engines name keys differently; ordering by columns first gives every engine the same order.
    return (fk.columns, fk.ref_schema, fk.ref_table, fk.name or "")


def redact(message: str, secret: str | None) -> str:
    """`message` with `secret` blanked out, so a driver that echoes a password cannot leak it."""
    return message.replace(secret, "***") if secret else message

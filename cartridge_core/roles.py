"""Table roles in a dimensional reading of the warehouse: facts, dimensions and bridges, with reasons.

A fact refers to dimensions and carries measures and an event time; a dimension is referred to and
describes things in text; a bridge is mostly two or more foreign keys forming its key (a
many-to-many link). Self-references (a category's parent) say nothing about a table's role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cartridge_core.generation.naming import snake_case
from cartridge_core.models import Relationship, Scan, Table, TableProfile, TableRole, TableRoleKind
from cartridge_core.warehouse.types import column_family

_MEASURE_FAMILIES = frozenset({"decimal", "float"})
_TIME_FAMILIES = frozenset({"timestamp", "timestamptz", "date"})
_TEXT_FAMILIES = frozenset({"text"})
# Bookkeeping times: an event time only in a table nothing refers to (an `events.created_at`).
_AUDIT_TIMES = ("created", "updated", "modified", "deleted", "loaded", "inserted", "synced", "etl")
_BRIDGE_MAX_OTHERS = 2  # a bridge may carry a little more than its keys: a weight, a valid_from


@dataclass(frozen=True, slots=True, kw_only=True)
class _Traits:
    """What one table's columns and relationships say about its role."""

    table: Table
    foreign_keys: tuple[str, ...]  # child columns of outgoing relationships, in column order
    parents: tuple[str, ...]  # the tables they refer to
    referenced_by: int  # distinct other tables referring to this one
    measures: tuple[str, ...]
    event_time: str | None
    texts: tuple[str, ...]
    others: tuple[str, ...]  # columns that are neither keys nor bookkeeping
    rows: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Links:
    """One table's relationships to other tables: those it makes, and how many tables refer to it."""

    outgoing: tuple[Relationship, ...]
    referrers: int


def classify_tables(
    scan: Scan, relationships: Sequence[Relationship], profiles: Sequence[TableProfile] = ()
) -> tuple[TableRole, ...]:
    """The role of every scanned table, in scan order, each with short human reasons."""
    rows = {(p.schema, p.table): p.row_count for p in (profiles or scan.profiles)}
    outgoing: dict[tuple[str, str], list[Relationship]] = {}
    referrers: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for r in relationships:
        child, parent = (r.child_schema, r.child_table), (r.parent_schema, r.parent_table)
        if child != parent:  # a self-reference (a category's parent) says nothing about the role
            outgoing.setdefault(child, []).append(r)
            referrers.setdefault(parent, set()).add(child)
    roles = []
    for table in scan.tables:
        here = (table.schema, table.name)
        links = _Links(outgoing=tuple(outgoing.get(here, ())), referrers=len(referrers.get(here, ())))
        roles.append(_role(_traits(table, links, rows.get(here, table.row_estimate))))
    return tuple(roles)


def _traits(table: Table, links: _Links, rows: int | None) -> _Traits:
    fk_columns = {c for r in links.outgoing for c in r.child_columns}
    keys = fk_columns | set(table.primary_key) | {c.name for c in table.columns if _key_named(c.name)}
    plain = [c for c in table.columns if c.name not in keys]
    return _Traits(
        table=table,
        foreign_keys=tuple(c.name for c in table.columns if c.name in fk_columns),
        parents=tuple(sorted({r.parent_table for r in links.outgoing})),
        referenced_by=links.referrers,
        measures=tuple(c.name for c in plain if column_family(c) in _MEASURE_FAMILIES),
        event_time=_event_time(table, keys, referenced=links.referrers > 0),
        texts=tuple(c.name for c in plain if column_family(c) in _TEXT_FAMILIES),
        others=tuple(c.name for c in plain if not _audit_named(c.name)),
        rows=rows,
    )


def _key_named(name: str) -> bool:
    snake = snake_case(name)
    return snake in {"id", "key"} or snake.endswith(("_id", "_key", "_fk", "_uuid"))


def _audit_named(name: str) -> bool:
    snake = snake_case(name).lstrip("_")
    return snake.startswith(_AUDIT_TIMES) or snake.endswith(("_synced", "_loaded_at"))


def _event_time(table: Table, keys: set[str], *, referenced: bool) -> str | None:
    """The first time column that dates an event; a bookkeeping one only in an unreferenced table."""
    times = [c.name for c in table.columns if c.name not in keys and column_family(c) in _TIME_FAMILIES]
    events = [name for name in times if not _audit_named(name)]
    if events:
        return events[0]
    return times[0] if times and not referenced else None


def _role(t: _Traits) -> TableRole:
    """Bridge first (its keys are foreign keys), then fact, then dimension; other when none fits."""
    role: TableRoleKind
    if _is_bridge(t):
        role, reasons = "bridge", _bridge_reasons(t)
    elif _is_fact(t):
        role, reasons = "fact", _fact_reasons(t)
    elif t.referenced_by:
        role, reasons = "dimension", _dimension_reasons(t)
    else:
        role, reasons = "other", _other_reasons(t)
    return TableRole(schema=t.table.schema, table=t.table.name, role=role, reasons=tuple(reasons))


def _is_fact(t: _Traits) -> bool:
    """Events with an event time, or line items: measures against two or more parents (order lines)."""
    if not t.foreign_keys:
        return False
    if t.event_time:
        return bool(t.measures) or len(t.foreign_keys) >= 2
    # Referenced tables without an event time (products with a category and a price) are dimensions.
    return bool(t.measures) and len(t.foreign_keys) >= 2 and not t.referenced_by


def _is_bridge(t: _Traits) -> bool:
    key = set(t.table.primary_key)
    keyed_by_links = not key or key <= set(t.foreign_keys)
    return (
        len(t.foreign_keys) >= 2
        and len(t.parents) >= 2
        and keyed_by_links
        and not t.measures
        and len(t.others) <= _BRIDGE_MAX_OTHERS
    )


def _bridge_reasons(t: _Traits) -> list[str]:
    keyed = "form the key" if t.table.primary_key else "and no other key"
    reasons = [f"{_count(len(t.foreign_keys), 'foreign key')} {keyed} ({', '.join(t.foreign_keys)})"]
    reasons.append(f"links {_and(t.parents)}")
    reasons.append(_count(len(t.others), "other column") if t.others else "no other columns")
    return reasons


def _fact_reasons(t: _Traits) -> list[str]:
    reasons = [_count(len(t.foreign_keys), "foreign key")]
    if t.measures:
        reasons.append(f"{_count(len(t.measures), 'numeric measure')} ({', '.join(t.measures)})")
    reasons.append(f"event timestamp {t.event_time}" if t.event_time else "line items of its parents")
    return reasons + _rows_reason(t)


def _dimension_reasons(t: _Traits) -> list[str]:
    reasons = [f"referenced by {_count(t.referenced_by, 'table')}"]
    if t.texts:
        reasons.append(f"{_count(len(t.texts), 'descriptive text column')} ({', '.join(t.texts)})")
    if len(t.table.primary_key) == 1:
        reasons.append(f"one key {t.table.primary_key[0]}")
    return reasons + _rows_reason(t)


def _other_reasons(t: _Traits) -> list[str]:
    if not t.foreign_keys:
        return ["no relationships"] + _rows_reason(t)
    missing = "no event timestamp" if not t.event_time else "no numeric measures"
    return [_count(len(t.foreign_keys), "foreign key"), missing, "not referenced"] + _rows_reason(t)


def _rows_reason(t: _Traits) -> list[str]:
    return [_rows_text(t.rows)] if t.rows is not None else []


def _rows_text(rows: int) -> str:
    """A row count as people say it: 1 row, 1,204 rows, 56k rows, 1.2M rows."""
    if rows < 10_000:
        return _count(rows, "row")
    if rows < 999_500:  # beyond that it would print as "1000k"
        return f"{rows / 1000:.0f}k rows"
    return f"{rows / 1_000_000:.1f}M rows"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _and(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)

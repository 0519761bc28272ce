"""A dimensional reading of a scan, in staged names: which marts and intermediate steps to build.

The scan's roles and relationships decide it:
- every `dimension` table becomes `dim_<table>`, with its lookup parents (other dimensions it
  refers to) flattened in;
- every `fact` table becomes `fct_<table>`, and so does a line table (role `other`) whose rows
  belong to a fact (an order line to its order) and that carries a measure or refers to a
  dimension: its grain is finer, and it inherits its header's dimension keys and event time;
- every `bridge` table becomes `dim_<table>_bridge`: a many-to-many link has no measures and no
  event of its own, so it is not a fact a BI tool should sum; it sits with the dimensions it
  links, named as Kimball names it, and dbt-project-evaluator sees a `dim_` mart;
- a fact model that finer-grained facts refer to gets their measures rolled up to its grain
  through `int_<child>__aggregated_to_<fact>` (an intermediate step: it changes the grain).

Only single-column relationships between staged tables are used. A join is made only on a key
of the parent (declared, or profiled exactly as unique), so it cannot multiply rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from cartridge_core.generation.naming import MAX_MODEL_NAME, entity_name, snake_case
from cartridge_core.generation.staging import StagedColumn, StagingModel
from cartridge_core.generation.tests import KeyColumn, key_columns
from cartridge_core.models import Relationship, Scan, TableProfile, TableRoleKind, TypeFamily
from cartridge_core.warehouse.types import column_family

TableKey = tuple[str, str]  # (schema, warehouse table name)
PlannedKind = Literal["dimension", "fact", "bridge", "rollup"]

MEASURE_FAMILIES: frozenset[TypeFamily] = frozenset({"decimal", "float"})
TIME_FAMILIES: frozenset[TypeFamily] = frozenset({"timestamp", "timestamptz", "date"})
_KEY_SUFFIXES = ("_id", "_key", "_uuid", "_fk")
# Bookkeeping times say when a row was written, not when the event happened (as roles.py reads them).
_AUDIT_TIMES = ("created", "updated", "modified", "deleted", "loaded", "inserted", "synced", "etl")


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A single-column relationship between two staged tables, with both columns' staged names."""

    relationship: Relationship
    child: StagingModel
    parent: StagingModel
    child_column: str
    parent_column: str
    joinable: bool  # the parent column is a key: joining on it keeps the child's rows as they are

    @property
    def stem(self) -> str:
        """What the child column calls the parent: `billing_customer_id` -> billing_customer."""
        for suffix in _KEY_SUFFIXES:
            if self.child_column.endswith(suffix) and len(self.child_column) > len(suffix):
                return self.child_column[: -len(suffix)]
        return entity_name(self.parent.table_name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One model to generate: its kind, the table it is built on, and (a rollup) the fact it feeds."""

    kind: PlannedKind
    table: TableKey
    name: str
    domain: str
    into: TableKey | None = None  # rollup: the fact whose grain it rolls up to


class Star:
    """The scan's tables, roles, keys and relationships, looked up by table, in staged names."""

    def __init__(self, scan: Scan, staging: Sequence[StagingModel]) -> None:
        self.scan = scan
        self.staged: dict[TableKey, StagingModel] = {_key(m): m for m in staging}
        self.roles: dict[TableKey, TableRoleKind] = {(r.schema, r.table): r.role for r in scan.roles}
        profiles = {(p.schema, p.table): p for p in scan.profiles}
        self._keys = {k: self._key_columns(m, profiles.get(k)) for k, m in self.staged.items()}
        self.outgoing: dict[TableKey, list[Link]] = {}
        self.incoming: dict[TableKey, list[Link]] = {}
        # In column order, whatever order the relationships came in: the output must not depend on it.
        for link in sorted(self._links(scan.relationships), key=_link_order):
            self.outgoing.setdefault(_key(link.child), []).append(link)
            self.incoming.setdefault(_key(link.parent), []).append(link)

    def role(self, table: TableKey) -> TableRoleKind:
        return self.roles.get(table, "other")

    def key(self, table: TableKey) -> tuple[StagedColumn, KeyColumn] | None:
        """The staged column identifying a row of the table (its first single-column key) and why."""
        keys = self._keys.get(table, [])
        staged = _staged(self.staged[table], keys[0].name) if keys else None
        return (staged, keys[0]) if staged else None

    def lookups(self, table: TableKey) -> list[Link]:
        """Joinable links from a table to other dimensions: lookups to flatten into its dimension."""
        return [
            link
            for link in self.outgoing.get(table, ())
            if link.joinable and self.role(_key(link.parent)) == "dimension" and _key(link.parent) != table
        ]

    def headers(self, table: TableKey) -> list[Link]:
        """Joinable links from a table to facts its rows belong to (an order line's order)."""
        return [
            link
            for link in self.outgoing.get(table, ())
            if link.joinable and self.role(_key(link.parent)) == "fact" and _key(link.parent) != table
        ]

    def to_dimensions(self, table: TableKey) -> list[Link]:
        """Links from a table to dimensions (joinable or not): its foreign keys to dimension models."""
        return [link for link in self.outgoing.get(table, ()) if self.role(_key(link.parent)) == "dimension"]

    def is_line_fact(self, table: TableKey) -> bool:
        """A table of role `other` whose rows belong to a fact and that measures or refers to something."""
        if self.role(table) != "other" or not self.headers(table):
            return False
        return bool(self.to_dimensions(table) or measures(self.staged[table]))

    def _key_columns(self, model: StagingModel, profile: TableProfile | None) -> list[KeyColumn]:
        return [k for k in key_columns(self.scan, model.table, profile) if _staged(model, k.name)]

    def _joinable(self, table: TableKey, column: str) -> bool:
        model = self.staged[table]
        declared = {k[0] for k in (model.table.primary_key, *model.table.unique_keys) if len(k) == 1}
        if column in declared:
            return True
        profile = next((p for p in self.scan.profiles if (p.schema, p.table) == table), None)
        exact = profile is not None and profile.method == "exact"
        return exact and any(k.name == column for k in self._keys.get(table, ()))

    def _links(self, relationships: Iterable[Relationship]) -> Iterable[Link]:
        for r in relationships:
            child = self.staged.get((r.child_schema, r.child_table))
            parent = self.staged.get((r.parent_schema, r.parent_table))
            if child is None or parent is None or len(r.child_columns) != 1 or len(r.parent_columns) != 1:
                continue
            child_column = _staged(child, r.child_columns[0])
            parent_column = _staged(parent, r.parent_columns[0])
            if child_column is None or parent_column is None or child is parent:
                continue
            yield Link(
                relationship=r,
                child=child,
                parent=parent,
                child_column=child_column.name,
                parent_column=parent_column.name,
                joinable=self._joinable(_key(parent), r.parent_columns[0]),
            )


def plan_models(star: Star, *, domain: str | None) -> list[Planned]:
    """The models to generate, named, in a stable order: dimensions, bridges, facts, rollups."""
    wanted: list[tuple[PlannedKind, TableKey, TableKey | None]] = []
    tables = sorted(star.staged, key=lambda k: (star.staged[k].source_name, star.staged[k].table_name))
    wanted += [("dimension", t, None) for t in tables if star.role(t) == "dimension"]
    wanted += [("bridge", t, None) for t in tables if star.role(t) == "bridge"]
    facts = [t for t in tables if star.role(t) == "fact" or star.is_line_fact(t)]
    wanted += [("fact", t, None) for t in facts]
    wanted += [("rollup", _key(link.child), t) for t in facts for link in rollup_links(star, t, facts)]
    names = _names(star, wanted)
    return [
        Planned(kind=kind, table=table, into=into, name=name, domain=domain or star.staged[table].source_name)
        for (kind, table, into), name in zip(wanted, names, strict=True)
    ]


def rollup_links(star: Star, fact: TableKey, facts: Sequence[TableKey]) -> list[Link]:
    """The finer facts referring to `fact` by its key (one link each, the first by column order)."""
    found: dict[TableKey, Link] = {}
    for link in star.incoming.get(fact, ()):
        child = _key(link.child)
        if link.joinable and child in facts and child != fact and child not in found:
            found[child] = link
    return [found[child] for child in sorted(found, key=lambda k: star.staged[k].table_name)]


def _names(star: Star, wanted: Sequence[tuple[PlannedKind, TableKey, TableKey | None]]) -> list[str]:
    """Model names; names two sources would share are qualified with the source name."""
    plain = [_name(star, kind, table, into, qualified=False) for kind, table, into in wanted]
    clashing = {name for name in plain if plain.count(name) > 1}
    return [
        _bounded(_name(star, kind, table, into, qualified=True) if name in clashing else name)
        for (kind, table, into), name in zip(wanted, plain, strict=True)
    ]


def _name(star: Star, kind: PlannedKind, table: TableKey, into: TableKey | None, *, qualified: bool) -> str:
    model = star.staged[table]
    stem = f"{model.source_name}_{model.table_name}" if qualified else model.table_name
    if kind == "dimension":
        return f"dim_{stem}"
    if kind == "bridge":
        return f"dim_{stem}_bridge"
    if kind == "fact":
        return f"fct_{stem}"
    assert into is not None
    return f"int_{stem}__aggregated_to_{star.staged[into].table_name}"


def _bounded(name: str) -> str:
    """`name`, or past 63 characters (PostgreSQL's limit), cut and ended with a stable hash."""
    if len(name) <= MAX_MODEL_NAME:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_MODEL_NAME - len(digest) - 1].rstrip('_')}_{digest}"


def measures(model: StagingModel) -> list[StagedColumn]:
    """Decimal and float columns that are not keys: what a fact measures."""
    return [c for c in model.columns if column_family(c.column) in MEASURE_FAMILIES and not key_named(c.name)]


def event_times(model: StagingModel) -> list[StagedColumn]:
    """Date and time columns that date the event, not the row's bookkeeping (`created_at`, ...)."""
    return [
        c
        for c in model.columns
        if column_family(c.column) in TIME_FAMILIES and not audit_named(c.name) and not key_named(c.name)
    ]


def key_named(name: str) -> bool:
    snake = snake_case(name)
    return snake in {"id", "key"} or snake.endswith(_KEY_SUFFIXES)


def audit_named(name: str) -> bool:
    snake = snake_case(name).lstrip("_")
    return snake.startswith(_AUDIT_TIMES) or snake.endswith(("_synced", "_loaded_at"))


def _link_order(link: Link) -> tuple[str, str, int, str, str, str]:
    position = next(c.column.position for c in link.child.columns if c.name == link.child_column)
    child, parent = link.child, link.parent
    return (
        child.source_name,
        child.table_name,
        position,
        link.child_column,
        parent.source_name,
        parent.table_name,
    )


def _key(model: StagingModel) -> TableKey:
    return (model.table.schema, model.table.name)


def table_key(model: StagingModel) -> TableKey:
    """The (schema, table) a staging model stages."""
    return _key(model)


def _staged(model: StagingModel, warehouse_name: str) -> StagedColumn | None:
    return next((c for c in model.columns if c.column.name == warehouse_name), None)

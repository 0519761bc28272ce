"""Relationships nobody declared: guessed from column names, then verified in the warehouse.

A child column such as `customer_id`, `CustomerID`, `fk_customer` or `billing_customer_id` names
the table it refers to; the parent must hold a key-like column of a compatible type. Each guess is
then checked by containment (how many non-null child values are found in the parent column), which
the warehouse layer measures in SQL. Declared foreign keys always win over guesses.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cartridge_core.generation.naming import entity_name, singularize, snake_case
from cartridge_core.models import (
    Column,
    Containment,
    ContainmentQuery,
    Relationship,
    Scan,
    Table,
    TableProfile,
)
from cartridge_core.warehouse.types import column_family

log = logging.getLogger(__name__)

Measure = Callable[[Sequence[ContainmentQuery]], Sequence[Containment]]

# How strongly each spelling of a key column names its parent (1.0 is `<entity>_id`).
_SUFFIXES = (("_id", 1.0), ("_uuid", 0.95), ("_key", 0.95), ("_fk", 0.95), ("_code", 0.85))
_PREFIXES = (("fk_", 0.95), ("id_", 0.95))
_GLUED_ID = 0.9  # `customerid`: no word boundary, so weaker than `customer_id`
_ROLE_NAMED = 0.85  # `billing_customer_id`: only the tail of the name matches a table
_PREFIXED_TABLE = 0.95  # `dim_customer` matched as `customer`
_OTHER_SCHEMA = 0.9  # the same name in the child's own schema is the likelier parent
_NEAR_NAME = 0.95  # parent column `customer_key` for child `customer_id`, not the same name
_CEILING = 0.95  # an inferred relationship never reaches the certainty of a declared one
_TABLE_PREFIXES = ("tbl_", "dim_", "raw_", "src_", "stg_", "fct_", "fact_")
_KEY_WORDS = ("id", "key", "code", "uuid")
_APPROXIMATE_UNIQUE = 0.98  # sampled or estimated distinct counts are only roughly the row count


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A child column whose name points at a parent's key-like column of a compatible type."""

    child_schema: str
    child_table: str
    child_column: str
    parent_schema: str
    parent_table: str
    parent_column: str
    name_score: float  # how strongly the names alone suggest the relationship, up to 0.95
    evidence: str  # e.g. "name customer_id matches customers.id"

    @property
    def query(self) -> ContainmentQuery:
        """The containment question that verifies this candidate."""
        return ContainmentQuery(
            child_schema=self.child_schema,
            child_table=self.child_table,
            child_column=self.child_column,
            parent_schema=self.parent_schema,
            parent_table=self.parent_table,
            parent_column=self.parent_column,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Reference:
    """What a child column's name says: the entity it refers to and the key word it used."""

    stem: str
    strength: float
    key_word: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Parent:
    """A table that may be referred to, the names it answers to, and its key-like columns."""

    table: Table
    forms: dict[str, float]  # entity spelling -> strength (1.0, or less for a stripped prefix)
    keys: tuple[Column, ...]


def candidate_relationships(scan: Scan, profiles: Sequence[TableProfile] = ()) -> list[Candidate]:
    """Every child column whose name points at a compatible key-like parent column, best first per column.

    Pure: reads only the scan and the profiles (the scan's own when none are given). Columns
    already in a declared foreign key are skipped: the declaration wins.
    """
    profile_of = {(p.schema, p.table): p for p in (profiles or scan.profiles)}
    parents = [_parent(t, profile_of.get((t.schema, t.name))) for t in scan.tables]
    index = _index(p for p in parents if p.keys)
    declared = _declared_columns(scan)
    found: list[Candidate] = []
    for table in scan.tables:
        own_forms = _table_forms(table.name)
        for column in table.columns:
            if (table.schema, table.name, column.name) not in declared:
                found.extend(_candidates_for(table, column, own_forms, index))
    return found


def infer_relationships(
    scan: Scan,
    measure: Measure,
    *,
    profiles: Sequence[TableProfile] = (),
    min_share: float = 0.95,
) -> tuple[Relationship, ...]:
    """Declared foreign keys, then the candidates whose values the warehouse finds in their parent.

    `measure` answers containment queries in SQL (the warehouse layer's `measure_containment`).
    A child column keeps its best verified parent; one with no non-null values gets none.
    """
    declared = tuple(_declared(scan))
    candidates = candidate_relationships(scan, profiles)
    if not candidates:
        return declared
    measured = {m.query: m for m in measure([c.query for c in candidates])}
    best: dict[tuple[str, str, str], Relationship] = {}
    for candidate in candidates:
        containment = measured.get(candidate.query)
        relationship = _verified(candidate, containment, min_share) if containment else None
        key = (candidate.child_schema, candidate.child_table, candidate.child_column)
        if relationship and (key not in best or relationship.confidence > best[key].confidence):
            best[key] = relationship
    log.info(
        "Verified %d of %d relationship candidates (%d declared)", len(best), len(candidates), len(declared)
    )
    return declared + tuple(best[key] for key in sorted(best))


def _declared(scan: Scan) -> Iterable[Relationship]:
    for table in scan.tables:
        for fk in table.foreign_keys:
            yield Relationship(
                child_schema=table.schema,
                child_table=table.name,
                child_columns=fk.columns,
                parent_schema=fk.ref_schema,
                parent_table=fk.ref_table,
                parent_columns=fk.ref_columns,
                source="declared",
                confidence=1.0,
                evidence=(f"declared foreign key {fk.name}" if fk.name else "declared foreign key",),
            )


def _declared_columns(scan: Scan) -> set[tuple[str, str, str]]:
    return {(t.schema, t.name, column) for t in scan.tables for fk in t.foreign_keys for column in fk.columns}


def _verified(candidate: Candidate, containment: Containment, min_share: float) -> Relationship | None:
    share = containment.share
    if containment.child_non_null == 0 or share < min_share:
        log.debug("Rejected %s: %s", candidate.evidence, _found_text(containment))
        return None
    evidence = (candidate.evidence, _found_text(containment))
    return Relationship(
        child_schema=candidate.child_schema,
        child_table=candidate.child_table,
        child_columns=(candidate.child_column,),
        parent_schema=candidate.parent_schema,
        parent_table=candidate.parent_table,
        parent_columns=(candidate.parent_column,),
        source="inferred",
        confidence=round(candidate.name_score * share, 3),
        evidence=evidence + (("sampled",) if containment.sampled else ()),
    )


def _found_text(containment: Containment) -> str:
    # Floor, not round: "100.0 %" must mean every value was found.
    percent = math.floor(containment.share * 1000) / 10
    return f"{percent:.1f} % of {containment.child_non_null:,} non-null values found"


def _parent(table: Table, profile: TableProfile | None) -> _Parent:
    return _Parent(table=table, forms=_table_forms(table.name), keys=tuple(_key_columns(table, profile)))


def _table_forms(name: str) -> dict[str, float]:
    """The entity names a table answers to: `customers` -> customers, customer; `dim_customer` -> customer."""
    snake = snake_case(name)
    forms = {snake: 1.0, entity_name(snake): 1.0}
    for prefix in _TABLE_PREFIXES:
        if snake.startswith(prefix) and len(snake) > len(prefix):
            bare = snake[len(prefix) :]
            forms.setdefault(bare, _PREFIXED_TABLE)
            forms.setdefault(entity_name(bare), _PREFIXED_TABLE)
    return forms


def _key_columns(table: Table, profile: TableProfile | None) -> Iterable[Column]:
    """Columns that identify a row: a one-column primary or unique key, or profiled as unique and non-null."""
    keys = [k[0] for k in (table.primary_key, *table.unique_keys) if len(k) == 1]
    for column in table.columns:
        if column.name in keys or (profile and _profiled_unique(column, profile)):
            yield column


def _profiled_unique(column: Column, profile: TableProfile) -> bool:
    measured = profile.column(column.name)
    if measured is None or measured.distinct_count is None or profile.row_count <= 0:
        return False
    no_nulls = measured.null_fraction == 0 or (measured.null_fraction is None and not column.nullable)
    if profile.method == "exact":
        return no_nulls and measured.distinct_count == profile.row_count
    return no_nulls and measured.distinct_count >= _APPROXIMATE_UNIQUE * profile.row_count


def _index(parents: Iterable[_Parent]) -> dict[str, list[tuple[_Parent, float]]]:
    index: dict[str, list[tuple[_Parent, float]]] = {}
    for parent in parents:
        for form, strength in parent.forms.items():
            index.setdefault(form, []).append((parent, strength))
    return index


def _reference(column_name: str) -> _Reference | None:
    """The entity a column's name refers to: `customer_id`, `fk_customer`, `CustomerID`, `customerid`."""
    snake = snake_case(column_name)
    strength, key_word = 1.0, "id"
    for prefix, weight in _PREFIXES:
        if snake.startswith(prefix) and len(snake) > len(prefix):
            snake, strength = snake[len(prefix) :], weight
            break
    for suffix, weight in _SUFFIXES:
        if snake.endswith(suffix) and len(snake) > len(suffix):
            key_word = "id" if suffix == "_fk" else suffix[1:]
            return _Reference(stem=snake[: -len(suffix)], strength=min(strength, weight), key_word=key_word)
    if strength < 1.0:  # a prefix alone: `fk_customer`, `id_customer`
        return _Reference(stem=snake, strength=strength, key_word=key_word)
    if snake.endswith("id") and len(snake) > 4:
        return _Reference(stem=snake[:-2], strength=_GLUED_ID, key_word=key_word)
    return None


def _stem_forms(stem: str) -> set[str]:
    """The table names a stem may stand for: itself, its singular, and its plurals (status -> statuses)."""
    plurals = {stem + "s", stem + "es"} | ({stem[:-1] + "ies"} if stem.endswith("y") else set())
    return {stem, singularize(stem), entity_name(stem)} | plurals


def _candidates_for(
    table: Table, column: Column, own_forms: dict[str, float], index: dict[str, list[tuple[_Parent, float]]]
) -> list[Candidate]:
    ref = _reference(column.name)
    if ref is None or _stem_forms(ref.stem) & own_forms.keys():
        return []  # no reference, or the table's own key (`customer_id` in `customers`)
    words = ref.stem.split("_")
    # The whole stem first; only if no table answers to it, its tails (`billing_customer` -> customer).
    for start in range(len(words)):
        stem = "_".join(words[start:])
        matches = [(p, s) for form in sorted(_stem_forms(stem)) for p, s in index.get(form, ())]
        if matches:
            role = 1.0 if start == 0 else _ROLE_NAMED
            found = [c for p, s in matches for c in _pair(table, column, ref, p, s * role)]
            return _best_per_parent(found)
    return []


def _pair(table: Table, column: Column, ref: _Reference, parent: _Parent, strength: float) -> list[Candidate]:
    """The candidates from `column` to the key-like columns of `parent` whose names and types fit."""
    found = []
    same_schema = 1.0 if parent.table.schema == table.schema else _OTHER_SCHEMA
    for key in parent.keys:
        if parent.table is table and key.name == column.name:
            continue
        fit = _parent_fit(snake_case(key.name), snake_case(column.name), ref, parent.forms)
        if fit is None or not _compatible(column, key):
            continue
        where = parent.table.name if same_schema == 1.0 else f"{parent.table.schema}.{parent.table.name}"
        found.append(
            Candidate(
                child_schema=table.schema,
                child_table=table.name,
                child_column=column.name,
                parent_schema=parent.table.schema,
                parent_table=parent.table.name,
                parent_column=key.name,
                name_score=round(_CEILING * ref.strength * strength * fit * same_schema, 3),
                evidence=f"name {column.name} matches {where}.{key.name}",
            )
        )
    return found


def _parent_fit(key: str, child: str, ref: _Reference, forms: dict[str, float]) -> float | None:
    """How well a parent key's name answers the child's: same name or key word best, `<entity>_key` close."""
    if key == child or key == ref.key_word:
        return 1.0
    named = {f"{form}{sep}{word}" for form in forms for word in _KEY_WORDS for sep in ("_", "")}
    return _NEAR_NAME if key in {"id", "key"} or key in named else None


def _compatible(child: Column, parent: Column) -> bool:
    """Same type family; two `other` columns must be spelt alike (compared without length or precision)."""
    family = column_family(child)
    if family != column_family(parent):
        return False
    if family != "other":
        return True
    return _bare_type(child.data_type) == _bare_type(parent.data_type)


def _bare_type(data_type: str) -> str:
    return re.sub(r"\(.*?\)", "", data_type).strip().lower()


def _best_per_parent(found: list[Candidate]) -> list[Candidate]:
    """One candidate per parent table (its best-named key), strongest first, ties in name order."""
    best: dict[tuple[str, str], Candidate] = {}
    for c in found:
        key = (c.parent_schema, c.parent_table)
        if key not in best or c.name_score > best[key].name_score:
            best[key] = c
    return sorted(best.values(), key=lambda c: (-c.name_score, c.parent_schema, c.parent_table))

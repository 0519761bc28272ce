"""Building each mart: its CTEs, joins and columns, with the column docs and proposed tests.

A dimension is its staging model's columns, then each lookup's descriptive columns, prefixed
by what the foreign key calls the lookup (`country_id` -> `country_name`), lookups of lookups
included (snowflake to star). A fact is its staging model's columns, then what its header fact
gives it (the header's dimension keys it lacks, and its event time when it has none), then the
counts and totals of its rollups. A bridge is its staging model's columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cartridge_core.generation.dimensional import (
    Link,
    Planned,
    Star,
    TableKey,
    audit_named,
    event_times,
    key_named,
    table_key,
)
from cartridge_core.generation.intermediate import Rollup
from cartridge_core.generation.mart_sql import Cte, Item, Join, Select, unique_aliases
from cartridge_core.generation.naming import entity_name
from cartridge_core.generation.sql import needs_quotes, quote_identifier
from cartridge_core.generation.staging import StagedColumn, StagingModel
from cartridge_core.generation.tests import composite_key_tests
from cartridge_core.models import ColumnDoc, ModelDoc, SchemaTest

# Lookups of lookups of lookups: deeper snowflakes are rare, and each level widens the dimension.
MAX_LOOKUP_DEPTH = 3
_FLAG_PREFIXES = ("is_", "has_", "was_", "can_", "should_")
_JINJA_OPENERS = ("{{", "{%", "{#")


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What every mart is built from: the star, the staging docs, and the other models' names."""

    star: Star
    described: Mapping[tuple[str, str], str]  # (staging model, staged column) -> description
    dimensions: Mapping[TableKey, str]  # table -> its dimension model's name
    rollups: Mapping[TableKey, Sequence[Rollup]]  # fact table -> the rollups feeding it


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """One model, ready to render: its SQL and its docs."""

    select: Select
    doc: ModelDoc


@dataclass(slots=True)
class _Builder:
    """Collects one model's CTEs, joins and columns, keeping relation and column names unique."""

    base_model: StagingModel
    ctes: list[Cte] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    columns: list[ColumnDoc] = field(default_factory=list)
    relations: set[str] = field(default_factory=set)  # CTE names and join aliases in use
    base: str = ""

    def __post_init__(self) -> None:
        self.base = self.cte(self.base_model.name, self.base_model.table_name)

    def cte(self, model: str, wanted: str) -> str:
        """The CTE selecting from `model`, added once."""
        found = next((c.name for c in self.ctes if c.model == model), None)
        if found is not None:
            return found
        [name] = unique_aliases([wanted], sorted(self.relations))
        self.ctes.append(Cte(name=name, model=model))
        self.relations.add(name)
        return name

    def join(
        self, model: str, wanted: str, alias: str, *, left: str, on: tuple[str, str], as_alias: bool = False
    ) -> str:
        """Left-join `model` as its CTE, or under `alias` if asked or if that CTE is already joined."""
        cte = self.cte(model, wanted)
        in_query = cte == self.base or any(j.alias == cte for j in self.joins)
        name = unique_aliases([alias], sorted(self.relations))[0] if in_query or as_alias else cte
        self.relations.add(name)
        self.joins.append(Join(cte=cte, alias=name, left=left, left_column=on[0], right_column=on[1]))
        return name

    def add(
        self,
        relation: str,
        column: str,
        name: str,
        *,
        description: str | None,
        tests: tuple[SchemaTest, ...] = (),
        coalesce_zero: bool = False,
        skip_if_taken: bool = False,
    ) -> None:
        """Select `relation.column` as `name` (numbered `_2`, ... if taken, or skipped if asked)."""
        taken = {c.name for c in self.columns}
        if name in taken and skip_if_taken:
            return
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        self.items.append(Item(name=unique, relation=relation, column=column, coalesce_zero=coalesce_zero))
        self.columns.append(
            ColumnDoc(name=unique, description=description, tests=tests, quote=needs_quotes(unique))
        )

    def built(self, name: str, description: str) -> Built:
        select = Select(
            ctes=tuple(self.ctes), base=self.base, items=tuple(self.items), joins=tuple(self.joins)
        )
        columns = tuple(self.columns)
        keyed = any(t.kind == "unique" for c in columns for t in c.tests)
        # A table keyed by several columns keeps them under their staged names: its key test follows.
        present = {c.name for c in columns}
        tests = () if keyed else composite_key_tests(self.base_model, present=present)
        return Built(
            select=select, doc=ModelDoc(name=name, description=description, columns=columns, tests=tests)
        )


def build_dimension(ctx: Context, planned: Planned) -> Built:
    """A dimension: the table's columns, then its lookups' descriptive columns, prefixed."""
    model = ctx.star.staged[planned.table]
    b = _Builder(model)
    key_tests = _key_tests(ctx, planned.table)
    for c in model.columns:
        b.add(
            b.base,
            c.name,
            c.name,
            description=_described(ctx, model, c.name),
            tests=key_tests.get(c.name, ()),
        )
    lookups = _flatten(ctx, b, planned.table, b.base, chain="", path=(planned.table,))
    lead = _comment(model) or f"The {_words(model.table_name)} dimension."
    joined = f" With {_and(lookups)} joined in." if lookups else ""
    return b.built(planned.name, f"{lead}{joined} {_grain(model)}")


def _flatten(
    ctx: Context, b: _Builder, table: TableKey, alias: str, *, chain: str, path: tuple[TableKey, ...]
) -> list[str]:
    """Join each lookup of `table` (reached as `alias`) with its descriptive columns; recurse."""
    if len(path) > MAX_LOOKUP_DEPTH:
        return []
    joined: list[str] = []
    for link in ctx.star.lookups(table):
        parent = table_key(link.parent)
        columns = _descriptive(ctx.star, link)
        if parent in path or not columns:
            continue
        # A role-named lookup (`home_address_id`) keeps its role in its own names and its lookups'.
        role_named = bool(chain) or link.stem != entity_name(link.parent.table_name)
        prefix = f"{chain}_{link.stem}" if chain else link.stem
        lookup = b.join(
            link.parent.name,
            link.parent.table_name,
            prefix,
            left=alias,
            on=(link.child_column, link.parent_column),
            as_alias=role_named,
        )
        for c in columns:
            via = f"From {link.parent.table_name}.{c.name}, through {link.child_column}."
            description = _described(ctx, link.parent, c.name) or via
            b.add(lookup, c.name, prefixed(prefix, c.name), description=description)
        joined.append(link.parent.table_name)
        role = (chain or link.stem) if role_named else ""
        joined += _flatten(ctx, b, parent, lookup, chain=role, path=(*path, parent))
    return joined


def _descriptive(star: Star, link: Link) -> list[StagedColumn]:
    """A lookup's columns worth carrying into a dimension: not its keys, nor bookkeeping."""
    key = star.key(table_key(link.parent))
    keys = {link.parent_column, key[0].name if key else ""}
    return [
        c
        for c in link.parent.columns
        if c.name not in keys and not key_named(c.name) and not audit_named(c.name)
    ]


def prefixed(prefix: str, name: str) -> str:
    """`name` of a lookup, said in the dimension: `name` -> `country_name`, `is_eu` -> `is_country_eu`."""
    if name == prefix or name.startswith(f"{prefix}_"):
        return name
    flag = next((p for p in _FLAG_PREFIXES if name.startswith(p) and len(name) > len(p)), None)
    if flag:
        return f"{flag}{prefix}_{name[len(flag) :]}"
    return f"{prefix}_{name}"


def build_fact(ctx: Context, planned: Planned) -> Built:
    """A fact: the table's columns, what its header gives it, and its rollups' counts and totals."""
    model = ctx.star.staged[planned.table]
    b = _Builder(model)
    tests = _key_tests(ctx, planned.table)
    for link in ctx.star.to_dimensions(planned.table):
        tests.setdefault(link.child_column, ())
        tests[link.child_column] += _relationship_test(ctx, link)
    for c in model.columns:
        b.add(b.base, c.name, c.name, description=_described(ctx, model, c.name), tests=tests.get(c.name, ()))
    inherited = _inherit(ctx, b, planned.table, own_times=bool(event_times(model)))
    rollups = ctx.rollups.get(planned.table, ())
    for rollup in rollups:
        wanted = f"{rollup.link.child.table_name}_per_{rollup.fact_entity}"
        joined = b.join(rollup.name, wanted, wanted, left=b.base, on=(rollup.link.parent_column, rollup.key))
        for name, text in rollup.columns:
            b.add(joined, name, name, description=text, coalesce_zero=True)
    lead = _comment(model) or f"The {_words(model.table_name)} fact table."
    notes = [f" With the {_words(entity)}'s {_and(names)}." for entity, names in inherited]
    if rollups:
        rolled = _and([_words(r.link.child.table_name) for r in rollups])
        notes.append(f" With its {rolled} rolled up per {_words(entity_name(model.table_name))}.")
    return b.built(planned.name, f"{lead}{''.join(notes)} {_grain(model)}")


def _inherit(ctx: Context, b: _Builder, table: TableKey, *, own_times: bool) -> list[tuple[str, list[str]]]:
    """Join each header fact for its dimension keys (and event time); (header entity, names) added."""
    added = []
    for link in ctx.star.headers(table):
        header = table_key(link.parent)
        taken = {c.name for c in b.columns}
        keys = [d for d in ctx.star.to_dimensions(header) if d.child_column not in taken]
        times = [] if own_times else [t for t in event_times(link.parent)[:1] if t.name not in taken]
        if not keys and not times:
            continue
        alias = b.join(
            link.parent.name,
            link.parent.table_name,
            link.stem,
            left=b.base,
            on=(link.child_column, link.parent_column),
        )
        for d in keys:
            text = _described(ctx, link.parent, d.child_column)
            b.add(
                alias,
                d.child_column,
                d.child_column,
                description=text,
                tests=_relationship_test(ctx, d),
                skip_if_taken=True,
            )
        for t in times:
            b.add(alias, t.name, t.name, description=_described(ctx, link.parent, t.name), skip_if_taken=True)
        added.append(
            (entity_name(link.parent.table_name), [d.child_column for d in keys] + [t.name for t in times])
        )
    return added


def build_bridge(ctx: Context, planned: Planned) -> Built:
    """A bridge: the table's columns; its key columns not null, its links tested against dimensions."""
    model = ctx.star.staged[planned.table]
    b = _Builder(model)
    links = ctx.star.outgoing.get(planned.table, [])
    keyed = {c.name for c in model.columns if c.column.name in model.table.primary_key}
    keyed = keyed or {link.child_column for link in links}
    for c in model.columns:
        tests: tuple[SchemaTest, ...] = ()
        if c.name in keyed and not c.column.nullable:
            tests += (SchemaTest(kind="not_null", evidence="declared NOT NULL"),)
        for link in links:
            if link.child_column == c.name and ctx.star.role(table_key(link.parent)) == "dimension":
                tests += _relationship_test(ctx, link)
        b.add(b.base, c.name, c.name, description=_described(ctx, model, c.name), tests=tests)
    parents = list(dict.fromkeys(_words(link.parent.table_name) for link in links))
    lead = _comment(model) or f"Links {_and(parents)}, many to many."
    stems = list(dict.fromkeys(_words(link.stem) for link in links if link.child_column in keyed))
    grain = f"One row per {_and(stems)}." if len(stems) > 1 else _grain(model)
    return b.built(planned.name, f"{lead} {grain}")


def _key_tests(ctx: Context, table: TableKey) -> dict[str, tuple[SchemaTest, ...]]:
    found = ctx.star.key(table)
    if found is None:
        return {}
    staged, key = found
    tests = [SchemaTest(kind="unique", evidence=key.reason)]
    if key.not_null:
        tests.append(SchemaTest(kind="not_null", evidence=key.reason))
    return {staged.name: tuple(tests)}


def _relationship_test(ctx: Context, link: Link) -> tuple[SchemaTest, ...]:
    dimension = ctx.dimensions.get(table_key(link.parent))
    if dimension is None:
        return ()
    column = link.parent_column
    r = link.relationship
    return (
        SchemaTest(
            kind="relationships",
            to=f"ref('{dimension}')",
            field=quote_identifier(column) if needs_quotes(column) else column,
            evidence="; ".join(r.evidence) or f"{r.source} foreign key",
        ),
    )


def _described(ctx: Context, model: StagingModel, column: str) -> str | None:
    return ctx.described.get((model.name, column))


def _comment(model: StagingModel) -> str | None:
    text = (model.table.comment or "").strip()
    if not text:
        return None
    # dbt renders descriptions with Jinja: a comment mentioning `{{` would break the project's parse.
    text = text if text.endswith((".", "!", "?")) else f"{text}."
    return "{% raw %}" + text + "{% endraw %}" if any(o in text for o in _JINJA_OPENERS) else text


def _grain(model: StagingModel) -> str:
    return f"One row per {_words(entity_name(model.table_name))}."


def _words(snake: str) -> str:
    return snake.replace("_", " ")


def _and(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)

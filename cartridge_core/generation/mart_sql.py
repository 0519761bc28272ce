"""The SQL of intermediate and mart models in dbt Labs' style: a CTE per ref at the top, then `final`.

    with

    orders as (

        select * from {{ ref('stg_shop__orders') }}

    ),

    final as (

        select ...

        from orders

        left join customers
            on orders.customer_id = customers.customer_id

    )

    select * from final

Columns are qualified by their CTE (or join alias) only when the model joins; identifiers are
quoted only where the engines need it (`generation.sql`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cartridge_core.generation.sql import sql_identifier


@dataclass(frozen=True, slots=True, kw_only=True)
class Cte:
    """`<name> as (select * from {{ ref('<model>') }})`."""

    name: str
    model: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Join:
    """`left join <cte> [as <alias>] on <left>.<left_column> = <alias>.<right_column>`."""

    cte: str
    alias: str
    left: str  # the alias of the relation joined to
    left_column: str
    right_column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One selected column: `<relation>.<column> as <name>`, or an aggregate `<expression> as <name>`.

    `expression` is SQL written by Cartridge (`count(*)`, `sum(...)`), used as given.
    """

    name: str
    relation: str = ""
    column: str = ""
    expression: str | None = None
    coalesce_zero: bool = False  # `coalesce(<relation>.<column>, 0)`: a count or total of nothing


@dataclass(frozen=True, slots=True, kw_only=True)
class Select:
    """A model: its CTEs, the relation `final` selects from, its columns, joins and grouping."""

    ctes: tuple[Cte, ...]
    base: str
    items: tuple[Item, ...]
    joins: tuple[Join, ...] = ()
    not_null: str | None = None  # `where <column> is not null`
    group_by_first: bool = False  # `group by 1`


def render_model_sql(model: Select) -> str:
    """The model's SQL text, ending in a newline; the same `Select` gives the same bytes."""
    ctes = "".join(_cte(c) for c in model.ctes)
    return f"with\n\n{ctes}final as (\n\n{_final_body(model)}\n\n)\n\nselect * from final\n"


def _cte(cte: Cte) -> str:
    # Model names are snake_case (generated), so they need no escaping inside the Jinja string.
    ref = "{{ ref('" + cte.model + "') }}"
    return f"{cte.name} as (\n\n    select * from {ref}\n\n),\n\n"


def _final_body(model: Select) -> str:
    qualify = bool(model.joins)
    items = ",\n".join(f"        {_item(item, qualify)}" for item in model.items)
    lines = [f"    select\n{items}", "", f"    from {model.base}"]
    for join in model.joins:
        lines += ["", _join(join)]
    if model.not_null:
        lines.append(f"    where {sql_identifier(model.not_null)} is not null")
    if model.group_by_first:
        lines.append("    group by 1")
    return "\n".join(lines)


def _item(item: Item, qualify: bool) -> str:
    if item.expression is not None:
        return f"{item.expression} as {sql_identifier(item.name)}"
    reference = column_reference(item.relation, item.column, qualify=qualify)
    if item.coalesce_zero:
        return f"coalesce({reference}, 0) as {sql_identifier(item.name)}"
    if item.column == item.name:
        return reference
    return f"{reference} as {sql_identifier(item.name)}"


def column_reference(relation: str, column: str, *, qualify: bool) -> str:
    """`relation.column` (or the bare column), quoted where needed."""
    bare = sql_identifier(column)
    return f"{relation}.{bare}" if qualify else bare


def _join(join: Join) -> str:
    joined = join.cte if join.alias == join.cte else f"{join.cte} as {join.alias}"
    left = column_reference(join.left, join.left_column, qualify=True)
    right = column_reference(join.alias, join.right_column, qualify=True)
    return f"    left join {joined}\n        on {left} = {right}"


def aggregate(function: str, column: str | None = None) -> str:
    """`count(*)`, or `<function>(<column>)` with the column quoted where needed."""
    return f"{function}(*)" if column is None else f"{function}({sql_identifier(column)})"


def unique_aliases(wanted: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """Relation names usable unquoted in the SQL, unique among themselves and `taken`, in order.

    A name that would need quotes (a reserved word such as `order`) or is `final` gets `_rows`.
    """
    used = set(taken)
    names = []
    for name in wanted:
        base = f"{name}_rows" if name == "final" or sql_identifier(name) != name else name
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        names.append(candidate)
    return names

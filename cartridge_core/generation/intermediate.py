"""Intermediate models that roll a finer fact up to a coarser one: `int_<child>__aggregated_to_<fact>`.

dbt Labs keeps a change of grain out of the marts: the rollup is its own step, one row per key
of the fact it feeds, and the fact joins it. It counts the child rows and sums their additive
measures (amounts, fees, quantities); prices, rates and percentages are left out, since their
sum means nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from cartridge_core.generation.dimensional import Link, key_named
from cartridge_core.generation.mart_sql import Cte, Item, Select, aggregate, unique_aliases
from cartridge_core.generation.naming import entity_name
from cartridge_core.generation.staging import StagedColumn
from cartridge_core.models import ColumnDoc, ModelDoc, SchemaTest
from cartridge_core.warehouse.types import column_family

# Words in a measure's name that say it is per unit or relative, so a sum of it means nothing.
_NOT_ADDITIVE = ("price", "rate", "ratio", "pct", "percent", "avg", "average", "mean", "unit_")
# Integer columns that count things are additive; other integers (years, ranks, codes) are not.
_QUANTITY_WORDS = ("quantity", "qty", "units")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollup:
    """One rollup model: the link it aggregates along and the columns it gives the fact."""

    name: str
    link: Link  # child -> the fact; the child's rows are grouped by the link's child column
    columns: tuple[tuple[str, str], ...]  # (name, description) of each count or total

    @property
    def key(self) -> str:
        """The column the rollup is grouped by (the child's foreign key), one row per value."""
        return self.link.child_column

    @property
    def child_entity(self) -> str:
        return entity_name(self.link.child.table_name)

    @property
    def fact_entity(self) -> str:
        return entity_name(self.link.parent.table_name)


def plan_rollup(name: str, link: Link) -> Rollup:
    """The rollup of `link`'s child to its parent fact: a row count and a total per additive measure."""
    child = entity_name(link.child.table_name)
    fact = _words(entity_name(link.parent.table_name))
    plural = _words(link.child.table_name)
    columns = [(f"{child}_count", f"Number of {plural} of the {fact}.")]
    for measure in additive_measures(link):
        columns.append(
            (total_name(child, measure.name), f"Sum of {measure.name} over the {fact}'s {plural}.")
        )
    return Rollup(name=name, link=link, columns=tuple(columns))


def additive_measures(link: Link) -> list[StagedColumn]:
    """The child's columns a sum makes sense of: decimal and float measures, and integer quantities."""
    found = []
    for staged in link.child.columns:
        family = column_family(staged.column)
        if key_named(staged.name) or staged.name == link.child_column:
            continue
        if family in ("decimal", "float") and not any(word in staged.name for word in _NOT_ADDITIVE):
            found.append(staged)
        elif family == "integer" and (staged.name.endswith("_count") or staged.name in _QUANTITY_WORDS):
            found.append(staged)
    return found


def total_name(entity: str, measure: str) -> str:
    """`total_payment_amount` for a payment's `amount`; `total_payment_fee` for `payment_fee`."""
    return f"total_{measure}" if measure.startswith(f"{entity}_") else f"total_{entity}_{measure}"


def rollup_select(rollup: Rollup) -> Select:
    """The rollup's SQL: the child's rows with a key, grouped by it."""
    [cte] = unique_aliases([rollup.link.child.table_name])
    items = [
        Item(name=rollup.key, relation=cte, column=rollup.key),
        Item(name=rollup.columns[0][0], expression=aggregate("count")),
    ]
    measures = additive_measures(rollup.link)
    for (name, _), measure in zip(rollup.columns[1:], measures, strict=True):
        items.append(Item(name=name, expression=aggregate("sum", measure.name)))
    return Select(
        ctes=(Cte(name=cte, model=rollup.link.child.name),),
        base=cte,
        items=tuple(items),
        not_null=rollup.key,
        group_by_first=True,
    )


def rollup_doc(rollup: Rollup) -> ModelDoc:
    """The rollup's description, grain and columns; its key is unique and not null by construction."""
    plural, fact = _words(rollup.link.child.table_name), _words(rollup.fact_entity)
    grouped = f"grouped by {rollup.key}"
    key = ColumnDoc(
        name=rollup.key,
        description=f"The {fact} the {plural} belong to.",
        tests=(SchemaTest(kind="unique", evidence=grouped), SchemaTest(kind="not_null", evidence=grouped)),
    )
    columns = (key, *(ColumnDoc(name=name, description=text) for name, text in rollup.columns))
    description = (
        f"{plural.capitalize()} rolled up to {_words(rollup.link.parent.table_name)}: "
        f"how many there are and their totals. One row per {fact}."
    )
    return ModelDoc(name=rollup.name, description=description, columns=columns)


def _words(snake: str) -> str:
    return snake.replace("_", " ")

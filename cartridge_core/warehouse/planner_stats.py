"""PostgreSQL's planner statistics (pg_stats) read back as a table profile, when they are fresh.

ANALYZE reads a row-level sample of 30,000 rows (at the default statistics target) and keeps per
column the null fraction, a distinct-count estimate, the most common values with their
frequencies and a histogram of the others: read back, they profile a table of any size in a few
milliseconds. Its distinct counts come from Haas and Stokes' Duj1 estimator, which undercounts
long-tailed columns, so profiling only uses them for tables too large to sample cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cartridge_core.models import ColumnProfile, Table, TableProfile, TypeFamily
from cartridge_core.warehouse.sql import MAX_TEXT, ORDERED, cut_text, relation

Run = Callable[[str, "dict[str, Any] | None"], "list[tuple[Any, ...]]"]

# Statistics are fresh when ANALYZE ran and changed rows since are at most this share of the
# table: autovacuum's own default (autovacuum_analyze_scale_factor).
STALE_SHARE = 0.1

FRESHNESS_SQL = """
select greatest(c.reltuples, 0), coalesce(st.n_mod_since_analyze, 0),
       coalesce(st.last_analyze, st.last_autoanalyze) is not null
from pg_class c left join pg_stat_all_tables st on st.relid = c.oid
where c.oid = to_regclass(%(relation)s)
"""


def planner_statistics(
    run: Run,
    table: Table,
    families: Sequence[TypeFamily],
    *,
    top_n: int,
    low_cardinality: int,
    sample_values: int,
) -> TableProfile | None:
    """The table's profile from pg_stats, or None when the statistics are missing or stale."""
    found = run(FRESHNESS_SQL, {"relation": relation(table.schema, table.name)})
    if not found:
        return None
    reltuples, modified, analysed = found[0]
    if not analysed or modified > STALE_SHARE * reltuples:
        return None
    rows = {row[0]: row[1:] for row in run(*_columns_sql(table, families))} if table.columns else {}
    if len(rows) < len(table.columns):  # a column added since ANALYZE
        return None
    rows_total = round(float(reltuples))
    return TableProfile(
        schema=table.schema,
        table=table.name,
        row_count=rows_total,
        method="statistics",
        columns=tuple(
            _column_profile(c.name, rows[i], rows_total, top_n, low_cardinality, sample_values)
            for i, c in enumerate(table.columns)
        ),
        note="From the planner's statistics (ANALYZE); distinct counts are estimates.",
    )


def _columns_sql(table: Table, families: Sequence[TypeFamily]) -> tuple[str, dict[str, Any]]:
    """One statement: per column, its pg_stats row with min and max from values and bounds."""
    # A partitioned table's statistics cover its partitions: pg_stats marks them `inherited`.
    inherited = "true" if table.kind == "partitioned_table" else "false"
    params: dict[str, Any] = {"schema": table.schema, "table": table.name}
    branches = []
    for i, (column, family) in enumerate(zip(table.columns, families, strict=True)):
        params[f"c{i}"] = column.name
        branches.append(
            f"select {i}, s.null_frac, s.n_distinct, cast(cast(s.most_common_vals as text) as text[]), "
            f"s.most_common_freqs, cast(cast(s.histogram_bounds as text) as text[]), "
            f"{_range(column.data_type, family)} from pg_stats s where s.schemaname = %(schema)s "
            f"and s.tablename = %(table)s and s.attname = %(c{i})s and s.inherited = {inherited}"
        )
    return " union all ".join(branches), params


def _range(data_type: str, family: TypeFamily) -> str:
    """Min and max over the most common values and the histogram bounds, in the column's own type."""
    if family not in ORDERED:
        return "cast(null as text), cast(null as text)"
    low, high = ("bool_and", "bool_or") if family == "boolean" else ("min", "max")
    # The type comes from format_type(), which quotes what needs quoting.
    values = (
        f"cast(cast(s.most_common_vals as text) as {data_type}[]) "
        f"|| cast(cast(s.histogram_bounds as text) as {data_type}[])"
    )
    return ", ".join(f"(select {cut_text(f'{fn}(v)')} from unnest({values}) as u(v))" for fn in (low, high))


def _column_profile(
    name: str, row: tuple[Any, ...], rows: int, top_n: int, low_cardinality: int, sample_values: int
) -> ColumnProfile:
    null_frac, n_distinct, common, freqs, bounds, low, high = row
    # A negative n_distinct is minus the share of all rows: it grows with the table.
    distinct = round(n_distinct if n_distinct >= 0 else -n_distinct * rows) if n_distinct else None
    common, freqs, bounds = common or [], freqs or [], bounds or []
    top: tuple[tuple[str, int], ...] = ()
    if distinct is not None and distinct <= low_cardinality:
        top = tuple((value, round(freq * rows)) for value, freq in zip(common, freqs, strict=False))[:top_n]
    spread = [bounds[0], bounds[len(bounds) // 2], bounds[-1]] if bounds else []
    samples = list(dict.fromkeys(v[:MAX_TEXT] for v in [*common, *spread] if v is not None))[:sample_values]
    return ColumnProfile(
        column=name,
        null_fraction=float(null_frac),
        distinct_count=distinct,
        min_value=low,
        max_value=high,
        top_values=top,
        samples=tuple(samples),
    )

"""Profile tables in the warehouse: nulls, distinct counts, ranges, frequent and sample values.

Per table, ONE statement measures every column over the table or a random sample of it (never a
statement per column), and one more reads the most frequent values of the low-cardinality columns
and a few sample values of the others, over the same rows. How rows are read:

- up to `sample_rows` rows: all of them (method `exact`);
- more: a row-level sample of about `Dialect.sample_target` rows (method `sample`), whose distinct
  counts are scaled up to the table by `estimate_distinct`;
- more than `FULL_READ_FACTOR` x `sample_rows`, where reading every page costs too much: PostgreSQL's
  planner statistics when fresh (method `statistics`), else a page-level sample.

Each table has a time budget and each statement the session's statement timeout: a table over
budget gets a profile of what is known and a note, never an exception. Cancellation is checked
between tables.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from cartridge_core.models import (
    ColumnProfile,
    ProfileMethod,
    Table,
    TableProfile,
    TypeFamily,
    WarehouseTarget,
)
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.warehouse.base import DEFAULT_STATEMENT_TIMEOUT_S
from cartridge_core.warehouse.distinct import ValueCounts, estimate_distinct
from cartridge_core.warehouse.planner_stats import planner_statistics
from cartridge_core.warehouse.sql import (
    GROUPABLE,
    ORDERED,
    Session,
    StatementFailed,
    StatementTimeout,
    cut_text,
    family_of,
    open_session,
    quote,
    relation,
)

log = logging.getLogger(__name__)

LOW_CARDINALITY = 20  # columns with at most this many distinct values get their top values
SAMPLE_VALUES = 3  # sample values kept per column
SAMPLE_READ = 1_000  # rows read per column to find that many different values
# A row-level sample reads every page: 0.06 s per million rows when cached, about 1 s from disk
# (the benchmark table holds 217 MB per million rows), while 200,000 rows of 20 columns are
# profiled exactly in about 1.2 s. Past 25 x sample_rows, reading every page costs more than that.
FULL_READ_FACTOR = 25
MIN_STATEMENT_S = 0.01  # a statement given less time than this is not started
# PostgreSQL allows 1,664 select-list entries and statement one has 8 per column: wider tables are
# measured 150 columns per statement, over the same (seeded) sample.
COLUMNS_PER_STATEMENT = 150


def profile_tables(
    target: WarehouseTarget,
    tables: Sequence[Table],
    *,
    progress: Progress,
    sample_rows: int = 200_000,
    time_budget: float = 10.0,
    top_n: int = 5,
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
) -> tuple[TableProfile, ...]:
    """Profile each table's columns in the warehouse, read-only, within `time_budget` s per table."""
    if not tables:
        return ()
    options = _Options(
        sample_rows=sample_rows, time_budget=time_budget, top_n=top_n, statement_timeout=statement_timeout
    )
    profiles = []
    # The session's own cap (DuckDB's interrupt timer) is the sum of the per-table budgets.
    with open_session(target, session_timeout=time_budget * len(tables) + statement_timeout) as session:
        for index, table in enumerate(tables, start=1):
            check_cancelled(progress)
            progress.report(
                f"Profiling {table.schema}.{table.name} ({index}/{len(tables)})",
                (index - 1) * 100 // len(tables),
            )
            profiles.append(_TableRun(session, table, options).profile())
    return tuple(profiles)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    sample_rows: int
    time_budget: float
    top_n: int
    statement_timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Column:
    """A column as the profiling SQL reads it: its name, family, and the expression grouped."""

    name: str
    family: TypeFamily
    expression: str  # the quoted column, or its text form when the engine cannot group it as is

    @property
    def ordered(self) -> bool:
        return self.family in ORDERED


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    """How a table's rows are read: all of them, or a row- or page-level sample of `fraction`."""

    method: ProfileMethod
    rows: int  # the row count the plan was made from (an estimate unless exact)
    fraction: float = 1.0
    pages: bool = False

    @property
    def percent(self) -> float | None:
        return round(self.fraction * 100, 4) if self.method == "sample" else None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Measured:
    """Statement one's answer: rows read and, per column, non-null count, range and value counts."""

    rows: int
    non_null: tuple[int, ...]
    ranges: tuple[tuple[str | None, str | None], ...]
    counts: tuple[ValueCounts, ...]


class _TableRun:
    """Profiles one table within its time budget."""

    def __init__(self, session: Session, table: Table, options: _Options) -> None:
        self._session = session
        self._table = table
        self._options = options
        self._relation = relation(table.schema, table.name)
        self._deadline = time.monotonic() + options.time_budget
        self._columns = [_column(c.name, family_of(c)) for c in table.columns]

    def profile(self) -> TableProfile:
        """The table's profile; partial, with a note, if a statement timed out or failed."""
        plan = _Plan(method="exact", rows=self._table.row_estimate or 0)
        try:
            plan = self._plan()
            if plan.method == "statistics":
                families = [c.family for c in self._columns]
                found = planner_statistics(
                    self._run,
                    self._table,
                    families,
                    top_n=self._options.top_n,
                    low_cardinality=LOW_CARDINALITY,
                    sample_values=SAMPLE_VALUES,
                )
                if found is not None:
                    return found
                log.debug("No fresh planner statistics for %s: sampling pages", self._relation)
                plan = replace(plan, method="sample")
            plan, measured = self._measure_checked(plan)
        except (StatementTimeout, StatementFailed) as exc:
            return self._unmeasured(plan, self._why(exc, "no column was measured"))
        columns = [self._column_profile(i, plan, measured) for i in range(len(self._columns))]
        note = "Distinct counts scaled from a page-level sample." if plan.pages else None
        try:
            columns = self._add_details(columns, plan)
        except (StatementTimeout, StatementFailed) as exc:
            note = self._why(exc, "top values and samples left out")
        return TableProfile(
            schema=self._table.schema,
            table=self._table.name,
            row_count=measured.rows if plan.method == "exact" else round(measured.rows / plan.fraction),
            method=plan.method,
            sample_percent=plan.percent,
            columns=tuple(columns),
            note=note,
        )

    def _run(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        remaining = self._deadline - time.monotonic()
        if remaining < MIN_STATEMENT_S:
            raise StatementTimeout()
        return self._session.run(sql, params, timeout=min(remaining, self._options.statement_timeout))

    def _plan(self) -> _Plan:
        limit = self._options.sample_rows
        rows = self._table.row_estimate
        if rows is None:  # never analysed, or a view: count, reading no more rows than needed
            probe = f"select count(*) from (select 1 as x from {self._relation} limit {limit + 1}) as probe"
            rows = int(self._run(probe)[0][0])
            if rows > limit:
                rows = int(self._run(f"select count(*) from {self._relation}")[0][0])
        if rows <= limit:
            return _Plan(method="exact", rows=rows)
        fraction = min(limit, self._session.dialect.sample_target) / rows
        pages = rows > FULL_READ_FACTOR * limit
        if pages and self._session.dialect.planner_statistics:
            return _Plan(method="statistics", rows=rows, fraction=fraction, pages=True)
        return _Plan(method="sample", rows=rows, fraction=fraction, pages=pages)

    def _measure_checked(self, plan: _Plan) -> tuple[_Plan, _Measured]:
        """Statement one; read again if the sample shows it was too small or the estimate wrong."""
        measured = self._measure(plan)
        if plan.method != "sample":
            return plan, measured
        if plan.pages and measured.rows < plan.fraction * plan.rows / 4:  # few pages, or near-empty ones
            plan = replace(plan, pages=False)
            measured = self._measure(plan)
        if measured.rows / plan.fraction <= self._options.sample_rows:  # the table shrank since
            plan = _Plan(method="exact", rows=round(measured.rows / plan.fraction))
            measured = self._measure(plan)
        return plan, measured

    def _source(self, plan: _Plan) -> str:
        if plan.method == "exact":
            return self._relation
        return self._session.dialect.sample(
            self._relation, self._table.kind, plan.fraction * 100, pages=plan.pages
        )

    def _measure(self, plan: _Plan) -> _Measured:
        """Statement one (one per COLUMNS_PER_STATEMENT columns of a very wide table)."""
        source, width = self._source(plan), len(self._columns)
        parts = [
            _parse(self._run(aggregate_sql(source, chunk, plan.fraction))[0], len(chunk))
            for chunk in (
                self._columns[i : i + COLUMNS_PER_STATEMENT]
                for i in range(0, max(width, 1), COLUMNS_PER_STATEMENT)
            )
        ]
        return _Measured(
            rows=parts[0].rows,
            non_null=tuple(n for part in parts for n in part.non_null),
            ranges=tuple(r for part in parts for r in part.ranges),
            counts=tuple(c for part in parts for c in part.counts),
        )

    def _column_profile(self, index: int, plan: _Plan, measured: _Measured) -> ColumnProfile:
        low, high = measured.ranges[index]
        return ColumnProfile(
            column=self._columns[index].name,
            null_fraction=None if measured.rows == 0 else 1 - measured.non_null[index] / measured.rows,
            distinct_count=estimate_distinct(measured.counts[index], plan.fraction),
            min_value=low,
            max_value=high,
        )

    def _add_details(self, columns: list[ColumnProfile], plan: _Plan) -> list[ColumnProfile]:
        """Statement two: top values of low-cardinality columns, sample values of the others."""
        wanted = {
            i: (c.distinct_count or 0) <= LOW_CARDINALITY for i, c in enumerate(columns) if c.distinct_count
        }
        if not wanted:
            return columns
        rows = self._run(details_sql(self._source(plan), self._columns, wanted, self._options.top_n))
        top: dict[int, list[tuple[str, int]]] = {}
        seen: dict[int, list[str]] = {}
        for index, value, count in rows:
            if count is not None:
                top.setdefault(index, []).append((value, round(count / plan.fraction)))
            else:
                seen.setdefault(index, []).append(value)
        return [
            replace(
                c,
                top_values=tuple(top.get(i, ())),
                samples=tuple(seen.get(i, ())) or tuple(v for v, _ in top.get(i, ())[:SAMPLE_VALUES]),
            )
            for i, c in enumerate(columns)
        ]

    def _unmeasured(self, plan: _Plan, note: str) -> TableProfile:
        """What is known without a measurement: the row estimate and the column names."""
        return TableProfile(
            schema=self._table.schema,
            table=self._table.name,
            row_count=plan.rows,
            method=plan.method,
            sample_percent=plan.percent,
            columns=tuple(ColumnProfile(column=c.name) for c in self._columns),
            note=note,
        )

    def _why(self, exc: Exception, what: str) -> str:
        if isinstance(exc, StatementTimeout):
            budget, timeout = self._options.time_budget, self._options.statement_timeout
            limit = f"{budget:g} s time budget" if budget <= timeout else f"{timeout:g} s statement timeout"
            note = f"Profiling stopped at the {limit}: {what}."
        else:
            note = f"Profiling failed ({exc}): {what}."
        log.warning("%s: %s", self._relation, note)
        return note


def _column(name: str, family: TypeFamily) -> _Column:
    expression = quote(name) if family in GROUPABLE else f"cast({quote(name)} as text)"
    return _Column(name=name, family=family, expression=expression)


def _parse(row: Sequence[Any], width: int) -> _Measured:
    """Statement one's row: rows read, then (non-null, min, max) per column, then 5 group sums each."""
    groups = 1 + 3 * width
    return _Measured(
        rows=int(row[0]),
        non_null=tuple(int(row[1 + 3 * i]) for i in range(width)),
        ranges=tuple((row[2 + 3 * i], row[3 + 3 * i]) for i in range(width)),
        counts=tuple(
            _value_counts(row[1 + 3 * i], row[groups + 5 * i : groups + 5 * i + 5]) for i in range(width)
        ),
    )


def _value_counts(non_null: Any, groups: Sequence[Any]) -> ValueCounts:
    distinct, singletons, squares, numerator, denominator = (value or 0 for value in groups)
    return ValueCounts(
        non_null=int(non_null),
        distinct=int(distinct),
        singletons=int(singletons),
        sum_squares=float(squares),
        shlosser_numerator=float(numerator),
        shlosser_denominator=float(denominator),
    )


def _range(column: _Column, name: str) -> str:
    if not column.ordered:
        return "cast(null as text), cast(null as text)"
    if column.family == "boolean":  # PostgreSQL has no min(boolean)
        return f"{cut_text(f'bool_and({name})')}, {cut_text(f'bool_or({name})')}"
    return f"{cut_text(f'min({name})')}, {cut_text(f'max({name})')}"


def aggregate_sql(source: str, columns: Sequence[_Column], fraction: float) -> str:
    """Statement one: rows read, and per column non-null count, min, max and its value-group sizes.

    The rows are read once into `s`; each column's values are grouped on their own (a GROUPING
    SETS query spills and runs twice as long in PostgreSQL).
    """
    if not columns:
        return f"select count(*) from {source}"
    keep = ", ".join(f"{c.expression} as c{i}" for i, c in enumerate(columns))
    basics = ", ".join(f"count(c{i}), {_range(c, f'c{i}')}" for i, c in enumerate(columns))
    # (1 - q)^n as exp(n * ln(1 - q)), floored: PostgreSQL raises an error when power() underflows,
    # as it does for a value seen thousands of times in a sample. exp(-700) counts as nothing.
    log_miss = math.log(1 - fraction) if fraction < 1 else -700.0
    miss = [f"exp(greatest({k} * cast({log_miss:.12f} as float8), -700))" for k in ("n", "(n - 1)")]
    groups = [
        f"(select count(*), count(*) filter (where n = 1), sum(n * n), sum({miss[0]}), "
        f"sum(n * {fraction:.12f} * {miss[1]}) "
        f"from (select count(*) as n from s where c{i} is not null group by c{i}) as v) as g{i}"
        for i in range(len(columns))
    ]
    return (
        f"with s as materialized (select {keep} from {source}) "
        f"select * from (select count(*), {basics} from s) as b cross join " + " cross join ".join(groups)
    )


def details_sql(source: str, columns: Sequence[_Column], wanted: dict[int, bool], top_n: int) -> str:
    """Statement two: (column index, value, count) for the top values of low-cardinality columns,
    (column index, value, null) for a few rows' values of the others."""
    keep = ", ".join(f"{columns[i].expression} as c{i}" for i in wanted)
    branches = []
    for i, low in wanted.items():
        if low:
            query = (
                f"select {i} as k, cast(c{i} as text) as v, count(*) as n from s where c{i} is not null "
                f"group by c{i} order by n desc, v limit {top_n}"
            )
        else:
            # The first rows only: PostgreSQL then reads no more of `s` than that.
            rows = f"select {cut_text(f'c{i}')} as v from s where c{i} is not null limit {SAMPLE_READ}"
            query = (
                f"select {i} as k, v, cast(null as bigint) as n "
                f"from (select distinct v from ({rows}) as r) as d limit {SAMPLE_VALUES}"
            )
        branches.append(f"select * from ({query}) as t{i}")
    return f"with s as materialized (select {keep} from {source}) " + " union all ".join(branches)

"""Containment: how many of a child column's non-null values a would-be parent column holds.

Relationship inference asks this for every candidate pair. One statement answers a batch of
questions: each child table and each parent column it names is read once (a CTE), and each
question is a left join of the child's values onto the parent's distinct values, a hash join
that spills to disk rather than a probe per row. Child tables whose catalog row estimate is
above `sample_rows` are read through a row-level sample; the parent side never is (a sampled
parent would turn found values into orphans). Columns of different type families are compared
as text, so a text code against an integer key gives a low share, not an error.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from cartridge_core.models import Containment, ContainmentQuery, TableKind, WarehouseTarget
from cartridge_core.progress import Progress, check_cancelled
from cartridge_core.warehouse.base import DEFAULT_STATEMENT_TIMEOUT_S
from cartridge_core.warehouse.postgres import KINDS  # pg_class.relkind -> kind; DuckDB's rows use it too
from cartridge_core.warehouse.sql import (
    GROUPABLE,
    NUMERIC,
    Session,
    StatementFailed,
    StatementTimeout,
    open_session,
    quote,
    relation,
)
from cartridge_core.warehouse.types import type_family

log = logging.getLogger(__name__)

BATCH_SIZE = 16  # questions per statement: one round trip, and one timeout loses no more than these

# Every column of the named relations, with the relation's kind and row estimate. reltuples is
# -1 until the first ANALYZE; a partitioned parent gets the sum of its leaves' estimates.
CATALOG_SQL = {
    "postgres": """
select n.nspname, c.relname, c.relkind,
       case when c.relkind = 'p' then
           (select sum(greatest(leaf.reltuples, 0)) from pg_partition_tree(c.oid) t
            join pg_class leaf on leaf.oid = t.relid where t.isleaf)
       when c.reltuples >= 0 then c.reltuples end,
       a.attname, format_type(a.atttypid, a.atttypmod)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = any(%(schemas)s) and c.relname = any(%(tables)s)
""",
    "duckdb": """
select c.schema_name, c.table_name, case when t.table_name is null then 'v' else 'r' end,
       t.estimated_size, c.column_name, c.data_type
from duckdb_columns() c
left join duckdb_tables() t
    on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
where c.database_name = current_database()
    and list_contains($schemas, c.schema_name) and list_contains($tables, c.table_name)
""",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Relation:
    """A table as the catalog has it: its kind, row estimate and the type of each column."""

    kind: TableKind
    rows: int | None
    types: dict[str, str]


def measure_containment(
    target: WarehouseTarget,
    queries: Sequence[ContainmentQuery],
    *,
    progress: Progress,
    sample_rows: int = 200_000,
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
) -> tuple[Containment, ...]:
    """For each query, in order: the non-null child values looked at and how many the parent holds.

    A question the warehouse cannot answer (a table or column gone, a statement over its
    timeout) comes back with no values looked at, which relationship inference rejects.
    """
    unique = list(dict.fromkeys(queries))
    if not unique:
        return ()
    batches = (len(unique) + BATCH_SIZE - 1) // BATCH_SIZE
    answers: dict[ContainmentQuery, Containment] = {}
    with open_session(target, session_timeout=statement_timeout * (batches + 1)) as session:
        catalog = _catalog(session, unique, statement_timeout)
        known = [q for q in unique if _missing(q, catalog) is None]
        for q in unique:
            if q not in known:
                log.warning("Containment not measured: %s", _missing(q, catalog))
        known.sort(key=lambda q: (q.child_schema, q.child_table, q.child_column))
        chunks = [known[i : i + BATCH_SIZE] for i in range(0, len(known), BATCH_SIZE)]
        for index, chunk in enumerate(chunks, start=1):
            check_cancelled(progress)
            progress.report(
                f"Measuring containment ({index}/{len(chunks)})", (index - 1) * 100 // len(chunks)
            )
            answers.update(_measure(session, chunk, catalog, sample_rows, statement_timeout))
    return tuple(answers.get(q) or Containment(query=q, child_non_null=0, child_found=0) for q in queries)


def _catalog(
    session: Session, queries: Sequence[ContainmentQuery], timeout: float
) -> dict[tuple[str, str], _Relation]:
    """Kind, row estimate and column types of every table the queries name, in one statement."""
    names = {(q.child_schema, q.child_table) for q in queries} | {
        (q.parent_schema, q.parent_table) for q in queries
    }
    params = {"schemas": sorted({s for s, _ in names}), "tables": sorted({t for _, t in names})}
    found: dict[tuple[str, str], _Relation] = {}
    for schema, table, kind, rows, column, data_type in session.run(
        CATALOG_SQL[session.dialect.name], params, timeout=timeout
    ):
        if (schema, table) in names:
            estimate = None if rows is None else int(rows)
            entry = found.setdefault((schema, table), _Relation(kind=KINDS[kind], rows=estimate, types={}))
            entry.types[column] = data_type
    return found


def _missing(query: ContainmentQuery, catalog: dict[tuple[str, str], _Relation]) -> str | None:
    """Why a query cannot be measured (a table or column not found), or None."""
    for schema, table, column in (
        (query.child_schema, query.child_table, query.child_column),
        (query.parent_schema, query.parent_table, query.parent_column),
    ):
        found = catalog.get((schema, table))
        if found is None:
            return f"table {schema}.{table} not found"
        if column not in found.types:
            return f"column {column} not found in {schema}.{table}"
    return None


def _measure(
    session: Session,
    batch: Sequence[ContainmentQuery],
    catalog: dict[tuple[str, str], _Relation],
    sample_rows: int,
    timeout: float,
) -> dict[ContainmentQuery, Containment]:
    sampled = {
        (q.child_schema, q.child_table): _sampled(catalog[(q.child_schema, q.child_table)], sample_rows)
        for q in batch
    }
    try:
        rows = session.run(batch_sql(session, batch, catalog, sampled), timeout=timeout)
    except (StatementTimeout, StatementFailed) as exc:
        reason = "over the statement timeout" if isinstance(exc, StatementTimeout) else str(exc)
        log.warning("Containment of %d column pairs not measured: %s", len(batch), reason)
        return {}
    return {
        batch[index]: Containment(
            query=batch[index],
            child_non_null=int(looked),
            child_found=int(found),
            sampled=sampled[(batch[index].child_schema, batch[index].child_table)] is not None,
        )
        for index, looked, found in rows
    }


def _sampled(child: _Relation, sample_rows: int) -> float | None:
    """The percentage of the child table to read, or None to read all of it."""
    if child.rows is None or child.rows <= sample_rows:
        return None
    return 100 * sample_rows / child.rows


def batch_sql(
    session: Session,
    batch: Sequence[ContainmentQuery],
    catalog: dict[tuple[str, str], _Relation],
    sampled: dict[tuple[str, str], float | None],
) -> str:
    """One statement answering every query of the batch: rows of (index, looked at, found)."""
    children = list(dict.fromkeys((q.child_schema, q.child_table) for q in batch))
    parents = list(dict.fromkeys(_parent(q, catalog) for q in batch))
    branches, uses = [], Counter[str]()
    for index, q in enumerate(batch):
        child, parent = f"c{children.index((q.child_schema, q.child_table))}", _parent(q, catalog)
        uses.update([child, f"p{parents.index(parent)}"])
        value = f"c.{quote(q.child_column)}"
        key = f"cast({value} as text)" if parent[3] else value
        branches.append(
            f"select {index} as q, count({value}) as looked, count(p.k) as found "
            f"from {child} as c left join p{parents.index(parent)} as p on p.k = {key}"
        )
    ctes = [
        _cte(f"c{n}", _child_rows(session, batch, catalog, sampled, key), uses)
        for n, key in enumerate(children)
    ]
    ctes += [_cte(f"p{n}", _parent_keys(*key), uses) for n, key in enumerate(parents)]
    return "with " + ", ".join(ctes) + " " + " union all ".join(branches)


def _child_rows(
    session: Session,
    batch: Sequence[ContainmentQuery],
    catalog: dict[tuple[str, str], _Relation],
    sampled: dict[tuple[str, str], float | None],
    child: tuple[str, str],
) -> str:
    """The child table's rows (sampled when large), only the columns the batch asks about."""
    source, percent = relation(*child), sampled[child]
    if percent is not None:
        source = session.dialect.sample(source, catalog[child].kind, percent)
    columns = dict.fromkeys(q.child_column for q in batch if (q.child_schema, q.child_table) == child)
    return f"select {', '.join(map(quote, columns))} from {source}"


def _parent_keys(schema: str, table: str, column: str, as_text: bool) -> str:
    """The parent column's distinct non-null values, as text when the child's type differs."""
    value = f"cast({quote(column)} as text)" if as_text else quote(column)
    return f"select distinct {value} as k from {relation(schema, table)} where {quote(column)} is not null"


def _parent(q: ContainmentQuery, catalog: dict[tuple[str, str], _Relation]) -> tuple[str, str, str, bool]:
    """The parent column a query reads, and whether it is compared as text."""
    child_type = catalog[(q.child_schema, q.child_table)].types[q.child_column]
    parent_type = catalog[(q.parent_schema, q.parent_table)].types[q.parent_column]
    return q.parent_schema, q.parent_table, q.parent_column, not _comparable(child_type, parent_type)


def _cte(name: str, body: str, uses: Counter[str]) -> str:
    # Read once when used more than once; otherwise let the planner push the join into it.
    return f"{name} as {'materialized ' if uses[name] > 1 else ''}({body})"


def _comparable(child_type: str, parent_type: str) -> bool:
    """Whether both engines compare the two column types natively (else compare their text)."""
    child, parent = type_family(child_type), type_family(parent_type)
    if child in NUMERIC and parent in NUMERIC:
        return True
    if child == parent and child in GROUPABLE:
        return True
    return _bare(child_type) == _bare(parent_type) and child not in ("json",)


def _bare(data_type: str) -> str:
    return data_type.split("(")[0].strip().lower()

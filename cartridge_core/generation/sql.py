"""The SQL of a staging model in dbt Labs' layout: a `source` CTE, a `renamed` CTE, then `select *`."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words PostgreSQL (15) or DuckDB (2.0) will not read as a column name when unquoted: they either
# reject `select <word> from t` or read it as something else (`user`, `current_date`, `true`).
# Measured against both engines (pg_get_keywords(), duckdb_keywords()); the tests re-measure.
# The rest of SQL:2016's reserved list (`value`, `year`, `date`, ...) is not here on purpose:
# both engines accept those unquoted, and quoting them is noise teams complain about.
# sqlglot is not a dependency, so its keyword tables are not used.
RESERVED_WORDS = frozenset(
    """
    all analyse analyze and anti any array as asc asof asymmetric at authorization binary both by
    case cast check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user default
    deferrable desc describe distinct do else end except false fetch for foreign freeze from full
    glob grant group having ilike in initially inner intersect into is isnull join lambda lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only or
    order outer overlaps pivot pivot_longer pivot_wider placing positional primary qualify
    references returning right select semi session_user show similar some summarize symmetric
    system_user table tablesample then to trailing true union unique unpack unpivot user using
    variadic verbose when where window with
    """.split()
)
# Both engines fold unquoted identifiers to lowercase, so only these stay as written unquoted.
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*\Z")
_JINJA_OPENERS = ("{{", "{%", "{#")


def needs_quotes(identifier: str) -> bool:
    """Whether `identifier` must be double-quoted to mean itself in PostgreSQL and DuckDB."""
    return not _PLAIN_IDENTIFIER.match(identifier) or identifier in RESERVED_WORDS


def quote_identifier(identifier: str) -> str:
    """`identifier` in double quotes, inner double quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_identifier(identifier: str) -> str:
    """`identifier` as it must be written in SQL: bare when that is safe, quoted otherwise."""
    text = quote_identifier(identifier) if needs_quotes(identifier) else identifier
    if any(opener in text for opener in _JINJA_OPENERS):
        # dbt renders model files with Jinja; a column called `a{{b` must reach SQL untouched.
        return "{% raw %}" + text + "{% endraw %}"
    return text


def render_staging_sql(*, source_name: str, table_name: str, columns: Sequence[tuple[str, str]]) -> str:
    """The staging model for one source table; `columns` holds (warehouse name, staged name) in order."""
    # source_name and table_name are snake_case, so they need no escaping inside the Jinja string.
    source_call = "{{ source('" + source_name + "', '" + table_name + "') }}"
    return (
        "with\n\n"
        "source as (\n\n"
        f"    select * from {source_call}\n\n"
        "),\n\n"
        "renamed as (\n\n"
        f"{_select_list(columns)}\n\n"
        "    from source\n\n"
        ")\n\n"
        "select * from renamed\n"
    )


def _select_list(columns: Sequence[tuple[str, str]]) -> str:
    if not columns:  # PostgreSQL allows a table without columns; a bare `select` would not run
        return "    select *"
    items = ",\n".join(f"        {_select_item(name, staged)}" for name, staged in columns)
    return f"    select\n{items}"


def _select_item(name: str, staged: str) -> str:
    if name == staged:
        return sql_identifier(name)
    return f"{sql_identifier(name)} as {sql_identifier(staged)}"

"""Staging SQL: identifier quoting against the real engines, and the dbt Labs layout."""

from __future__ import annotations

import duckdb
import psycopg2
import pytest

from cartridge_core.generation.sql import (
    RESERVED_WORDS,
    needs_quotes,
    quote_identifier,
    render_staging_sql,
    sql_identifier,
)
from tests.conftest import PG_HOST, PG_PORT, PG_USER

# Words some engines read as values or functions rather than keywords (`select user` is the session user).
SQL_VALUE_WORDS = (
    "current_catalog current_date current_role current_schema current_time current_timestamp "
    "current_user localtime localtimestamp session_user system_user user"
).split()
# Reserved in newer engine versions than the ones in CI (PostgreSQL 16 made system_user reserved).
NEWER_ENGINE_WORDS = {"system_user"}


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        pytest.param("email", "email", id="plain"),
        pytest.param("_loaded", "_loaded", id="leading-underscore"),
        pytest.param("price$", "price$", id="dollar-inside"),
        pytest.param("FirstName", '"FirstName"', id="mixed-case"),
        pytest.param("ID", '"ID"', id="upper"),
        pytest.param("Order Events", '"Order Events"', id="space"),
        pytest.param("geo.lat", '"geo.lat"', id="dot"),
        pytest.param("user-agent", '"user-agent"', id="dash"),
        pytest.param("2fa", '"2fa"', id="leading-digit"),
        pytest.param("café", '"café"', id="non-ascii"),
        pytest.param('say "hi"', '"say ""hi"""', id="inner-quotes"),
        pytest.param("select", '"select"', id="reserved"),
        pytest.param("user", '"user"', id="value-word"),
        pytest.param("value", "value", id="sql2016-only-not-quoted"),
        pytest.param("a{{b", '{% raw %}"a{{b"{% endraw %}', id="jinja-opener"),
    ],
)
def test_sql_identifier_cases(identifier: str, expected: str) -> None:
    """sql_identifier quotes exactly the identifiers that would not mean themselves unquoted."""
    assert sql_identifier(identifier) == expected


def test_sql_render_layout() -> None:
    """The model has dbt Labs' shape: source CTE, renamed CTE, `as` only where a name changes."""
    sql = render_staging_sql(
        source_name="raw",
        table_name="customers",
        columns=[("id", "customer_id"), ("FirstName", "first_name"), ("email", "email")],
    )
    assert sql == (
        "with\n"
        "\n"
        "source as (\n"
        "\n"
        "    select * from {{ source('raw', 'customers') }}\n"
        "\n"
        "),\n"
        "\n"
        "renamed as (\n"
        "\n"
        "    select\n"
        "        id as customer_id,\n"
        '        "FirstName" as first_name,\n'
        "        email\n"
        "\n"
        "    from source\n"
        "\n"
        ")\n"
        "\n"
        "select * from renamed\n"
    )


def test_sql_render_without_columns() -> None:
    """A table without columns (PostgreSQL allows one) still gives a model that runs."""
    sql = render_staging_sql(source_name="raw", table_name="empty", columns=[])
    assert "    select *\n\n    from source" in sql


def _misread(execute, words: list[str]) -> set[str]:
    """The words an engine rejects, or reads as something else, as an unquoted column name."""
    misread = set()
    for word in words:
        try:
            rows = execute(f"select {word} from (select 'sentinel' as {quote_identifier(word)}) t")
        except (duckdb.Error, psycopg2.Error):
            misread.add(word)
            continue
        if rows != [("sentinel",)]:
            misread.add(word)
    return misread


def _duckdb_misread() -> set[str]:
    con = duckdb.connect()
    try:
        words = [w for (w,) in con.execute("select keyword_name from duckdb_keywords()").fetchall()]
        return _misread(lambda q: con.execute(q).fetchall(), sorted({*words, *SQL_VALUE_WORDS}))
    finally:
        con.close()


def _postgres_misread() -> set[str]:
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute("select word from pg_get_keywords()")
            words = [w for (w,) in cur.fetchall()]

            def execute(query: str) -> list[tuple[object, ...]]:
                cur.execute(query)
                return cur.fetchall()

            return _misread(execute, sorted({*words, *SQL_VALUE_WORDS}))
    finally:
        con.close()


def test_sql_reserved_words_cover_duckdb() -> None:
    """Every word DuckDB will not read as a plain column name is quoted."""
    assert _duckdb_misread() - RESERVED_WORDS == set()


@pytest.mark.postgres
def test_sql_reserved_words_cover_postgres() -> None:
    """Every word PostgreSQL will not read as a plain column name is quoted."""
    assert _postgres_misread() - RESERVED_WORDS == set()


@pytest.mark.postgres
def test_sql_reserved_words_are_only_needed_ones() -> None:
    """No word is quoted that both engines read as a column name (quoting those is noise)."""
    needed = _duckdb_misread() | _postgres_misread() | NEWER_ENGINE_WORDS
    assert RESERVED_WORDS - needed == set()
    assert all(needs_quotes(word) for word in RESERVED_WORDS)

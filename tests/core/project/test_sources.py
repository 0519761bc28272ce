"""source_table_at: which table entry of a sources YAML document a line belongs to."""

from __future__ import annotations

import textwrap

import pytest

from cartridge_core.project.sources import SourceTableRef, source_table_at

SOURCES = textwrap.dedent(
    """\
    version: 2

    sources:
      - name: shop
        schema: raw
        description: The shop's database.
        tables:
          - name: orders
            description: |
              One row per order.
              Placed online.
            columns:
              - name: id
                tests: [unique]

          # a comment between tables
          - name: order_events
            identifier: Order Events
        loader: fivetran
      - name: crm
        tables:
          - name: people

    models:
      - name: stg_shop__orders
    """
)

ORDERS = SourceTableRef(source="shop", schema="raw", table="orders", identifier="orders")
EVENTS = SourceTableRef(source="shop", schema="raw", table="order_events", identifier="Order Events")
PEOPLE = SourceTableRef(source="crm", schema="crm", table="people", identifier="people")


def _line_of(snippet: str) -> int:
    return next(i for i, line in enumerate(SOURCES.splitlines()) if snippet in line)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param("- name: orders", ORDERS, id="table-name-line"),
        pytest.param("One row per order.", ORDERS, id="inside-block-scalar"),
        pytest.param("tests: [unique]", ORDERS, id="inside-columns"),
        pytest.param("- name: order_events", EVENTS, id="second-table"),
        pytest.param("identifier: Order Events", EVENTS, id="identifier-differs-from-name"),
        pytest.param("- name: people", PEOPLE, id="schema-defaults-to-source-name"),
        pytest.param("# a comment between tables", None, id="comment-between-tables"),
        pytest.param("loader: fivetran", None, id="source-key-after-tables"),
        pytest.param("schema: raw", None, id="source-header"),
        pytest.param("tables:", None, id="tables-key"),
        pytest.param("- name: stg_shop__orders", None, id="models-section"),
        pytest.param("version: 2", None, id="top-level-key"),
    ],
)
def test_source_table_at_lines(snippet: str, expected: SourceTableRef | None) -> None:
    """Each line maps to the table entry that contains it, or to none outside table entries."""
    assert source_table_at(SOURCES, _line_of(snippet)) == expected


def test_source_table_at_last_table_runs_to_its_last_line() -> None:
    """The last table of the document ends at its last content line, not at a trailing blank."""
    text = "sources:\n  - name: s\n    tables:\n      - name: a\n        description: x\n\n"
    assert source_table_at(text, 4) == SourceTableRef(source="s", schema="s", table="a", identifier="a")
    assert source_table_at(text, 5) is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sources:\n  - name: s\n    tables: [\n", id="broken-yaml"),
        pytest.param("models:\n  - name: a\n", id="models-only"),
        pytest.param("- just\n- a list\n", id="not-a-mapping"),
        pytest.param("", id="empty"),
        pytest.param("sources: 3\n", id="sources-not-a-list"),
        pytest.param("sources:\n  - name: s\n    tables:\n      - orders\n", id="table-not-a-mapping"),
        pytest.param("select 1 from {{ ref('a') }}\n", id="sql-text"),
    ],
)
def test_source_table_at_other_documents(text: str) -> None:
    """Documents that are not sources YAML, or do not parse, give None instead of raising."""
    assert all(source_table_at(text, line) is None for line in range(4))

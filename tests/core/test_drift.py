"""What differs between a project's sources and staging models and a scan (cartridge_core.drift)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cartridge_core.drift import Difference, declared_sources, find_drift, source_models
from cartridge_core.errors import ConfigError
from cartridge_core.models import Column, DbtProject, Scan, Table

SOURCES = "models/staging/raw/_raw__sources.yml"


def _table(name: str, *columns: str, schema: str = "raw") -> Table:
    return Table(
        schema=schema,
        name=name,
        columns=tuple(
            Column(name=c, data_type="integer", nullable=True, position=i) for i, c in enumerate(columns, 1)
        ),
    )


def _scan(*tables: Table, schemas: tuple[str, ...] = ("raw",)) -> Scan:
    return Scan(engine="duckdb", database="shop", schemas=schemas, tables=tables)


def _project(root: Path, files: dict[str, str]) -> DbtProject:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return DbtProject(root=root, name="shop", profile_name="shop")


ORDERS_SOURCE = """\
    version: 2
    sources:
      - name: raw
        schema: raw
        tables:
          - name: orders
            columns:
              - name: id
              - name: status
"""
ORDERS_MODEL = """\
    with source as (select * from {{ source('raw', 'orders') }}),
    renamed as (
        select
            id as order_id,
            status
        from source
    )
    select * from renamed
"""


def _drift(root: Path, files: dict[str, str], *tables: Table, **kwargs) -> list[str]:
    project = _project(root, files)
    return find_drift(project, _scan(*tables), target_schema="analytics", **kwargs).lines()


def test_drift_up_to_date(tmp_path: Path) -> None:
    """A project whose sources and model cover the warehouse exactly has no differences."""
    files = {SOURCES: ORDERS_SOURCE, "models/staging/raw/stg_raw__orders.sql": ORDERS_MODEL}
    assert _drift(tmp_path, files, _table("orders", "id", "status")) == []


def test_drift_new_table_column_and_gone_column(tmp_path: Path) -> None:
    """New table, new column, and a declared column gone, each on one line naming where."""
    files = {SOURCES: ORDERS_SOURCE, "models/staging/raw/stg_raw__orders.sql": ORDERS_MODEL}
    lines = _drift(tmp_path, files, _table("orders", "id", "discount"), _table("refunds", "id"))
    assert lines == [
        f"+ column raw.orders.discount (not in {SOURCES}, not in stg_raw__orders)",
        f"- column raw.orders.status (gone from the warehouse; declared in {SOURCES}; "
        "selected by stg_raw__orders)",
        "+ table raw.refunds (no source, no staging model)",
    ]


def test_drift_declared_table_without_model_or_gone(tmp_path: Path) -> None:
    """A declared table nobody models, and a declared table gone from the warehouse."""
    sources = ORDERS_SOURCE + "          - name: old_orders\n"
    lines = _drift(tmp_path, {SOURCES: sources}, _table("orders", "id", "status"))
    assert lines == [
        "+ table raw.orders (no staging model)",
        f"- table raw.old_orders (gone from the warehouse; declared in {SOURCES})",
    ]


def test_drift_source_without_columns_is_judged_by_its_model(tmp_path: Path) -> None:
    """Sources that list no columns say nothing about columns; the model still does."""
    sources = "sources:\n  - name: raw\n    tables:\n      - name: orders\n"
    files = {"models/src.yml": sources, "models/stg_raw__orders.sql": ORDERS_MODEL}
    lines = _drift(tmp_path, files, _table("orders", "id", "status", "note"))
    assert lines == ["+ column raw.orders.note (not in stg_raw__orders)"]


def test_drift_pass_through_model_selects_every_column(tmp_path: Path) -> None:
    """`select * from source(...)` names no column, so it takes new columns too."""
    sources = "sources:\n  - name: raw\n    tables:\n      - name: orders\n"
    model = "select * from {{ source('raw', 'orders') }}\n"
    files = {"models/src.yml": sources, "models/stg.sql": model}
    assert _drift(tmp_path, files, _table("orders", "id", "status", "note")) == []


@pytest.mark.parametrize(
    ("select", "selected"),
    [
        pytest.param('"select" as select_word', True, id="quoted-reserved-word"),
        pytest.param("1 as select_word", False, id="reserved-word-bare-is-not-the-column"),
        pytest.param("'select' as word", False, id="string-literal"),
        pytest.param("-- select\n        1 as w", False, id="comment"),
        pytest.param('{{ "select" }} as w', False, id="jinja"),
    ],
)
def test_drift_reads_column_names_as_identifiers(tmp_path: Path, select: str, selected: bool) -> None:
    """A column is selected when named as an identifier: not as a keyword, literal, comment or Jinja."""
    sources = "sources:\n  - name: raw\n    tables:\n      - name: events\n"
    model = f"select\n        id,\n        {select}\n    from {{{{ source('raw', 'events') }}}}\n"
    files = {"models/src.yml": sources, "models/stg.sql": model}
    lines = _drift(tmp_path, files, _table("events", "id", "select"))
    assert lines == ([] if selected else ['+ column raw.events."select" (not in stg)'])


def test_drift_mixed_case_column_named_bare_or_quoted(tmp_path: Path) -> None:
    """`"FirstName"` and a bare FirstName both name the warehouse column FirstName."""
    sources = "sources:\n  - name: raw\n    tables:\n      - name: people\n"
    files = {
        "models/src.yml": sources,
        "models/a.sql": "select id, \"FirstName\" as first_name from {{ source('raw', 'people') }}",
    }
    assert _drift(tmp_path, files, _table("people", "id", "FirstName")) == []


def test_drift_identifier_and_case_match_the_warehouse(tmp_path: Path) -> None:
    """A source table's `identifier` names the relation; names match whatever their case."""
    sources = """\
        sources:
          - name: shop
            schema: RAW
            tables:
              - name: order_events
                identifier: Order Events
                columns: [{name: ORDER_ID}]
    """
    model = "select order_id from {{ source('shop', 'order_events') }}"
    files = {"models/src.yml": sources, "models/m.sql": model}
    assert _drift(tmp_path, files, _table("Order Events", "order_id")) == []


def test_drift_scope_of_gone_tables(tmp_path: Path) -> None:
    """Declared tables outside the scan are gone only when the scan covered every source schema,
    and never in the schema dbt builds into."""
    sources = """\
        sources:
          - name: legacy
            tables: [{name: old}]
          - name: built
            schema: analytics
            tables: [{name: seeded}]
    """
    files = {"models/src.yml": sources}
    gone = "- table legacy.old (gone from the warehouse; declared in models/src.yml)"
    assert _drift(tmp_path, files) == [gone]
    assert _drift(tmp_path, files, every_schema=False) == []


def test_drift_skips_disabled_sources_and_other_yaml(tmp_path: Path) -> None:
    """Disabled source tables are not compared; YAML without sources need not even parse."""
    sources = """\
        sources:
          - name: raw
            tables:
              - name: old
                config: {enabled: false}
    """
    files = {"models/src.yml": sources, "models/broken.yml": "models: [unclosed\n"}
    assert _drift(tmp_path, files) == []


def test_drift_broken_sources_yaml_is_a_config_error(tmp_path: Path) -> None:
    """A sources file that does not parse stops the check with its name and line."""
    project = _project(tmp_path, {"models/src.yml": "sources:\n  - name: [raw\n"})
    with pytest.raises(ConfigError, match=r"models/src\.yml at line"):
        declared_sources(project)


def test_drift_source_models_by_source_call(tmp_path: Path) -> None:
    """Models are found by their source() calls, either quote style, across model paths."""
    project = _project(
        tmp_path,
        {
            "models/a.sql": 'select * from {{ source("raw", "orders") }}',
            "models/sub/b.sql": "select * from {{ source( 'raw' , 'orders' ) }} join {{ ref('x') }}",
            "models/c.sql": "select 1",
        },
    )
    found = source_models(project)
    assert list(found) == [("raw", "orders")]
    assert sorted(m.name for m in found[("raw", "orders")]) == ["a", "b"]


def test_drift_difference_line_quotes_names_that_need_it() -> None:
    """Names with spaces or upper case are quoted as SQL writes them."""
    difference = Difference(sign="+", schema="raw", table="Order Events", column="Weird Col", notes=("x",))
    assert difference.line() == '+ column raw."Order Events"."Weird Col" (x)'

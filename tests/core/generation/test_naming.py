"""Naming in dbt Labs' conventions: snake_case, entity ids, flags, timestamps, dates and collisions."""

from __future__ import annotations

import pytest

from cartridge_core.generation.naming import (
    column_name,
    entity_name,
    relation_name,
    singularize,
    snake_case,
    type_family,
    unique_names,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("email", "email", id="plain"),
        pytest.param("FirstName", "first_name", id="camel"),
        pytest.param("firstName", "first_name", id="lower-camel"),
        pytest.param("ID", "id", id="upper"),
        pytest.param("OrderID", "order_id", id="camel-acronym-end"),
        pytest.param("HTTPStatus", "http_status", id="acronym-start"),
        pytest.param("Order Events", "order_events", id="spaces"),
        pytest.param("geo.lat", "geo_lat", id="dot"),
        pytest.param("user-agent", "user_agent", id="dash"),
        pytest.param("  Padded  Name ", "padded_name", id="padding"),
        pytest.param("order__id", "order_id", id="double-underscore"),
        pytest.param("_fivetran_synced", "_fivetran_synced", id="leading-underscore"),
        pytest.param("Line2Total", "line2_total", id="digit-then-upper"),
        pytest.param("2fa", "2fa", id="leading-digit"),
        pytest.param("Café", "cafe", id="accent-folded"),
        pytest.param("Straße", "strasse", id="sharp-s"),
        pytest.param("価格", "", id="no-ascii-form"),
        pytest.param("price$", "price", id="dollar"),
    ],
)
def test_snake_case_cases(name: str, expected: str) -> None:
    """snake_case turns warehouse spellings into lowercase ASCII snake_case."""
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("customers", "customer", id="s"),
        pytest.param("categories", "category", id="ies"),
        pytest.param("addresses", "address", id="sses"),
        pytest.param("boxes", "box", id="xes"),
        pytest.param("batches", "batch", id="ches"),
        pytest.param("wishes", "wish", id="shes"),
        pytest.param("status", "status", id="us"),
        pytest.param("analysis", "analysis", id="is"),
        pytest.param("business", "business", id="ss"),
        pytest.param("person", "person", id="singular"),
        pytest.param("s", "s", id="one-letter"),
    ],
)
def test_singularize_cases(word: str, expected: str) -> None:
    """singularize follows the simple English rules the entity ids rely on."""
    assert singularize(word) == expected


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param("customers", "customer", id="one-word"),
        pytest.param("order_lines", "order_line", id="last-word-only"),
        pytest.param("order_events", "order_event", id="spaced-table"),
        pytest.param("big_orders", "big_order", id="view"),
    ],
)
def test_entity_name_cases(table: str, expected: str) -> None:
    """The entity of a table is the singular of its last word."""
    assert entity_name(table) == expected


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [
        pytest.param("boolean", "boolean", id="pg-boolean"),
        pytest.param("BOOLEAN", "boolean", id="duckdb-boolean"),
        pytest.param("bool", "boolean", id="bool"),
        pytest.param("BOOLEAN[]", "other", id="boolean-array"),
        pytest.param("timestamp without time zone", "timestamp", id="pg-timestamp"),
        pytest.param("timestamp with time zone", "timestamp", id="pg-timestamptz"),
        pytest.param("TIMESTAMP WITH TIME ZONE", "timestamp", id="duckdb-timestamptz"),
        pytest.param("timestamptz", "timestamp", id="timestamptz"),
        pytest.param("TIMESTAMP_NS", "timestamp", id="duckdb-timestamp-ns"),
        pytest.param("timestamp(3)", "timestamp", id="precision"),
        pytest.param("datetime", "timestamp", id="datetime"),
        pytest.param("date", "date", id="date"),
        pytest.param("DATE", "date", id="duckdb-date"),
        pytest.param("time without time zone", "other", id="time-of-day"),
        pytest.param("character varying(20)", "other", id="varchar"),
        pytest.param("", "other", id="empty"),
    ],
)
def test_type_family_cases(data_type: str, expected: str) -> None:
    """type_family reads the engine's spelling of a type into the family its naming rule needs."""
    assert type_family(data_type) == expected


@pytest.mark.parametrize(
    ("name", "data_type", "expected"),
    [
        pytest.param("id", "integer", "customer_id", id="id"),
        pytest.param("ID", "INTEGER", "customer_id", id="upper-id"),
        pytest.param("FirstName", "varchar", "first_name", id="camel"),
        pytest.param("email", "varchar", "email", id="unchanged"),
        pytest.param("active", "boolean", "is_active", id="bool-prefixed"),
        pytest.param("is_active", "boolean", "is_active", id="bool-is"),
        pytest.param("has_paid", "boolean", "has_paid", id="bool-has"),
        pytest.param("was_refunded", "bool", "was_refunded", id="bool-was"),
        pytest.param("can_login", "boolean", "can_login", id="bool-can"),
        pytest.param("should_ship", "boolean", "should_ship", id="bool-should"),
        pytest.param("IsDeleted", "BOOLEAN", "is_deleted", id="bool-camel"),
        pytest.param("_fivetran_deleted", "boolean", "is_fivetran_deleted", id="bool-underscore"),
        pytest.param("active", "varchar", "active", id="not-a-bool"),
        pytest.param("created", "timestamp", "created_at", id="ts-appended"),
        pytest.param("created_at", "timestamptz", "created_at", id="ts-kept"),
        pytest.param("created_ts", "timestamp", "created_at", id="ts-suffix-ts"),
        pytest.param("updated_time", "timestamp", "updated_at", id="ts-suffix-time"),
        pytest.param("sent_timestamp", "timestamp", "sent_at", id="ts-suffix-timestamp"),
        pytest.param("seen_datetime", "datetime", "seen_at", id="ts-suffix-datetime"),
        pytest.param("updated_on", "timestamp", "updated_at", id="ts-suffix-on"),
        pytest.param("loaded_at_ts", "timestamp", "loaded_at", id="ts-suffix-over-at"),
        pytest.param("ts", "timestamp", "ts_at", id="ts-bare-suffix-kept"),
        pytest.param("CreatedDate", "timestamp", "created_date_at", id="ts-camel"),
        pytest.param("birth", "date", "birth_date", id="date-appended"),
        pytest.param("order_date", "date", "order_date", id="date-kept"),
        pytest.param("billing_day", "date", "billing_day", id="date-day-kept"),
        pytest.param("date_of_birth", "date", "date_of_birth", id="date-prefix-kept"),
        pytest.param("date", "date", "date", id="date-bare-kept"),
        pytest.param("shipped_on", "date", "shipped_date", id="date-on"),
        pytest.param("Order Date", "DATE", "order_date", id="date-spaced"),
        pytest.param("select", "varchar", "select", id="reserved-kept"),
        pytest.param("価格", "integer", "column_7", id="no-ascii-form"),
    ],
)
def test_column_name_cases(name: str, data_type: str, expected: str) -> None:
    """column_name applies snake_case, then the id, boolean, timestamp or date rule."""
    assert column_name(name, data_type, entity="customer", position=7) == expected


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param([("a", "a"), ("b", "b")], ["a", "b"], id="no-collision"),
        pytest.param(
            [("id", "customer_id"), ("ID", "customer_id")],
            ["customer_id", "customer_id_2"],
            id="id-and-ID",
        ),
        pytest.param(
            [("created", "created_at"), ("created_at", "created_at")],
            ["created_at_2", "created_at"],
            id="unchanged-name-wins",
        ),
        pytest.param(
            [("active", "is_active"), ("IsActive", "is_active")],
            ["is_active_2", "is_active"],
            id="snake-only-beats-convention",
        ),
        pytest.param(
            [("x", "x"), ("X", "x"), ("x_2", "x_2"), ("X ", "x")],
            ["x", "x_3", "x_2", "x_4"],
            id="suffix-skips-taken",
        ),
        pytest.param(
            [("id", "customer_id"), ("customer_id", "customer_id")],
            ["customer_id_2", "customer_id"],
            id="real-column-keeps-its-name",
        ),
    ],
)
def test_unique_names_cases(pairs: list[tuple[str, str]], expected: list[str]) -> None:
    """unique_names resolves collisions deterministically, favouring names closest to the original."""
    result = unique_names(pairs)
    assert result == expected
    assert len(set(result)) == len(result)


def test_relation_name_without_ascii_is_stable() -> None:
    """A table name with no ASCII form gets a stable hashed name, the same on every call."""
    first = relation_name("注文", prefix="table")
    assert first.startswith("table_") and len(first) == len("table_") + 8
    assert relation_name("注文", prefix="table") == first
    assert relation_name("顧客", prefix="table") != first
    assert relation_name("Order Events", prefix="table") == "order_events"

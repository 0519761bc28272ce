"""Hand-built scans for generation tests: the shop fixture, and a schema of awkward names."""

from __future__ import annotations

from cartridge_core.models import Column, Scan, Table

# Tables in PostgreSQL whose names exercise every naming rule; `odd_scan` describes the same tables.
ODD_DDL = [
    'create schema "Sales.EU"',
    """create table "Sales.EU"."OrderLines" (
        order_id integer,
        line_no integer,
        "Unit Price" numeric(10, 2),
        is_gift boolean,
        shipped_on date,
        updated_ts timestamp with time zone,
        primary key (order_id, line_no)
    )""",
    """comment on table "Sales.EU"."OrderLines" is 'Lines of an order.\nOne row per product.'""",
    """create table "Sales.EU".accounts (
        id integer primary key,
        "ID" integer,
        created timestamp,
        created_at timestamp,
        "on" varchar(10),
        "2fa" boolean,
        "Café" text,
        "geo.lat" double precision
    )""",
    """comment on column "Sales.EU".accounts."on" is 'Uses {{ var(''x'') }} in a note.'""",
    """create table "Sales.EU"."order" (id integer primary key, "user" text, "Select" integer)""",
    """insert into "Sales.EU"."OrderLines" values (1, 1, 9.50, false, '2024-03-01', now())""",
    """insert into "Sales.EU"."OrderLines" values (1, 2, 3.00, true, null, null)""",
    """insert into "Sales.EU".accounts values (1, 10, now(), now(), 'x', true, 'é', 1.5)""",
    """insert into "Sales.EU".accounts values (2, 10, null, null, null, null, null, null)""",
    """insert into "Sales.EU"."order" values (1, 'ada', 3)""",
]


def _col(position: int, name: str, data_type: str, comment: str | None = None) -> Column:
    return Column(name=name, data_type=data_type, nullable=True, position=position, comment=comment)


def shop_tables() -> tuple[Table, ...]:
    """The tables of tests/conftest.py's SHOP_DDL, as PostgreSQL spells their types."""
    return (
        Table(
            schema="raw",
            name="customers",
            columns=(
                _col(1, "id", "integer"),
                _col(2, "FirstName", "character varying(50)"),
                _col(3, "email", "character varying(200)", "Contact e-mail address."),
                _col(4, "active", "boolean"),
                _col(5, "created", "timestamp without time zone"),
                _col(6, "birth", "date"),
            ),
            primary_key=("id",),
            comment="People who bought something.",
        ),
        Table(
            schema="raw",
            name="orders",
            columns=(
                _col(1, "id", "integer"),
                _col(2, "customer_id", "integer"),
                _col(3, "status", "character varying(20)"),
                _col(4, "amount", "numeric(10,2)"),
                _col(5, "ordered_at", "timestamp without time zone"),
            ),
            primary_key=("id",),
        ),
        Table(
            schema="raw",
            name="Order Events",
            columns=(
                _col(1, "order_id", "integer"),
                _col(2, "select", "character varying(20)"),
                _col(3, "happened", "timestamp without time zone"),
            ),
        ),
        Table(
            schema="raw",
            name="big_orders",
            kind="view",
            columns=(_col(1, "id", "integer"), _col(2, "amount", "numeric(10,2)")),
        ),
    )


def odd_tables() -> tuple[Table, ...]:
    """The tables of ODD_DDL."""
    return (
        Table(
            schema="Sales.EU",
            name="OrderLines",
            columns=(
                _col(1, "order_id", "integer"),
                _col(2, "line_no", "integer"),
                _col(3, "Unit Price", "numeric(10,2)"),
                _col(4, "is_gift", "boolean"),
                _col(5, "shipped_on", "date"),
                _col(6, "updated_ts", "timestamp with time zone"),
            ),
            primary_key=("order_id", "line_no"),
            comment="Lines of an order.\nOne row per product.",
        ),
        Table(
            schema="Sales.EU",
            name="accounts",
            columns=(
                _col(1, "id", "integer"),
                _col(2, "ID", "integer"),
                _col(3, "created", "timestamp without time zone"),
                _col(4, "created_at", "timestamp without time zone"),
                _col(5, "on", "character varying(10)", "Uses {{ var('x') }} in a note."),
                _col(6, "2fa", "boolean"),
                _col(7, "Café", "text"),
                _col(8, "geo.lat", "double precision"),
            ),
            primary_key=("id",),
        ),
        Table(
            schema="Sales.EU",
            name="order",
            columns=(_col(1, "id", "integer"), _col(2, "user", "text"), _col(3, "Select", "integer")),
            primary_key=("id",),
        ),
    )


def golden_scan() -> Scan:
    """The shop and the awkward schema together, as one PostgreSQL scan."""
    return Scan(
        engine="postgres",
        database="shop",
        schemas=("Sales.EU", "raw"),
        tables=shop_tables() + odd_tables(),
    )

"""A hand-built analysed scan for mart generation: a small snowflaked shop with roles and relationships."""

from __future__ import annotations

from cartridge_core.models import Column, Relationship, Scan, Table, TableRole, TableRoleKind, TypeFamily

SCHEMA = "shop"


def _col(
    position: int,
    name: str,
    data_type: str,
    family: TypeFamily,
    *,
    key: bool = False,
    comment: str | None = None,
) -> Column:
    return Column(
        name=name,
        data_type=data_type,
        nullable=not key,
        position=position,
        type_family=family,
        comment=comment,
    )


def _id() -> Column:
    return _col(1, "id", "integer", "integer", key=True)


def _table(name: str, *columns: Column, key: tuple[str, ...] = ("id",), comment: str | None = None) -> Table:
    return Table(schema=SCHEMA, name=name, columns=(_id(), *columns) if key == ("id",) else columns,
                 primary_key=key, comment=comment)  # fmt: skip


def mart_tables() -> tuple[Table, ...]:
    """Twelve tables: lookups two deep, a reserved-word table, a bridge, a header fact and its lines."""
    text, num, ts = (
        ("character varying(100)", "text"),
        ("numeric(10,2)", "decimal"),
        ("timestamp", "timestamp"),
    )
    return (
        _table("regions", _col(2, "name", *text)),
        _table("countries", _col(2, "name", *text), _col(3, "region_id", "integer", "integer")),
        _table(
            "addresses",
            _col(2, "street", *text),
            _col(3, "city", *text),
            _col(4, "country_id", "integer", "integer"),
        ),
        _table("group", _col(2, "name", *text), _col(3, "is_vip", "boolean", "boolean")),
        _table(
            "customers",
            _col(2, "name", *text),
            _col(3, "email", *text, comment="Contact e-mail."),
            _col(4, "group_id", "integer", "integer"),
            _col(5, "home_address_id", "integer", "integer"),
            _col(6, "created", *ts),
            comment="People who buy {{ things }}",
        ),
        _table("categories", _col(2, "name", *text), _col(3, "parent_id", "integer", "integer")),
        _table(
            "products",
            _col(2, "name", *text),
            _col(3, "category_id", "integer", "integer"),
            _col(4, "price", *num),
        ),
        _table("tags", _col(2, "label", *text)),
        _table(
            "product_tags",
            _col(1, "product_id", "integer", "integer", key=True),
            _col(2, "tag_id", "integer", "integer", key=True),
            key=("product_id", "tag_id"),
        ),
        _table(
            "orders",
            _col(2, "customer_id", "integer", "integer"),
            _col(3, "billing_address_id", "integer", "integer"),
            _col(4, "status", *text),
            _col(5, "ordered_at", *ts),
            _col(6, "shipping_fee", *num),
            comment="One row per checkout.",
        ),
        _table(
            "order_lines",
            _col(2, "order_id", "integer", "integer"),
            _col(3, "product_id", "integer", "integer"),
            _col(4, "quantity", "integer", "integer"),
            _col(5, "unit_price", *num),
            _col(6, "discount_pct", *num),
        ),
        _table(
            "payments",
            _col(2, "order_id", "integer", "integer"),
            _col(3, "amount", *num),
            _col(4, "paid_at", "timestamp with time zone", "timestamptz"),
        ),
    )


LINKS = [  # child table, child column, parent table; declared unless marked
    ("countries", "region_id", "regions"),
    ("addresses", "country_id", "countries"),
    ("customers", "group_id", "group"),
    ("customers", "home_address_id", "addresses"),
    ("categories", "parent_id", "categories"),
    ("products", "category_id", "categories"),
    ("product_tags", "product_id", "products"),
    ("product_tags", "tag_id", "tags"),
    ("orders", "customer_id", "customers"),
    ("orders", "billing_address_id", "addresses"),
    ("order_lines", "order_id", "orders"),
    ("order_lines", "product_id", "products"),
    ("payments", "order_id", "orders"),  # inferred
]
ROLES: dict[str, TableRoleKind] = {
    "regions": "dimension",
    "countries": "dimension",
    "addresses": "dimension",
    "group": "dimension",
    "customers": "dimension",
    "categories": "dimension",
    "products": "dimension",
    "tags": "dimension",
    "product_tags": "bridge",
    "orders": "fact",
    "order_lines": "other",
    "payments": "fact",
}


def _relationship(child: str, column: str, parent: str) -> Relationship:
    inferred = child == "payments"
    return Relationship(
        child_schema=SCHEMA,
        child_table=child,
        child_columns=(column,),
        parent_schema=SCHEMA,
        parent_table=parent,
        parent_columns=("id",),
        source="inferred" if inferred else "declared",
        confidence=0.95 if inferred else 1.0,
        evidence=(f"name {column} matches {parent}.id", "100.0 % of 9 non-null values found")
        if inferred
        else (f"declared foreign key {child}_{column}_fkey",),
    )


def mart_scan() -> Scan:
    """The analysed scan of the twelve tables: roles and relationships as deep_scan would give them."""
    return Scan(
        engine="postgres",
        database="shop",
        schemas=(SCHEMA,),
        tables=mart_tables(),
        relationships=tuple(_relationship(*link) for link in LINKS),
        roles=tuple(TableRole(schema=SCHEMA, table=t.name, role=ROLES[t.name]) for t in mart_tables()),
    )

"""propose_staging_tests: the schema tests proposed from a hand-built scan, with their evidence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cartridge_core.generation.staging import staging_models
from cartridge_core.generation.tests import key_columns, propose_staging_tests
from cartridge_core.models import (
    Column,
    ColumnProfile,
    ForeignKey,
    ProfileMethod,
    Relationship,
    Scan,
    SchemaTest,
    Table,
    TableProfile,
    TypeFamily,
)

ROWS = 1204


def col(
    position: int,
    name: str,
    family: TypeFamily = "integer",
    *,
    nullable: bool = True,
    enum: tuple[str, ...] = (),
) -> Column:
    data_type = {"integer": "integer", "text": "text", "boolean": "boolean", "decimal": "numeric(10,2)"}
    return Column(
        name=name,
        data_type=data_type.get(family, family),
        nullable=nullable,
        position=position,
        type_family=family,
        enum_values=enum,
    )


def profile(
    table: str, *columns: ColumnProfile, rows: int = ROWS, method: ProfileMethod = "exact"
) -> TableProfile:
    return TableProfile(schema="raw", table=table, row_count=rows, method=method, columns=columns)


def unique_profile(name: str, rows: int = ROWS) -> ColumnProfile:
    return ColumnProfile(column=name, null_fraction=0.0, distinct_count=rows)


CUSTOMERS = Table(
    schema="raw",
    name="customers",
    columns=(col(1, "id", nullable=False), col(2, "name", "text")),
    primary_key=("id",),
)
ORDERS = Table(
    schema="raw",
    name="orders",
    columns=(
        col(1, "id", nullable=False),
        col(2, "customer_id", nullable=False),
        col(3, "status", "text"),
        col(4, "amount", "decimal"),
    ),
    primary_key=("id",),
    foreign_keys=(
        ForeignKey(
            name="orders_customer_fk",
            columns=("customer_id",),
            ref_schema="raw",
            ref_table="customers",
            ref_columns=("id",),
        ),
    ),
)
DECLARED_FK = Relationship(
    child_schema="raw",
    child_table="orders",
    child_columns=("customer_id",),
    parent_schema="raw",
    parent_table="customers",
    parent_columns=("id",),
    source="declared",
    confidence=1.0,
    evidence=("declared foreign key orders_customer_fk",),
)
STATUS_COUNTS = (("placed", 600), ("shipped", 400), ("returned", 150), ("lost", 54))


def scan_of(
    *tables: Table, profiles: tuple[TableProfile, ...] = (), rels: tuple[Relationship, ...] = ()
) -> Scan:
    return Scan(
        engine="postgres",
        database="db",
        schemas=("raw",),
        tables=tables,
        profiles=profiles,
        relationships=rels,
    )


def proposed_for(
    scan: Scan, table: str, staged: str, *, only: tuple[str, ...] | None = None
) -> tuple[SchemaTest, ...]:
    """The tests proposed for one staged column of `table` (staging every table, or `only` these)."""
    models = [m for m in staging_models(scan) if only is None or m.table.name in only]
    docs = propose_staging_tests(scan, models)
    model = next(d for d in docs if d.name == f"stg_raw__{table}")
    return next(c.tests for c in model.columns if c.name == staged)


UNIQUE_PK = SchemaTest(kind="unique", evidence="primary key")

CASES = [
    pytest.param(
        scan_of(CUSTOMERS),
        "customers",
        "customer_id",
        (UNIQUE_PK, SchemaTest(kind="not_null", evidence="declared NOT NULL")),
        id="declared-primary-key",
    ),
    pytest.param(
        scan_of(CUSTOMERS, profiles=(profile("customers", unique_profile("id")),)),
        "customers",
        "customer_id",
        (UNIQUE_PK, SchemaTest(kind="not_null", evidence="0 nulls in 1,204 rows")),
        id="primary-key-profiled",
    ),
    pytest.param(
        scan_of(replace(CUSTOMERS, primary_key=(), unique_keys=(("name",),))),
        "customers",
        "name",
        (SchemaTest(kind="unique", evidence="unique constraint"),),
        id="nullable-unique-constraint-no-not-null",
    ),
    pytest.param(
        scan_of(
            replace(CUSTOMERS, primary_key=(), columns=(col(1, "id"), col(2, "name", "text"))),
            profiles=(profile("customers", unique_profile("id"), unique_profile("name")),),
        ),
        "customers",
        "customer_id",
        (
            SchemaTest(kind="unique", evidence="distinct = rows (1,204)"),
            SchemaTest(kind="not_null", evidence="0 nulls in 1,204 rows"),
        ),
        id="profiled-unique-identifier",
    ),
    pytest.param(
        scan_of(
            replace(CUSTOMERS, primary_key=(), columns=(col(1, "id"), col(2, "name", "text"))),
            profiles=(profile("customers", unique_profile("id"), unique_profile("name")),),
        ),
        "customers",
        "name",
        (),
        id="profiled-unique-but-not-a-key-name",
    ),
    pytest.param(
        scan_of(
            replace(CUSTOMERS, primary_key=(), columns=(col(1, "id"),)),
            profiles=(
                profile(
                    "customers",
                    ColumnProfile(column="id", null_fraction=0.0, distinct_count=990_000),
                    rows=1_000_000,
                    method="sample",
                ),
            ),
        ),
        "customers",
        "customer_id",
        (
            SchemaTest(kind="unique", evidence="distinct about rows (~1,000,000, sample)"),
            SchemaTest(kind="not_null", evidence="distinct about rows (~1,000,000, sample)"),
        ),
        id="sampled-near-unique-identifier",
    ),
    pytest.param(
        scan_of(
            replace(CUSTOMERS, primary_key=(), columns=(col(1, "id"),)),
            profiles=(
                profile("customers", ColumnProfile(column="id", null_fraction=0.01, distinct_count=ROWS)),
            ),
        ),
        "customers",
        "customer_id",
        (),
        id="identifier-with-nulls-is-no-key",
    ),
    pytest.param(
        scan_of(ORDERS),
        "orders",
        "status",
        (),
        id="nothing-known-nothing-proposed",
    ),
    pytest.param(
        scan_of(replace(ORDERS, columns=(*ORDERS.columns[:2], col(3, "status", "text", enum=("a", "b"))))),
        "orders",
        "status",
        (SchemaTest(kind="accepted_values", values=("a", "b"), evidence="enum labels"),),
        id="enum-labels",
    ),
    pytest.param(
        scan_of(
            replace(
                ORDERS,
                columns=(*ORDERS.columns[:2], col(3, "status", "integer", nullable=False, enum=("1", "2"))),
                check_constraints=("CHECK ((status = ANY (ARRAY[1, 2])))",),
            )
        ),
        "orders",
        "status",
        (
            SchemaTest(kind="not_null", evidence="declared NOT NULL"),
            SchemaTest(
                kind="accepted_values", values=("1", "2"), quote_values=False, evidence="CHECK constraint"
            ),
        ),
        id="numeric-check-in-list",
    ),
    pytest.param(
        scan_of(
            ORDERS,
            profiles=(
                profile(
                    "orders",
                    ColumnProfile(
                        column="status", null_fraction=0.0, distinct_count=4, top_values=STATUS_COUNTS
                    ),
                ),
            ),
        ),
        "orders",
        "status",
        (
            SchemaTest(
                kind="accepted_values",
                values=("lost", "placed", "returned", "shipped"),
                evidence="all 4 values seen in 1,204 rows",
            ),
        ),
        id="small-complete-profiled-set",
    ),
    pytest.param(
        scan_of(
            ORDERS,
            profiles=(
                profile(
                    "orders",
                    ColumnProfile(
                        column="status", null_fraction=0.0, distinct_count=5, top_values=STATUS_COUNTS
                    ),
                ),
            ),
        ),
        "orders",
        "status",
        (),
        id="profiled-set-not-complete",
    ),
    pytest.param(
        scan_of(
            ORDERS,
            profiles=(
                profile(
                    "orders",
                    ColumnProfile(
                        column="status", null_fraction=0.0, distinct_count=4, top_values=STATUS_COUNTS
                    ),
                    method="sample",
                ),
            ),
        ),
        "orders",
        "status",
        (),
        id="profiled-set-from-a-sample",
    ),
    pytest.param(
        scan_of(
            ORDERS,
            profiles=(
                profile(
                    "orders",
                    ColumnProfile(
                        column="status",
                        null_fraction=0.0,
                        distinct_count=4,
                        top_values=(("a", 4), ("b", 4), ("c", 4), ("d", 4)),
                    ),
                    rows=16,
                ),
            ),
        ),
        "orders",
        "status",
        (),
        id="too-few-rows-per-value",
    ),
    pytest.param(
        scan_of(
            ORDERS,
            profiles=(
                profile(
                    "orders",
                    ColumnProfile(
                        column="status",
                        null_fraction=0.0,
                        distinct_count=2,
                        top_values=(("it's", 600), ("b", 604)),
                    ),
                ),
            ),
        ),
        "orders",
        "status",
        (),
        id="value-dbt-cannot-quote",
    ),
    pytest.param(
        scan_of(
            replace(ORDERS, columns=(*ORDERS.columns[:2], col(3, "gift", "boolean", enum=("true", "false"))))
        ),
        "orders",
        "is_gift",
        (),
        id="boolean-needs-no-accepted-values",
    ),
    pytest.param(
        scan_of(CUSTOMERS, ORDERS, rels=(DECLARED_FK,)),
        "orders",
        "customer_id",
        (
            SchemaTest(kind="not_null", evidence="declared NOT NULL"),
            SchemaTest(
                kind="relationships",
                to="ref('stg_raw__customers')",
                field="customer_id",
                evidence="declared foreign key orders_customer_fk",
            ),
        ),
        id="declared-foreign-key-to-renamed-parent-key",
    ),
    pytest.param(
        scan_of(
            CUSTOMERS,
            replace(ORDERS, foreign_keys=()),
            rels=(
                replace(
                    DECLARED_FK,
                    source="inferred",
                    confidence=0.95,
                    evidence=(
                        "name customer_id matches customers.id",
                        "100.0 % of 1,204 non-null values found",
                    ),
                ),
            ),
        ),
        "orders",
        "customer_id",
        (
            SchemaTest(kind="not_null", evidence="declared NOT NULL"),
            SchemaTest(
                kind="relationships",
                to="ref('stg_raw__customers')",
                field="customer_id",
                evidence="name customer_id matches customers.id; 100.0 % of 1,204 non-null values found",
            ),
        ),
        id="inferred-foreign-key",
    ),
    pytest.param(
        scan_of(
            CUSTOMERS,
            ORDERS,
            rels=(replace(DECLARED_FK, child_columns=("customer_id", "id"), parent_columns=("id", "name")),),
        ),
        "orders",
        "customer_id",
        (SchemaTest(kind="not_null", evidence="declared NOT NULL"),),
        id="composite-foreign-key-skipped",
    ),
]


@pytest.mark.parametrize(("scan", "table", "staged", "expected"), CASES)
def test_proposals_per_column(scan: Scan, table: str, staged: str, expected: tuple[SchemaTest, ...]) -> None:
    """Each kind of evidence gives exactly the tests it justifies, with the evidence string."""
    assert proposed_for(scan, table, staged) == expected


def test_proposals_no_relationship_to_a_model_not_generated() -> None:
    """A foreign key whose parent is not being staged (nor named in refs) gives no relationships test."""
    scan = scan_of(CUSTOMERS, ORDERS, rels=(DECLARED_FK,))
    tests = proposed_for(scan, "orders", "customer_id", only=("orders",))
    assert [t.kind for t in tests] == ["not_null"]
    models = [m for m in staging_models(scan) if m.table.name == "orders"]
    docs = propose_staging_tests(scan, models, refs={"stg_raw__customers"})
    assert [t.kind for t in docs[0].columns[1].tests] == ["not_null", "relationships"]


def test_proposals_columns_in_model_order_with_quoting() -> None:
    """Every staged column appears once, in the model's order, quoted when its name needs it."""
    table = Table(schema="raw", name="events", columns=(col(2, "select", "text"), col(1, "id")))
    docs = propose_staging_tests(scan_of(table), staging_models(scan_of(table)))
    assert [(c.name, c.quote) for c in docs[0].columns] == [("event_id", False), ("select", True)]


def test_proposals_key_columns_declared_win_over_profile() -> None:
    """A declared primary key is the key; profiled-unique columns are not added beside it."""
    profiles = profile("customers", unique_profile("id"), unique_profile("name"))
    keys = key_columns(scan_of(CUSTOMERS), CUSTOMERS, profiles)
    assert [(k.name, k.reason) for k in keys] == [("id", "primary key")]


def test_proposals_referred_column_is_a_key() -> None:
    """A profiled-unique column another table refers to is a key even when its name is not `id`."""
    codes = Table(schema="raw", name="countries", columns=(col(1, "iso", "text"), col(2, "label", "text")))
    ref = replace(DECLARED_FK, parent_table="countries", parent_columns=("iso",), source="inferred")
    scan = scan_of(codes, rels=(ref,))
    keys = key_columns(scan, codes, profile("countries", unique_profile("iso"), unique_profile("label")))
    assert [k.name for k in keys] == ["iso"]

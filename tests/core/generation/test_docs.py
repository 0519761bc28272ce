"""describe_staging and propose_staging_docs: where descriptions come from, and how they follow renames."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cartridge_core.generation.docs import describe_staging, propagate_descriptions, propose_staging_docs
from cartridge_core.generation.staging import staging_models
from cartridge_core.models import Column, ColumnDoc, ModelDoc, Relationship, Scan, Table, TypeFamily


def col(position: int, name: str, family: TypeFamily, comment: str | None = None) -> Column:
    return Column(
        name=name,
        data_type=family,
        nullable=position != 1,
        position=position,
        type_family=family,
        comment=comment,
    )


CUSTOMERS = Table(
    schema="raw",
    name="customers",
    columns=(
        col(1, "id", "integer"),
        col(2, "email", "text", "Contact e-mail address."),
        col(3, "active", "boolean"),
        col(4, "created", "timestamp"),
        col(5, "note", "text", "Uses {{ var('x') }} here."),
        col(6, "nickname", "text"),
        col(7, "has_newsletter", "boolean"),
    ),
    primary_key=("id",),
    comment="People who bought something.",
)
ORDERS = Table(
    schema="raw",
    name="orders",
    columns=(col(1, "id", "integer", "The order number."), col(2, "customer_id", "integer")),
    primary_key=("id",),
)
FK = Relationship(
    child_schema="raw",
    child_table="orders",
    child_columns=("customer_id",),
    parent_schema="raw",
    parent_table="customers",
    parent_columns=("id",),
    source="inferred",
    confidence=0.95,
)
SCAN = Scan(engine="duckdb", database="db", schemas=("raw",), tables=(CUSTOMERS, ORDERS), relationships=(FK,))


def descriptions(docs: list[ModelDoc], model: str) -> dict[str, str | None]:
    return {c.name: c.description for c in next(d for d in docs if d.name == model).columns}


@pytest.mark.parametrize(
    ("model", "column", "expected"),
    [
        pytest.param("stg_raw__customers", "customer_id", "Primary key of customers.", id="primary-key"),
        pytest.param("stg_raw__customers", "email", "Contact e-mail address.", id="warehouse-comment"),
        pytest.param("stg_raw__customers", "is_active", "Whether the customer is active.", id="boolean-flag"),
        pytest.param(
            "stg_raw__customers", "has_newsletter", "Whether the customer has newsletter.", id="has-flag"
        ),
        pytest.param("stg_raw__customers", "created_at", "When the customer was created.", id="timestamp"),
        pytest.param(
            "stg_raw__customers",
            "note",
            "{% raw %}Uses {{ var('x') }} here.{% endraw %}",
            id="jinja-in-comment-kept-literal",
        ),
        pytest.param("stg_raw__customers", "nickname", None, id="nothing-known-no-guess"),
        pytest.param("stg_raw__orders", "order_id", "The order number.", id="comment-beats-key-sentence"),
        pytest.param("stg_raw__orders", "customer_id", "Foreign key to customers.", id="foreign-key"),
    ],
)
def test_docs_column_descriptions(model: str, column: str, expected: str | None) -> None:
    """A staged column gets its comment, else a plain sentence for keys, flags and timestamps, else none."""
    docs = describe_staging(SCAN, staging_models(SCAN))
    assert descriptions(docs, model)[column] == expected


def test_docs_model_descriptions() -> None:
    """A table's comment describes its model; without one, a plain sentence names the source."""
    docs = describe_staging(SCAN, staging_models(SCAN))
    assert [(d.name, d.description) for d in docs] == [
        ("stg_raw__customers", "People who bought something."),
        ("stg_raw__orders", "Staged orders from the raw source."),
    ]


def test_docs_source_yaml_descriptions_follow_renames() -> None:
    """What the sources YAML says about `id` describes the staged `customer_id`, ahead of any comment."""
    written = ModelDoc(
        name="customers",
        description="{{ doc('customers') }}",
        columns=(
            ColumnDoc(name="id", description="The customer's number."),
            ColumnDoc(name="email", description="  "),
        ),
    )
    docs = describe_staging(SCAN, staging_models(SCAN), sources={("raw", "customers"): written})
    customers = next(d for d in docs if d.name == "stg_raw__customers")
    assert customers.description == "{{ doc('customers') }}"
    assert descriptions(docs, "stg_raw__customers")["customer_id"] == "The customer's number."
    assert descriptions(docs, "stg_raw__customers")["email"] == "Contact e-mail address."


def test_docs_propagate_descriptions_through_renames() -> None:
    """Downstream columns take the description of the upstream column they select, renamed or not."""
    staged = describe_staging(SCAN, staging_models(SCAN))[0]
    lineage = {"customer_key": "customer_id", "email_address": "email", "nickname": "nickname"}
    assert propagate_descriptions(staged, lineage) == {
        "customer_key": "Primary key of customers.",
        "email_address": "Contact e-mail address.",
    }


def test_docs_propose_staging_docs_merges_tests_and_descriptions() -> None:
    """propose_staging_docs gives each column both its description and its proposed tests."""
    docs = propose_staging_docs(SCAN, staging_models(SCAN))
    orders = next(d for d in docs if d.name == "stg_raw__orders")
    by_name = {c.name: c for c in orders.columns}
    assert by_name["order_id"].description == "The order number."
    assert [t.kind for t in by_name["order_id"].tests] == ["unique", "not_null"]
    assert by_name["customer_id"].description == "Foreign key to customers."
    assert [(t.kind, t.to, t.field) for t in by_name["customer_id"].tests] == [
        ("relationships", "ref('stg_raw__customers')", "customer_id")
    ]


def test_docs_deterministic() -> None:
    """The same scan, in any table order, gives the same docs."""
    reordered = replace(SCAN, tables=tuple(reversed(SCAN.tables)))
    assert propose_staging_docs(SCAN, staging_models(SCAN)) == propose_staging_docs(
        reordered, staging_models(reordered)
    )

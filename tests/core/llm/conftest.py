"""Fixtures for LLM-assisted generation: the fake provider server, configs pointing at it, a shop scan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cartridge_core.llm.config import LlmConfig
from cartridge_core.models import (
    Column,
    ColumnProfile,
    ForeignKey,
    Relationship,
    Scan,
    Table,
    TableProfile,
    TableRole,
)
from tests.core.llm.fake_provider import FakeProvider

OPENAI_KEY_ENV = "CARTRIDGE_TEST_OPENAI_KEY"
ANTHROPIC_KEY_ENV = "CARTRIDGE_TEST_ANTHROPIC_KEY"
OPENAI_KEY = "sk-test-CARTRIDGE-openai-7f3a9c1e5b2d4680"
ANTHROPIC_KEY = "sk-ant-test-CARTRIDGE-anthropic-0d9e8c7b6a5f4321"
SAMPLE_VALUE = "ZEBRA-7781"  # a status only the data holds: it must not leave unless sampling is on
SAMPLE_EMAIL = "ada.lovelace@example.org"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """The fake provider server on 127.0.0.1, closed after the test."""
    server = FakeProvider().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def openai_config(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> LlmConfig:
    """OpenAI through the fake server, its key in the environment."""
    monkeypatch.setenv(OPENAI_KEY_ENV, OPENAI_KEY)
    return LlmConfig(
        provider="openai",
        model="gpt-4o-mini",
        base_url=f"{fake.url}/v1",
        api_key_env=OPENAI_KEY_ENV,
        timeout_s=5,
        max_attempts=3,
        max_repairs=2,
    )


@pytest.fixture
def anthropic_config(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> LlmConfig:
    """Anthropic through the fake server, its key in the environment."""
    monkeypatch.setenv(ANTHROPIC_KEY_ENV, ANTHROPIC_KEY)
    return LlmConfig(
        provider="anthropic",
        model="claude-sonnet-4-6",
        base_url=fake.url,
        api_key_env=ANTHROPIC_KEY_ENV,
        timeout_s=5,
        max_attempts=3,
        max_repairs=2,
    )


def _column(name: str, data_type: str, position: int, family: str, *, nullable: bool = True, **kw) -> Column:
    return Column(
        name=name, data_type=data_type, nullable=nullable, position=position, type_family=family, **kw
    )  # type: ignore[arg-type]


@pytest.fixture
def shop_scan() -> Scan:
    """The small shop as an analysed scan: keys, a relationship, roles, and profiles holding values."""
    customers = Table(
        schema="raw",
        name="customers",
        columns=(
            _column("id", "INTEGER", 1, "integer", nullable=False),
            _column("FirstName", "VARCHAR", 2, "text", nullable=False),
            _column("email", "VARCHAR", 3, "text", comment="Contact e-mail address."),
            _column("active", "BOOLEAN", 4, "boolean"),
            _column("created", "TIMESTAMP", 5, "timestamp"),
        ),
        primary_key=("id",),
        comment="People who bought something.",
    )
    orders = Table(
        schema="raw",
        name="orders",
        columns=(
            _column("id", "INTEGER", 1, "integer", nullable=False),
            _column("customer_id", "INTEGER", 2, "integer", nullable=False),
            _column("status", "VARCHAR", 3, "text"),
            _column("amount", "DECIMAL(10,2)", 4, "decimal"),
            _column("ordered_at", "TIMESTAMP", 5, "timestamp"),
        ),
        primary_key=("id",),
        foreign_keys=(
            ForeignKey(
                name=None,
                columns=("customer_id",),
                ref_schema="raw",
                ref_table="customers",
                ref_columns=("id",),
            ),
        ),
    )
    profiles = (
        TableProfile(
            schema="raw",
            table="customers",
            row_count=2,
            method="exact",
            columns=(
                ColumnProfile(
                    column="email",
                    null_fraction=0.5,
                    distinct_count=1,
                    min_value=SAMPLE_EMAIL,
                    max_value=SAMPLE_EMAIL,
                    top_values=((SAMPLE_EMAIL, 1),),
                ),
                ColumnProfile(
                    column="FirstName",
                    null_fraction=0.0,
                    distinct_count=2,
                    min_value="Ada",
                    max_value="Bo",
                    samples=("Ada", "Bo"),
                ),
            ),
        ),
        TableProfile(
            schema="raw",
            table="orders",
            row_count=2,
            method="exact",
            columns=(
                ColumnProfile(
                    column="status",
                    null_fraction=0.0,
                    distinct_count=2,
                    min_value="placed",
                    max_value=SAMPLE_VALUE,
                    top_values=(("placed", 1), (SAMPLE_VALUE, 1)),
                ),
            ),
        ),
    )
    return Scan(
        engine="duckdb",
        database="shop",
        schemas=("raw",),
        tables=(customers, orders),
        profiles=profiles,
        relationships=(
            Relationship(
                child_schema="raw",
                child_table="orders",
                child_columns=("customer_id",),
                parent_schema="raw",
                parent_table="customers",
                parent_columns=("id",),
                source="declared",
                confidence=1.0,
            ),
        ),
        roles=(
            TableRole(schema="raw", table="orders", role="fact"),
            TableRole(schema="raw", table="customers", role="dimension"),
        ),
    )

"""The typed answers of each task and the JSON schemas the providers are held to.

The schemas are written for OpenAI's strict mode, which every provider here accepts: every
property required, no other properties, "nothing to say" as an empty string or list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cartridge_core.models import TestKind

Layer = Literal["intermediate", "marts"]
TEST_KINDS: tuple[TestKind, ...] = ("unique", "not_null", "relationships", "accepted_values")


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnText:
    """A column's name and description."""

    name: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelAnswer:
    """A model the LLM wrote from a request in plain words."""

    name: str
    layer: Layer
    description: str
    sql: str
    columns: tuple[ColumnText, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StagedColumnAnswer:
    """A staging column's better name and description, keyed by its warehouse name."""

    source_column: str
    name: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StagingModelAnswer:
    name: str
    description: str
    columns: tuple[StagedColumnAnswer, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StagingAnswer:
    """Better names and descriptions for staging models."""

    models: tuple[StagingModelAnswer, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelDocsAnswer:
    name: str
    description: str
    columns: tuple[ColumnText, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DocsAnswer:
    """Descriptions of models and their columns."""

    models: tuple[ModelDocsAnswer, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TestIdea:
    """One proposed dbt generic test on a staging model's column, and why it should hold."""

    __test__ = False  # not a pytest class, whatever its name says

    model: str
    column: str
    kind: TestKind
    values: tuple[str, ...]  # accepted_values
    to_model: str  # relationships: the parent staging model ("" otherwise)
    field: str  # relationships: the parent's column ("" otherwise)
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TestsAnswer:
    """Proposed tests."""

    __test__ = False
    tests: tuple[TestIdea, ...]


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _array(items: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


_COLUMN_TEXT = _object({"name": _string("column name"), "description": _string("one sentence")})

MODEL_SCHEMA = _object(
    {
        "name": _string("the model's name: int_<entity>__<verb>, fct_<events> or dim_<entity>"),
        "layer": {"type": "string", "enum": ["intermediate", "marts"]},
        "description": _string("what one row is and what the model is for, one or two sentences"),
        "sql": _string("the model's complete SQL with Jinja ref() calls, no trailing semicolon"),
        "columns": _array(_COLUMN_TEXT, "every column the final select returns, in order"),
    }
)

STAGING_SCHEMA = _object(
    {
        "models": _array(
            _object(
                {
                    "name": _string("the staging model's name, as given"),
                    "description": _string("what one row is, one sentence"),
                    "columns": _array(
                        _object(
                            {
                                "source_column": _string("the warehouse column, exactly as given"),
                                "name": _string("the staged name, snake_case"),
                                "description": _string("one sentence"),
                            }
                        )
                    ),
                }
            )
        )
    }
)

DOCS_SCHEMA = _object(
    {
        "models": _array(
            _object(
                {
                    "name": _string("the model's name, as given"),
                    "description": _string("what one row is and what the model is for"),
                    "columns": _array(_COLUMN_TEXT),
                }
            )
        )
    }
)

TESTS_SCHEMA = _object(
    {
        "tests": _array(
            _object(
                {
                    "model": _string("a staging model, as given"),
                    "column": _string("its staged column"),
                    "kind": {"type": "string", "enum": list(TEST_KINDS)},
                    "values": _array({"type": "string"}, "accepted_values only, else empty"),
                    "to_model": _string("relationships only: the parent staging model, else empty"),
                    "field": _string("relationships only: the parent's staged column, else empty"),
                    "reason": _string("why the test should hold, one short sentence"),
                }
            )
        )
    }
)

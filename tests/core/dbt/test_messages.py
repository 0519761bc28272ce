"""dbt's error texts turned into one-line messages and lines of the model's own file."""

from __future__ import annotations

import pytest

from cartridge_core.dbt.messages import error_line, model_message

MODEL = """\
with source as (
    select * from {{ source('raw', 'orders') }}
)

select
    id,
    status,
    a_column_with_a_long_name_that_postgres_cuts_when_it_quotes_the_line_for_us as x,
    status
from source
"""


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("Binder Error: nope\n\nLINE 10:     status,\n  ^^^", 7, id="db-nearest-match"),
        pytest.param('column "y" does not exist\nLINE 12:     status\n  ^', 9, id="db-second-match"),
        pytest.param(
            "column does not exist\nLINE 11: ...e_that_postgres_cuts_when_it_quotes_the_lin...\n  ^",
            8,
            id="db-cut-line",
        ),
        pytest.param('Table "x" does not exist\nLINE 5: from "db"."raw"."x"\n  ^', 2, id="db-rendered"),
        pytest.param("Compilation Error in model m (models/m.sql)\n  bad\n    line 4\n    x", 4, id="jinja"),
        pytest.param("'orders' is undefined. This can happen when", 2, id="undefined"),
        pytest.param("depends on a source named 'raw.orders' which was not found", 2, id="source"),
        pytest.param("something else went wrong", None, id="unknown"),
    ],
)
def test_error_line_maps_to_model_source(text: str, line: int | None) -> None:
    """The line reported for the executed query, or by Jinja, is mapped to the model's own line."""
    assert error_line(text, MODEL) == line


def test_model_message_is_one_line_without_header() -> None:
    """A model's error drops dbt's header, the quoted query line and the caret marker."""
    text = (
        "Database Error in model stg_orders (models/staging/stg_orders.sql)\n"
        '  column "nope" does not exist\n  LINE 11:         nope as whatever\n                   ^'
    )
    assert model_message(text) == 'column "nope" does not exist'

"""with_models_ephemeral: the shadow's dbt_project.yml makes every model of the project ephemeral."""

from __future__ import annotations

import pytest

from cartridge_core.project.model_configs import with_models_ephemeral


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "name: shop\n", "name: shop\n\nmodels:\n  shop:\n    +materialized: ephemeral\n", id="no-models"
        ),
        pytest.param(
            "models:\n  shop:\n", "models:\n  shop:\n    +materialized: ephemeral\n", id="project-empty"
        ),
        pytest.param(
            "models:\n  shop:\n    +materialized: table\n    staging:\n      +materialized: view  # cheap\n"
            "    marts:\n      materialized: \"{{ 'table' if target.name == 'prod' else 'view' }}\"\n"
            "      +schema: marts\n",
            "models:\n  shop:\n    +materialized: ephemeral\n"
            "    staging:\n      +materialized: ephemeral  # cheap\n"
            "    marts:\n      materialized: ephemeral\n      +schema: marts\n",
            id="every-level-replaced",
        ),
        pytest.param(
            "models:\n  shop:\n    staging:\n      +materialized: &mat view\n"
            "  pkg:\n    +materialized: *mat\n",
            "models:\n  shop:\n    staging:\n      +materialized: &mat ephemeral\n"
            "    +materialized: ephemeral\n  pkg:\n    +materialized: *mat\n",
            id="anchor-kept",
        ),
        pytest.param(
            "models: {shop: {staging: {+materialized: view}}}\n",
            "models: {shop: {staging: {+materialized: ephemeral}, +materialized: ephemeral}}\n",
            id="flow-style",
        ),
    ],
)
def test_model_configs_models_ephemeral(text: str, expected: str) -> None:
    """The project and each folder under it configure `ephemeral`; other packages and keys stay."""
    assert with_models_ephemeral(text, "shop") == expected
    assert with_models_ephemeral(expected, "shop") == expected

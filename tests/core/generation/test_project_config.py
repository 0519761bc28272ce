"""with_layer_materializations: layer materializations added to dbt_project.yml, and nothing else changed."""

from __future__ import annotations

import pytest

from cartridge_core.errors import ConfigError
from cartridge_core.generation.project_config import with_layer_materializations
from tests.core.test_example import EXAMPLE

LAYERS = (
    "    staging:\n      +materialized: view\n"
    "    intermediate:\n      +materialized: ephemeral\n"
    "    marts:\n      +materialized: table\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("name: shop\n", f"name: shop\n\nmodels:\n  shop:\n{LAYERS}", id="no-models"),
        pytest.param("name: shop", f"name: shop\n\nmodels:\n  shop:\n{LAYERS}", id="no-final-newline"),
        pytest.param("name: shop\nmodels:\n", f"name: shop\nmodels:\n  shop:\n{LAYERS}", id="models-empty"),
        pytest.param(
            "name: shop\nmodels: ~  # later\n# end\n",
            f"name: shop\nmodels:  # later\n  shop:\n{LAYERS}# end\n",
            id="models-null-with-comment",
        ),
        pytest.param(
            "models:\n  other:\n    +materialized: table\n",
            f"models:\n  other:\n    +materialized: table\n  shop:\n{LAYERS}",
            id="another-package-configured",
        ),
        pytest.param(
            "models:\n    shop:\n        staging:   # one per source table\n        marts:\n"
            "            +schema: marts  # a custom schema\n"
            "        # a comment at the end\n\nseeds:\n  x: 1\n",
            "models:\n    shop:\n        staging:   # one per source table\n"
            "            +materialized: view\n        marts:\n"
            "            +schema: marts  # a custom schema\n            +materialized: table\n"
            "        intermediate:\n            +materialized: ephemeral\n"
            "        # a comment at the end\n\nseeds:\n  x: 1\n",
            id="own-indent-comments-and-order",
        ),
        pytest.param(
            "models: {shop: {staging: {+materialized: view}}}\n",
            "models: {shop: {staging: {+materialized: view}, intermediate: {+materialized: ephemeral},"
            " marts: {+materialized: table}}}\n",
            id="flow-style",
        ),
        pytest.param(
            'models:\n  shop:\n    staging: {}\n    intermediate:\n      materialized: "view"\n',
            "models:\n  shop:\n    staging: {+materialized: view}\n"
            '    intermediate:\n      materialized: "view"\n'
            "    marts:\n      +materialized: table\n",
            id="set-without-plus-is-kept",
        ),
    ],
)
def test_project_config_adds_missing_layers(text: str, expected: str) -> None:
    """Each layer the user left unset gets its materialization; every byte already there stays."""
    assert with_layer_materializations(text, "shop") == expected
    assert with_layer_materializations(expected, "shop") == expected  # a second pass adds nothing


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "models:\n  shop:\n    +materialized: table  # everything\n", id="project-wide-materialization"
        ),
        pytest.param("models:\n  +materialized: table\n", id="all-projects-materialization"),
        pytest.param(
            "# Mine.\nmodels:\n  shop:\n    staging:\n      materialized: table\n    intermediate:\n"
            "      +materialized: view\n    marts:\n      +materialized: incremental\n",
            id="every-layer-set",
        ),
    ],
)
def test_project_config_unchanged_when_user_decided(text: str) -> None:
    """A materialization the user set, for the project or each layer, leaves the file byte for byte."""
    assert with_layer_materializations(text, "shop") is text


def test_project_config_example_project() -> None:
    """The example's dbt_project.yml sets every layer already: it comes back byte for byte; without its
    intermediate and marts entries, it gains exactly those, its comments and staging config kept."""
    text = (EXAMPLE / "dbt_project.yml").read_text()
    assert with_layer_materializations(text, "shop") == text
    layers = "    intermediate:\n      +materialized: ephemeral\n    marts:\n      +materialized: table\n"
    assert text.endswith(layers)
    staging_only = text.removesuffix(layers)
    assert with_layer_materializations(staging_only, "shop") == text


def test_project_config_not_a_mapping() -> None:
    """A dbt_project.yml that is not a mapping is refused with a one-line error naming the file."""
    with pytest.raises(ConfigError) as raised:
        with_layer_materializations("- a\n- b\n", "shop", path="proj/dbt_project.yml")
    assert raised.value.file == "proj/dbt_project.yml" and "\n" not in raised.value.message

"""Finding the dbt project and reading dbt_project.yml as dbt does."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartridge_core.errors import ConfigError
from cartridge_core.project.discovery import find_project

PROJECT_YML = """\
name: shop
version: "1.0.0"
config-version: 2
profile: shop_profile
"""


def write_project_file(root: Path, text: str = PROJECT_YML) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(text)
    return root


def test_discovery_from_nested_file(tmp_path: Path) -> None:
    """A file deep inside the project finds the nearest dbt_project.yml above it."""
    root = write_project_file(tmp_path / "repo" / "shop")
    model = root / "models" / "staging" / "stg_orders.sql"
    model.parent.mkdir(parents=True)
    model.write_text("select 1")

    project = find_project(model)

    assert project.root == root.resolve()
    assert (project.name, project.profile_name) == ("shop", "shop_profile")


def test_discovery_from_project_dir(tmp_path: Path) -> None:
    """The project directory itself is a valid start, with dbt's defaults for paths."""
    root = write_project_file(tmp_path / "shop")

    project = find_project(root)

    assert project.root == root.resolve()
    assert project.model_paths == ("models",)
    assert project.target_path == "target"


def test_discovery_nearest_project_wins(tmp_path: Path) -> None:
    """A project nested in another is found before the outer one."""
    write_project_file(tmp_path, PROJECT_YML.replace("shop", "outer"))
    inner = write_project_file(tmp_path / "packages" / "inner", PROJECT_YML.replace("shop", "inner"))

    assert find_project(inner / "models").name == "inner"


def test_discovery_reads_paths(tmp_path: Path) -> None:
    """model-paths and target-path are read as written."""
    root = write_project_file(
        tmp_path / "shop", PROJECT_YML + 'model-paths: ["transform", "more"]\ntarget-path: build\n'
    )

    project = find_project(root)

    assert project.model_paths == ("transform", "more")
    assert project.models_dir == "transform"
    assert project.target_path == "build"


def test_discovery_accepts_source_paths(tmp_path: Path) -> None:
    """The pre-1.0 `source-paths` key still gives the model paths."""
    root = write_project_file(tmp_path / "shop", PROJECT_YML + "source-paths: [legacy_models]\n")

    assert find_project(root).model_paths == ("legacy_models",)


def test_discovery_renders_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """env_var() in dbt_project.yml is rendered, with its default when the variable is unset."""
    monkeypatch.setenv("SHOP_PROFILE", "from_env")
    monkeypatch.delenv("SHOP_MODELS", raising=False)
    text = (
        "name: shop\n"
        "profile: \"{{ env_var('SHOP_PROFILE') }}\"\n"
        "model-paths: [\"{{ env_var('SHOP_MODELS', 'models_default') }}\"]\n"
    )
    root = write_project_file(tmp_path / "shop", text)

    project = find_project(root)

    assert project.profile_name == "from_env"
    assert project.model_paths == ("models_default",)


def test_discovery_no_project(tmp_path: Path) -> None:
    """Without dbt_project.yml anywhere above, the error names where the search started."""
    start = tmp_path / "nowhere"
    start.mkdir()

    with pytest.raises(ConfigError) as caught:
        find_project(start)

    assert caught.value.message == (f"No dbt_project.yml found in {start.resolve()} or any parent directory")


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        pytest.param(
            "name: shop\nprofile: [shop\nversion: 1\n",
            "Invalid YAML in {file} at line ",
            3,
            id="bad-yaml",
        ),
        pytest.param("name: shop\nversion: 1\n", "Missing key 'profile' in {file}", None, id="no-profile"),
        pytest.param("profile: shop\n", "Missing key 'name' in {file}", None, id="no-name"),
        pytest.param("# nothing yet\n", "{file} is empty", None, id="empty-file"),
        pytest.param("- name\n- profile\n", "{file} is not a mapping", None, id="not-a-mapping"),
        pytest.param(
            "name: shop\nprofile: \"{{ env_var('CARTRIDGE_TEST_UNSET') }}\"\n",
            "Env var required but not provided: 'CARTRIDGE_TEST_UNSET' ({file}, key 'profile')",
            None,
            id="unset-env-var",
        ),
        pytest.param(
            "name: shop\nprofile: shop\nmodel-paths: {a: b}\n",
            "Key 'model-paths' in {file} must be a list of directories",
            None,
            id="model-paths-not-a-list",
        ),
    ],
)
def test_discovery_bad_project_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str, line: int | None
) -> None:
    """Each unusable dbt_project.yml gives a one-line error naming the file (and line, for YAML)."""
    monkeypatch.delenv("CARTRIDGE_TEST_UNSET", raising=False)
    root = write_project_file(tmp_path / "shop", text)
    file = root.resolve() / "dbt_project.yml"

    with pytest.raises(ConfigError) as caught:
        find_project(root)

    error = caught.value
    assert expected.format(file=file) in error.message
    assert "\n" not in error.message
    assert error.file == str(file)
    assert error.line == line

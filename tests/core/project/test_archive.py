"""Packing a project to hand it over (cartridge_core.project.archive): no output, data or secrets."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cartridge_core.errors import ConfigError
from cartridge_core.project.archive import archive_project, literal_secret
from cartridge_core.project.discovery import read_project

DBT = str(Path(sys.executable).parent / "dbt")
ENV_PROFILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: postgres
      host: localhost
      user: "{{ env_var('SHOP_USER') }}"
      password: "{{ env_var('DBT_ENV_SECRET_SHOP_PASSWORD') }}"
      dbname: shop
      schema: analytics
"""


def _members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return sorted(m.name for m in tar.getmembers())


def _fill(root: Path, files: dict[str, str]) -> None:
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)


def test_archive_packs_sources_and_leaves_out_output_data_and_env(
    duckdb_project: Path, tmp_path: Path
) -> None:
    """target/, dbt_packages/, logs/, .git, virtualenvs, data files and .env stay out; the rest is in."""
    _fill(
        duckdb_project,
        {
            "models/staging/stg_a.sql": "select 1 as id",
            ".cartridge/generated.json": "{}",
            "target/manifest.json": "{}",
            "dbt_packages/cartridge/dbt_project.yml": "name: cartridge",
            "logs/dbt.log": "log",
            ".git/HEAD": "ref",
            "env/pyvenv.cfg": "home = /usr",
            "models/__pycache__/x.pyc": "",
            ".env": "PASSWORD=x",
            "models/seeds.db": "",
            ".user.yml": "id: 1",
        },
    )
    archive = archive_project(read_project(duckdb_project), tmp_path / "shop.tar.gz")
    assert set(archive.data_files) == {"shop.duckdb", "models/seeds.db"}
    assert archive.warnings == ("left out .env: environment files hold secrets",)
    assert _members(tmp_path / "shop.tar.gz") == [
        "shop/.cartridge/generated.json",
        "shop/dbt_project.yml",
        "shop/models/staging/stg_a.sql",
        "shop/profiles.yml",
    ]


def test_archive_leaves_out_profiles_with_literal_secrets(duckdb_project: Path, tmp_path: Path) -> None:
    """A profiles.yml with a literal password is left out with a warning naming the key, never the value."""
    literal = ENV_PROFILE.replace("\"{{ env_var('DBT_ENV_SECRET_SHOP_PASSWORD') }}\"", "hunter2")
    assert "hunter2" in literal
    (duckdb_project / "profiles.yml").write_text(literal)
    archive = archive_project(read_project(duckdb_project), tmp_path / "shop.tgz")
    assert "shop/profiles.yml" not in _members(tmp_path / "shop.tgz")
    assert len(archive.warnings) == 1
    assert "profiles.yml" in archive.warnings[0] and "shop.outputs.dev.password" in archive.warnings[0]
    assert "hunter2" not in archive.warnings[0]


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        pytest.param(ENV_PROFILE, None, id="env-var-secrets"),
        pytest.param(ENV_PROFILE.replace("host: localhost", "token: abc"), "dev.token", id="literal-token"),
        pytest.param(
            ENV_PROFILE + "      keyfile_json:\n        private_key: '-----BEGIN'\n",
            "keyfile_json.private_key",
            id="nested-key",
        ),
        pytest.param(
            ENV_PROFILE.replace("host: localhost", "private_key_passphrase: ''"),
            None,
            id="empty-is-no-secret",
        ),
        pytest.param("shop: [unclosed\n", "cannot be read", id="not-yaml"),
    ],
)
def test_archive_literal_secret(tmp_path: Path, profile: str, problem: str | None) -> None:
    """Secrets read with env_var() are fine; any literal one (even nested) is found by its key."""
    path = tmp_path / "profiles.yml"
    path.write_text(profile)
    found = literal_secret(path)
    assert found is None if problem is None else (found is not None and problem in found)


def test_archive_refuses_model_paths_and_bad_names(duckdb_project: Path, tmp_path: Path) -> None:
    """The archive never goes where dbt parses models, and must be a .tar.gz."""
    project = read_project(duckdb_project)
    with pytest.raises(ConfigError, match="inside the model path models"):
        archive_project(project, duckdb_project / "models" / "shop.tar.gz")
    with pytest.raises(ConfigError, match=r"\.tar\.gz"):
        archive_project(project, tmp_path / "shop.zip")
    with pytest.raises(ConfigError, match="does not exist"):
        archive_project(project, tmp_path / "nowhere" / "shop.tar.gz")
    assert not (duckdb_project / "models" / "shop.tar.gz").exists()


def test_archive_in_project_root_leaves_itself_out_and_replaces_atomically(duckdb_project: Path) -> None:
    """At the project root, the archive does not pack itself (or an older one); no temp file remains."""
    project = read_project(duckdb_project)
    destination = duckdb_project / "handover.tar.gz"
    destination.write_text("an older archive")
    archive_project(project, destination)
    names = _members(destination)
    assert "shop/handover.tar.gz" not in names and "shop/dbt_project.yml" in names
    assert sorted(p.name for p in duckdb_project.iterdir() if p.name.startswith(".handover")) == []


def test_archive_extracts_to_a_project_dbt_parses(duckdb_project: Path, tmp_path: Path) -> None:
    """The archive, extracted elsewhere, is a dbt project that parses; members belong to no named user."""
    (duckdb_project / "models" / "stg_customers.sql").write_text(
        "select id from {{ source('raw', 'customers') }}"
    )
    (duckdb_project / "models" / "_sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: customers\n"
    )
    archive = archive_project(read_project(duckdb_project), tmp_path / "shop.tar.gz")
    out = tmp_path / "out"
    with tarfile.open(archive.path) as tar:
        assert {(m.uname, m.uid) for m in tar.getmembers()} == {("", 0)}
        tar.extractall(out, filter="data")
    root = out / "shop"
    result = subprocess.run(
        [DBT, "parse", "--profiles-dir", str(root)], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (root / "target" / "manifest.json").is_file()

"""Finding profiles.yml and resolving the warehouse target as dbt does."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cartridge_core.errors import ConfigError
from cartridge_core.models import DbtProject
from cartridge_core.project.discovery import find_project
from cartridge_core.project.profiles import adapter_installed, find_profiles_file, load_target

SECRET = "hunter2-S3cr3t!xyz"

DUCKDB_PROFILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: data/dev.duckdb
      schema: analytics
    prod:
      type: duckdb
      path: data/prod.duckdb
      schema: marts
    ci:
      type: duckdb
      path: ":memory:"
"""


def postgres_profile(**overrides: str | None) -> str:
    """A postgres profile whose password comes from env_var(), with keys replaced or removed."""
    keys: dict[str, str | None] = {
        "type": "postgres",
        "host": "localhost",
        "port": "5432",
        "user": "analyst",
        "password": "\"{{ env_var('SHOP_PG_PASSWORD') }}\"",
        "dbname": "shop",
        "schema": "analytics",
    }
    keys.update(overrides)
    lines = [f"      {k}: {v}" for k, v in keys.items() if v is not None]
    return "shop:\n  target: dev\n  outputs:\n    dev:\n" + "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No profiles.yml or target from the machine running the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("DBT_TARGET", raising=False)
    monkeypatch.setenv("SHOP_PG_PASSWORD", SECRET)


def make_project(root: Path, profiles: str | None = None) -> DbtProject:
    """A dbt project in `root` (profile `shop`), with `profiles` as its own profiles.yml if given."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    if profiles is not None:
        (root / "profiles.yml").write_text(profiles)
    return find_project(root)


def write_profiles(directory: Path, text: str = DUCKDB_PROFILE) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "profiles.yml").write_text(text)
    return directory / "profiles.yml"


def config_error(project: DbtProject, target: str | None = None) -> ConfigError:
    """The ConfigError load_target raises, checked to be one line."""
    with pytest.raises(ConfigError) as caught:
        load_target(project, target=target)
    assert "\n" not in caught.value.message
    return caught.value


@pytest.mark.parametrize(
    ("places", "explicit", "expected"),
    [
        pytest.param(("explicit", "env", "project", "home"), True, "explicit", id="explicit-first"),
        pytest.param(("explicit", "env", "project", "home"), False, "env", id="env-over-project"),
        pytest.param(("project", "home"), False, "project", id="project-over-home"),
        pytest.param(("home",), False, "home", id="home-last"),
    ],
)
def test_profiles_file_precedence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    places: tuple[str, ...],
    explicit: bool,
    expected: str,
) -> None:
    """profiles.yml is taken from the explicit dir, DBT_PROFILES_DIR, the project, ~/.dbt, in that order."""
    project = make_project(tmp_path / "shop")
    dirs = {
        "explicit": tmp_path / "explicit",
        "env": tmp_path / "env",
        "project": project.root,
        "home": tmp_path / "home" / ".dbt",
    }
    for place in places:
        write_profiles(dirs[place])
    if "env" in places:
        monkeypatch.setenv("DBT_PROFILES_DIR", str(dirs["env"]))

    found = find_profiles_file(project, dirs["explicit"] if explicit else None)

    assert found == dirs[expected] / "profiles.yml"


def test_profiles_file_relative_env_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative DBT_PROFILES_DIR is read from the project root, where dbt is run."""
    project = make_project(tmp_path / "shop")
    write_profiles(project.root / "ci")
    monkeypatch.setenv("DBT_PROFILES_DIR", "ci")

    assert find_profiles_file(project) == project.root / "ci" / "profiles.yml"


def test_profiles_file_explicit_dir_is_the_only_place(tmp_path: Path) -> None:
    """An explicit directory without profiles.yml is an error, never a silent fall back to another file."""
    project = make_project(tmp_path / "shop", DUCKDB_PROFILE)
    empty = tmp_path / "empty"
    empty.mkdir()

    with pytest.raises(ConfigError) as caught:
        find_profiles_file(project, empty)

    assert caught.value.message == (
        f"No profiles.yml found; looked in: {empty / 'profiles.yml'} (profiles_dir)"
    )


def test_profiles_file_missing_lists_places(tmp_path: Path) -> None:
    """With no profiles.yml anywhere, the error lists every place looked."""
    project = make_project(tmp_path / "shop")

    error = config_error(project)

    assert error.message == (
        f"No profiles.yml found; looked in: {project.root / 'profiles.yml'} (project directory), "
        f"{tmp_path / 'home' / '.dbt' / 'profiles.yml'} (~/.dbt)"
    )


@pytest.mark.parametrize(
    ("argument", "env", "expected_target", "expected_schema"),
    [
        pytest.param("prod", "ci", "prod", "marts", id="argument-over-env"),
        pytest.param(None, "prod", "prod", "marts", id="env-over-profile"),
        pytest.param(None, None, "dev", "analytics", id="profile-default"),
    ],
)
def test_load_target_choice(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argument: str | None,
    env: str | None,
    expected_target: str,
    expected_schema: str,
) -> None:
    """The target comes from the argument, else DBT_TARGET, else the profile's `target`."""
    project = make_project(tmp_path / "shop", DUCKDB_PROFILE)
    if env is not None:
        monkeypatch.setenv("DBT_TARGET", env)

    target = load_target(project, target=argument)

    assert (target.target_name, target.schema) == (expected_target, expected_schema)
    assert target.profiles_file == project.root / "profiles.yml"


def test_load_target_duckdb_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative duckdb path is resolved against the project root, not the current directory."""
    project = make_project(tmp_path / "shop", DUCKDB_PROFILE)
    monkeypatch.chdir(tmp_path)

    target = load_target(project)

    assert target.type == "duckdb"
    assert target.credentials["path"] == str(project.root / "data" / "dev.duckdb")
    assert target.database == "dev"


@pytest.mark.parametrize(
    ("path", "expected_path", "expected_database"),
    [
        pytest.param('":memory:"', ":memory:", "memory", id="memory"),
        pytest.param(None, ":memory:", "memory", id="default-memory"),
        pytest.param('"md:my_db"', "md:my_db", "my_db", id="motherduck"),
        pytest.param('"s3://bucket/lake.duckdb"', "s3://bucket/lake.duckdb", "lake", id="s3"),
        pytest.param('"/abs/my.db.duckdb"', "/abs/my.db.duckdb", "my", id="absolute-dotted"),
    ],
)
def test_load_target_duckdb_paths_kept(
    tmp_path: Path, path: str | None, expected_path: str, expected_database: str
) -> None:
    """In-memory, URI and absolute duckdb paths are kept; the database is named as DuckDB names it."""
    path_line = f"      path: {path}\n" if path is not None else ""
    profile = f"shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n{path_line}"
    project = make_project(tmp_path / "shop", profile)

    target = load_target(project)

    assert (target.credentials["path"], target.database) == (expected_path, expected_database)
    assert target.schema == "main"


def test_load_target_postgres(tmp_path: Path) -> None:
    """A postgres target is rendered: env_var password, numeric port, `database` alias as dbname."""
    profile = postgres_profile(dbname=None, database="warehouse", port="\"{{ '6543' | as_number }}\"")
    project = make_project(tmp_path / "shop", profile)

    target = load_target(project)

    assert (target.type, target.database, target.schema) == ("postgres", "warehouse", "analytics")
    assert target.credentials["dbname"] == "warehouse"
    assert "database" not in target.credentials
    assert target.credentials["port"] == 6543
    assert target.credentials["password"] == SECRET


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        pytest.param(None, 5432, id="default"),
        pytest.param("\"{{ env_var('SHOP_PG_PORT') | as_number }}\"", 6000, id="as-number"),
        pytest.param("\"{{ env_var('SHOP_PG_PORT') }}\"", 6000, id="numeric-string"),
    ],
)
def test_load_target_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: str | None, expected: int
) -> None:
    """The port defaults to 5432 and is an int whether as_number is used or not, as dbt coerces it."""
    monkeypatch.setenv("SHOP_PG_PORT", "6000")
    project = make_project(tmp_path / "shop", postgres_profile(port=port))

    assert load_target(project).credentials["port"] == expected


def test_load_target_env_var_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """env_var() falls back to its default when the variable is unset, and uses the value when set."""
    monkeypatch.delenv("SHOP_SCHEMA", raising=False)
    profile = postgres_profile(schema="\"{{ env_var('SHOP_SCHEMA', 'dbt_dev') }}\"")
    project = make_project(tmp_path / "shop", profile)

    assert load_target(project).schema == "dbt_dev"
    monkeypatch.setenv("SHOP_SCHEMA", "dbt_ci")
    assert load_target(project).schema == "dbt_ci"


def test_load_target_target_from_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile's `target` key is rendered too."""
    monkeypatch.setenv("SHOP_TARGET", "prod")
    profile = DUCKDB_PROFILE.replace("target: dev", "target: \"{{ env_var('SHOP_TARGET') }}\"")
    project = make_project(tmp_path / "shop", profile)

    assert load_target(project).target_name == "prod"


@pytest.mark.parametrize(
    ("profiles", "target", "expected"),
    [
        pytest.param(
            "shop:\n  outputs:\n    dev: [type\n",
            None,
            "Invalid YAML in {file} at line 4",
            id="bad-yaml",
        ),
        pytest.param(
            DUCKDB_PROFILE.replace("shop:", "other:"),
            None,
            "Profile 'shop' not found in {file} (profiles there: other)",
            id="profile-missing",
        ),
        pytest.param(
            DUCKDB_PROFILE,
            "staging",
            "Target 'staging' (from --target) not found in profile 'shop' in {file} "
            "(available: dev, prod, ci)",
            id="unknown-target",
        ),
        pytest.param(
            "shop:\n  target: dev\n",
            None,
            "Profile 'shop' in {file} has no 'outputs' mapping",
            id="no-outputs",
        ),
        pytest.param(
            postgres_profile(user="\"{{ env_var('SHOP_PG_USER') }}\""),
            None,
            "Env var required but not provided: 'SHOP_PG_USER' "
            "({file}, key 'user' of target 'dev' in profile 'shop')",
            id="unset-env-var",
        ),
        pytest.param(
            postgres_profile(type="nosuchwarehouse"),
            None,
            "Warehouse type 'nosuchwarehouse' needs the dbt adapter 'dbt-nosuchwarehouse', which is "
            "not installed — profile 'shop', target 'dev' in {file}",
            id="adapter-not-installed",
        ),
        pytest.param(
            postgres_profile(type=None),
            None,
            "Missing key 'type' — profile 'shop', target 'dev' in {file}",
            id="missing-type",
        ),
        pytest.param(
            postgres_profile(host=None),
            None,
            "Missing key 'host' — profile 'shop', target 'dev' in {file}",
            id="missing-host",
        ),
        pytest.param(
            postgres_profile(user=None),
            None,
            "Missing key 'user' — profile 'shop', target 'dev' in {file}",
            id="missing-user",
        ),
        pytest.param(
            postgres_profile(dbname=None),
            None,
            "Missing key 'dbname' (or 'database') — profile 'shop', target 'dev' in {file}",
            id="missing-dbname",
        ),
        pytest.param(
            postgres_profile(schema=None),
            None,
            "Missing key 'schema' — profile 'shop', target 'dev' in {file}",
            id="missing-schema",
        ),
        pytest.param(
            postgres_profile(port="fifty"),
            None,
            "Key 'port' must be a whole number between 0 and 65535 — profile 'shop', target 'dev'",
            id="bad-port",
        ),
    ],
)
def test_load_target_bad_profile(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    profiles: str,
    target: str | None,
    expected: str,
) -> None:
    """Each unusable profile gives a one-line error naming the file and the profile, target or key."""
    monkeypatch.delenv("SHOP_PG_USER", raising=False)
    project = make_project(tmp_path / "shop", profiles)
    file = project.root / "profiles.yml"

    error = config_error(project, target)

    assert expected.format(file=file) in error.message
    assert error.file == str(file)


def test_load_target_unknown_target_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown DBT_TARGET is named with where it came from."""
    monkeypatch.setenv("DBT_TARGET", "qa")
    project = make_project(tmp_path / "shop", DUCKDB_PROFILE)

    error = config_error(project)

    assert "Target 'qa' (from DBT_TARGET) not found in profile 'shop'" in error.message
    assert "(available: dev, prod, ci)" in error.message


SECRET_BREAKERS = [
    pytest.param({"type": "nosuchwarehouse"}, id="adapter-not-installed"),
    pytest.param({"host": None}, id="missing-key"),
    pytest.param({"port": "not-a-port"}, id="bad-port"),
    pytest.param({"user": "\"{{ env_var('SHOP_UNSET') }}\""}, id="unset-env-var"),
    pytest.param({"user": "\"{{ env_var('SHOP_PG_PASSWORD') | as_number }}\""}, id="as-number"),
    pytest.param({"password": "\"{{ env_var('SHOP_PG_PASSWORD') | as_bool }}\""}, id="as-bool-password"),
    pytest.param({"password": f'"{{{{ {SECRET.replace("-", " ")} }}}}"'}, id="jinja-error-in-password"),
    pytest.param({"password": f'"{SECRET}"\n      password: "{SECRET}"'}, id="duplicate-password-yaml"),
    pytest.param({"password": f"{SECRET}: [oops"}, id="bad-yaml-on-password-line"),
]


@pytest.mark.parametrize("overrides", SECRET_BREAKERS)
def test_load_target_password_not_in_messages(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    overrides: dict[str, str | None],
) -> None:
    """A password, rendered from env_var or written inline, reaches no error message, log or repr."""
    monkeypatch.delenv("SHOP_UNSET", raising=False)
    caplog.set_level(logging.DEBUG)
    project = make_project(tmp_path / "shop", postgres_profile(**overrides))

    error = config_error(project)

    assert SECRET not in error.message
    assert SECRET not in str(error) + repr(error) + str(error.__cause__) + str(error.__context__)
    assert "S3cr3t" not in error.message
    assert SECRET not in caplog.text


def test_load_target_repr_hides_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A loaded target's repr and the logs never show the password."""
    caplog.set_level(logging.DEBUG)
    project = make_project(tmp_path / "shop", postgres_profile())

    target = load_target(project)

    assert target.credentials["password"] == SECRET
    assert SECRET not in repr(target)
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param("duckdb_project", id="duckdb"),
        pytest.param("pg_project", id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_load_target_on_fixture_projects(request: pytest.FixtureRequest, fixture: str) -> None:
    """The shared fixture projects resolve to targets whose credentials reach the real warehouse."""
    root: Path = request.getfixturevalue(fixture)

    target = load_target(find_project(root / "models"))

    assert target.profiles_file == root / "profiles.yml"
    assert (target.profile_name, target.target_name, target.schema) == ("shop", "dev", "analytics")
    assert _count_customers(target.type, dict(target.credentials)) == 2


def _count_customers(kind: str, credentials: dict[str, object]) -> int:
    """Connect with the resolved credentials and count the shop's customers."""
    query = "select count(*) from raw.customers"
    if kind == "duckdb":
        import duckdb

        con = duckdb.connect(str(credentials["path"]), read_only=True)
        try:
            row = con.execute(query).fetchone()
        finally:
            con.close()
    else:
        import psycopg2

        keys = ("host", "port", "user", "password", "dbname")
        pg = psycopg2.connect(**{k: credentials[k] for k in keys})
        try:
            with pg.cursor() as cur:
                cur.execute(query)
                row = cur.fetchone()
        finally:
            pg.close()
    assert row is not None
    return int(row[0])


@pytest.fixture
def fake_adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt adapter plugins `snowflake` and `bigquery` as installed (empty packages, never imported)."""
    import dbt.adapters

    plugins = tmp_path / "plugins"
    for name in ("snowflake", "bigquery"):
        (plugins / name).mkdir(parents=True)
        (plugins / name / "__init__.py").write_text("")
    monkeypatch.setattr(dbt.adapters, "__path__", [*dbt.adapters.__path__, str(plugins)])


SNOWFLAKE_PROFILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: snowflake
      account: xy12345.eu-west-1
      user: analyst
      password: "{{ env_var('SHOP_PG_PASSWORD') }}"
      role: transformer
      database: ANALYTICS
      warehouse: TRANSFORMING
      schema: dbt_analyst
"""

BIGQUERY_PROFILE = """\
shop:
  target: dev
  outputs:
    dev:
      type: bigquery
      method: service-account
      keyfile: keys/bq.json
      project: my-gcp-project
      dataset: dbt_analyst
      threads: 4
"""


@pytest.mark.usefixtures("fake_adapters")
@pytest.mark.parametrize(
    ("profiles", "database", "schema"),
    [
        pytest.param(SNOWFLAKE_PROFILE, "ANALYTICS", "dbt_analyst", id="snowflake"),
        pytest.param(BIGQUERY_PROFILE, "my-gcp-project", "dbt_analyst", id="bigquery-aliases"),
    ],
)
def test_load_target_other_adapter(tmp_path: Path, profiles: str, database: str, schema: str) -> None:
    """A type with an installed dbt adapter is accepted: the rendered target kept as dbt reads it,
    database and schema from its keys (BigQuery's project and dataset), and the project named."""
    project = make_project(tmp_path / "shop", profiles)

    target = load_target(project)

    assert (target.database, target.schema, target.project) == (database, schema, project)
    rendered = dict(target.credentials)
    if target.type == "snowflake":
        assert rendered["password"] == SECRET and rendered["warehouse"] == "TRANSFORMING"
    else:
        assert rendered["keyfile"] == "keys/bq.json"  # relative: dbt reads it from the project root


@pytest.mark.usefixtures("fake_adapters")
@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        pytest.param(
            SNOWFLAKE_PROFILE.replace("      schema: dbt_analyst\n", ""),
            "Missing key 'schema' — profile 'shop', target 'dev' in {file}",
            id="snowflake-no-schema",
        ),
        pytest.param(
            BIGQUERY_PROFILE.replace("      dataset: dbt_analyst\n", ""),
            "Missing key 'schema' (or 'dataset') — profile 'shop', target 'dev' in {file}",
            id="bigquery-no-dataset",
        ),
    ],
)
def test_load_target_other_adapter_without_schema(tmp_path: Path, profiles: str, expected: str) -> None:
    """A target of another adapter must still say where dbt builds: a one-line error names the key."""
    project = make_project(tmp_path / "shop", profiles)

    error = config_error(project)

    assert error.message == expected.format(file=project.root / "profiles.yml")


@pytest.mark.parametrize(
    ("kind", "installed"),
    [
        pytest.param("postgres", True, id="installed"),
        pytest.param("nosuchwarehouse", False, id="not-installed"),
        pytest.param("postgres.impl", False, id="dotted"),
        pytest.param("", False, id="empty"),
    ],
)
def test_adapter_installed(kind: str, installed: bool) -> None:
    """Only an installed adapter plugin counts; names that are not plain identifiers never do."""
    assert adapter_installed(kind) is installed

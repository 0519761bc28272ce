"""A new dbt project for a team that has none yet: the files `cartridge-lsp --init DIR` starts from.

The project is laid out as dbt Labs' guides lay one out (dbt_project.yml with materializations per
layer, profiles.yml, packages.yml with Cartridge's dbt package, .gitignore, README.md, macros/,
analyses/). Its profiles.yml holds no secret: the user and password are read with `env_var()`,
the password from a `DBT_ENV_SECRET_` variable, which dbt scrubs from its logs.

The project is built in a hidden sibling of DIR and moved into place only once its warehouse has
been scanned, so a wrong setting or an unreachable warehouse leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Literal

from cartridge_core.errors import ConfigError
from cartridge_core.generation.naming import snake_case
from cartridge_core.generation.project_config import with_layer_materializations
from cartridge_core.models import Scan
from cartridge_core.project.changes import write_atomic

Adapter = Literal["postgres", "duckdb"]
ADAPTERS: tuple[Adapter, ...] = ("postgres", "duckdb")
TARGET_NAME = "dev"
BUILD_SCHEMA = "analytics"  # where dbt builds the models (the profile's `schema`)
_DBT_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# A project named like a package it installs (Cartridge's is `cartridge`) makes dbt refuse both.
_TAKEN_NAMES = frozenset({"cartridge", "dbt"})


@dataclass(frozen=True, slots=True, kw_only=True)
class NewConnection:
    """Where the new project's profile connects: its adapter and its settings that are not secret."""

    adapter: Adapter
    host: str = "localhost"  # postgres
    port: int = 5432  # postgres
    user: str | None = None  # postgres: the default of the user variable; None makes it required
    database: str | None = None  # postgres
    path: Path | None = None  # duckdb: the database file


@dataclass(frozen=True, slots=True, kw_only=True)
class Secrets:
    """The environment variables the new profiles.yml reads with env_var()."""

    user: str
    password: str


def project_name(directory: Path) -> str:
    """The dbt project (and profile) name for `directory`: its name in snake_case, made valid for dbt."""
    name = snake_case(directory.name)
    if not name:
        raise ConfigError(f"Cannot make a dbt project name from the directory name '{directory.name}'")
    if not _DBT_NAME.match(name) or name in _TAKEN_NAMES:
        name = f"{name}_project" if name in _TAKEN_NAMES else f"project_{name}"
    return name


def secrets_for(name: str) -> Secrets:
    """The env var names of project `name`'s credentials, e.g. SHOP_USER, DBT_ENV_SECRET_SHOP_PASSWORD."""
    prefix = name.upper().lstrip("_")
    return Secrets(user=f"{prefix}_USER", password=f"DBT_ENV_SECRET_{prefix}_PASSWORD")


def check_connection(connection: NewConnection, name: str) -> None:
    """ConfigError, before anything is written, for a missing setting or credentials variable."""
    if connection.adapter == "duckdb":
        if connection.path is None:
            raise ConfigError("--init with --adapter duckdb needs --path, the DuckDB database file")
        if not connection.path.is_file():
            raise ConfigError(f"DuckDB database file {connection.path} does not exist")
        return
    if not connection.database:
        raise ConfigError("--init with --adapter postgres needs --database")
    secrets = secrets_for(name)
    if connection.user is None and secrets.user not in os.environ:
        raise ConfigError(f"Set {secrets.user} (the database user) or pass --user: profiles.yml reads it")
    if secrets.password not in os.environ:
        raise ConfigError(
            f"Set {secrets.password} to the database password (empty for none): "
            "the new profiles.yml reads it with env_var() and never holds it"
        )


def check_new_directory(directory: Path) -> None:
    """ConfigError when `directory` exists and is not an empty directory: --init never writes over work."""
    if directory.is_dir() and not any(directory.iterdir()):
        return
    if directory.exists():
        raise ConfigError(
            f"{directory} already exists and is not empty; --init needs a new or empty directory"
        )
    if not directory.parent.is_dir():
        raise ConfigError(f"{directory.parent} does not exist; create it first")


def scaffold_files(name: str, connection: NewConnection, package_dir: Path) -> dict[str, str]:
    """The files of the new project before generation: relative posix path -> text."""
    return {
        "dbt_project.yml": with_layer_materializations(_project_yaml(name), name),
        "profiles.yml": _profiles_yaml(name, connection),
        "packages.yml": _packages_yaml(package_dir),
        ".gitignore": _GITIGNORE,
        "README.md": _readme(name, connection),
        "macros/.gitkeep": "",
        "analyses/.gitkeep": "",
    }


def exploration_queries(scan: Scan) -> dict[str, str]:
    """One analysis per source (scanned schema): rows per table, through `source()`."""
    from cartridge_core.generation.staging import staging_models

    files = {}
    for source_name, group in groupby(staging_models(scan), key=lambda m: m.source_name):
        models = list(group)
        selects = "\nunion all\n".join(
            f"select {_sql_text(m.table_name)} as table_name, count(*) as row_count"
            f" from {{{{ source('{source_name}', '{m.table_name}') }}}}"
            for m in models
        )
        files[f"analyses/explore_{source_name}.sql"] = (
            f"-- Rows per table of the source `{source_name}` (schema {models[0].table.schema}).\n"
            f"-- Run `dbt compile --select explore_{source_name}` and run the SQL it prints.\n"
            f"{selects}\norder by table_name\n"
        )
    return files


def create_project(
    directory: Path, files: Mapping[str, str], complete: Callable[[Path], Mapping[str, str]]
) -> None:
    """Write `files` in a hidden sibling of `directory`, add what `complete(sibling)` returns, move it in.

    `complete` reads the half-made project (e.g. to scan its warehouse); if it raises, the sibling
    is removed and `directory` is left as it was.
    """
    # mkdir, not mkdtemp: the project's directory gets the user's usual permissions, not 0700.
    work = directory.parent / f".{directory.name}.init-{uuid.uuid4().hex[:12]}"
    work.mkdir()
    try:
        _write(work, files)
        _write(work, complete(work))
        os.replace(work, directory)  # POSIX replaces an empty directory in one step
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _write(root: Path, files: Mapping[str, str]) -> None:
    for relpath, text in files.items():
        write_atomic(root / relpath, text)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _yaml_text(value: str) -> str:
    # A JSON string is a valid double-quoted YAML scalar, whatever it holds.
    return json.dumps(value, ensure_ascii=False)


def _project_yaml(name: str) -> str:
    return f"""\
name: {name}
version: "1.0.0"
config-version: 2
profile: {name}

model-paths: ["models"]
analysis-paths: ["analyses"]
test-paths: ["tests"]
seed-paths: ["seeds"]
macro-paths: ["macros"]
snapshot-paths: ["snapshots"]

clean-targets:
  - target
  - dbt_packages

"""


def _profiles_yaml(name: str, connection: NewConnection) -> str:
    header = "# No secret is written here: credentials come from environment variables (see README.md).\n"
    if connection.adapter == "duckdb":
        settings = f"      path: {_yaml_text(str(connection.path))}\n"
    else:
        secrets = secrets_for(name)
        user_default = "" if connection.user is None else f", {_sql_text(connection.user)}"
        settings = (
            f"      host: {_yaml_text(connection.host)}\n"
            f"      port: {connection.port}\n"
            f"      user: \"{{{{ env_var('{secrets.user}'{user_default}) }}}}\"\n"
            f"      password: \"{{{{ env_var('{secrets.password}') }}}}\"\n"
            f"      dbname: {_yaml_text(connection.database or '')}\n"
        )
    return (
        f"{header}{name}:\n  target: {TARGET_NAME}\n  outputs:\n    {TARGET_NAME}:\n"
        f"      type: {connection.adapter}\n{settings}      schema: {BUILD_SCHEMA}\n      threads: 4\n"
    )


def _packages_yaml(package_dir: Path) -> str:
    return f"""\
# Cartridge's dbt package (profiling and containment macros); `dbt deps` installs it.
# The path is where Cartridge was installed when this project was created. On another machine, print
# its own with: python -c "from cartridge_core.dbt.package import package_path; print(package_path())"
# or install the package from Git instead:
#   - git: "<Cartridge repository URL>"
#     revision: v0.1.0
#     subdirectory: cartridge_core/dbt_package
packages:
  - local: {_yaml_text(str(package_dir))}
"""


_GITIGNORE = """\
# dbt's output (with Cartridge's scan cache and shadow project), installed packages and logs.
target/
dbt_packages/
logs/
# Local environments and secrets. Commit .cartridge/generated.json: it tells Cartridge which files it wrote.
.venv/
.env
.user.yml
"""


def _readme(name: str, connection: NewConnection) -> str:
    if connection.adapter == "duckdb":
        where = f"the DuckDB database `{connection.path}`"
        credentials = "No credentials: profiles.yml names the database file.\n"
    else:
        where = f"PostgreSQL database `{connection.database}` on {connection.host}:{connection.port}"
        secrets = secrets_for(name)
        credentials = (
            "profiles.yml reads the credentials from the environment (dbt hides the values of\n"
            "`DBT_ENV_SECRET_` variables in its logs):\n\n"
            f"```sh\nexport {secrets.user}=...\nexport {secrets.password}=...\n```\n"
        )
    return f"""\
# {name}

A dbt project over {where}, started by `cartridge-lsp --init`. Models are built in the
schema `{BUILD_SCHEMA}` (see profiles.yml).

## Set up

{credentials}
Then, from this directory (dbt reads the profiles.yml here):

```sh
dbt deps     # installs Cartridge's dbt package, listed in packages.yml
dbt build    # builds and tests every model
```

## Layout

- `models/staging/<source>/`: one model per source table (views), its sources and models YAML.
- `models/intermediate/`, `models/marts/`: joins and the dimensional models (tables), when generated.
- `analyses/explore_<source>.sql`: rows per table of each source: `dbt compile --select explore_<source>`.
- `macros/`: your own macros.
- `.cartridge/generated.json`: what Cartridge wrote. Commit it: Cartridge never overwrites a file you edited.

## Keep it in line with the warehouse

```sh
cartridge-lsp --generate --layers staging,intermediate,marts   # model new tables and columns
cartridge-lsp --check                                          # CI: exit 1 when the warehouse has changed
cartridge-lsp --archive ../{name}.tar.gz                       # pack the project to hand it over
```
"""

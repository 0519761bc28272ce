"""The warehouse target of a dbt project, read from profiles.yml as dbt reads it.

dbt's rules followed here: where profiles.yml is looked for, how the target is chosen (--target,
DBT_TARGET, the profile's `target`, "default"), and how values are rendered (`env_var()` and the
`as_number`/`as_bool`/`as_text`/`as_native` filters, with dbt's native-type semantics).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import chain, islice
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2
from jinja2.nativetypes import NativeCodeGenerator, NativeTemplate
from jinja2.sandbox import SandboxedEnvironment

from cartridge_core.errors import ConfigError
from cartridge_core.models import DbtProject, WarehouseTarget
from cartridge_core.project.yamlio import load_yaml_file

logger = logging.getLogger(__name__)

PROFILES_FILE = "profiles.yml"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Where:
    """Where a target came from, for error messages."""

    file: Path
    profile: str
    target: str

    def key(self, key: str) -> str:
        return f"key '{key}' of target '{self.target}' in profile '{self.profile}'"

    def error(self, message: str) -> ConfigError:
        return ConfigError(
            f"{message} — profile '{self.profile}', target '{self.target}' in {self.file}",
            file=str(self.file),
        )


def find_profiles_file(project: DbtProject, profiles_dir: Path | None = None) -> Path:
    """The profiles.yml dbt uses: `profiles_dir`, else $DBT_PROFILES_DIR, else the project's, else ~/.dbt."""
    places = _profiles_places(project, profiles_dir)
    for directory, _why in places:
        candidate = directory / PROFILES_FILE
        if candidate.is_file():
            logger.debug("Using %s", candidate)
            return candidate
    looked = ", ".join(f"{directory / PROFILES_FILE} ({why})" for directory, why in places)
    raise ConfigError(f"No {PROFILES_FILE} found; looked in: {looked}")


def _profiles_places(project: DbtProject, profiles_dir: Path | None) -> list[tuple[Path, str]]:
    # Like dbt, an explicit directory or DBT_PROFILES_DIR is the only place looked: falling back
    # to another profiles.yml would connect somewhere the user did not ask for.
    if profiles_dir is not None:
        return [(_against_root(project, profiles_dir), "profiles_dir")]
    from_env = os.environ.get("DBT_PROFILES_DIR")
    if from_env:
        return [(_against_root(project, Path(from_env)), "DBT_PROFILES_DIR")]
    return [(project.root, "project directory"), (Path.home() / ".dbt", "~/.dbt")]


def _against_root(project: DbtProject, path: Path) -> Path:
    """`path` made absolute: relative paths are relative to the project root, where dbt is run."""
    path = path.expanduser()
    return path if path.is_absolute() else project.root / path


def load_target(
    project: DbtProject, *, profiles_dir: Path | None = None, target: str | None = None
) -> WarehouseTarget:
    """The warehouse target the project's profile names, rendered and checked as dbt would."""
    file = find_profiles_file(project, profiles_dir)
    profile = _read_profile(file, project.profile_name)
    target_name, source = _choose_target(profile, project.profile_name, file, target)
    where = _Where(file=file, profile=project.profile_name, target=target_name)
    outputs = _outputs(profile, where)
    if target_name not in outputs:
        available = ", ".join(str(name) for name in outputs) or "none"
        raise ConfigError(
            f"Target '{target_name}'{source} not found in profile '{where.profile}' in {file} "
            f"(available: {available})",
            file=str(file),
        )
    raw = outputs[target_name]
    if not isinstance(raw, Mapping):
        raise where.error("The target is not a mapping of settings")
    rendered = {
        str(k): render_value(v, file=file, where=where.key(str(k)), secret=_is_secret_key(str(k)))
        for k, v in raw.items()
    }
    result = _resolve(rendered, project, where)
    logger.debug("Target %s.%s in %s: type %s", where.profile, target_name, file, result.type)
    return result


def _read_profile(file: Path, profile_name: str) -> Mapping[Any, Any]:
    data = load_yaml_file(file)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file} is not a mapping of profiles", file=str(file))
    profile = data.get(profile_name)
    if profile is None:
        # `config` is a settings block of older dbt versions, not a profile.
        names = ", ".join(str(k) for k in data if k != "config") or "none"
        raise ConfigError(
            f"Profile '{profile_name}' not found in {file} (profiles there: {names})",
            file=str(file),
        )
    if not isinstance(profile, Mapping):
        raise ConfigError(f"Profile '{profile_name}' in {file} is not a mapping", file=str(file))
    return profile


def _choose_target(
    profile: Mapping[Any, Any], profile_name: str, file: Path, target: str | None
) -> tuple[str, str]:
    """The target name and, for messages, where it came from (dbt's order)."""
    if target:
        return target, " (from --target)"
    from_env = os.environ.get("DBT_TARGET")
    if from_env:
        return from_env, " (from DBT_TARGET)"
    if "target" in profile:
        where = f"key 'target' of profile '{profile_name}'"
        return str(render_value(profile["target"], file=file, where=where)), ""
    return "default", " (the default when the profile has no 'target')"


def _outputs(profile: Mapping[Any, Any], where: _Where) -> Mapping[Any, Any]:
    outputs = profile.get("outputs")
    if not isinstance(outputs, Mapping):
        raise ConfigError(
            f"Profile '{where.profile}' in {where.file} has no 'outputs' mapping",
            file=str(where.file),
        )
    return outputs


def _resolve(credentials: dict[str, Any], project: DbtProject, where: _Where) -> WarehouseTarget:
    kind = credentials.get("type")
    if not kind:
        raise where.error("Missing key 'type'")
    resolver = _RESOLVERS.get(str(kind))
    if resolver is None:
        if not adapter_installed(str(kind)):
            raise where.error(
                f"Warehouse type '{kind}' needs the dbt adapter 'dbt-{kind}', which is not installed"
            )
        resolver = _resolve_other
    database, schema = resolver(credentials, project, where)
    return WarehouseTarget(
        type=str(kind),
        profile_name=where.profile,
        target_name=where.target,
        profiles_file=where.file,
        schema=schema,
        database=database,
        credentials=credentials,
        project=project,
    )


def adapter_installed(kind: str) -> bool:
    """Whether dbt's adapter plugin for warehouse type `kind` is installed (dbt is not imported)."""
    if not kind.isidentifier():
        return False
    try:
        # Imports only the namespace packages `dbt` and `dbt.adapters` (a few ms), not the plugin.
        return importlib.util.find_spec(f"dbt.adapters.{kind}") is not None
    except (ImportError, ValueError):
        return False


def _required(credentials: Mapping[str, Any], key: str, where: _Where) -> str:
    value = credentials.get(key)
    if value is None or value == "":
        raise where.error(f"Missing key '{key}'")
    if isinstance(value, (Mapping, list)):
        raise where.error(f"Key '{key}' must be a single value")
    return str(value)


def _resolve_postgres(credentials: dict[str, Any], project: DbtProject, where: _Where) -> tuple[str, str]:
    """Check a postgres target and normalise dbt's aliases to psycopg2's names (dbname, password)."""
    if "database" in credentials:
        # dbt-postgres accepts both spellings; keep psycopg2's.
        credentials.setdefault("dbname", credentials.pop("database"))
    if "pass" in credentials:
        credentials.setdefault("password", credentials.pop("pass"))
    for key in ("host", "user"):
        credentials[key] = _required(credentials, key, where)
    if credentials.get("dbname") in (None, ""):
        raise where.error("Missing key 'dbname' (or 'database')")
    credentials["dbname"] = _required(credentials, "dbname", where)
    credentials["schema"] = _required(credentials, "schema", where)
    credentials["port"] = _port(credentials.get("port", 5432), where)
    return credentials["dbname"], credentials["schema"]


def _port(value: Any, where: _Where) -> int:
    # dbt coerces a numeric string ("5432", e.g. from env_var) to an int; anything else fails.
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise where.error("Key 'port' must be a whole number between 0 and 65535")
    return value


def _resolve_duckdb(credentials: dict[str, Any], project: DbtProject, where: _Where) -> tuple[str, str]:
    """Check a duckdb target; a relative file path is made absolute against the project root."""
    path = str(credentials.get("path") or ":memory:")
    credentials["path"] = path = _duckdb_path(path, project)
    credentials["schema"] = schema = str(credentials.get("schema") or "main")
    database = credentials.get("database") or _duckdb_database_name(path)
    return str(database), schema


def _duckdb_path(path: str, project: DbtProject) -> str:
    if path == ":memory:" or len(urlparse(path).scheme) > 1:
        return path  # in memory, or a URI such as md:my_db, s3://bucket/db.duckdb
    as_path = Path(path).expanduser()
    return str(as_path if as_path.is_absolute() else project.root / as_path)


def _duckdb_database_name(path: str) -> str:
    """The catalog name DuckDB (and dbt-duckdb) gives the attached file."""
    if path == ":memory:":
        return "memory"
    parsed = urlparse(path)
    base = os.path.basename(parsed.path)
    if parsed.scheme in ("md", "motherduck"):
        return os.path.splitext(base)[0] or "my_db"
    # "my.db.duckdb" -> "my", ".hidden.duckdb" -> "hidden": the first non-empty dotted part.
    return base.lstrip(".").split(".")[0]


# Any other adapter: Cartridge reads it through dbt, so the target stays as dbt reads it; only
# where dbt builds is read here. Adapters name those keys differently (dbt accepts the aliases).
_DATABASE_KEYS = ("database", "project", "dbname", "catalog")  # project: BigQuery; catalog: Databricks
_SCHEMA_KEYS = ("schema", "dataset")  # dataset: BigQuery


def _resolve_other(credentials: dict[str, Any], project: DbtProject, where: _Where) -> tuple[str, str]:
    """The database and schema of a target Cartridge reads through its dbt adapter."""
    schema_key = _first_set(credentials, _SCHEMA_KEYS)
    if schema_key is None:
        alias = " (or 'dataset')" if credentials.get("type") == "bigquery" else ""
        raise where.error(f"Missing key 'schema'{alias}")
    database_key = _first_set(credentials, _DATABASE_KEYS)
    database = _required(credentials, database_key, where) if database_key else ""
    return database, _required(credentials, schema_key, where)


def _first_set(credentials: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    return next((k for k in keys if credentials.get(k) not in (None, "")), None)


_Resolver = Callable[[dict[str, Any], DbtProject, _Where], tuple[str, str]]
_RESOLVERS: dict[str, _Resolver] = {"duckdb": _resolve_duckdb, "postgres": _resolve_postgres}


# Rendering, shared with dbt_project.yml discovery. dbt renders YAML values in a sandboxed Jinja
# environment of native types: a lone `{{ ... }}` keeps its Python type, and the marker filters
# below decide whether a string is parsed into a number, a bool or any literal.


def render_value(value: Any, *, file: Path, where: str, secret: bool = False) -> Any:
    """`value` with dbt Jinja rendered in every string (recursing into lists and mappings).

    `where` names the value in messages; `secret` keeps Jinja's own words out of them.
    """
    if isinstance(value, Mapping):
        return {k: render_value(v, file=file, where=where, secret=secret) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, file=file, where=where, secret=secret) for v in value]
    if isinstance(value, date):
        return value.isoformat()  # as dbt does for YAML dates
    if not isinstance(value, str) or not any(tag in value for tag in ("{{", "{%", "{#")):
        return value
    try:
        return _environment().from_string(value).render()
    except _MissingEnvVar as exc:
        message = f"Env var required but not provided: '{exc.name}' ({file}, {where})"
    except (jinja2.TemplateError, _ConversionError) as exc:
        # Jinja quotes tokens of the template, which may be a literal secret: keep its words
        # only where the value cannot be one.
        detail = "" if secret else f": {exc}"
        message = f"Could not render {where} in {file}{detail}"
    # Raised outside the handlers: Jinja's exception holds the template source, so it must not
    # be chained to ours (tracebacks in logs would print it).
    raise ConfigError(message, file=str(file))


def _is_secret_key(key: str) -> bool:
    """Whether a target key may hold a secret (password, token, private key, ...)."""
    return any(word in key.lower() for word in ("pass", "secret", "token", "private", "auth"))


class _MissingEnvVar(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _ConversionError(Exception):
    """A marker filter met a value of the wrong kind (the value itself is not quoted)."""


def _env_var(name: str, default: str | None = None) -> str:
    """dbt's env_var(): the variable's value, else the default, else an error."""
    value = os.environ.get(name, default)
    if value is None:
        raise _MissingEnvVar(name)
    return value


class _TextMarker(str):
    """as_text: keep a string a string."""


class _NativeMarker(str):
    """as_native: parse the string as a Python literal."""


class _BoolMarker(_NativeMarker):
    """as_bool: parse the string, which must give a bool."""


class _NumberMarker(_NativeMarker):
    """as_number: parse the string, which must give a number."""


def _native_concat(nodes: Iterable[Any]) -> Any:
    """Join rendered nodes as dbt does: one node keeps its type, markers are parsed, more join as text."""
    rest = iter(nodes)
    head = list(islice(rest, 2))
    if not head:
        return ""
    if len(head) > 1:
        return "".join(str(v) for v in chain(head, rest))
    raw = head[0]
    if isinstance(raw, jinja2.Undefined):
        str(raw)  # a StrictUndefined raises the UndefinedError naming the missing variable
    if isinstance(raw, _TextMarker):
        return str(raw)
    if not isinstance(raw, _NativeMarker):
        return raw
    try:
        result = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError):
        result = str(raw)
    if isinstance(raw, _BoolMarker) and not isinstance(result, bool):
        raise _ConversionError("as_bool needs a value that is true or false")
    is_number = isinstance(result, (int, float)) and not isinstance(result, bool)
    if isinstance(raw, _NumberMarker) and not is_number:
        raise _ConversionError("as_number needs a value that is a number")
    return result


class _NativeEnvironment(SandboxedEnvironment):
    """jinja2's NativeEnvironment made sandboxed, joining nodes as dbt does."""

    code_generator_class = NativeCodeGenerator
    concat = staticmethod(_native_concat)


class _Template(NativeTemplate):
    # NativeTemplate.render joins with its environment_class's concat; jinja types it as
    # NativeEnvironment, which a sandboxed environment cannot also be.
    environment_class = _NativeEnvironment  # type: ignore[assignment]


_NativeEnvironment.template_class = _Template


@functools.cache
def _environment() -> _NativeEnvironment:
    env = _NativeEnvironment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = _env_var
    env.filters.update(
        as_text=_TextMarker, as_bool=_BoolMarker, as_native=_NativeMarker, as_number=_NumberMarker
    )
    return env

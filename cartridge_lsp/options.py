"""The server's settings and command arguments: camelCase JSON in, frozen dataclasses out (cattrs).

Structuring is strict (no `"yes"` for a bool, no string for a list, no unknown keys) so that a typo
gives a readable warning instead of a setting that silently does nothing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, NewType, TypeVar, get_args

import cattrs
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception

from cartridge_core.errors import ConfigError

# Imported at run time: cattrs reads Options' annotations. The module imports no SDK (those load
# only when a request is made), so the server's start-up stays light.
from cartridge_core.llm.config import LlmConfig, load_llm_config

T = TypeVar("T")

# What to do with a proposed test that fails on the data (cartridge_core.dbt.verify.OnFailure, not
# imported: that module loads dbt's runner, which the server must not pay for at start-up).
OnFailure = Literal["drop", "warn"]
# A domain names the folder of intermediate and mart models: "" would put them in models/marts/ itself.
Domain = NewType("Domain", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class TestsSettings:
    """The `tests` section of the settings: how proposed schema tests are written."""

    on_failure: OnFailure = "drop"  # a test that fails on the data: left out, or written as a warning


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """initializationOptions / workspace settings, every one defaulted."""

    profiles_dir: str | None = None  # where profiles.yml is; relative: to the project root, as dbt
    target: str | None = None  # the profile target; None: the profile's default
    schemas: tuple[str, ...] = ()  # source schemas to model; empty: every source schema
    replace_existing: bool = False  # replace generated files that differ on disk
    tests: TestsSettings = field(default_factory=TestsSettings)
    domain: Domain | None = None  # the folder of intermediate and mart models; None: each source's name
    llm: LlmConfig | None = None  # LLM-assisted generation (the `llm` section); None: no provider set

    @property
    def profiles_path(self) -> Path | None:
        """`profiles_dir` as a path (the core resolves a relative one against the project root)."""
        return Path(self.profiles_dir).expanduser() if self.profiles_dir else None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateArgs:
    """The one optional argument of `cartridge.generateStaging`."""

    schema: str | None = None  # one schema; None: the configured / every source schema
    table: str | None = None  # one table of `schema` (its warehouse name)
    rescan: bool = False  # scan again even if this session already scanned those schemas
    replace: bool | None = None  # None: the `replaceExisting` setting
    uri: str | None = None  # a document in the dbt project; None: the workspace root


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelArgs:
    """The argument of `cartridge.addTests` and `cartridge.documentColumns`."""

    model: str | None = None  # a staging model's name, e.g. "stg_raw__orders"; None: the one at `uri`
    uri: str | None = None  # a document in the dbt project; None: the workspace root
    line: int | None = None  # without `model`: the cursor's line (0-based) in a models YAML at `uri`
    rescan: bool = False  # scan again even if a scan of this session or the cache is at hand


@dataclass(frozen=True, slots=True, kw_only=True)
class MartsArgs:
    """The one optional argument of `cartridge.generateMarts`."""

    domain: Domain | None = None  # None: the `domain` setting, else each source's name
    uri: str | None = None  # a document in the dbt project; None: the workspace root
    rescan: bool = False  # scan again even if a scan of this session or the cache is at hand


@dataclass(frozen=True, slots=True, kw_only=True)
class AskAiArgs:
    """The argument of `cartridge.askAi` and `cartridge.previewPrompt`."""

    request: str | None = None  # the model to write, in plain words; previewPrompt without it: staging
    uri: str | None = None  # a document in the dbt project; None: the workspace root
    rescan: bool = False  # scan again even if a scan of this session or the cache is at hand


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanArgs:
    """The one optional argument of `cartridge.scanWarehouse`."""

    schema: str | None = None  # None: the configured / every source schema
    uri: str | None = None  # a document in the dbt project; None: the workspace root


class InvalidSettings(ValueError):
    """Settings or arguments that do not have the expected shape; the message says where."""


def parse_options(raw: object) -> tuple[Options, str | None]:
    """Options from client JSON, and a warning when they were unusable and defaults are used.

    The `llm` section is read on its own (by the core's loader), so a mistake there turns only the
    AI commands off, and a mistake elsewhere leaves a good LLM configuration standing.
    """
    if raw is None:
        return Options(), None
    rest, llm_section = (
        ({k: v for k, v in raw.items() if k != "llm"}, raw.get("llm"))
        if isinstance(raw, dict)
        else (raw, None)
    )
    warnings = []
    try:
        options = structure(rest, Options, where="initializationOptions")
    except InvalidSettings as error:
        options = Options()
        warnings.append(f"invalid settings, using the defaults: {error}")
    llm, problem = parse_llm(llm_section)
    if problem is not None:
        warnings.append(problem)
    return replace(options, llm=llm), ("Cartridge: " + "; ".join(warnings)) if warnings else None


LLM_SETTINGS = "cartridge.llm"
# VS Code's names for settings the core spells otherwise (the core also takes snake_case and camelCase).
_EDITOR_NAMES = {"timeoutSeconds": "timeout_s"}


def parse_llm(raw: object) -> tuple[LlmConfig | None, str | None]:
    """The LLM configuration of the `llm` section, or None; and what is wrong with it, naming the setting.

    No provider (absent, null or empty) and nothing else set means LLM help is simply not wanted.
    Keys are never settings: the core's loader refuses them, and never echoes a value.
    """
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        return None, f"{LLM_SETTINGS} must be an object, got {_json_type(raw)}; the AI commands are off"
    settings: dict[str, Any] = {_EDITOR_NAMES.get(str(k), str(k)): v for k, v in raw.items() if v is not None}
    if settings.get("provider") == "":
        del settings["provider"]
    if not settings:
        return None, None
    try:
        return load_llm_config(settings, where=LLM_SETTINGS), None
    except ConfigError as error:
        message = error.message
        for editor, core in _EDITOR_NAMES.items():
            if editor in raw:
                message = message.replace(f"{LLM_SETTINGS}.{core}", f"{LLM_SETTINGS}.{editor}")
        return None, f"invalid LLM settings, the AI commands are off: {message}"


def settings_section(settings: object) -> object:
    """The Cartridge part of workspace/didChangeConfiguration settings (`{"cartridge": {...}}` or bare)."""
    if isinstance(settings, dict) and "cartridge" in settings:
        return settings["cartridge"]
    return settings


def structure(raw: object, cls: type[T], *, where: str) -> T:
    """Structure camelCase JSON into `cls`; InvalidSettings naming each bad key on failure."""
    if not isinstance(raw, dict):
        raise InvalidSettings(f"{where} must be an object, got {_json_type(raw)}")
    try:
        return _converter().structure(raw, cls)
    except cattrs.BaseValidationError as error:
        problems = cattrs.transform_error(error, path=where, format_exception=_describe)
        raise InvalidSettings("; ".join(_camel_paths(p) for p in problems)) from None


def _describe(exc: BaseException, cls: type | None) -> str:
    if isinstance(exc, TypeError) and str(exc).startswith("expected "):
        return str(exc)  # raised by the hooks below, already readable
    return format_exception(exc, cls)


def _camel_paths(problem: str) -> str:
    message, _, path = problem.rpartition(" @ ")
    return f"{message} @ {re.sub(r'_([a-z])', lambda m: m.group(1).upper(), path)}"


@functools.cache
def _converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _exactly(str))
    converter.register_structure_hook(bool, _exactly(bool))
    converter.register_structure_hook(int, _exactly(int))
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _strings)
    converter.register_structure_hook_func(lambda t: t == OnFailure, _one_of(get_args(OnFailure)))
    converter.register_structure_hook_func(lambda t: t == Domain | None, _domain)
    # A section before the settings holding it: a generated hook takes its fields' hooks as it finds them.
    for cls in (TestsSettings, Options, GenerateArgs, ModelArgs, MartsArgs, AskAiArgs, ScanArgs):
        renames: dict[str, Any] = {
            f.name: override(rename=_camel(f.name)) for f in fields(cls) if "_" in f.name
        }
        if cls is Options:  # read by parse_llm with the core's loader, never by cattrs
            renames["llm"] = override(omit=True)
        hook = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True, **renames)
        converter.register_structure_hook(cls, _an_object(hook))
    return converter


def _an_object(hook: Any) -> Any:
    def structure(value: object, cls: type) -> object:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {_json_type(value)}")
        return hook(value, cls)

    return structure


def _exactly(kind: type) -> Any:
    def hook(value: object, _: object) -> object:
        # bool is an int subclass and cattrs would turn 1 into "1": accept only the JSON type itself.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {_json_type(value)}")
        return value

    return hook


def _one_of(allowed: tuple[str, ...]) -> Any:
    def hook(value: object, _: object) -> object:
        if not isinstance(value, str) or value not in allowed:
            got = repr(value) if isinstance(value, str) else _json_type(value)
            raise TypeError(f"expected one of {', '.join(map(repr, allowed))}, got {got}")
        return value

    return hook


def _domain(value: object, _: object) -> Domain | None:
    if value is None:
        return None
    if type(value) is not str or not value.strip():
        got = "an empty string" if isinstance(value, str) else _json_type(value)
        raise TypeError(f"expected a folder name, got {got}")
    return Domain(value.strip())


def _strings(value: object, _: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of strings, got {_json_type(value)}")
    others = [v for v in value if not isinstance(v, str)]
    if others:
        raise TypeError(f"expected a list of strings, got {_json_type(others[0])} in it")
    return tuple(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)

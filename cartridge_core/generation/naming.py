"""Names in dbt Labs' conventions: snake_case, `<entity>_id`, `is_` flags, `_at` timestamps, `_date` dates."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from cartridge_core.models import TypeFamily

NamingRule = Literal["boolean", "timestamp", "date", "other"]

_BOOLEAN_PREFIXES = ("is_", "has_", "was_", "can_", "should_")
# Longest first, so `created_timestamp` loses `_timestamp` rather than nothing.
_TIMESTAMP_SUFFIXES = ("_timestamp", "_datetime", "_time", "_ts", "_on")
_BOOLEAN_TYPES = frozenset({"boolean", "bool", "logical"})
# Engines without a `timestamp...` spelling for the same thing (MySQL, BigQuery, SQL Server).
_TIMESTAMP_TYPES = frozenset({"datetime", "datetime2", "datetimeoffset", "smalldatetime"})
_RULE_OF_FAMILY: dict[TypeFamily, NamingRule] = {
    "boolean": "boolean",
    "timestamp": "timestamp",
    "timestamptz": "timestamp",
    "date": "date",
}
# PostgreSQL's limit on a relation name (NAMEDATALEN - 1): dbt-postgres refuses to build a longer one.
MAX_MODEL_NAME = 63
_FIRST_WORD = re.compile(r"[a-z0-9_]+")
_ALNUM_RUNS = re.compile(r"[^\W_]+")


def snake_case(name: str) -> str:
    """`name` in lowercase ASCII snake_case: camelCase, spaces, dots and dashes become `_`.

    Accents are folded (`Café` -> `cafe`); characters with no ASCII form are dropped, so the result
    may be empty. A leading underscore (loader metadata such as `_fivetran_synced`) is kept.
    """
    words = [_ascii(word) for run in _ALNUM_RUNS.findall(name) for word in _camel_words(run)]
    snake = "_".join(word for word in words if word)
    return f"_{snake}" if snake and name.startswith("_") else snake


def _camel_words(run: str) -> list[str]:
    """Split one run of letters and digits where the case turns: `HTTPStatus` -> HTTP, Status."""
    words, start = [], 0
    for i in range(1, len(run)):
        prev, cur, nxt = run[i - 1], run[i], run[i + 1 : i + 2]
        if cur.isupper() and (prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower())):
            words.append(run[start:i])
            start = i
    words.append(run[start:])
    return words


def _ascii(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return "".join(ch for ch in bare if ch.isascii() and ch.isalnum())


def singularize(word: str) -> str:
    """A simple English singular: customers -> customer, categories -> category, boxes -> box."""
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and len(word) > 1:
        return word[:-1]
    return word


def entity_name(table_name: str) -> str:
    """The thing one row of a table is: the singular of its last word (order_lines -> order_line)."""
    head, sep, last = table_name.rpartition("_")
    return f"{head}{sep}{singularize(last)}"


def type_family(data_type: str) -> NamingRule:
    """Which naming rule a column type calls for, from the engine's own spelling of the type."""
    spelled = data_type.strip().lower()
    if spelled.endswith("]"):  # an array of booleans is not a flag
        return "other"
    match = _FIRST_WORD.match(spelled)
    base = match.group(0) if match else ""
    if base in _BOOLEAN_TYPES:
        return "boolean"
    if base.startswith("timestamp") or base in _TIMESTAMP_TYPES:
        return "timestamp"
    if base == "date":
        return "date"
    return "other"


def column_name(
    name: str, data_type: str, *, entity: str, position: int, family: TypeFamily = "other"
) -> str:
    """The staged name of one column: snake_case, then the rule for `id`, flags, timestamps or dates.

    `family` is the scanner's type family, which sees through domains (a domain over boolean is a
    flag); a column it left `other` is judged by the spelling of its type.
    """
    snake = snake_case(name) or f"column_{position}"
    if snake == "id":
        return f"{entity}_id"
    rule = type_family(data_type) if family == "other" else _RULE_OF_FAMILY.get(family, "other")
    if rule == "boolean":
        return _boolean_name(snake)
    if rule == "timestamp":
        return _timestamp_name(snake)
    if rule == "date":
        return _date_name(snake)
    return snake


def _boolean_name(snake: str) -> str:
    if snake.startswith(_BOOLEAN_PREFIXES):
        return snake
    return "is_" + snake.lstrip("_")


def _timestamp_name(snake: str) -> str:
    if snake.endswith("_at"):
        return snake
    stem = _strip_suffix(snake, _TIMESTAMP_SUFFIXES)
    return stem if stem.endswith("_at") else f"{stem}_at"


def _date_name(snake: str) -> str:
    if _is_date_name(snake):
        return snake
    # `shipped_on` reads as `shipped_date`, as a timestamp `shipped_on` reads as `shipped_at`.
    stem = _strip_suffix(snake, ("_on",))
    return stem if _is_date_name(stem) else f"{stem}_date"


def _is_date_name(snake: str) -> bool:
    return snake == "date" or snake.endswith(("_date", "_day")) or snake.startswith("date_")


def _strip_suffix(snake: str, suffixes: Sequence[str]) -> str:
    for suffix in suffixes:
        if snake.endswith(suffix) and len(snake) > len(suffix):
            return snake[: -len(suffix)]
    return snake


def model_name(source_name: str, table_name: str) -> str:
    """`stg_<source>__<table>`; past 63 characters, cut and ended with a stable hash of the full name."""
    name = f"stg_{source_name}__{table_name}"
    if len(name) <= MAX_MODEL_NAME:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_MODEL_NAME - len(digest) - 1].rstrip('_')}_{digest}"


def relation_name(name: str, *, prefix: str) -> str:
    """snake_case for a schema or table name; a stable `<prefix>_<hash>` when nothing of it is ASCII."""
    snake = snake_case(name)
    if snake:
        return snake
    return f"{prefix}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"


def unique_names(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Make wanted names unique: `pairs` holds (original, wanted) in a canonical order.

    Names closest to their original win a contested name: first those left as they were, then those
    only snake_cased, then those renamed by a convention; ties go to the earlier pair. The others get
    `_2`, `_3`, ... So `created` (a timestamp) and `created_at` give `created_at_2` and `created_at`.
    """

    def closeness(i: int) -> tuple[int, int]:
        original, wanted = pairs[i]
        return (0 if wanted == original else 1 if wanted == snake_case(original) else 2, i)

    names: list[str] = [wanted for _, wanted in pairs]
    taken: set[str] = set()
    losers = []
    for i in sorted(range(len(pairs)), key=closeness):
        if names[i] in taken:
            losers.append(i)
        else:
            taken.add(names[i])
    for i in losers:
        n = 2
        while f"{names[i]}_{n}" in taken:
            n += 1
        names[i] = f"{names[i]}_{n}"
        taken.add(names[i])
    return names

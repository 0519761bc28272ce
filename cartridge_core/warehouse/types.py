"""Column types in engine-neutral terms: each type's family, and the values an enum or a CHECK allows.

The engines spell types their own way (`character varying(20)`, `VARCHAR`, `timestamp(3) with
time zone`, `INTEGER[]`, `ENUM('a', 'b')`); generation and inference reason about the canonical
`TypeFamily` instead. Pure functions over the catalog's text: no connection, no driver.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from cartridge_core.models import Column, TypeFamily

# Whole spellings (after precision and schema are removed) first, then the first word alone, so
# `double precision` and `interval year to month` land where they belong and `time with time zone`
# (a time of day, no family of its own) does not become a timestamp.
_FAMILIES: dict[str, TypeFamily] = {
    **dict.fromkeys(
        "smallint integer bigint int int1 int2 int4 int8 int16 int32 int64 int128 tinyint hugeint "
        "utinyint usmallint uinteger ubigint uhugeint varint bignum serial serial2 serial4 serial8 "
        "smallserial bigserial long short signed".split(),
        "integer",
    ),
    **dict.fromkeys("numeric decimal money".split(), "decimal"),
    **dict.fromkeys("real float float4 float8 double".split(), "float"),
    "double precision": "float",
    **dict.fromkeys(
        "text varchar char character bpchar citext name string nvarchar nchar enum".split(), "text"
    ),
    "character varying": "text",
    **dict.fromkeys("boolean bool logical".split(), "boolean"),
    "date": "date",
    **dict.fromkeys(
        "timestamp datetime datetime2 smalldatetime timestamp_s timestamp_ms timestamp_us "
        "timestamp_ns".split(),
        "timestamp",
    ),
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "timestamptz": "timestamptz",
    "interval": "interval",
    **dict.fromkeys("json jsonb".split(), "json"),
    "uuid": "uuid",
    **dict.fromkeys("bytea blob binary varbinary bytes".split(), "binary"),
    **dict.fromkeys("list array".split(), "array"),
}
_PARENTHESES = re.compile(r"\([^()]*\)")
# SQL text as tokens: strings, quoted names, numbers, words, and the punctuation a CHECK prints.
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<name>"(?:[^"]|"")*")
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<word>[^\W\d]\w*)
    | (?P<punct>::|[()\[\],=])
    | (?P<other>\S)
    )""",
    re.VERBOSE,
)
Token = tuple[str, str]  # (kind, text)
# Words that end a cast's type name: what follows a cast in deparsed SQL, never part of a type.
_NOT_TYPE_WORDS = frozenset({"AND", "OR", "NOT", "IS", "IN", "ANY", "ALL", "ARRAY", "LIKE", "COLLATE"})


@lru_cache(maxsize=4096)
def type_family(data_type: str) -> TypeFamily:
    """The canonical family of a type as PostgreSQL's format_type() or DuckDB spells it.

    Any array (`integer[]`, `INTEGER[3]`, `LIST`) is `array`; DuckDB's inline `ENUM(...)` is `text`
    (its values are labels); a type named nowhere below (tsvector, inet, ranges, geometry, STRUCT,
    MAP, time of day, a user's composite type) is `other`. Cached: a scan asks about a few dozen
    spellings tens of thousands of times.
    """
    spelled = " ".join(data_type.strip().lower().split())
    if spelled.endswith("]"):
        return "array"
    while "(" in spelled:
        bare = _PARENTHESES.sub("", spelled)
        if bare == spelled:
            break
        spelled = bare
    spelled = " ".join(spelled.split())
    # A type outside the search path comes qualified (`extensions.citext`); the name decides.
    if "." in spelled and '"' not in spelled:
        spelled = spelled.rsplit(".", 1)[1]
    found = _FAMILIES.get(spelled)
    if found is None and spelled:
        found = _FAMILIES.get(spelled.split(" ", 1)[0])
    return found or "other"


@lru_cache(maxsize=1024)
def enum_labels(data_type: str) -> tuple[str, ...]:
    """The labels of DuckDB's inline enum spelling `ENUM('a', 'b')`, in order; () for other types."""
    if data_type[:4].upper() != "ENUM":
        return ()
    tokens = sql_tokens(data_type)
    if len(tokens) < 3 or _upper(tokens[0]) != ("word", "ENUM") or tokens[1] != ("punct", "("):
        return ()
    if tokens[-1] != ("punct", ")"):
        return ()
    labels = _literal_list(tokens[2:-1])
    return labels or ()


def check_values(definition: str) -> tuple[str, tuple[str, ...]] | None:
    """The column and allowed values of a `CHECK (col IN (...))`, as the catalog prints it.

    Reads PostgreSQL's rewrite `((col)::text = ANY ((ARRAY['a'::varchar, ...])::text[]))`, its
    one-value form `(col = 'a'::text)`, and DuckDB's `CHECK((col IN ('a', 'b')))`. Anything else
    (a range, an OR, a function call, a constraint marked NOT VALID) gives None: only a plain list
    says which values the column holds. Strings come back unquoted, numbers as written.
    """
    tokens = sql_tokens(definition)
    if not tokens or _upper(tokens[0]) != ("word", "CHECK"):
        return None
    # Casts and parentheses carry nothing here; without them every accepted form is a flat run.
    flat = [t for t in _without_casts(tokens[1:]) if t[1] not in ("(", ")")]
    if len(flat) < 3 or flat[0][0] not in ("word", "name"):
        return None
    # Unquoted, the name is as the catalog stores it: PostgreSQL quotes any name that is not
    # lowercase, DuckDB keeps the case it was created with.
    column = unquote(flat[0])
    rest = [_upper(t) for t in flat[1:]]
    if rest[0] == ("word", "IN"):
        values = _literal_list(rest[1:])
    elif rest[:4] == [("punct", "="), ("word", "ANY"), ("word", "ARRAY"), ("punct", "[")]:
        values = _literal_list(rest[4:-1]) if rest[-1] == ("punct", "]") else None
    elif rest[0] == ("punct", "=") and len(rest) == 2:
        values = _literal_list(rest[1:])
    else:
        values = None
    return (column, values) if values else None


def narrow_values(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    """Values both lists allow, in the first list's order; either list when the other is empty."""
    if not first or not second:
        return tuple(first or second)
    allowed = set(second)
    return tuple(v for v in first if v in allowed)


def sql_tokens(text: str) -> list[Token]:
    """`text` as (kind, text) tokens; kinds: string, name, number, word, punct, other."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        tokens.append((kind, match.group(kind)))
    return tokens


def unquote(token: Token) -> str:
    """The value of a string token or the name a quoted-name token spells; other tokens as they are."""
    kind, text = token
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "name":
        return text[1:-1].replace('""', '"')
    return text


def _upper(token: Token) -> Token:
    """Words compared as SQL compares keywords: without case."""
    return (token[0], token[1].upper()) if token[0] == "word" else token


def _without_casts(tokens: Sequence[Token]) -> list[Token]:
    """Drop every `::type` (`::character varying`, `::numeric(10,2)`, `::text[]`, `::raw."Mood"`)."""
    kept: list[Token] = []
    i = 0
    while i < len(tokens):
        if tokens[i] != ("punct", "::"):
            kept.append(tokens[i])
            i += 1
            continue
        i += 1
        depth = 0
        while i < len(tokens):
            kind, text = tokens[i]
            if depth:
                depth += {"(": 1, ")": -1}.get(text, 0)
            elif text == "(":
                depth = 1  # a type modifier: deparsed SQL never calls a cast's result
            elif text == "[" and tokens[i + 1 : i + 2] == [("punct", "]")]:
                i += 1  # an array type's `[]`; a lone `]` closes an ARRAY[...] around the cast
            elif not (kind == "name" or text == "." or _type_word(tokens[i])):
                break
            i += 1
    return kept


def _type_word(token: Token) -> bool:
    return token[0] == "word" and token[1].upper() not in _NOT_TYPE_WORDS


def _literal_list(tokens: Sequence[Token]) -> tuple[str, ...] | None:
    """`'a', 'b', 3` as ('a', 'b', '3'); None unless the tokens are literals separated by commas."""
    if not tokens or len(tokens) % 2 == 0:
        return None
    literals = all(t[0] in ("string", "number") for t in tokens[0::2])
    commas = all(t == ("punct", ",") for t in tokens[1::2])
    return tuple(unquote(t) for t in tokens[0::2]) if literals and commas else None


def column_family(column: Column) -> TypeFamily:
    """The column's type family: the scanner's, or read from its type spelling if it left `other`."""
    return column.type_family if column.type_family != "other" else type_family(column.data_type)

"""dbt's error texts made into what a diagnostic needs: one line, and the line of the model it is on."""

from __future__ import annotations

import re

from cartridge_core.dbt.runner import one_line

# `dbt show` runs dbt's query comment (one line), then get_show_sql's two blank lines, then the
# model: so LINE n of the executed query is about line n - 3 of the model (dbt-core 1.11,
# DuckDB and PostgreSQL alike). Only a tie-breaker: the line's text is looked for first.
SHOW_WRAPPER_LINES = 3

_DB_LINE = re.compile(r"^\s*LINE (\d+):(.*)$", re.MULTILINE)
_JINJA_LINE = re.compile(r"^\s*line (\d+)\s*$", re.MULTILINE)
_JINJA_EXCERPT = re.compile(r"^\s*line \d+\s*\n.*$", re.MULTILINE)  # "line 3" and the line quoted
_UNDEFINED = re.compile(r"'(\w+)' is undefined")
_MISSING = re.compile(r"depends on a (?:source|node) named '([^']+)'")
_NODE_HEADER = re.compile(r"^\s*\w+ Error in \w+ \S+ \([^()]+\)\s*$", re.MULTILINE)


def model_message(text: str) -> str:
    """dbt's error about one model as one line, without the 'Error in model x (path)' header."""
    body = _NODE_HEADER.sub("", _JINJA_EXCERPT.sub("", _DB_LINE.sub("", text)))
    return one_line(body) or one_line(text)


def error_line(text: str, source: str) -> int | None:
    """The 1-based line of `source` (the model's own file) that dbt's error `text` is about."""
    lines = source.splitlines()
    found = _DB_LINE.search(text)
    if found:
        return _database_line(int(found.group(1)), found.group(2), lines)
    found = _JINJA_LINE.search(text)
    if found and 1 <= int(found.group(1)) <= len(lines):
        return int(found.group(1))
    found = _UNDEFINED.search(text)
    if found:
        return _first_line_with(lines, re.compile(rf"\b{re.escape(found.group(1))}\b"))
    found = _MISSING.search(text)
    if found:
        name = found.group(1).rsplit(".", 1)[-1]
        return _first_line_with(lines, re.compile(rf"""['"]{re.escape(name)}['"]"""))
    return None


def _database_line(executed_line: int, snippet: str, lines: list[str]) -> int | None:
    """Map `LINE n: <text>` of the executed query back to the model's source."""
    estimate = executed_line - SHOW_WRAPPER_LINES
    # PostgreSQL cuts long lines to "...middle...": only the middle is the model's text.
    wanted = " ".join(snippet.strip().strip(".").split())
    if wanted:
        matches = [i for i, line in enumerate(lines, 1) if wanted in " ".join(line.split())]
        if matches:
            return min(matches, key=lambda i: abs(i - estimate))
    return estimate if 1 <= estimate <= len(lines) else None


def _first_line_with(lines: list[str], pattern: re.Pattern[str]) -> int | None:
    return next((i for i, line in enumerate(lines, 1) if pattern.search(line)), None)

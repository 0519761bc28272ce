"""What machine a benchmark ran on, and how its section of RESULTS.md is replaced."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The processor's model name, from /proc/cpuinfo where there is one."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown CPU"


def machine_line() -> str:
    """One line: date, cores, CPU, memory and Python version."""
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        memory = "unknown memory"
    return (
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({cpu_model()}), {memory}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}."
    )


def replace_section(path: Path, heading: str, body: str) -> None:
    """Replace the section that starts with `heading` (up to the next `## `) or append it."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def pg_admin(dbname: str = "postgres") -> Any:
    """An autocommit psycopg2 connection to the local PostgreSQL server (benchmark set-up only)."""
    import psycopg2

    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    con.autocommit = True
    return con


@contextmanager
def scratch_database(setup_sql: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database holding `setup_sql`, dropped afterwards: (its name, server version)."""
    dbname = f"cartridge_bench_{uuid.uuid4().hex[:8]}"
    admin = pg_admin()
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{dbname}"')
            cur.execute("show server_version")
            server = cur.fetchone()[0]
        try:
            setup = pg_admin(dbname)
            with setup.cursor() as cur:
                cur.execute(setup_sql)
            setup.close()
            yield dbname, server
        finally:
            with admin.cursor() as cur:
                cur.execute(f'drop database if exists "{dbname}" with (force)')
    finally:
        admin.close()

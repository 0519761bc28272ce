"""What machine a benchmark ran on, and how its section of RESULTS.md is replaced."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path


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

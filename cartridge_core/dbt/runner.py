"""Running dbt: warm in the process for dbt-core 1.x, or the `dbt` executable for other installs.

Both runners return the same `DbtInvocation`, built from the same dbt events (`NodeFinished` per
node, `MainEncounteredError` for the whole run): the in-process runner receives them through
dbt's callbacks, the CLI runner reads them from `--log-format json`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cartridge_core.errors import DbtError

logger = logging.getLogger(__name__)

# Cartridge runs dbt on the user's behalf and often; it should not report usage from their machine
# on each check (nor wait on the network to do so).
_COMMON_FLAGS = ("--no-send-anonymous-usage-stats",)
# In the process nothing may reach stdout (an LSP over stdio speaks there): no console log at all;
# the events arrive through callbacks, and the file log under --log-path keeps the details (the
# file level must be given: it follows --log-level otherwise).
_IN_PROCESS_FLAGS = (*_COMMON_FLAGS, "--log-level", "none", "--log-level-file", "debug")
# NodeFinished is a debug-level event, so the CLI must log at debug level to print it.
_CLI_FLAGS = (*_COMMON_FLAGS, "--log-format", "json", "--log-level", "debug")
_WANTED_EVENTS = frozenset({"NodeFinished", "MainEncounteredError"})
_BANNER = re.compile(r"^\w+ Error$")
_NODE_HEADER = re.compile(r"\bin \w+ \S+ \(([^()\s]+)\)")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeResult:
    """What dbt reported for one node of an invocation."""

    unique_id: str  # e.g. "model.shop.stg_shop__orders"
    name: str
    status: str  # dbt's node status: "success", "error", "skipped", ...
    message: str | None = None  # dbt's message, possibly several lines
    original_file_path: str | None = None  # relative to the project dir, when dbt said it
    compiled_code: str | None = None  # as executed, when dbt returned it (in-process, no error)


@dataclass(frozen=True, slots=True, kw_only=True)
class DbtInvocation:
    """The outcome of one dbt command."""

    success: bool
    nodes: tuple[NodeResult, ...] = ()
    error: str | None = None  # one line, when the whole invocation failed
    error_text: str | None = None  # dbt's full text of that error (several lines)

    def node(self, unique_id: str) -> NodeResult | None:
        """The result of one node by unique id, if dbt reported it."""
        return next((n for n in self.nodes if n.unique_id == unique_id), None)


class DbtRunner(Protocol):
    """Runs one dbt command (arguments as on dbt's command line) with `cwd` as working directory."""

    def invoke(self, args: Sequence[str], *, cwd: Path) -> DbtInvocation: ...


def one_line(text: str) -> str:
    """dbt's multi-line error text as one line: no banner lines, no caret markers."""
    kept = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or set(line) <= {"^", "-"} or line.rstrip(":") == "Encountered an error":
            continue
        kept.append(line)
    # A bare banner ("Runtime Error") only repeats what the next line says.
    detail = [line for line in kept if not _BANNER.match(line)]
    return " ".join(detail or kept)


class _EventCollector:
    """Builds a `DbtInvocation` from dbt's structured events (the JSON shape of `--log-format json`)."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeResult] = {}
        self.error_text: str | None = None

    def feed(self, event: Mapping[str, Any]) -> None:
        name = event.get("info", {}).get("name")
        data = event.get("data", {})
        if name == "NodeFinished":
            self._node_finished(data)
        elif name == "MainEncounteredError":
            self.error_text = str(data.get("exc") or "")

    def _node_finished(self, data: Mapping[str, Any]) -> None:
        info = data.get("node_info", {})
        result = data.get("run_result", {})
        message = result.get("message") or None
        unique_id = info.get("unique_id", "")
        header = _NODE_HEADER.search(message or "")
        self._nodes[unique_id] = NodeResult(
            unique_id=unique_id,
            name=info.get("node_name", ""),
            status=result.get("status") or info.get("node_status", ""),
            message=message,
            original_file_path=header.group(1) if header else None,
        )

    def add_run_results(self, results: Any) -> None:
        """Complete the nodes with what dbt returned in the process (paths, compiled code)."""
        for result in getattr(results, "results", None) or ():
            node = getattr(result, "node", None)
            if node is None:  # run-operation returns rows without a node
                continue
            known = self._nodes.get(node.unique_id)
            self._nodes[node.unique_id] = NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                status=str(getattr(result.status, "value", result.status)),
                message=result.message or (known.message if known else None),
                original_file_path=node.original_file_path,
                compiled_code=getattr(node, "compiled_code", None),
            )

    def invocation(self, *, success: bool, error_text: str | None) -> DbtInvocation:
        text = error_text or self.error_text
        return DbtInvocation(
            success=success,
            nodes=tuple(self._nodes.values()),
            error=one_line(text) if text and not success else None,
            error_text=text if not success else None,
        )


class InProcessRunner:
    """A warm dbt-core 1.x `dbtRunner` in this process; calls are serialised (dbt is not thread-safe).

    dbt is imported on first use, not at import time. During a call the working directory is `cwd`
    (so relative paths in profiles resolve as when the user runs dbt there) and Python's stdout is
    pointed at stderr, in case an adapter `print()`s.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dbt: Any = None
        self._collector: _EventCollector | None = None

    def invoke(self, args: Sequence[str], *, cwd: Path) -> DbtInvocation:
        """Run one dbt command in the process and collect its node results."""
        collector = _EventCollector()
        with self._lock, _stdout_to_stderr(), _working_directory(cwd):
            dbt = self._runner()
            self._collector = collector
            result = None
            try:
                result = dbt.invoke([*args, *_IN_PROCESS_FLAGS])
            finally:
                self._collector = None
                if result is None or not result.success:
                    _stop_abandoned_pools()
                _close_duckdb()
        if result.result is not None:
            collector.add_run_results(result.result)
        error = str(result.exception) if result.exception is not None else None
        logger.debug("dbt %s: success=%s", " ".join(args[:1]), result.success)
        return collector.invocation(success=bool(result.success), error_text=error)

    def _runner(self) -> Any:
        if self._dbt is None:
            try:
                from dbt.cli.main import dbtRunner
            except ImportError as exc:
                raise DbtError(f"dbt-core is installed but cannot be imported: {exc}") from exc
            self._dbt = dbtRunner(callbacks=[self._on_event])
        return self._dbt

    def _on_event(self, msg: Any) -> None:
        collector = self._collector
        if collector is None or msg.info.name not in _WANTED_EVENTS:
            return
        from dbt_common.events.functions import msg_to_dict

        collector.feed(msg_to_dict(msg))


_POOL_JOIN_TIMEOUT_S = 60.0


def _stop_abandoned_pools() -> None:
    """Stop the thread pools a failed dbt run leaves running.

    dbt-core 1.11 closes its node pool only on success or fail-fast: when a node error is raised
    (as `dbt show` does), the pool's threads live on, holding the failed node's connection in the
    stored exception. In a long-lived process that leaks threads and keeps a DuckDB file open.
    No dbt run is in progress here (the caller holds the lock), so every running pool is abandoned.
    """
    module = sys.modules.get("dbt.graph.thread_pool")
    pool_class = getattr(module, "DbtThreadPool", None)
    if pool_class is None:
        return
    for pool in [obj for obj in gc.get_objects() if isinstance(obj, pool_class)]:
        if getattr(pool, "_state", None) == "RUN":
            workers = list(getattr(pool, "_pool", ()))
            pool.terminate()
            # A thread pool's terminate() cannot stop a thread mid-query, and does not wait for it:
            # wait here, so the connections are idle before they are closed.
            for worker in workers:
                worker.join(timeout=_POOL_JOIN_TIMEOUT_S)


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after a run, as the end of a dbt process would.

    dbt-duckdb 1.11 keeps its environment, and the DuckDB connection in it, in a class attribute
    after the run: the file stays locked, and the user's own dbt or DuckDB client cannot open it.
    """
    module = sys.modules.get("dbt.adapters.duckdb.connections")
    if module is None:
        return
    # A node that failed can leave its thread's connection (a DuckDB cursor) registered with the
    # adapter, which dbt keeps across in-process runs; close those first, then the database.
    from dbt.adapters.factory import cleanup_connections

    try:
        cleanup_connections()
    except Exception:  # a connection still busy: keep the server alive; the file may stay open
        logger.warning("Could not close dbt's connections after the run", exc_info=True)
    environment = getattr(getattr(module, "DuckDBConnectionManager", None), "_ENV", None)
    if environment is not None:
        environment.close()
    # A failed query leaves its DuckDB cursor alive in the exception's traceback frames, and the
    # file stays open until that cycle is collected: collect it now, not at some later allocation.
    gc.collect()


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    with contextlib.redirect_stdout(sys.stderr):
        yield


@contextlib.contextmanager
def _working_directory(cwd: Path) -> Iterator[None]:
    try:
        previous: str | None = os.getcwd()
    except FileNotFoundError:  # the old working directory was deleted: nothing to go back to
        previous = None
    os.chdir(cwd)
    try:
        yield
    finally:
        if previous is not None:
            os.chdir(previous)


class CliRunner:
    """The `dbt` executable in a subprocess, its JSON log parsed into the same `DbtInvocation`.

    For installs without dbt-core's Python package (dbt v2 / Fusion ships only a CLI).
    """

    def __init__(self, executable: str | Path = "dbt") -> None:
        self.executable = str(executable)

    def invoke(self, args: Sequence[str], *, cwd: Path) -> DbtInvocation:
        """Run one dbt command in a subprocess and parse its JSON log."""
        command = [self.executable, *args, *_CLI_FLAGS]
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise DbtError(f"Cannot run {self.executable}: {exc.strerror or exc}") from exc
        collector = _EventCollector()
        for line in done.stdout.splitlines():
            event = _json_event(line)
            if event is not None and event.get("info", {}).get("name") in _WANTED_EVENTS:
                collector.feed(event)
        success = done.returncode == 0
        fallback = None
        if not success and collector.error_text is None:
            fallback = _last_words(done.stderr) or f"dbt exited with code {done.returncode}"
        logger.debug("%s %s: exit %s", self.executable, " ".join(args[:1]), done.returncode)
        return collector.invocation(success=success, error_text=fallback)


def _json_event(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:  # an adapter print()ed something that looks like JSON
        return None
    return event if isinstance(event, dict) else None


def _last_words(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


_default: DbtRunner | None = None
_default_lock = threading.Lock()


def default_runner() -> DbtRunner:
    """The process-wide runner: in-process for dbt-core 1.x, else the `dbt` executable."""
    global _default
    with _default_lock:
        if _default is None:
            _default = _pick_runner()
        return _default


def _pick_runner() -> DbtRunner:
    if _dbt_core_major() == 1:
        return InProcessRunner()
    executable = find_dbt_executable()
    if executable is not None:
        logger.info("Using the dbt executable %s", executable)
        return CliRunner(executable)
    raise DbtError(
        "dbt is not installed: install dbt-core 1.x with your adapter "
        "(e.g. pip install dbt-core dbt-postgres) or put the dbt executable on PATH."
    )


def _dbt_core_major() -> int | None:
    try:
        version = importlib.metadata.version("dbt-core")
    except importlib.metadata.PackageNotFoundError:
        return None
    major = version.split(".", 1)[0]
    return int(major) if major.isdigit() else None


def find_dbt_executable() -> Path | None:
    """The `dbt` executable on PATH, or beside this Python interpreter."""
    found = shutil.which("dbt")
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / "dbt"
    return beside if beside.is_file() and os.access(beside, os.X_OK) else None

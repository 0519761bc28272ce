"""The Cartridge language server (pygls): session state, the core thread, logging and stdio.

Everything the server knows how to do lives in `cartridge_lsp.features`; this module holds what
the features share and starts the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import sys
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from cartridge_core import __version__
from cartridge_core.errors import ConfigError
from cartridge_lsp.convert import path_of
from cartridge_lsp.features.diagnostics import CheckDiagnostics
from cartridge_lsp.features.generate import ScanCache
from cartridge_lsp.options import Options

logger = logging.getLogger(__name__)

T = TypeVar("T")

_work_done_token: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "cartridge_work_done_token", default=None
)


def command_work_done_token() -> types.ProgressToken | None:
    """The workDoneToken of the executeCommand request being handled, if the client sent one."""
    return _work_done_token.get()


class CartridgeProtocol(LanguageServerProtocol):
    """pygls' protocol, letting commands report progress on a token the client chose."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        server = self._server
        if isinstance(server, CartridgeServer) and server.log_forwarder is not None:
            server.log_forwarder.loop = asyncio.get_running_loop()
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        if result.capabilities.execute_command_provider is not None:
            result.capabilities.execute_command_provider.work_done_progress = True
        return result

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        # pygls hands command handlers only the arguments; the token travels in a context
        # variable, which the handler's task copies when pygls creates it below.
        _work_done_token.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))


class CartridgeServer(LanguageServer):
    """The language server and the state of one editing session."""

    def __init__(self) -> None:
        super().__init__("cartridge", __version__, protocol_cls=CartridgeProtocol)
        self.options = Options()
        self.scans = ScanCache()
        self.check_diagnostics = CheckDiagnostics()
        self.busy = asyncio.Lock()  # one scan or generation at a time
        self.log_forwarder: ClientLogHandler | None = None  # set by serve()
        self._core: ThreadPoolExecutor | None = None

    async def run_core(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking core call on the one core thread (dbt is not thread-safe)."""
        if self._core is None:
            self._core = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cartridge-core")
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._core, call)

    def shutdown(self) -> None:
        if self._core is not None:
            self._core.shutdown(wait=False, cancel_futures=True)
        super().shutdown()

    def show(self, level: types.MessageType, message: str) -> None:
        """One window/showMessage."""
        self.window_show_message(types.ShowMessageParams(type=level, message=message))

    def workspace_root(self) -> Path | None:
        """The workspace's root folder, if the client opened one."""
        root = self.workspace.root_path
        if root is None and self.workspace.folders:
            root = str(path_of(next(iter(self.workspace.folders.values())).uri) or "") or None
        return Path(root) if root else None

    def project_start(self, uri: str | None) -> Path:
        """Where to look for the dbt project: the document's file, else the workspace root."""
        start = path_of(uri) if uri else self.workspace_root()
        if start is None:
            raise ConfigError("Open a folder or a file of a dbt project first")
        return start


def create_server() -> CartridgeServer:
    """A server with every feature registered."""
    # These feature modules import CartridgeServer at run time (pygls reads handler annotations
    # to inject the server), so they are imported here rather than at the top of this module.
    from cartridge_lsp.features import code_actions, commands, settings

    server = CartridgeServer()
    for feature in (settings, commands, code_actions):
        feature.register(server)
    return server


def serve() -> None:
    """Serve LSP over stdio until the client exits."""
    protocol_out = _claim_stdout()
    server = create_server()
    _configure_logging(server)
    server.start_io(stdin=sys.stdin.buffer, stdout=protocol_out)


def _claim_stdout() -> BinaryIO:
    """Keep the real stdout for the protocol; send anything else written to stdout to stderr.

    dbt prints to stdout when it runs in-process, which would corrupt the LSP stream.
    """
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb")


class ClientLogHandler(logging.Handler):
    """Forwards log records to the client as window/logMessage, from any thread."""

    LEVELS = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, server: CartridgeServer) -> None:
        super().__init__(logging.INFO)
        self._server = server
        self.loop: asyncio.AbstractEventLoop | None = None  # set on initialize, on the loop
        # pygls logs every message it sends: forwarding those would feed on itself.
        self.addFilter(lambda record: not record.name.startswith("pygls"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        level = next((t for lvl, t in self.LEVELS.items() if record.levelno >= lvl), None)
        params = types.LogMessageParams(type=level or types.MessageType.Log, message=self.format(record))
        try:
            self.loop.call_soon_threadsafe(self._server.window_log_message, params)
        except RuntimeError:  # the loop closed meanwhile: the session is over, stderr has it
            pass


def _configure_logging(server: CartridgeServer) -> None:
    """Cartridge's own loggers at INFO (or $CARTRIDGE_LOG_LEVEL), others at WARNING; stderr + client."""
    level = os.environ.get("CARTRIDGE_LOG_LEVEL", "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        level = "INFO"
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_client = ClientLogHandler(server)
    to_client.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.WARNING)  # third-party libraries: warnings and errors only
    root.addHandler(to_stderr)
    root.addHandler(to_client)
    for name in ("cartridge_core", "cartridge_lsp"):
        logging.getLogger(name).setLevel(level)
    server.log_forwarder = to_client

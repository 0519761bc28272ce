"""Work-done progress: begin (cancellable) / report / end around one long operation.

The core reports from its worker thread; every message is handed to the event loop, the only
thread that writes to the client.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from concurrent.futures import Future

    from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)


class WorkDone:
    """The core's `Progress`, reporting to one progress token (or only to the log without one)."""

    def __init__(
        self,
        ls: CartridgeServer,
        token: types.ProgressToken | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._ls = ls
        self._token = token
        self._loop = loop
        self._cancel: Future[object] | None = None
        self.end_message = "Done"  # what the progress bar says when it closes
        if token is not None:
            self._cancel = ls.work_done_progress.tokens.get(token)

    def report(self, message: str, percentage: int | None = None) -> None:
        """Send one report; safe to call from any thread."""
        logger.info("%s", message)
        if self._token is None:
            return
        value = types.WorkDoneProgressReport(message=message, percentage=percentage)
        self._loop.call_soon_threadsafe(self._ls.work_done_progress.report, self._token, value)

    def cancelled(self) -> bool:
        """Whether the user pressed cancel on this progress."""
        return self._cancel is not None and self._cancel.cancelled()


@asynccontextmanager
async def work_done(
    ls: CartridgeServer, title: str, *, token: types.ProgressToken | None = None
) -> AsyncIterator[WorkDone]:
    """Progress for the block: the client's token if it sent one, else one the server creates."""
    loop = asyncio.get_running_loop()
    token = token if token is not None else await _create_token(ls)
    if token is None:
        yield WorkDone(ls, None, loop)
        return
    begin = types.WorkDoneProgressBegin(title=title, cancellable=True)
    ls.work_done_progress.begin(token, begin)
    progress = WorkDone(ls, token, loop)
    try:
        yield progress
    except BaseException:
        progress.end_message = "Stopped"
        raise
    finally:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=progress.end_message))
        # pygls keeps a cancellation future per token; this one is spent.
        ls.work_done_progress.tokens.pop(token, None)


async def _create_token(ls: CartridgeServer) -> types.ProgressToken | None:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return None
    token = f"cartridge-{uuid.uuid4()}"
    try:
        await ls.work_done_progress.create_async(token)
    except Exception as error:  # a client may refuse; the work goes on without a progress bar
        logger.warning("The client refused a progress token: %s", error)
        return None
    return token

"""Settings: initializationOptions at start, workspace/didChangeConfiguration afterwards."""

from __future__ import annotations

import logging

from lsprotocol import types

from cartridge_lsp.options import parse_options, settings_section
from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)


def register(server: CartridgeServer) -> None:
    """Read settings on initialize and whenever the client says they changed."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: CartridgeServer, params: types.InitializeParams) -> None:
        """Take the initializationOptions (defaults, with a warning, when they are unusable)."""
        _use(ls, params.initialization_options)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: CartridgeServer, params: types.DidChangeConfigurationParams) -> None:
        """Take new settings; an empty notification (some clients send `{}`) changes nothing."""
        section = settings_section(params.settings)
        if section in (None, {}):
            return
        _use(ls, section)
        ls.scans.clear()  # another target or profile may now apply


def _use(ls: CartridgeServer, raw: object) -> None:
    options, warning = parse_options(raw)
    if warning is not None:
        logger.warning("%s", warning)
        ls.show(types.MessageType.Warning, warning)
    ls.options = options
    logger.info("Settings: %s", options)

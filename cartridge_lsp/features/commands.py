"""workspace/executeCommand: the commands editors list in their command palettes."""

from __future__ import annotations

from typing import Any, TypeVar

from pygls.exceptions import JsonRpcInvalidParams

from cartridge_lsp.features import generate
from cartridge_lsp.options import GenerateArgs, InvalidSettings, ScanArgs, structure
from cartridge_lsp.server import CartridgeServer, command_work_done_token

SCAN_WAREHOUSE = "cartridge.scanWarehouse"
GENERATE_STAGING = "cartridge.generateStaging"

T = TypeVar("T")


def register(server: CartridgeServer) -> None:
    """Add the Cartridge commands to `server`."""
    # Handlers take `*args` so zero or one argument both reach them (pygls counts parameters).
    # Their annotations must resolve at run time: pygls reads them to inject the server.

    @server.command(SCAN_WAREHOUSE)
    async def scan_warehouse(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """Scan the warehouse; optional argument {"schema": str | null}."""
        request = _argument(args, ScanArgs, SCAN_WAREHOUSE)
        return await generate.scan_warehouse(ls, request, command_work_done_token())

    @server.command(GENERATE_STAGING)
    async def generate_staging(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """Generate staging models; optional {"schema", "table", "rescan", "replace", "uri"}."""
        request = _argument(args, GenerateArgs, GENERATE_STAGING)
        if request.table and not request.schema:
            raise JsonRpcInvalidParams(message=f"{GENERATE_STAGING}: 'table' needs a 'schema'")
        return await generate.generate_staging(ls, request, command_work_done_token())


def _argument(args: tuple[object, ...], cls: type[T], command: str) -> T:
    """The command's one optional argument object, or InvalidParams saying what is wrong."""
    if len(args) > 1:
        raise JsonRpcInvalidParams(message=f"{command} takes one argument object, got {len(args)}")
    raw = args[0] if args else {}
    try:
        return structure({} if raw is None else raw, cls, where="argument")
    except InvalidSettings as error:
        raise JsonRpcInvalidParams(message=f"{command}: {error}") from None

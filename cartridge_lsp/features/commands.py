"""workspace/executeCommand: the commands editors list in their command palettes."""

from __future__ import annotations

from typing import Any, TypeVar

from pygls.exceptions import JsonRpcInvalidParams

from cartridge_lsp.features import ai, generate, model_yaml
from cartridge_lsp.options import (
    AskAiArgs,
    GenerateArgs,
    InvalidSettings,
    MartsArgs,
    ModelArgs,
    ScanArgs,
    structure,
)
from cartridge_lsp.server import CartridgeServer, command_work_done_token

SCAN_WAREHOUSE = "cartridge.scanWarehouse"
GENERATE_STAGING = "cartridge.generateStaging"
ADD_TESTS = "cartridge.addTests"
DOCUMENT_COLUMNS = "cartridge.documentColumns"
GENERATE_MARTS = "cartridge.generateMarts"
ASK_AI = "cartridge.askAi"
PREVIEW_PROMPT = "cartridge.previewPrompt"

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

    @server.command(ADD_TESTS)
    async def add_tests(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """Add verified schema tests to a staging model's YAML; {"model", "uri"?, "rescan"?}."""
        request = _argument(args, ModelArgs, ADD_TESTS)
        return await model_yaml.add_tests(ls, request, command_work_done_token())

    @server.command(DOCUMENT_COLUMNS)
    async def document_columns(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """Describe a staging model and its columns in its YAML; {"model", "uri"?, "rescan"?}."""
        request = _argument(args, ModelArgs, DOCUMENT_COLUMNS)
        return await model_yaml.document_columns(ls, request, command_work_done_token())

    @server.command(GENERATE_MARTS)
    async def generate_marts(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """Generate intermediate and mart models; optional {"domain", "uri", "rescan"}."""
        request = _argument(args, MartsArgs, GENERATE_MARTS)
        return await model_yaml.generate_marts(ls, request, command_work_done_token())

    @server.command(ASK_AI)
    async def ask_ai(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """Ask the configured LLM for a model, checked by dbt; {"request": str, "uri"?, "rescan"?}."""
        request = _argument(args, AskAiArgs, ASK_AI)
        return await ai.ask_ai(ls, request, command_work_done_token())

    @server.command(PREVIEW_PROMPT)
    async def preview_prompt(ls: CartridgeServer, *args: object) -> dict[str, Any]:
        """What askAi would send, without sending it; optional {"request", "uri", "rescan"}."""
        request = _argument(args, AskAiArgs, PREVIEW_PROMPT)
        return await ai.preview_prompt(ls, request, command_work_done_token())


def _argument(args: tuple[object, ...], cls: type[T], command: str) -> T:
    """The command's one argument object, or InvalidParams saying what is wrong."""
    if len(args) > 1:
        raise JsonRpcInvalidParams(message=f"{command} takes one argument object, got {len(args)}")
    raw = args[0] if args else {}
    try:
        return structure({} if raw is None else raw, cls, where="argument")
    except InvalidSettings as error:
        raise JsonRpcInvalidParams(message=f"{command}: {error}") from None

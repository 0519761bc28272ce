"""cartridge.askAi and cartridge.previewPrompt: a model written by an LLM from a request in plain words.

Both are off until a provider is configured (the `llm` settings): without one, each answers with one
message saying what to set, and nothing else happens. With one, askAi deep-scans (or reuses the
scan), asks the LLM on the core thread under cancellable progress (the LLM session polls the
progress while a request is out, so Cancel stops it mid-request), and delivers the model only if
dbt's check passed, possibly after repairs: as one edit the user can undo, checked again after it is
applied like every generated model. previewPrompt returns exactly what would be sent, and sends
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from cartridge_core import services
from cartridge_core.errors import Cancelled, CartridgeError
from cartridge_core.llm import LlmConfig, LlmError, LlmModelResult, Usage
from cartridge_core.models import ModelCheck
from cartridge_core.progress import check_cancelled
from cartridge_core.project.changes import Plan
from cartridge_lsp.convert import EditSupport, empty_summary, generate_summary, summary_message
from cartridge_lsp.features.flow import (
    configured_schemas,
    context,
    deep_scan,
    deliver,
    ensure_saved,
    one_run,
)
from cartridge_lsp.features.progress import WorkDone
from cartridge_lsp.options import LLM_SETTINGS, AskAiArgs

if TYPE_CHECKING:
    from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)

NOT_CONFIGURED = (
    f"set {LLM_SETTINGS}.provider (openai, anthropic, gemini, openai-compatible or mock) to use the AI "
    f"commands; the API key stays in an environment variable, named by {LLM_SETTINGS}.apiKeyEnv"
)
NO_REQUEST = 'say which model to write, in plain words (e.g. "monthly revenue per customer")'


async def ask_ai(ls: CartridgeServer, args: AskAiArgs, token: types.ProgressToken | None) -> dict[str, Any]:
    """cartridge.askAi: the LLM's model for `args.request`, checked by dbt, delivered as one edit."""
    config = ls.options.llm
    request = " ".join((args.request or "").split())
    if config is None or not request:
        reason = _refused(ls, NOT_CONFIGURED if config is None else NO_REQUEST)
        return empty_summary(error=reason) | _no_model() | {"errorKind": None, "checked": False}
    title = f"Cartridge: asking {config.label} for a model"
    return await one_run(
        ls, title, token, lambda progress: _ask(ls, config, request, args, progress), _failed
    )


async def preview_prompt(
    ls: CartridgeServer, args: AskAiArgs, token: types.ProgressToken | None
) -> dict[str, Any]:
    """cartridge.previewPrompt: the prompt askAi would send for `args.request` (without one: the
    staging prompt), as text; nothing is sent."""
    config = ls.options.llm
    if config is None:
        return {"prompt": None, "error": _refused(ls, NOT_CONFIGURED), "cancelled": False}
    request = " ".join((args.request or "").split()) or None

    async def work(progress: WorkDone) -> dict[str, Any]:
        ctx = await context(ls, args.uri)
        scan = await deep_scan(ls, ctx, configured_schemas(ls), progress, rescan=args.rescan)
        check_cancelled(progress)
        progress.report("Writing the prompt…")
        prompt = await ls.run_core(services.llm_prompt, ctx, scan, config, request=request)
        logger.info("Prompt for %s shown (%d characters); nothing was sent", config.label, len(prompt))
        return {"prompt": prompt, "error": None, "cancelled": False}

    def failed(error: CartridgeError) -> dict[str, Any]:
        return {"prompt": None, "error": error.message, "cancelled": isinstance(error, Cancelled)}

    return await one_run(ls, "Cartridge: preparing the AI prompt", token, work, failed)


async def _ask(
    ls: CartridgeServer, config: LlmConfig, request: str, args: AskAiArgs, progress: WorkDone
) -> dict[str, Any]:
    ctx = await context(ls, args.uri)
    scan = await deep_scan(ls, ctx, configured_schemas(ls), progress, rescan=args.rescan)
    check_cancelled(progress)
    logger.info("Asking %s (%s) for a model: %s", config.label, config.model_name, request)
    plan, result = await ls.run_core(services.ask_llm, ctx, scan, request, config, progress=progress)
    if result.source == "failed":  # nothing passed the check: nothing is written
        progress.end_message = "Not written"
        ls.show(types.MessageType.Error, "Cartridge: " + " ".join(_sentences(result.messages)))
        return empty_summary(error=_verdict(result)) | _about(result) | {"sql": result.sql, "checked": False}
    ensure_saved(ls, ctx.project.root, plan)
    check_cancelled(progress)  # the last moment to stop before files change
    progress.report("Applying the edit…")
    written = await deliver(ls, ctx, plan, label=f"Cartridge: AI model {result.model}")
    try:
        checks = await ls.run_core(services.check, ctx, plan, progress=progress)
    except Cancelled:  # too late for "no file was changed": say what happened instead
        progress.end_message = "Check cancelled"
        ls.show(types.MessageType.Info, "Cartridge: the edit was applied; its dbt check was cancelled")
        return generate_summary(plan, (), written_to_disk=written) | _about(result) | {"checked": False}
    return _finish(ls, ctx, plan, checks, written, result) | {"checked": True}


def _finish(
    ls: CartridgeServer,
    ctx: services.Context,
    plan: Plan,
    checks: list[ModelCheck],
    written: list[str],
    result: LlmModelResult,
) -> dict[str, Any]:
    """Publish the check's diagnostics; one message: what the LLM's model became, the files, the cost."""
    ls.check_diagnostics.publish(ls, ctx.project.root, checks)
    support = EditSupport.of(ls.client_capabilities)
    reviewed = [c.path for c in plan.of_kind("conflict")] if support.apply_edit and support.review else []
    summary = generate_summary(plan, checks, written_to_disk=written, reviewed=reviewed)
    files = summary_message(summary).removeprefix("Cartridge: ")
    usage = [result.usage.summary()] if result.usage else []
    said = " ".join(_sentences(_said(result))).rstrip(".") or f"{result.model} passed the dbt check"
    message = " ".join([f"Cartridge: {said}: {files}.", *_sentences(usage)])
    ls.show(types.MessageType.Warning if summary["failed"] else types.MessageType.Info, message)
    return summary | _about(result)


def _said(result: LlmModelResult) -> tuple[str, ...]:
    """What the core said of the model, without the usage line it ends with."""
    return result.messages[:-1] if result.usage else result.messages


def _verdict(result: LlmModelResult) -> str:
    """Why the LLM's model was not written: the core's last word before the usage line."""
    said = _said(result)
    return said[-1] if said else f"{result.model} did not pass the dbt check; nothing will be written."


def _sentences(lines: Iterable[str]) -> list[str]:
    return [line if line.endswith(".") else f"{line}." for line in lines]


def _about(result: LlmModelResult) -> dict[str, Any]:
    """What the result says about the LLM's part: where the model came from and what it cost."""
    return {
        "source": result.source,
        "model": result.model,
        "path": result.path,
        "repairs": result.repairs,
        "usage": _usage(result.usage),
        "messages": list(result.messages),
    }


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "requests": usage.requests,
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "costUsd": usage.cost_usd,
        "summary": usage.summary(),
    }


def _no_model() -> dict[str, Any]:
    return {"source": None, "model": None, "path": None, "repairs": 0, "usage": None, "messages": []}


def _failed(error: CartridgeError) -> dict[str, Any]:
    """The result of an askAi run that stopped: a provider error, a cancel, a project problem."""
    kind = error.kind if isinstance(error, LlmError) else None
    return (
        empty_summary(cancelled=isinstance(error, Cancelled), error=error.message)
        | _no_model()
        | {
            "errorKind": kind,
            "checked": False,
        }
    )


def _refused(ls: CartridgeServer, reason: str) -> str:
    """One message for a command that cannot start (nothing else happens); the reason, for its result."""
    ls.show(types.MessageType.Warning, f"Cartridge: {reason}")
    return reason

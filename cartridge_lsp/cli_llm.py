"""`--generate --llm PROVIDER`: LLM-assisted generation from the command line.

With `--request "monthly revenue per customer"` the LLM writes that model; with `--tests` it proposes
extra tests for the staging models (each run on the data before it is kept, as Cartridge's own are);
with `--docs` it describes the staging models and columns that have no description yet; with none of
these it proposes better staging names and descriptions. Its output goes through dbt's check
(with a bounded repair loop; a model that never passes is not written), `--show-prompt` prints
exactly what would be sent and sends nothing, and the run ends with a token and cost line.

The provider's settings come from flags; the API key only ever from the environment variable
that `--llm-key-env` names (each provider has a default: OPENAI_API_KEY, ANTHROPIC_API_KEY,
GEMINI_API_KEY). Row data (samples, min/max) is sent only with `--llm-send-samples`, and never for
a column whose name matches the denylist.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from cartridge_core.llm import LlmConfig
    from cartridge_core.services import Context

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
_VERBS = {"create": "created", "replace": "replaced", "unchanged": "unchanged", "conflict": "skipped"}


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    """The LLM flags of --generate, in their own group of the help."""
    group = parser.add_argument_group("LLM-assisted generation (with --generate; off by default)")
    group.add_argument(
        "--llm",
        metavar="PROVIDER",
        default=None,
        help="openai, anthropic, gemini, openai-compatible (Ollama, vLLM, LM Studio) or mock",
    )
    group.add_argument(
        "--request", default=None, help='a model to write, in plain words: "revenue per month"'
    )
    group.add_argument(
        "--show-prompt", action="store_true", help="print exactly what would be sent to the LLM; send nothing"
    )
    group.add_argument("--llm-model", default=None, help="the provider's model (default: the provider's)")
    group.add_argument("--llm-base-url", default=None, help="the endpoint, for gemini or a local server")
    group.add_argument(
        "--llm-key-env", default=None, help="the NAME of the environment variable holding the API key"
    )
    group.add_argument(
        "--llm-send-samples",
        action="store_true",
        help="also send sample values and min/max (never for denylisted columns such as email, name, phone)",
    )
    group.add_argument("--llm-send-comments", action="store_true", help="also send the warehouse's comments")


def wants_llm(args: argparse.Namespace) -> bool:
    return bool(args.generate and (args.llm or args.request or args.show_prompt))


def llm_config(args: argparse.Namespace) -> LlmConfig:
    """The provider settings from the flags; ConfigError naming the flag when one is wrong."""
    from cartridge_core.errors import ConfigError
    from cartridge_core.llm import load_llm_config

    if not args.llm:
        raise ConfigError(
            "--request and --show-prompt need --llm PROVIDER (e.g. --llm openai, or --llm mock)"
        )
    settings: dict[str, Any] = {"provider": args.llm, "send_samples": args.llm_send_samples}
    settings["send_comments"] = args.llm_send_comments
    for key, value in (("model", args.llm_model), ("base_url", args.llm_base_url)):
        if value is not None:
            settings[key] = value
    if args.llm_key_env is not None:
        settings["api_key_env"] = args.llm_key_env
    return load_llm_config(settings, where="--llm")


def run_llm_generate(args: argparse.Namespace, ctx: Context, *, out: TextIO) -> int:
    """Scan, ask (or only show the prompt), check, write; print what the LLM's output became."""
    from cartridge_core import services

    config = llm_config(args)
    scan = services.deep_scan(ctx, schemas=args.schemas).scan
    if args.show_prompt:
        out.write(services.llm_prompt(ctx, scan, config, request=args.request))
        print("Cartridge: prompt shown, nothing sent.", file=sys.stderr)
        return EXIT_OK
    if args.request:
        plan, result = services.ask_llm(ctx, scan, args.request, config)
        messages, failed = list(result.messages), result.source == "failed"
        if result.source == "failed" and result.sql:
            messages.insert(0, f"The LLM's last attempt at {result.model}, not written:\n{result.sql}")
    elif args.tests:  # extra tests for the staging models, each run on the data before it is kept
        from cartridge_core.planning import Options
        from cartridge_lsp.cli import TestProgress

        options = Options(on_failure=args.on_test_failure)
        plan, said = services.llm_test_ideas(ctx, scan, config, options, progress=TestProgress(sys.stderr))
        messages, failed = list(said), False
    elif args.docs:  # descriptions where the staging models YAML has none
        plan, said = services.llm_docs(ctx, scan, config)
        messages, failed = list(said), False
    else:
        plan, enrichment = services.enrich_with_llm(ctx, scan, config, force=args.force)
        messages, failed = list(enrichment.messages), False
    if args.dry_run:
        for change in plan.changes:
            print(f"would be {_VERBS[change.kind]:<9} {change.path}", file=out)
        for line in messages:
            print(f"Cartridge: {line}", file=out)
        return EXIT_OK
    checks = services.check(ctx, plan)
    services.apply(ctx, plan)
    for change in plan.changes:
        print(f"{_VERBS[change.kind]:<9} {change.path}", file=out)
    for line in messages:
        print(f"Cartridge: {line}", file=out)
    bad = [c for c in checks if c.status == "error"]
    for check in bad:
        print(f"failed    {check.path}:{check.line or 1}  {check.message}", file=out)
    return EXIT_CHECK_FAILED if failed or bad else EXIT_OK

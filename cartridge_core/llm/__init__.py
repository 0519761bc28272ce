"""LLM-assisted generation: better staging names, models from plain words, docs, test ideas.

The deterministic generator stays the default; this package is used only when a provider is
configured. Provider SDKs (openai, anthropic) are imported only when a request is made. Whatever
the LLM writes is checked like deterministic output (see repair.py), and by default only metadata
is sent (see prompt.py); `render_prompt` shows exactly what would be sent, without sending it.
"""

from __future__ import annotations

from cartridge_core.llm.config import DEFAULT_DENYLIST, PROVIDERS, LlmConfig, load_llm_config
from cartridge_core.llm.describe import DocsResult, ModelSource, write_docs
from cartridge_core.llm.enrich import StagingEnrichment, enrich_staging
from cartridge_core.llm.errors import AnswerError, LlmError, ProviderError
from cartridge_core.llm.exchange import Message, Prompt
from cartridge_core.llm.mock import MockProvider
from cartridge_core.llm.modelling import ask_for_model
from cartridge_core.llm.prompt import render_prompt
from cartridge_core.llm.providers import Provider, make_provider
from cartridge_core.llm.repair import LlmModelResult, ModelChecker, dbt_checker
from cartridge_core.llm.suggest import TestProposals, propose_tests
from cartridge_core.llm.usage import Usage

__all__ = [
    "DEFAULT_DENYLIST",
    "PROVIDERS",
    "AnswerError",
    "DocsResult",
    "LlmConfig",
    "LlmError",
    "LlmModelResult",
    "Message",
    "MockProvider",
    "ModelChecker",
    "ModelSource",
    "Prompt",
    "Provider",
    "ProviderError",
    "StagingEnrichment",
    "TestProposals",
    "Usage",
    "ask_for_model",
    "dbt_checker",
    "enrich_staging",
    "load_llm_config",
    "make_provider",
    "propose_tests",
    "render_prompt",
    "write_docs",
]

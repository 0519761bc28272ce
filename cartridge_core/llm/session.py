"""One run's conversation with a provider: cancellable requests, bounded retries of bad answers, usage.

A request runs on a worker thread while the caller's thread watches for cancellation, so the
editor's Cancel takes effect mid-request: the call is abandoned (the thread ends by itself at the
SDK's timeout) and `Cancelled` is raised at once. An answer that is not JSON of the requested
shape goes back to the LLM with what was wrong, up to `max_attempts` answers in all.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cartridge_core.llm.config import LlmConfig
from cartridge_core.llm.errors import AnswerError
from cartridge_core.llm.exchange import InvalidAnswer, Message, Prompt, Reply
from cartridge_core.llm.providers import Provider, make_provider
from cartridge_core.llm.usage import Usage, UsageMeter
from cartridge_core.progress import NullProgress, Progress, check_cancelled

logger = logging.getLogger(__name__)

T = TypeVar("T")
POLL_S = 0.05  # how often a waiting request looks for cancellation


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """A parsed answer and the conversation that led to it, the answer included (for follow-ups)."""

    value: Any
    conversation: Prompt[Any] = field(repr=False)


class LlmSession:
    """Asks one provider for structured answers on behalf of one run, and adds up what it cost."""

    def __init__(
        self, config: LlmConfig, *, provider: Provider | None = None, progress: Progress | None = None
    ) -> None:
        self.config = config
        self.provider = provider or make_provider(config)
        self.progress = progress or NullProgress()
        self._meter = UsageMeter(config.provider, config.model_name)

    @property
    def usage(self) -> Usage:
        """Requests, tokens and estimated cost so far."""
        return self._meter.usage

    def ask(self, prompt: Prompt[T]) -> tuple[T, Prompt[T]]:
        """The answer to `prompt`, parsed; and the conversation with the answer appended.

        AnswerError when no answer of the right shape came in `max_attempts`; ProviderError as the
        provider fails; Cancelled when the user stops the run.
        """
        problem = ""
        for attempt in range(1, self.config.max_attempts + 1):
            self.progress.report(f"Asking {self.config.label} ({self.config.model_name})")
            reply = self._send(prompt)
            try:
                value = prompt.schema.parse(reply.text)
            except InvalidAnswer as exc:
                problem = str(exc)
                logger.info("Answer %d of %s was unusable: %s", attempt, self.config.label, problem)
                prompt = prompt.followed_by(
                    Message(role="assistant", content=reply.text or "(empty answer)"),
                    Message(role="user", content=_correction(problem, prompt.schema.name)),
                )
                continue
            return value, prompt.followed_by(Message(role="assistant", content=reply.text))
        raise AnswerError(
            f"{self.config.label} ({self.config.model_name}) gave no usable {prompt.schema.name} answer "
            f"in {self.config.max_attempts} attempts: {problem}"
        )

    def _send(self, prompt: Prompt[Any]) -> Reply:
        """One request on a worker thread, abandoned if the user cancels before it returns."""
        check_cancelled(self.progress)
        size = sum(len(m.content) for m in prompt.messages)
        logger.debug(
            "Sending %d messages (%d characters) to %s", len(prompt.messages), size, self.config.label
        )
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["reply"] = self.provider.complete(prompt)
            except BaseException as exc:  # handed to the waiting thread, which raises it
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="cartridge-llm-request", daemon=True).start()
        while not done.wait(POLL_S):
            if self.progress.cancelled():
                logger.info("Request to %s abandoned: cancelled by the user", self.config.label)
                check_cancelled(self.progress)
        if "error" in outcome:
            raise outcome["error"]
        reply: Reply = outcome["reply"]
        self._meter.add(reply.input_tokens, reply.output_tokens)
        return reply


def _correction(problem: str, schema: str) -> str:
    return (
        f"That answer could not be used: {problem}. Answer again with the complete {schema} JSON, "
        "following the schema exactly."
    )

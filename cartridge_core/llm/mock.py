"""A provider that never touches the network: for development, demos and tests.

By default it answers each prompt with the prompt's own `example`: the answer the deterministic
generator would give, shaped as the LLM's would be. Given a script, it answers with each scripted
reply in turn first (a malformed one, a failing SQL, ...), then falls back to the examples.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from cartridge_core.llm.exchange import Prompt, Reply


class MockProvider:
    """Deterministic answers; token counts are estimated as a quarter of the characters."""

    def __init__(self, script: Iterable[str | Mapping[str, Any]] = ()) -> None:
        self._script = [s if isinstance(s, str) else json.dumps(s) for s in script]
        self._lock = threading.Lock()
        self.prompts: list[Prompt[Any]] = []  # every prompt received, for tests and demos

    def complete(self, prompt: Prompt[Any]) -> Reply:
        """The next scripted answer, else the prompt's example, else an empty object."""
        with self._lock:
            self.prompts.append(prompt)
            text = self._script.pop(0) if self._script else (prompt.example or "{}")
        sent = sum(len(m.content) for m in prompt.messages)
        return Reply(text=text, input_tokens=sent // 4, output_tokens=len(text) // 4)

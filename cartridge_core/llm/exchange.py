"""What goes to a provider and what comes back: messages, the output schema, the raw reply.

A `Prompt` is exactly what is sent: its messages plus the JSON schema the answer must follow
(as OpenAI's `response_format` or Anthropic's forced tool). Previews render the same object, so
what a user is shown is what would leave the machine.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

import cattrs

T = TypeVar("T")
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One chat message."""

    role: Role
    content: str


class InvalidAnswer(ValueError):
    """An answer that is not JSON of the requested shape; the message says what is wrong, in one line."""


def _no_problems(answer: Any) -> Sequence[str]:
    return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputSchema(Generic[T]):
    """The shape an answer must have: a JSON schema for the provider, a dataclass for us.

    `problems` finds what the schema cannot say (an unknown table, a name against conventions);
    like a JSON error, each problem goes back to the LLM for another try.
    """

    name: str
    description: str
    json_schema: Mapping[str, Any]
    answer_type: type[T]
    problems: Callable[[T], Sequence[str]] = _no_problems

    def parse(self, text: str) -> T:
        """The answer in `text` as `answer_type`; InvalidAnswer saying what is wrong."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidAnswer(f"the answer is not JSON ({exc.msg} at line {exc.lineno})") from None
        try:
            answer = _converter().structure(raw, self.answer_type)
        except cattrs.BaseValidationError as exc:
            said = "; ".join(cattrs.transform_error(exc, path="$"))
            raise InvalidAnswer(f"the JSON does not match the {self.name} schema: {said[:400]}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidAnswer(f"the JSON does not match the {self.name} schema: {exc}") from None
        found = list(self.problems(answer))
        if found:
            raise InvalidAnswer("; ".join(found[:10]))
        return answer


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt(Generic[T]):
    """Exactly what one request sends: the messages and the answer's schema.

    `example` is the deterministic answer the mock provider gives; it is never sent anywhere.
    """

    task: str
    messages: tuple[Message, ...]
    schema: OutputSchema[T]
    example: str | None = field(default=None, repr=False)

    def followed_by(self, *messages: Message) -> Prompt[T]:
        """The same request with more of the conversation after it (a correction, a repair)."""
        return replace(self, messages=self.messages + messages)

    def as_text(self) -> str:
        """The prompt as a person reads it in a preview: each message, then the answer's schema."""
        parts = [f"--- {m.role} ---\n{m.content}" for m in self.messages]
        schema = json.dumps(self.schema.json_schema, indent=2)
        parts.append(f"--- answer schema: {self.schema.name} ---\n{schema}")
        return "\n\n".join(parts) + "\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A provider's raw answer (JSON text) and the tokens it cost, when the provider says."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None


@functools.cache
def _converter() -> cattrs.Converter:
    """Strict structuring: no unknown keys, no number where a string belongs (and the reverse)."""
    converter = cattrs.Converter(forbid_extra_keys=True)

    def strict(kind: type) -> Callable[[Any, type], Any]:
        def structure(value: Any, _: type) -> Any:
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
            return value

        return structure

    for kind in (str, int, bool):
        converter.register_structure_hook(kind, strict(kind))
    return converter


def json_text(value: Any) -> str:
    """`value` (a mapping or an answer dataclass) as compact JSON, as an answer is written."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

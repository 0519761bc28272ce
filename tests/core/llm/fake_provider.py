"""A local HTTP server that speaks the providers' real wire formats, for the real SDKs to talk to.

It serves OpenAI's `POST /v1/chat/completions` and Anthropic's `POST /v1/messages` on 127.0.0.1,
answering each request with the next scripted reply, and keeps every request it received so a
test can look at exactly what left the process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Scripted:
    """One reply: its status, JSON body and headers, sent after `delay` seconds (cut short at teardown)."""

    status: int = 200
    body: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as it arrived: path, headers (lowercased names) and body text."""

    path: str
    headers: Mapping[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def openai_answer(content: Any, *, prompt_tokens: int = 120, completion_tokens: int = 30) -> Scripted:
    """A chat completion whose message content is `content` (JSON-encoded unless already text)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Scripted(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def anthropic_answer(
    tool_input: Any, *, name: str, input_tokens: int = 200, output_tokens: int = 40
) -> Scripted:
    """A message whose one content block calls tool `name` with `tool_input` (or text if it is a str)."""
    block: dict[str, Any]
    if isinstance(tool_input, str):
        block = {"type": "text", "text": tool_input}
    else:
        block = {"type": "tool_use", "id": "toolu_test", "name": name, "input": tool_input}
    return Scripted(
        body={
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [block],
            "stop_reason": "tool_use" if block["type"] == "tool_use" else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
    )


def error_reply(
    status: int, message: str, *, kind: str = "error", code: str | None = None, **headers: str
) -> Scripted:
    """An error in the shape both providers use: {"error": {"message", "type", "code"}}."""
    body = {"type": "error", "error": {"message": message, "type": kind, "code": code}}
    return Scripted(status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})


class FakeProvider:
    """The server: `script` replies in order; `requests` as received; `key` checked when set."""

    def __init__(self) -> None:
        self.script: list[Scripted] = []
        self.requests: list[Received] = []
        self.key: str | None = None  # when set, a request without it gets OpenAI's 401 (echoing the key)
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def bodies(self) -> Iterator[str]:
        """Every request body received, as text."""
        return (r.body for r in self.requests)

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()  # let hanging replies go
        self._server.shutdown()
        self._server.server_close()

    def _next(self, received: Received) -> Scripted:
        with self._lock:
            self.requests.append(received)
            if self.key is not None and self.key not in _presented_key(received.headers):
                said = f"Incorrect API key provided: {_presented_key(received.headers)}."
                return error_reply(401, said, kind="invalid_request_error", code="invalid_api_key")
            if not self.script:
                return error_reply(400, "the fake provider has no scripted reply left", kind="test_error")
            return self.script.pop(0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = fake._next(Received(path=self.path, headers=headers, body=body))
                if reply.delay and fake._release.wait(reply.delay):
                    return  # torn down while hanging: drop the connection
                data = json.dumps(reply.body).encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


def _presented_key(headers: Mapping[str, str]) -> str:
    bearer = headers.get("authorization", "")
    return headers.get("x-api-key") or bearer.removeprefix("Bearer ").strip()

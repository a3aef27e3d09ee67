"""A scripted OpenAI-compatible chat server on 127.0.0.1 for the LLM tests.

``ScriptedLLM(responses)`` serves ``POST /v1/chat/completions`` (and ``/chat/completions``) from a
thread and answers the n-th request with the n-th scripted response:

* a ``str``: the assistant's message content (HTTP 200, with ``usage`` token counts);
* :data:`RATE_LIMITED` / :data:`SERVER_ERROR`: an HTTP 429 / 500 error body;
* ``Delay(seconds, then)``: sleep (longer than the client's time-out, say), then answer ``then``.

Past the end of the script it answers HTTP 500 ``script exhausted``. Every request body is kept
in ``requests`` (parsed JSON), ``calls`` counts them::

    with ScriptedLLM(["```python\\n...\\n```"]) as server:
        litellm.completion(model="openai/scripted", api_base=server.url + "/v1", api_key="test", ...)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["RATE_LIMITED", "SERVER_ERROR", "Delay", "ScriptedLLM", "code_answer"]


@dataclass(frozen=True)
class Status:
    """An HTTP error answer."""

    code: int
    message: str


RATE_LIMITED = Status(429, "rate limit reached, slow down")
SERVER_ERROR = Status(500, "internal server error")


@dataclass(frozen=True)
class Delay:
    """Sleep ``seconds`` before answering ``then`` (the client has usually given up by then)."""

    seconds: float
    then: str | Status = "too late"


def code_answer(source: str, prose: str = "Here is the parser.") -> str:
    """An assistant answer holding ``source`` in a fenced python block."""
    return f"{prose}\n\n```python\n{source.strip()}\n```\n"


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


class ScriptedLLM:
    """A real HTTP server that answers chat completions from a script; a context manager."""

    def __init__(self, responses: list[str | Status | Delay]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.usages: list[dict[str, int]] = []  # the usage of every answered request
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def messages(self, n: int) -> list[dict[str, Any]]:
        """The ``messages`` of the n-th request (0-based)."""
        return list(self.requests[n]["messages"])

    def start(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _next(self, body: dict[str, Any], path: str) -> str | Status | Delay:
        with self._lock:
            index = len(self.requests)
            self.requests.append(body)
            self.paths.append(path)
            if index < len(self.responses):
                return self.responses[index]
            return Status(500, f"script exhausted after {len(self.responses)} responses")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                path = self.path.split("?", 1)[0].rstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if path not in ("/v1/chat/completions", "/chat/completions"):
                    self._send(
                        404, {"error": {"message": f"no route {path!r}", "type": "not_found"}}
                    )
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(
                        400, {"error": {"message": "body is not JSON", "type": "bad_request"}}
                    )
                    return
                answer = owner._next(body, path)
                if isinstance(answer, Delay):
                    time.sleep(answer.seconds)
                    answer = answer.then
                if isinstance(answer, Status):
                    kind = "rate_limit_error" if answer.code == 429 else "server_error"
                    self._send(answer.code, {"error": {"message": answer.message, "type": kind}})
                    return
                prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
                usage = {"prompt_tokens": _tokens(prompt), "completion_tokens": _tokens(answer)}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                with owner._lock:
                    owner.usages.append(usage)
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-scripted-{owner.calls}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    },
                )

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        return Handler

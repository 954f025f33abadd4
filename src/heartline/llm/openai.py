"""Any OpenAI-compatible chat server (llama.cpp's server, vLLM, Ollama) over HTTP with SSE streaming.

Failures become BackendError with a message that says what to check. Connection problems and
5xx/429 answers are retried, but only before the first token: a reply is never restarted
halfway through. The deadlines (first token, total) are enforced in the caller's thread.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx

from heartline.errors import BackendError
from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback
from heartline.llm.chunks import (
    Emit,
    StreamAccumulator,
    backend_error,
    chat_request,
    error_message,
    stream_with_deadline,
)

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}
WORKER_GRACE_S = 2.0
"""The worker's own read timeout runs this much past the caller's deadline."""


class _Retryable(Exception):
    """A failure before the first token that another attempt may fix."""


class OpenAIBackend(LLMBackend):
    """A chat model behind an OpenAI-compatible `/v1/chat/completions` endpoint."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        n_ctx: int = 4096,
        connect_timeout_s: float = 5.0,
        retries: int = 2,
        first_token_timeout_s: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.first_token_timeout_s = first_token_timeout_s
        self.model = model
        self.n_ctx = n_ctx
        self.retries = retries
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._connect_timeout_s = connect_timeout_s
        self._client = httpx.Client(base_url=self.base_url, headers=headers)

    def generate(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        on_token: TokenCallback | None = None,
    ) -> Generation:
        params = self.deadlines(params)
        acc = StreamAccumulator(self.name, avoid=params.avoid)
        body = chat_request(messages, params, model=self.model)
        # reads are bounded by the deadlines in the caller's thread; this only frees the worker,
        # a little later, so that the caller's deadline (and its message) always comes first
        timeout = httpx.Timeout(
            params.timeout_s + WORKER_GRACE_S, connect=min(self._connect_timeout_s, params.timeout_s)
        )

        def produce(emit: Emit) -> None:
            self._produce(body, timeout, acc.started + params.timeout_s, emit)

        stream_with_deadline(produce, acc, on_token, params, f"{self.base_url} ({self.model})")
        return acc.generation()

    def _produce(
        self, body: dict[str, Any], timeout: httpx.Timeout, deadline: float, emit: Emit
    ) -> None:
        attempt = 0
        while True:
            started_reply = False
            try:
                for chunk in self._chunks(body, timeout):
                    started_reply = True
                    if emit(chunk):
                        return
                return
            except _Retryable as exc:
                if started_reply or attempt >= self.retries or time.perf_counter() > deadline:
                    raise BackendError(str(exc), hint=_hint(exc)) from None
                attempt += 1
                log.warning("%s; retrying (%d/%d)", exc, attempt, self.retries)
                time.sleep(min(0.5 * 2 ** (attempt - 1), max(0.0, deadline - time.perf_counter())))

    def _chunks(self, body: dict[str, Any], timeout: httpx.Timeout) -> Iterator[dict[str, Any]]:
        url = f"{self.base_url}/chat/completions"
        got_any = False
        try:
            with self._client.stream(
                "POST", "/chat/completions", json=body, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise _status_error(url, response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    yield _json(
                        response.read().decode("utf-8", "replace"), url
                    )  # server ignored stream
                    return
                for data in _sse_data(response.iter_lines()):
                    if data == "[DONE]":
                        return
                    got_any = True
                    yield _json(data, url)
        except httpx.ConnectError as exc:
            raise _Retryable(
                f"cannot reach {self.base_url}: {_reason(exc)} — is the server running?"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendError(f"{url} timed out ({exc.__class__.__name__})") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if got_any:
                raise BackendError(
                    f"{self.base_url} closed the stream in the middle of the reply ({_reason(exc)})",
                    hint="the server may have crashed or restarted; check its log",
                ) from exc
            raise _Retryable(f"{self.base_url} dropped the connection: {_reason(exc)}") from exc
        if not got_any:
            raise _Retryable(f"{self.base_url} ended the stream without sending anything")
        raise BackendError(
            f"{self.base_url} ended the stream without [DONE] — the reply may be cut short",
            hint="the server may have crashed or restarted; check its log",
        )

    def close(self) -> None:
        self._client.close()


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The `data:` payloads of a server-sent-event stream (multi-line data joined)."""
    buffer: list[str] = []
    for line in lines:
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            buffer.append(value.removeprefix(" "))
        elif field not in ("event", "id", "retry"):
            raise BackendError(f"garbled event stream from the server: {line[:120]!r}")
    if buffer:
        yield "\n".join(buffer)


def _json(text: str, url: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise BackendError(f"garbled data from {url}: {text[:120]!r} is not JSON") from None
    if not isinstance(value, dict):
        raise BackendError(f"garbled data from {url}: expected a JSON object, got {text[:120]!r}")
    return value


def _status_error(url: str, response: httpx.Response) -> Exception:
    try:
        detail = error_message(response.json()) or response.text[:200]
    except ValueError:
        detail = response.text[:200]
    status = response.status_code
    message = f"{url} answered HTTP {status}: {detail}"
    if status in RETRY_STATUS:
        return _Retryable(message)
    if status in (401, 403):
        return BackendError(message, hint="set llm.api_key (HEARTLINE_LLM__API_KEY)")
    if status == 404:
        return BackendError(
            message, hint="check llm.base_url (it usually ends in /v1) and llm.model"
        )
    return backend_error(url, f"HTTP {status}: {detail}")


def _reason(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return "connection refused" if "refused" in text.lower() else text


def _hint(exc: Exception) -> str:
    if "cannot reach" in str(exc):
        return "start the server, or set llm.base_url; or use the embedded default (llm.backend = 'llama')"
    return "the server is overloaded or failing; check its log"

"""The OpenAI chat-completions wire format and streaming loop shared by all backends.

`chat_request` builds the request body; `StreamAccumulator` consumes streamed chunks (from
llama.cpp in process or from any OpenAI-compatible server), guards the text against loops
and garbage, and turns llama.cpp's `timings` / OpenAI's `usage` into `Timings`;
`stream_with_deadline` runs a producer of chunks in a worker thread and enforces the
first-token and total deadlines in the caller's thread, which also receives the deltas.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from heartline.errors import BackendError
from heartline.llm.base import ChatMessage, Generation, GenerationParams, TokenCallback
from heartline.llm.guard import StreamGuard
from heartline.schema import Timings, valid_unicode

CONTEXT_HINT = "shorten the conversation history or raise llm.n_ctx"


def chat_request(
    messages: list[ChatMessage], params: GenerationParams, model: str | None = None
) -> dict[str, Any]:
    """A streaming /v1/chat/completions body for `messages` under `params`."""
    body: dict[str, Any] = {
        "messages": list(messages),
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if model is not None:
        body["model"] = model
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if params.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": params.json_schema},
        }
    return body


def error_message(chunk: dict[str, Any]) -> str | None:
    """The error text of an error chunk/body (llama.cpp or OpenAI style), else None."""
    error = chunk.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if isinstance(error, str):
        return error
    if "choices" not in chunk and "message" in chunk and ("code" in chunk or "type" in chunk):
        return str(chunk["message"])
    return None


def backend_error(backend: str, message: str) -> BackendError:
    hint = CONTEXT_HINT if "context" in message.lower() else None
    return BackendError(f"{backend} failed: {message}", hint=hint)


class StreamAccumulator:
    """Collects one streamed generation: text deltas, finish reason, timings."""

    def __init__(self, backend: str, started: float | None = None, avoid: list[str] | None = None) -> None:
        self.backend = backend
        self.started = time.perf_counter() if started is None else started
        self.first_token_at: float | None = None
        self.finish_reason: str | None = None
        self.guard = StreamGuard(avoid=list(avoid or []))
        self.stop = False
        """True once generation should be cancelled (the output loops or copies)."""
        self._server_timings: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._deltas = 0

    @property
    def text(self) -> str:
        return self.guard.text

    def feed(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; return its new text ('' if none). Raises BackendError on an error chunk."""
        message = error_message(chunk)
        if message is not None:
            raise backend_error(self.backend, message)
        if isinstance(chunk.get("timings"), dict):
            self._server_timings = chunk["timings"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choices = chunk.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        if not isinstance(choice, dict):
            raise backend_error(self.backend, f"malformed chunk: {str(chunk)[:200]}")
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        delta = (choice.get("delta") or choice.get("message") or {}).get("content") or ""
        if not isinstance(delta, str) or not delta:
            return ""
        delta = valid_unicode(delta)  # a JSON "\ud800" escape decodes to a lone surrogate
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self._deltas += 1
        before = len(self.guard.text)
        if self.guard.feed(delta):
            self.stop = True
            self.finish_reason = "copy" if self.guard.copied else "repetition"
            return self.guard.text[before:] if len(self.guard.text) > before else ""
        return delta

    def timings(self) -> Timings:
        now = time.perf_counter()
        st, usage = self._server_timings, self._usage
        cached = st.get("cache_n")
        if cached is None:
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        prompt_tokens = usage.get("prompt_tokens")
        if prompt_tokens is None and "prompt_n" in st:
            prompt_tokens = st["prompt_n"] + (st.get("cache_n") or 0)
        completion = usage.get("completion_tokens", st.get("predicted_n"))
        decode = st.get("predicted_per_second")
        if (
            decode is None
            and completion
            and self.first_token_at is not None
            and now > self.first_token_at
        ):
            decode = max(completion - 1, 0) / (now - self.first_token_at)
        return Timings(
            first_token_s=None
            if self.first_token_at is None
            else self.first_token_at - self.started,
            total_s=now - self.started,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion if completion is not None else self._deltas,
            prompt_tokens_per_s=st.get("prompt_per_second"),
            decode_tokens_per_s=decode,
            cached_tokens=cached,
        )

    def generation(self) -> Generation:
        return Generation(text=self.text, finish_reason=self.finish_reason, timings=self.timings())


Emit = Callable[[dict[str, Any]], bool]
"""Hands one chunk to the consumer; returns True when the producer must stop (cancelled)."""


def stream_with_deadline(
    produce: Callable[[Emit], None],
    acc: StreamAccumulator,
    on_token: TokenCallback | None,
    params: GenerationParams,
    what: str,
) -> threading.Thread:
    """Run `produce(emit)` in a worker thread; deliver deltas to `on_token` here.

    Raises BackendError when the first text or the end does not arrive in time (the worker is
    told to stop at its next chunk) or when the producer fails. Returns the worker thread.
    """
    events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    cancel = threading.Event()

    def emit(chunk: dict[str, Any]) -> bool:
        if cancel.is_set():
            return True
        events.put(("chunk", chunk))
        return False

    def run() -> None:
        try:
            produce(emit)
        except BackendError as exc:
            events.put(("error", exc))
        except Exception as exc:  # noqa: BLE001  (the consumer re-raises it as a BackendError)
            events.put(("error", BackendError(f"{what} failed: {exc.__class__.__name__}: {exc}")))
        else:
            events.put(("done", None))

    worker = threading.Thread(target=run, name=f"{acc.backend}-stream", daemon=True)
    worker.start()
    deadline = acc.started + params.timeout_s
    first_deadline = deadline
    if params.first_token_timeout_s is not None:
        first_deadline = min(deadline, acc.started + params.first_token_timeout_s)
    try:
        while True:
            limit = first_deadline if acc.first_token_at is None else deadline
            try:
                kind, payload = events.get(timeout=max(0.0, limit - time.perf_counter()))
            except queue.Empty:
                verb = "produced no text" if acc.first_token_at is None else "did not finish"
                raise BackendError(
                    f"{what} {verb} within {limit - acc.started:.1f} s",
                    hint="use a smaller model or a shorter history, or raise llm.timeout_s "
                    "/ llm.first_token_timeout_s",
                ) from None
            if kind == "done":
                return worker
            if kind == "error":
                raise payload
            delta = acc.feed(payload)
            if delta and on_token is not None:
                on_token(delta)
            if acc.stop:
                return worker
    finally:
        cancel.set()  # harmless once the worker finished; otherwise it stops at its next chunk

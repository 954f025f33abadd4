"""LLM backends: the OpenAI-compatible client against servers that work, die, hang or garble;
the stream guard; the in-process llama.cpp backend on the real fast model (slow)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from heartline.config import LLMSettings, Settings
from heartline.errors import BackendError
from heartline.llm.base import GenerationParams
from heartline.llm.factory import make_backend
from heartline.llm.guard import StreamGuard
from heartline.llm.openai import OpenAIBackend

MESSAGES = [{"role": "user", "content": "I had a rough day."}]


# --------------------------------------------------------------------------- guard


def test_guard_stops_a_loop_and_keeps_one_copy() -> None:
    guard = StreamGuard()
    pieces = ["I hear you. ", *["I'm here for you. "] * 10]
    fed = next(i for i, piece in enumerate(pieces) if guard.feed(piece))
    assert fed == 4, "stops at the fourth copy in a row"
    assert guard.stopped_for_repetition and guard.text == "I hear you. I'm here for you. "


def test_guard_lets_ordinary_repetition_through() -> None:
    guard = StreamGuard()
    assert not any(
        guard.feed(p) for p in ["No, no, no, no", " -- that is not your fault. ", "Ha ha ha."]
    )


def test_guard_rejects_garbled_output() -> None:
    guard = StreamGuard()
    noise = "".join("\ufffd" if i % 3 else chr(97 + i % 26) for i in range(60))
    with pytest.raises(BackendError, match="garbled"):
        for ch in noise:
            guard.feed(ch)


# --------------------------------------------------------------------------- a scripted SSE server


def _chunk(text: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if text is None else {"content": text}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


class ScriptedHandler(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions according to the server's `mode` (HTTP/1.1, chunked SSE)."""

    protocol_version = "HTTP/1.1"
    requests: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send_chunk(self, payload: bytes) -> None:
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()

    def _event(self, data: str) -> None:
        self._send_chunk(f"data: {data}\n\n".encode())

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "flaky" and len(type(self).requests) == 1:
            self.send_response(503)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        if mode == "missing":
            payload = json.dumps({"error": {"message": "model 'x' not found"}}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self._start_stream()
        if mode == "hang":
            time.sleep(3)
            return
        self._event(json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        self._send_chunk(b": keep-alive\n\n")
        for word in ["That ", "sounds ", "hard."]:
            self._event(json.dumps(_chunk(word)))
            if mode == "die" and word == "sounds ":
                self.wfile.write(b'4f\r\ndata: {"choi')  # half a chunk, then the process "dies"
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if mode == "hang_after_first":
                time.sleep(3)
                return
        if mode == "garbled":
            self._event("{this is not json")
        if mode == "surrogate":  # JSON escapes of a lone surrogate: a str no encoder accepts
            self._event(json.dumps(_chunk(" \ud800 ok")))
        usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
        self._event(json.dumps(_chunk(None, "stop", usage=usage)))
        self._event("[DONE]")
        self._send_chunk(b"")


@pytest.fixture()
def scripted() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    ScriptedHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    server.daemon_threads = True
    server.mode = "ok"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server, f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _backend(url: str) -> OpenAIBackend:
    return OpenAIBackend(url, "test-model", api_key="k")


def test_openai_streams_deltas_and_reports_usage(scripted: tuple[ThreadingHTTPServer, str]) -> None:
    _, url = scripted
    deltas: list[str] = []
    schema = {"type": "object", "properties": {"x": {"type": "string"}}}
    gen = _backend(url).generate(MESSAGES, GenerationParams(json_schema=schema), deltas.append)
    assert deltas == ["That ", "sounds ", "hard."]
    assert gen.text == "That sounds hard." and gen.finish_reason == "stop"
    assert gen.timings.prompt_tokens == 12 and gen.timings.completion_tokens == 3
    sent = ScriptedHandler.requests[0]
    assert sent["model"] == "test-model" and sent["stream"] is True
    assert sent["response_format"]["json_schema"]["schema"] == schema


def test_openai_server_dying_mid_stream_is_a_clear_error(
    scripted: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = scripted
    server.mode = "die"  # type: ignore[attr-defined]
    deltas: list[str] = []
    with pytest.raises(BackendError, match="closed the stream in the middle of the reply"):
        _backend(url).generate(MESSAGES, GenerationParams(), deltas.append)
    assert deltas == ["That ", "sounds "]
    assert len(ScriptedHandler.requests) == 1, "never retried after the first token"


def test_openai_hanging_server_hits_the_first_token_deadline(
    scripted: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = scripted
    server.mode = "hang"  # type: ignore[attr-defined]
    params = GenerationParams(timeout_s=10, first_token_timeout_s=0.5)
    with pytest.raises(BackendError, match=r"produced no text within 0\.5 s"):
        _backend(url).generate(MESSAGES, params)


def test_openai_stalling_after_first_token_hits_the_total_deadline(
    scripted: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = scripted
    server.mode = "hang_after_first"  # type: ignore[attr-defined]
    deltas: list[str] = []
    with pytest.raises(BackendError, match=r"did not finish within 0\.8 s"):
        _backend(url).generate(MESSAGES, GenerationParams(timeout_s=0.8), deltas.append)
    assert deltas == ["That "]


def test_openai_garbled_stream(scripted: tuple[ThreadingHTTPServer, str]) -> None:
    server, url = scripted
    server.mode = "garbled"  # type: ignore[attr-defined]
    with pytest.raises(BackendError, match="garbled data .* is not JSON"):
        _backend(url).generate(MESSAGES, GenerationParams())


def test_openai_retries_a_503_before_the_first_token(
    scripted: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = scripted
    server.mode = "flaky"  # type: ignore[attr-defined]
    assert _backend(url).generate(MESSAGES, GenerationParams()).text == "That sounds hard."
    assert len(ScriptedHandler.requests) == 2


def test_openai_404_points_at_the_configuration(scripted: tuple[ThreadingHTTPServer, str]) -> None:
    server, url = scripted
    server.mode = "missing"  # type: ignore[attr-defined]
    with pytest.raises(BackendError) as err:
        _backend(url).generate(MESSAGES, GenerationParams())
    assert "model 'x' not found" in str(err.value) and "llm.base_url" in (err.value.hint or "")


def test_openai_unreachable_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", retries=1)
    with pytest.raises(BackendError) as err:
        backend.generate(MESSAGES, GenerationParams(timeout_s=5))
    assert (
        f"cannot reach http://127.0.0.1:{port}/v1: connection refused — is the server running?"
        in str(err.value)
    )


def test_configured_first_token_deadline_is_honoured(scripted: tuple[ThreadingHTTPServer, str]) -> None:
    """llm.first_token_timeout_s reaches the backend: a hanging server gives up after it, not
    after the whole-call timeout (the reply path sets only timeout_s)."""
    from heartline.planning.llm import parse_plan_json
    from heartline.schema import PlanContext, Utterance
    from heartline.supporter import write_reply

    server, url = scripted
    server.mode = "hang"  # type: ignore[attr-defined]
    llm = LLMSettings(backend="openai", base_url=url, model="m", timeout_s=30.0, first_token_timeout_s=0.5)
    backend = make_backend(llm)
    started = time.perf_counter()
    with pytest.raises(BackendError, match=r"produced no text within 0\.5 s"):
        backend.generate(MESSAGES, GenerationParams(timeout_s=30.0))
    plan = parse_plan_json("", PlanContext(utterances=[Utterance(speaker="seeker", text="hi")]))
    reply = write_reply(MESSAGES, plan, backend, Settings(llm=llm))
    assert reply.fallback and "0.5 s" in (reply.error or "")
    assert time.perf_counter() - started < 5.0


def test_a_lone_surrogate_from_the_server_becomes_a_replacement_character(
    scripted: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = scripted
    server.mode = "surrogate"  # type: ignore[attr-defined]
    deltas: list[str] = []
    gen = _backend(url).generate(MESSAGES, GenerationParams(), deltas.append)
    assert gen.text == "That sounds hard. \ufffd ok"
    for text in (gen.text, *deltas):
        text.encode("utf-8")  # printable and storable


def test_factory_builds_the_openai_backend() -> None:
    backend = make_backend(LLMSettings(backend="openai", model="qwen", base_url="http://h:1/v1/"))
    assert isinstance(backend, OpenAIBackend)
    assert backend.base_url == "http://h:1/v1" and backend.model == "qwen"


# --------------------------------------------------------------------------- llama.cpp in process


@pytest.fixture(scope="module")
def llama() -> Iterator[Any]:
    """SmolLM2-135M through the factory (fetched into HEARTLINE_HOME on first use)."""
    backend = make_backend(
        LLMSettings(model="smollm2-135m", n_ctx=2048), Settings(), progress=False
    )
    yield backend
    backend.close()


LOADED_MACHINE_S = 600.0
"""Deadline for the real-model tests: generous, so a busy CI machine does not fail them."""

CONVERSATION = [
    {"role": "system", "content": "You are a warm, supportive listener. Answer in one sentence."},
    {"role": "user", "content": "I failed my driving test this morning."},
]


@pytest.mark.slow
def test_llama_streams_tokens_and_reports_timings(llama: Any) -> None:
    deltas: list[str] = []
    gen = llama.generate(
        CONVERSATION,
        GenerationParams(max_tokens=24, seed=1, timeout_s=LOADED_MACHINE_S),
        deltas.append,
    )
    assert len(deltas) > 3 and "".join(deltas).startswith(gen.text[:10])
    assert gen.text.strip() and gen.finish_reason in {"stop", "length", "repetition"}
    t = gen.timings
    assert t.prompt_tokens and t.prompt_tokens > 20 and t.completion_tokens
    assert t.decode_tokens_per_s and t.decode_tokens_per_s > 0 and t.first_token_s is not None


@pytest.mark.slow
def test_llama_reuses_the_prompt_cache_across_turns(llama: Any) -> None:
    params = GenerationParams(max_tokens=16, seed=2, timeout_s=LOADED_MACHINE_S)
    first = llama.generate(CONVERSATION, params)
    turn2 = [*CONVERSATION, {"role": "assistant", "content": first.text}]
    turn2.append({"role": "user", "content": "Now I have to wait a month to try again."})
    second = llama.generate(turn2, params)
    assert second.timings.cached_tokens is not None
    assert second.timings.cached_tokens >= first.timings.prompt_tokens - 2


@pytest.mark.slow
def test_llama_json_schema_constrains_output(llama: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"emotion": {"enum": ["joy", "sadness", "anger", "fear"]}},
        "required": ["emotion"],
    }
    messages = [{"role": "user", "content": "Which emotion: 'I miss my late grandmother so much.'"}]
    gen = llama.generate(
        messages,
        GenerationParams(
            max_tokens=30, json_schema=schema, temperature=0, timeout_s=LOADED_MACHINE_S
        ),
    )
    assert json.loads(gen.text)["emotion"] in {"joy", "sadness", "anger", "fear"}


@pytest.mark.slow
def test_llama_deadline_cancels_and_the_next_call_works(llama: Any) -> None:
    long_task = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    with pytest.raises(BackendError, match="within"):  # no model answers 400 tokens in 1 ms
        llama.generate(long_task, GenerationParams(max_tokens=400, timeout_s=0.001))
    assert llama.generate(
        CONVERSATION, GenerationParams(max_tokens=4, timeout_s=LOADED_MACHINE_S)
    ).text


@pytest.mark.slow
def test_llama_counts_tokens_exactly(llama: Any) -> None:
    assert llama.count_tokens("hello") == 1
    assert llama.count_tokens("hello" + " hello" * 49) == 50  # the estimate would say 101


@pytest.mark.slow
def test_openai_backend_against_the_real_llama_server(llama: Any) -> None:
    client = OpenAIBackend(f"{llama.server_url}/v1", "smollm2-135m")
    deltas: list[str] = []
    gen = client.generate(
        CONVERSATION, GenerationParams(max_tokens=12, timeout_s=LOADED_MACHINE_S), deltas.append
    )
    assert gen.text and "".join(deltas) == gen.text
    assert gen.timings.prompt_tokens and gen.timings.prompt_tokens > 20


@pytest.mark.slow
def test_llama_prompt_over_the_context_is_a_clear_error(llama: Any) -> None:
    too_long = [{"role": "user", "content": "hello there " * 1200}]  # ~2400 tokens > n_ctx 2048
    with pytest.raises(BackendError) as err:
        llama.generate(too_long, GenerationParams(max_tokens=4, timeout_s=LOADED_MACHINE_S))
    assert "context" in str(err.value) and "llm.n_ctx" in (err.value.hint or "")

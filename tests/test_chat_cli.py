"""`heartline chat` under contention and failure: concurrent turns on one session are taken in
order and none is lost; a failed turn leaves no empty session; the interactive loop survives
an unexpected error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

import heartline.cli.chat as chat_cli
from heartline.errors import HeartlineError
from heartline.memory.store import SessionStore
from heartline.schema import Observation


class SlowHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that thinks for a while, then answers in one SSE stream, and
    remembers every request's messages."""

    protocol_version = "HTTP/1.1"
    requests: ClassVar[list[list[dict[str, Any]]]] = []
    delay_s: ClassVar[float] = 1.5

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body["messages"])
        time.sleep(self.delay_s)
        answer = f"I hear you, reply {len(type(self).requests)}."
        events = [
            {"choices": [{"index": 0, "delta": {"content": answer}, "finish_reason": None}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        data = payload.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def slow_server() -> Iterator[str]:
    SlowHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _env(tmp_path: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTLINE_")}
    if "HEARTLINE_HOME" in os.environ:
        env["HEARTLINE_HOME"] = os.environ["HEARTLINE_HOME"]
    env.update({
        "HEARTLINE_STORE_URL": f"sqlite:///{tmp_path / 'sessions.db'}",
        "HEARTLINE_CONFIG": str(tmp_path / "none.toml"),
        "HEARTLINE_LLM__BACKEND": "openai",
        "HEARTLINE_LLM__BASE_URL": base_url,
        "HEARTLINE_LLM__TIMEOUT_S": "120",
        "HEARTLINE_LLM__FIRST_TOKEN_TIMEOUT_S": "120",
    })
    return env


def _chat(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "heartline", "chat", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_turns_on_one_session_are_all_stored_in_order(slow_server: str, tmp_path: Path) -> None:
    env = _env(tmp_path, slow_server)
    messages = [f"Message {i}: my week at work was hard." for i in range(3)]
    procs = [_chat(env, "--session", "S", "--once", text, "--json") for text in messages]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    turns = SessionStore(env["HEARTLINE_STORE_URL"]).turns("S")
    assert [t.index for t in turns] == [0, 1, 2], "every turn stored, numbered in order"
    assert sorted(t.perception.transcript for t in turns) == sorted(messages), "none lost"
    # Each turn saw the ones before it: its prompt holds every earlier message and reply.
    reply_prompts = [m for m in SlowHandler.requests if any(x["role"] == "system" for x in m)]
    for turn in turns:
        prompt = next(p for p in reply_prompts if turn.perception.transcript in p[-1]["content"])
        said = " ".join(m["content"] for m in prompt[:-1])
        for earlier in turns[: turn.index]:
            assert earlier.perception.transcript in said and earlier.reply.text in said


def test_a_failed_turn_leaves_no_empty_session(tmp_path: Path) -> None:
    env = _env(tmp_path, "http://127.0.0.1:9/v1")
    for text in ("", "   ", "\u200b"):
        proc = _chat(env, "--session", "empty", "--once", text)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 1 and "the message is empty" in err and "Traceback" not in err
    store = SessionStore(env["HEARTLINE_STORE_URL"])
    assert not store.has_session("empty") and store.list_sessions() == []


# --------------------------------------------------------------------------- in process


class _Supporter:
    def __init__(self, fail: list[BaseException]) -> None:
        self.store = SessionStore("sqlite://")
        self.fail = fail
        self.backend = type("B", (), {"model": "fake [/] model"})()

    def respond(self, observation: Observation, **_callbacks: object) -> Any:
        self.store.create_session(observation.session_id, exist_ok=True)
        raise self.fail.pop(0)


def test_respond_serialised_keeps_an_existing_session_when_a_turn_fails() -> None:
    from test_memory_store import make_turn

    supporter = _Supporter([HeartlineError("Nothing to respond to: the message is empty")] * 2)
    with pytest.raises(HeartlineError):
        chat_cli.respond_serialised(supporter, Observation(session_id="new", text=" "))  # type: ignore[arg-type]
    assert not supporter.store.has_session("new")
    supporter.store.append_turn(make_turn("old", 0), create_session=True)
    with pytest.raises(HeartlineError):
        chat_cli.respond_serialised(supporter, Observation(session_id="old", text=" "))  # type: ignore[arg-type]
    assert len(supporter.store.turns("old")) == 1


def test_the_interactive_loop_survives_an_unexpected_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import heartline.cli as cli

    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.delenv("HEARTLINE_DEBUG", raising=False)
    supporter = _Supporter([RuntimeError("boom [/]"), HeartlineError("Nothing to respond to [/]")])
    lines = iter(["first", "second", "/quit"])
    monkeypatch.setattr(chat_cli.console, "input", lambda *_a, **_k: next(lines))
    chat_cli._converse(supporter, "loop[/]", None, False, {})  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "unexpected RuntimeError: boom [/]" in out and "you can send it again" in out
    assert "Nothing to respond to [/]" in out
    assert "session loop[/]" in out and "fake [/] model" in out
    assert not supporter.store.has_session("loop[/]")


def test_chat_checks_the_session_id_before_loading_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from heartline.cli import app

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("models were loaded")

    monkeypatch.setattr("heartline.supporter.Supporter.from_settings", never)
    result = CliRunner().invoke(app, ["chat", "--session", "bad\nid", "--once", "hi"])
    assert isinstance(result.exception, HeartlineError) and "cannot be a session id" in str(result.exception)

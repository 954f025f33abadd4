"""The turn pipeline end to end: real models, real stores, real (dead) servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from heartline.config import LLMSettings, MemorySettings, Settings
from heartline.errors import HeartlineError
from heartline.labels import EMOTIONS, ESCONV_STRATEGIES
from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback
from heartline.llm.factory import make_backend
from heartline.llm.openai import OpenAIBackend
from heartline.memory.store import SessionStore
from heartline.perception import Perceiver
from heartline.planning.llm import LLMPlanner
from heartline.safety import SafetyGate
from heartline.llm.prompts import STRATEGY_ACTIONS, prompt_prefix
from heartline.schema import Observation, Plan, PlanContext, RiskLevel, Turn
from heartline.supporter import Supporter, runner_up

PATIENT = Settings(llm=LLMSettings(timeout_s=600.0, first_token_timeout_s=600.0, max_tokens=48))
"""Generous deadlines: a busy machine must not turn these tests into fallback tests."""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _supporter(backend, store_url: str, settings: Settings = PATIENT) -> Supporter:
    return Supporter(
        backend=backend, perceiver=Perceiver(), safety=SafetyGate(settings.safety),
        planner=LLMPlanner(backend, timeout_s=settings.llm.timeout_s), store=SessionStore(store_url),
        settings=settings,
    )


@pytest.fixture()
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture(scope="module")
def llama() -> Iterator:
    backend = make_backend(LLMSettings(model="smollm2-135m", n_ctx=2048), Settings(), progress=False)
    yield backend
    backend.close()


def _dead_backend() -> OpenAIBackend:
    return OpenAIBackend(f"http://127.0.0.1:{_closed_port()}/v1", "nobody-home", retries=0)


# --------------------------------------------------------------------------- real model


@pytest.mark.slow
def test_an_ordinary_turn_is_planned_streamed_and_stored(llama, store_url: str) -> None:
    supporter = _supporter(llama, store_url)
    deltas: list[str] = []
    stages: list[str] = []
    turn = supporter.respond(
        Observation(session_id="s1", text="I failed my exam today and I feel stupid."),
        on_token=deltas.append, on_stage=lambda stage, _record: stages.append(stage),
    )
    assert stages == ["perception", "safety", "plan"]
    assert turn.safety.level == RiskLevel.NONE
    assert turn.plan.user_emotion in EMOTIONS and turn.plan.system_emotion in EMOTIONS
    assert turn.plan.strategy in ESCONV_STRATEGIES
    assert turn.reply.text and deltas
    assert turn.guidance and STRATEGY_ACTIONS[turn.plan.strategy] in turn.guidance
    stored = SessionStore(store_url).turns("s1")
    assert [t.reply.text for t in stored] == [turn.reply.text]


@pytest.mark.slow
def test_a_session_continues_in_a_new_process_with_its_history(llama, store_url: str) -> None:
    _supporter(llama, store_url).respond(Observation(session_id="s2", text="My dog died on Sunday."))
    again = _supporter(llama, store_url)
    turn = again.respond(Observation(session_id="s2", text="I keep looking for him at the door."))
    assert turn.index == 1
    assert [t.perception.transcript for t in again.store.turns("s2")] == [
        "My dog died on Sunday.", "I keep looking for him at the door.",
    ]


@pytest.mark.slow
def test_an_enormous_message_never_overflows_the_context(llama, store_url: str) -> None:
    supporter = _supporter(llama, store_url)
    huge = "I am so tired of everything at work and at home. " * 4000  # ~200k characters
    for text in (huge, "And nobody listens to me."):
        turn = supporter.respond(Observation(session_id="big", text=text))
        assert turn.reply.text
        assert not (turn.reply.error or "").startswith("llama.cpp rejected")
    assert supporter.store.turns("big")[0].perception.transcript == huge.strip()


class RecordingBackend(LLMBackend):
    """Answers every request with a numbered sentence and records the messages it was sent."""

    name = "recording"
    model = "recorder"
    n_ctx = 4096

    def __init__(self) -> None:
        self.prompts: list[list[ChatMessage]] = []

    def generate(self, messages: list[ChatMessage], params: GenerationParams,
                 on_token: TokenCallback | None = None) -> Generation:
        self.prompts.append(messages)
        return Generation(text=f"Reply number {len(self.prompts)}.")


def _talk(supporter: Supporter, session: str, turns: int) -> list[Turn]:
    return [supporter.respond(Observation(session_id=session, text=f"Message {i}: work was hard today."))
            for i in range(turns)]


def test_a_moving_window_only_drops_turns_and_the_new_message_carries_the_summary(store_url: str) -> None:
    settings = PATIENT.model_copy(update={"memory": MemorySettings(max_history_turns=4)})
    backend = RecordingBackend()
    supporter = _supporter(backend, store_url, settings)
    turns = _talk(supporter, "w", 11)
    prompts = [p for p in backend.prompts if p[0] == prompt_prefix()[0]]
    prefix = len(prompt_prefix())
    moved = 0
    for previous, current, turn, answered in zip(prompts, prompts[1:], turns[1:], turns):
        assert current[:prefix] == previous[:prefix]
        said = [*previous[prefix:], {"role": "assistant", "content": answered.reply.text}]
        kept = current[prefix:-1]
        assert said[len(said) - len(kept):] == kept  # older turns dropped, nothing inserted or changed
        window_moved = len(kept) < len(said)
        assert current[-1]["content"].startswith("(Earlier in this conversation:") == window_moved
        assert (turn.summary is not None) == window_moved
        assert turn.history_start == turn.index - len(kept) // 2
        moved += window_moved
    assert moved >= 3
    stored = supporter.store.turns("w")
    assert [t.summary for t in stored] == [t.summary for t in turns]


class CopyingBackend(RecordingBackend):
    """Copies the last reply in its prompt until the temperature is raised."""

    def generate(self, messages: list[ChatMessage], params: GenerationParams,
                 on_token: TokenCallback | None = None) -> Generation:
        self.prompts.append(messages)
        said = [m["content"] for m in messages if m["role"] == "assistant"]
        if params.temperature < 1.0:
            return Generation(text=said[-1] if said else "Work sounds really hard today, and I am here with you.")
        return Generation(text="What was the hardest part of today for you?")


def test_a_reply_copying_an_earlier_one_is_generated_again(store_url: str) -> None:
    backend = CopyingBackend()
    stages: list[str] = []
    supporter = _supporter(backend, store_url)
    first = supporter.respond(Observation(session_id="r", text="Work was hard today."))
    assert not first.reply.regenerated
    turn = supporter.respond(Observation(session_id="r", text="My boss shouted at me."),
                             on_stage=lambda stage, _record: stages.append(stage))
    assert turn.reply.text == "What was the hardest part of today for you?"
    assert stages[-1] == "retry" and turn.reply.regenerated
    assert not turn.reply.fallback


class FixedPlanner:
    """Plans every turn the same, with a strategy distribution like the trained heads give."""

    def plan(self, context: PlanContext) -> Plan:
        return Plan(user_emotion="sadness", strategy="Others", system_emotion="neutral", source="trained",
                    strategy_distribution={"Others": 0.5, "Question": 0.3, "Information": 0.2})


def test_a_copying_reply_is_retried_with_the_runner_up_strategy_and_stored_so(store_url: str) -> None:
    backend = CopyingBackend()
    supporter = Supporter(backend=backend, perceiver=Perceiver(), safety=SafetyGate(PATIENT.safety),
                          planner=FixedPlanner(), store=SessionStore(store_url), settings=PATIENT)
    supporter.respond(Observation(session_id="u", text="Work was hard today."))
    turn = supporter.respond(Observation(session_id="u", text="My boss shouted at me."))
    assert turn.reply.regenerated and turn.plan.strategy == "Question"
    assert backend.prompts[-1][-1]["content"].endswith(f"[sadness; {STRATEGY_ACTIONS['Question']}; calm tone]")
    assert turn.guidance in backend.prompts[-1][-1]["content"]
    assert SessionStore(store_url).turns("u")[-1].plan.strategy == "Question"
    assert runner_up(Plan(user_emotion="joy", strategy="Others")) is None


def test_a_strategy_is_not_used_three_turns_running(store_url: str) -> None:
    supporter = Supporter(backend=RecordingBackend(), perceiver=Perceiver(), safety=SafetyGate(PATIENT.safety),
                          planner=FixedPlanner(), store=SessionStore(store_url), settings=PATIENT)
    turns = _talk(supporter, "v", 6)
    assert [t.plan.strategy for t in turns] == ["Others", "Others", "Question", "Others", "Others", "Question"]
    assert STRATEGY_ACTIONS["Question"] in turns[2].guidance


@pytest.mark.slow
def test_the_model_reuses_its_cache_when_the_window_moves(llama, store_url: str) -> None:
    settings = PATIENT.model_copy(update={"memory": MemorySettings(max_history_turns=4)})
    turns = _talk(_supporter(llama, store_url, settings), "c", 8)
    moved = [t for t in turns if t.summary]
    assert moved
    for turn in moved:
        timings = turn.reply.timings
        new = timings.prompt_tokens - timings.cached_tokens
        assert new < 200, f"turn {turn.index}: {new} of {timings.prompt_tokens} prompt tokens evaluated again"


# --------------------------------------------------------------------------- safety


def test_crisis_gets_the_protocol_verbatim_and_no_model_is_asked(store_url: str) -> None:
    supporter = _supporter(_dead_backend(), store_url)
    streamed: list[str] = []
    turn = supporter.respond(Observation(session_id="c", text="i want to kms tonight"), on_token=streamed.append)
    assert turn.safety.level == RiskLevel.CRISIS
    assert turn.plan is None and turn.guidance is None
    assert turn.reply.backend == "safety-protocol" and not turn.reply.fallback
    assert turn.reply.text == supporter.safety.protocol_reply(turn.safety)
    assert "".join(streamed) == turn.reply.text
    assert "emergency" in turn.reply.text.lower()


def test_a_crisis_follow_up_stays_in_the_protocol(store_url: str) -> None:
    supporter = _supporter(_dead_backend(), store_url)
    supporter.respond(Observation(session_id="c2", text="I'm going to end it all tonight"))
    follow_up = supporter.respond(Observation(session_id="c2", text="yes"))
    assert follow_up.safety.level == RiskLevel.CRISIS
    assert follow_up.reply.backend == "safety-protocol"


# --------------------------------------------------------------------------- failures


def test_a_dead_backend_gets_a_safe_fallback_and_the_conversation_goes_on(store_url: str) -> None:
    supporter = _supporter(_dead_backend(), store_url)
    first = supporter.respond(Observation(session_id="d", text="I had a horrible day."))
    second = supporter.respond(Observation(session_id="d", text="My boss yelled at me in front of everyone."))
    for turn in (first, second):
        assert turn.reply.fallback and turn.reply.text
        assert "127.0.0.1" in turn.reply.error
        assert turn.plan.source == "fallback"
    assert [t.index for t in supporter.store.turns("d")] == [0, 1]


@pytest.mark.slow
def test_a_server_that_dies_mid_conversation_degrades_to_fallback(store_url: str) -> None:
    server = make_backend(LLMSettings(model="smollm2-135m", n_ctx=2048), Settings(), progress=False)
    client = OpenAIBackend(f"{server.server_url}/v1", "smollm2-135m", retries=0)
    supporter = _supporter(client, store_url)
    first = supporter.respond(Observation(session_id="m", text="I can't sleep lately."))
    assert "cannot reach" not in (first.reply.error or "")  # the server answered
    server.close()
    second = supporter.respond(Observation(session_id="m", text="My mind keeps racing at night."))
    assert second.reply.fallback and "cannot reach" in second.reply.error
    assert len(supporter.store.turns("m")) == 2


def test_an_empty_message_is_a_clear_error_and_stores_nothing(store_url: str) -> None:
    supporter = _supporter(_dead_backend(), store_url)
    with pytest.raises(HeartlineError, match="empty"):
        supporter.respond(Observation(session_id="e", text="   \u200b "))
    assert supporter.store.turns("e", missing_ok=True) == []


def test_a_failed_first_turn_leaves_no_session_behind(store_url: str) -> None:
    supporter = _supporter(_dead_backend(), store_url)
    for _ in range(3):
        with pytest.raises(HeartlineError, match="empty"):
            supporter.respond(Observation(session_id="e", text="   \u200b "))
    assert not supporter.store.has_session("e") and supporter.store.list_sessions() == []


class MeetingBackend(RecordingBackend):
    """Replies only once both racing turns have read their history (or after a second)."""

    def __init__(self, meeting: threading.Barrier) -> None:
        super().__init__()
        self.meeting = meeting

    def generate(self, messages, params, on_token=None):  # type: ignore[no-untyped-def]
        try:
            self.meeting.wait(timeout=1.0)
        except threading.BrokenBarrierError:
            pass
        return super().generate(messages, params, on_token)


def test_concurrent_turns_on_one_session_are_serialised_by_the_library(store_url: str) -> None:
    meeting = threading.Barrier(2)
    supporters = [_supporter(MeetingBackend(meeting), store_url) for _ in range(2)]  # two stores, one file
    errors: list[BaseException] = []

    def turn(supporter: Supporter, text: str) -> None:
        try:
            supporter.respond(Observation(session_id="race", text=text))
        except BaseException as exc:  # noqa: BLE001  (asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=turn, args=(s, f"Message {i}: I feel low.")) for i, s in enumerate(supporters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    turns = supporters[0].store.turns("race")
    assert [t.index for t in turns] == [0, 1]
    second = next(b for b in (s.backend for s in supporters) if b.prompts and len(b.prompts[-1]) > len(prompt_prefix()) + 1)
    assert turns[0].perception.transcript in " ".join(m["content"] for m in second.prompts[-1])


def test_odd_unicode_goes_through(store_url: str) -> None:
    supporter = _supporter(_dead_backend(), store_url)
    turn = supporter.respond(Observation(session_id="u", text="😢 je suis triste… 悲しい \u202e"))
    assert turn.reply.text and turn.perception.transcript.startswith("😢")


# --------------------------------------------------------------------------- the CLI


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "heartline", *args], capture_output=True, text=True,
                          env=env, timeout=900)


@pytest.fixture()
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["HEARTLINE_STORE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["HEARTLINE_CONFIG"] = str(tmp_path / "none.toml")
    return env


def test_chat_once_json_prints_the_whole_turn(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "HEARTLINE_LLM__BACKEND": "openai",
           "HEARTLINE_LLM__BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1"}
    result = _cli("chat", "--once", "I want to die", "--json", env=env)
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout)
    assert turn["safety"]["level"] == "crisis"
    assert turn["reply"]["backend"] == "safety-protocol"
    for field in ("perception", "plan", "safety", "reply"):
        assert field in turn


def test_a_process_killed_mid_turn_loses_no_completed_turn(cli_env: dict[str, str], tmp_path: Path) -> None:
    dead = {**cli_env, "HEARTLINE_LLM__BACKEND": "openai",
            "HEARTLINE_LLM__BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1"}
    done = _cli("chat", "--once", "I had a rough week.", "--session", "k", "--json", env=dead)
    assert done.returncode == 0, done.stderr
    # A server that accepts the connection and never answers: the next turn hangs until killed.
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen()
        env = {**cli_env, "HEARTLINE_LLM__BACKEND": "openai",
               "HEARTLINE_LLM__BASE_URL": f"http://127.0.0.1:{hanging.getsockname()[1]}/v1"}
        proc = subprocess.Popen([sys.executable, "-m", "heartline", "chat", "--once", "Still rough.",
                                 "--session", "k"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        hanging.settimeout(120)
        connection, _ = hanging.accept()  # the turn is now waiting on the model
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        connection.close()
    turns = SessionStore(cli_env["HEARTLINE_STORE_URL"]).turns("k")
    assert [t.perception.transcript for t in turns] == ["I had a rough week."]
    resumed = _cli("chat", "--once", "Still here.", "--session", "k", "--json", env=dead)
    assert json.loads(resumed.stdout)["index"] == 1


def test_interactive_chat_starts_a_new_session_and_quits(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "HEARTLINE_LLM__BACKEND": "openai",
           "HEARTLINE_LLM__BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1"}
    result = subprocess.run([sys.executable, "-m", "heartline", "chat"], input="I feel lost.\n/quit\n",
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "heartline ›" in result.stdout and "error" not in result.stdout.lower()
    assert len(SessionStore(cli_env["HEARTLINE_STORE_URL"]).list_sessions()) == 1

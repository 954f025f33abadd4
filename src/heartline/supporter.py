"""The turn pipeline: Observation -> Perception -> SafetyCheck -> Plan -> Reply -> stored Turn.

`Supporter` wires the stages together and owns no model logic. Every failure past the
safety gate degrades to a safe fallback, so the conversation always goes on; every completed
turn is stored before `respond` returns.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from heartline.config import Settings
from heartline.errors import BackendError, HeartlineError
from heartline.llm.base import ChatMessage, GenerationParams, LLMBackend, TokenCallback
from heartline.llm.output import clean_reply, fallback_reply, is_garbled, repeats_earlier
from heartline.llm.prompts import guidance_note, prompt_prefix, user_message
from heartline.memory.history import bounded_history, utterances_from_turns
from heartline.memory.store import SessionStore, check_session_id
from heartline.perception import Perceiver
from heartline.planning.base import Planner
from heartline.planning.llm import parse_plan_json
from heartline.safety import Said, SafetyGate
from heartline.safety.screen import ReplyBlocked, ReplyScreen, Verdict
from heartline.schema import (
    Observation, Perception, Plan, PlanContext, Reply, SafetyCheck, Turn, Utterance,
)

log = logging.getLogger(__name__)

StageCallback = Callable[[str, object], None]
"""Receives (stage name, its record) as each stage completes: 'perception', 'safety', 'plan';
('retry', the plan now followed or None) when the reply streamed so far is dropped and
generated again; ('blocked', the screen's Verdict) when it is dropped for the plan's safe
fallback because a sentence failed the reply screen."""

MAX_PROMPT_MESSAGE_TOKENS = 600
"""A single message longer than this is shortened in the prompt (the stored turn keeps it whole)."""
RECENT_REPLIES = 4
"""A reply copying one of this many recent replies is generated again."""
RETRY_TEMPERATURE = 1.0
LONGEST_STRATEGY_RUN = 2
"""Live turns in a row that may share a strategy (ESConv supporters continue a run of two only
22% of the time: 413 of 1,897 first replies in train)."""
NOTE_RESERVE_TOKENS = 200
"""Room kept for the guidance note and the summary of older turns."""


class Supporter:
    """Answers one observation at a time, remembering each session in its store."""

    def __init__(
        self,
        *,
        backend: LLMBackend,
        perceiver: Perceiver,
        safety: SafetyGate,
        planner: Planner,
        store: SessionStore,
        settings: Settings | None = None,
    ) -> None:
        self.backend = backend
        self.perceiver = perceiver
        self.safety = safety
        self.planner = planner
        self.store = store
        self.settings = settings or Settings()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Supporter:
        """Build the default pipeline described by `settings` (fetching models on first use)."""
        from heartline.components import build_supporter

        return build_supporter(settings or Settings())

    def close(self) -> None:
        """Release the model (waiting for any cancelled generation) and the store."""
        self.backend.close()
        self.store.close()

    def __enter__(self) -> Supporter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the turn

    def respond(
        self,
        observation: Observation,
        on_token: TokenCallback | None = None,
        on_stage: StageCallback | None = None,
    ) -> Turn:
        """Run one turn and store it. Raises HeartlineError only when there is nothing to answer
        (or the session id cannot be one).

        Turns of one session are serialised across threads and processes (the store's turn
        lock): each sees every turn before it. The session row is created with its first turn,
        so a failed first turn leaves nothing behind.
        """
        session_id = observation.session_id
        with self.store.turn_lock(session_id):
            return self._respond(observation, on_token, on_stage)

    def _respond(self, observation: Observation, on_token: TokenCallback | None,
                 on_stage: StageCallback | None) -> Turn:
        session_id = observation.session_id
        past = self.store.turns(session_id, missing_ok=True)
        if not past and not self.store.has_session(session_id):
            check_session_id(session_id)  # before any model runs
        history = utterances_from_turns(past)
        seconds: dict[str, float] = {}
        notify = on_stage or (lambda stage, record: None)

        with _timed(seconds, "perception"):
            perception = self.perceiver.perceive(observation, history)
        if _is_blank(perception.transcript):
            raise HeartlineError(
                "Nothing to respond to: the message is empty" + _warnings_suffix(perception),
                hint="type a message, or give an audio file with speech in it",
            )
        notify("perception", perception)

        with _timed(seconds, "safety"):
            safety = self.safety.check(perception.transcript, history=safety_history(past))
        notify("safety", safety)

        plan: Plan | None = None
        prompt: ReplyPrompt | None = None
        if safety.is_crisis:
            reply = self._protocol_reply(safety, on_token)
        else:
            with _timed(seconds, "plan"):
                plan = vary_strategy(self._plan(history, perception), past)
            notify("plan", plan)
            with _timed(seconds, "reply"):
                plan, prompt, reply = self._reply(past, perception, plan, safety, on_token, notify)

        turn = Turn(
            session_id=session_id,
            index=len(past),
            observation=observation,
            perception=perception,
            safety=safety,
            plan=plan,
            guidance=prompt.note if prompt else None,
            history_start=prompt.history_start if prompt else 0,
            summary=prompt.summary if prompt else None,
            reply=reply,
            stage_seconds=seconds,
        )
        with _timed(seconds, "store"):
            self.store.append_turn(turn, create_session=True)
        return turn

    # ------------------------------------------------------------------ stages

    def _protocol_reply(self, safety: SafetyCheck, on_token: TokenCallback | None) -> Reply:
        """The crisis protocol, verbatim: no model ever writes or edits it."""
        text = self.safety.protocol_reply(safety)
        if on_token:
            on_token(text)
        return Reply(text=text, backend="safety-protocol", model=safety.protocol or "crisis")

    def _reply(self, past: list[Turn], perception: Perception, plan: Plan, safety: SafetyCheck,
               on_token: TokenCallback | None, notify: StageCallback) -> tuple[Plan, ReplyPrompt, Reply]:
        """The reply to `plan`, or, when it copies an earlier reply, the one written for the
        runner-up plan, which the turn then records; with the plan and prompt it followed."""
        prompt = self._prompt(past, perception, plan, safety)
        alternative = runner_up(plan)
        retry: ReplyPrompt | None = None

        def retry_messages() -> list[ChatMessage]:
            nonlocal retry
            notify("retry", alternative)
            if alternative is None:
                return prompt.messages
            retry = self._prompt(past, perception, alternative, safety)
            return retry.messages

        reply = write_reply(prompt.messages, plan, self.backend, self.settings, on_token, retry_messages,
                            screen=self.safety.screen, on_blocked=lambda verdict: notify("blocked", verdict))
        if retry is not None and alternative is not None and reply.regenerated:
            return alternative, retry, reply
        return plan, prompt, reply

    def _prompt(self, past: list[Turn], perception: Perception, plan: Plan, safety: SafetyCheck) -> ReplyPrompt:
        note = guidance_note(plan, perception, self.safety.guidance(safety))
        return reply_prompt(past, perception.transcript, note, self.backend, self.settings)

    def _plan(self, history: list[Utterance], perception: Perception) -> Plan:
        current = Utterance(speaker="seeker", text=perception.transcript, emotion=perception.user_emotion)
        context = PlanContext(utterances=[*history, current], perception=perception,
                              taxonomy=self.settings.planner.taxonomy)
        try:
            return self.planner.plan(context)
        except Exception:  # a broken planner must not end the conversation
            log.exception("planner failed; using the fallback plan")
            return parse_plan_json("", context)



@dataclass(frozen=True)
class ReplyPrompt:
    """The messages for the reply, and what the new user message carries (stored on the turn)."""

    messages: list[ChatMessage]
    note: str
    history_start: int
    """Index of the oldest past turn in the prompt."""
    summary: str | None
    """Summary of the turns before `history_start`, when this message carries it."""


def reply_prompt(past: list[Turn], transcript: str, note: str, backend: LLMBackend,
                 settings: Settings) -> ReplyPrompt:
    """The reply prompt: examples, the bounded history of `past`, and the new message + note.

    When the window has moved since the summary in it was written, the new message carries
    the summary of the dropped turns: nothing is inserted before the kept turns, so the
    backend's cache of them stays usable.
    """
    count = backend.count_tokens
    # A budget that does not depend on this message keeps the window (and the cache) steady.
    fixed = sum(count(m["content"]) for m in prompt_prefix())
    fixed += MAX_PROMPT_MESSAGE_TOKENS + NOTE_RESERVE_TOKENS
    budget = backend.n_ctx - fixed - max(settings.llm.max_tokens, settings.memory.reply_reserve_tokens)
    window = bounded_history(
        past, budget_tokens=max(budget, 0), count_tokens=count,
        max_turns=settings.memory.max_history_turns,
        render_user=lambda turn: render_user_message(turn, count),
    )
    start = window.dropped
    carried = any(t.summary and t.history_start == start for t in past[start:])
    summary = window.summary if window.summary and not carried else None
    current = user_message(_shorten(transcript, MAX_PROMPT_MESSAGE_TOKENS, count), note, summary)
    return ReplyPrompt([*prompt_prefix(), *window.messages, current], note, start, summary)


def write_reply(messages: list[ChatMessage], plan: Plan, backend: LLMBackend, settings: Settings,
                on_token: TokenCallback | None = None,
                retry_messages: Callable[[], list[ChatMessage]] | None = None,
                screen: ReplyScreen | None = None,
                on_blocked: Callable[[Verdict], None] | None = None) -> Reply:
    """Generate, clean, screen and check the reply; a failed backend, unusable output or a reply
    that fails the screen gives the plan's fallback reply.

    With `screen`, `on_token` sees only sentences that passed it, and a failing sentence stops
    generation; `on_blocked(verdict)` is called then (a display should drop what it showed).
    A reply that starts copying one of the recent replies is stopped and generated once more,
    hotter and with another seed, from `retry_messages()` when given (e.g. the prompt of the
    runner-up strategy; a display should drop what it showed when it is called), else from
    `messages` again.
    """
    llm = settings.llm
    earlier = [m["content"] for m in messages if m["role"] == "assistant"][-RECENT_REPLIES:]
    params = GenerationParams(max_tokens=llm.max_tokens, temperature=llm.temperature, top_p=llm.top_p,
                              seed=llm.seed, timeout_s=llm.timeout_s, avoid=earlier)
    stream = screen.stream(on_token) if screen else None
    emit = stream if stream is not None else on_token
    regenerated = False

    def fallback(**details: object) -> Reply:
        return Reply(text=fallback_reply(plan), backend=backend.name, model=backend.model, fallback=True,
                     regenerated=regenerated, **details)

    try:
        generation = backend.generate(messages, params, on_token=emit)
        regenerated = generation.finish_reason == "copy" or repeats_earlier(clean_reply(generation.text), earlier)
        if regenerated:
            log.info("the reply copies an earlier one (%r); generating it again", generation.text[:100])
            again = retry_messages() if retry_messages else messages
            if stream is not None:
                stream.reset()
            hotter = params.model_copy(update={"temperature": RETRY_TEMPERATURE, "seed": llm.seed + 1, "avoid": []})
            generation = backend.generate(again, hotter, on_token=emit)
        if stream is not None:
            stream.finish()
    except ReplyBlocked as exc:
        log.warning("the model's reply failed the reply screen (%s); using the fallback reply", exc)
        if on_blocked:
            on_blocked(exc.verdict)
        return fallback(blocked=exc.verdict.category, error=str(exc))
    except BackendError as exc:
        log.warning("reply backend failed, using the fallback reply: %s", exc)
        return fallback(error=str(exc))
    text = clean_reply(generation.text)
    if is_garbled(text):
        return fallback(timings=generation.timings, error=f"unusable model output: {generation.text[:80]!r}")
    verdict = screen.check_text(text) if screen else None
    if verdict is not None and verdict.blocked:
        log.warning("the model's reply failed the reply screen (%s, %s); using the fallback reply",
                    verdict.category, verdict.by)
        if on_blocked:
            on_blocked(verdict)
        return fallback(timings=generation.timings, blocked=verdict.category,
                        error=f"reply screen: {verdict.category} ({verdict.by})")
    return Reply(text=text, backend=backend.name, model=backend.model, timings=generation.timings,
                 regenerated=regenerated)


def safety_history(past: list[Turn], turns: int = 6) -> list[Said]:
    """The last `turns` exchanges as the safety gate reads them: the person's words and the replies."""
    said: list[Said] = []
    for turn in past[-turns:]:
        said.append(Said("person", turn.perception.transcript, turn.safety.level.value))
        said.append(Said("supporter", turn.reply.text))
    return said


def vary_strategy(plan: Plan, past: list[Turn], longest_run: int = LONGEST_STRATEGY_RUN) -> Plan:
    """The plan, or its runner-up when the last `longest_run` turns all used its strategy.

    A planner fed its own earlier choices can lock in (the ESConv head picks "Others" turn after
    turn once a talk is longer than most ESConv dialogues); counsellors vary their strategies.
    """
    recent = [t.plan.strategy if t.plan else None for t in past[-longest_run:]]
    if len(recent) == longest_run and all(s == plan.strategy for s in recent):
        return runner_up(plan) or plan
    return plan


def runner_up(plan: Plan) -> Plan | None:
    """The plan with its second most likely strategy (None when the plan has no distribution).

    When a reply copies an earlier one, the plan was usually the same as before, so the retry
    follows the strategy the planner ranked next.
    """
    others = {s: p for s, p in plan.strategy_distribution.items() if s != plan.strategy}
    if not others:
        return None
    return plan.model_copy(update={"strategy": max(others, key=others.__getitem__)})


def render_user_message(turn: Turn, count_tokens: Callable[[str], int]) -> str:
    """A past turn's user message exactly as it was sent, so the prompt prefix stays cacheable."""
    transcript = _shorten(turn.perception.transcript, MAX_PROMPT_MESSAGE_TOKENS, count_tokens)
    return user_message(transcript, turn.guidance, turn.summary)["content"] if turn.guidance else transcript


def _shorten(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> str:
    if count_tokens(text) <= max_tokens:
        return text
    keep = max(1, len(text) * max_tokens // count_tokens(text))
    head, tail = text[: keep // 2], text[-keep // 2 :]
    return f"{head} … {tail}"


def _is_blank(text: str) -> bool:
    """True when nothing readable is left: whitespace and invisible format characters only."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc") for ch in text)


def _warnings_suffix(perception: Perception) -> str:
    return f" ({'; '.join(perception.warnings)})" if perception.warnings else ""


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = round(time.perf_counter() - start, 4)


__all__ = ["ReplyPrompt", "StageCallback", "Supporter", "render_user_message", "reply_prompt", "runner_up",
           "vary_strategy", "write_reply"]

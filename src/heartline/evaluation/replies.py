"""Generate the supporter's reply on GOLD history with the live pipeline's prompt builders.

The dialogue before the supporter turn becomes stored-turn records (each seeker message with
the supporter's gold answer), bounded by the same token budget and rendered by the same
functions as `Supporter` (`bounded_history`, `render_user_message`, `guidance_note`,
`reply_messages`), so the model sees what it would see live had the conversation gone as in
the dataset. Differences from a live turn: no safety gate (gold texts), no perception cues,
and supporter utterances before the seeker's first message are left out (live, the person
always speaks first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from heartline.config import Settings
from heartline.errors import BackendError
from heartline.llm.base import ChatMessage, GenerationParams, LLMBackend
from heartline.llm.output import clean_reply, fallback_reply, is_garbled
from heartline.llm.prompts import guidance_note, reply_messages
from heartline.memory.history import bounded_history
from heartline.planning.features import split_tail
from heartline.schema import Observation, Perception, Plan, PlanContext, Reply, SafetyCheck, Turn
from heartline.supporter import render_user_message

SESSION = "gold"


@dataclass(frozen=True)
class GoldReply:
    text: str
    fallback: bool
    error: str | None
    seconds: float
    completion_tokens: int
    prompt_tokens: int | None


def _turn(index: int, message: str, reply: str, guidance: str | None = None) -> Turn:
    return Turn(session_id=SESSION, index=index, observation=Observation(session_id=SESSION, text=message),
                perception=Perception(transcript=message), safety=SafetyCheck(), guidance=guidance,
                reply=Reply(text=reply))


def gold_turns(context: PlanContext) -> list[Turn]:
    """The exchanges before the seeker's latest message: seeker text(s) + the supporter's answer."""
    history, _ = split_tail(context)
    turns: list[Turn] = []
    seeker: list[str] = []
    supporter: list[str] = []
    for utterance in history:
        if utterance.speaker == "seeker":
            if supporter and seeker:
                turns.append(_turn(len(turns), " ".join(seeker), " ".join(supporter)))
                seeker, supporter = [], []
            seeker.append(utterance.text)
        elif seeker:  # supporter lines before the seeker's first message are dropped
            supporter.append(utterance.text)
    if seeker and supporter:
        turns.append(_turn(len(turns), " ".join(seeker), " ".join(supporter)))
    return turns


def gold_messages(context: PlanContext, plan: Plan, backend: LLMBackend, settings: Settings) -> list[ChatMessage]:
    """The reply prompt for the supporter turn after `context`, as `Supporter` builds it."""
    past = gold_turns(context)
    note = guidance_note(plan)
    count = backend.count_tokens
    current_turn = _turn(len(past), context.message, "", guidance=note)
    current: ChatMessage = {"role": "user", "content": render_user_message(current_turn, count)}
    fixed = count(reply_messages([], current)[0]["content"] + current["content"])
    budget = backend.n_ctx - fixed - max(settings.llm.max_tokens, settings.memory.reply_reserve_tokens)
    window = bounded_history(past, budget_tokens=max(budget, 0), count_tokens=count,
                             max_turns=settings.memory.max_history_turns,
                             render_user=lambda turn: render_user_message(turn, count))
    return reply_messages(window.messages, current, window.summary)


def generate_gold_reply(context: PlanContext, plan: Plan, backend: LLMBackend, settings: Settings) -> GoldReply:
    """One reply, cleaned as live; a backend failure or garbled output gives the fallback reply."""
    messages = gold_messages(context, plan, backend, settings)
    llm = settings.llm
    params = GenerationParams(max_tokens=llm.max_tokens, temperature=llm.temperature, top_p=llm.top_p,
                              seed=llm.seed, timeout_s=llm.timeout_s)
    start = time.perf_counter()
    try:
        generation = backend.generate(messages, params)
    except BackendError as exc:
        return GoldReply(fallback_reply(plan), True, str(exc), time.perf_counter() - start, 0, None)
    seconds = time.perf_counter() - start
    raw = generation.text
    tokens = generation.timings.completion_tokens or backend.count_tokens(raw)
    text = clean_reply(raw)
    if is_garbled(text):
        return GoldReply(fallback_reply(plan), True, f"unusable model output: {raw[:80]!r}", seconds,
                         tokens, generation.timings.prompt_tokens)
    return GoldReply(text, False, None, seconds, tokens, generation.timings.prompt_tokens)

"""Generate the supporter's reply on GOLD history with the live pipeline's prompt builders.

The dialogue before the supporter turn becomes stored-turn records (each seeker message with
the supporter's gold answer), bounded by the same token budget and rendered by the same
functions as `Supporter` (`reply_prompt`, `write_reply`), so the model sees what it would see live had the conversation gone as in
the dataset. Differences from a live turn: no safety gate (gold texts), no perception cues,
and supporter utterances before the seeker's first message are left out (live, the person
always speaks first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from heartline.config import Settings
from heartline.llm.base import ChatMessage, LLMBackend
from heartline.llm.prompts import guidance_note
from heartline.planning.features import split_tail
from heartline.schema import Observation, Perception, Plan, PlanContext, Reply, SafetyCheck, Turn
from heartline.safety.screen import ReplyScreen
from heartline.supporter import reply_prompt, write_reply

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
    return reply_prompt(gold_turns(context), context.message, guidance_note(plan), backend, settings).messages


def generate_gold_reply(context: PlanContext, plan: Plan, backend: LLMBackend, settings: Settings,
                        screen: ReplyScreen | None = None) -> GoldReply:
    """One reply, cleaned, screened and checked exactly as live (fallback on failure, garbled
    output or a reply that fails `screen`)."""
    messages = gold_messages(context, plan, backend, settings)
    start = time.perf_counter()
    reply = write_reply(messages, plan, backend, settings, screen=screen)
    return GoldReply(reply.text, reply.fallback, reply.error, time.perf_counter() - start,
                     reply.timings.completion_tokens or 0, reply.timings.prompt_tokens)

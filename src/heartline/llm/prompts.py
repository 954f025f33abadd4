"""Prompt builders: the reply prompt (plan-steered) and the LLM planner's analysis prompt.

The system prompt is constant so that a backend's prompt cache covers it; everything that
changes per turn comes last. Each user message carries a bracketed guidance note built from
the plan, and, on the turn where the history window moves, a summary of the older turns; both
stay in the history exactly as sent, so the cached prompt stays valid (llama.cpp reuses the
kept turns' cache after the dropped ones, because nothing new is inserted before them).
"""

from __future__ import annotations

import functools

from heartline.labels import EMOTIONS, STRATEGIES, STRATEGY_DESCRIPTIONS, Taxonomy
from heartline.llm.base import ChatMessage
from heartline.schema import Perception, Plan, Utterance

REPLY_SYSTEM_PROMPT = (
    "You are Heartline, a warm and caring emotional-support companion. You listen closely "
    "and answer with empathy so the person feels understood. Reply in one or two short, "
    "plain, kind sentences. Do not diagnose, lecture or judge, and never pretend to be human. "
    "Each message ends with a guidance note in square brackets: the person's emotion, the "
    "support strategy to use and the tone of your reply. Follow it, but never mention it."
)

TONES: dict[str, str] = {
    "neutral": "calm",
    "joy": "warm, upbeat",
    "sadness": "gentle",
    "anger": "firm but caring",
    "fear": "soothing",
    "disgust": "understanding",
    "surprise": "curious",
}
"""Each system emotion as the tone of the reply, in a word or two (the note is sent every turn)."""

STRATEGY_ACTIONS: dict[str, str] = {
    "Question": "ask an open question",
    "Restatement or Paraphrasing": "restate what they said",
    "Reflection of feelings": "reflect their feelings",
    "Self-disclosure": "share a similar experience",
    "Affirmation and Reassurance": "affirm and reassure them",
    "Providing Suggestions": "suggest one small step",
    "Information": "give useful information",
    "Others": "offer warm support",
    "Open question": "ask an open question",
    "Approval": "approve of what they did",
    "Restatement": "restate what they said",
    "Interpretation": "interpret what lies beneath",
    "Advisement": "give gentle advice",
    "Communication Skills": "acknowledge them warmly",
    "Structuring the therapy": "give the talk a direction",
    "Guiding the Pace and Depth of the Conversation": "slow down or go deeper",
}
"""Each strategy (ESConv and MESC) as a short instruction for the reply."""


def guidance_note(plan: Plan, perception: Perception | None = None, safety_guidance: str | None = None) -> str:
    """The bracketed note appended to the person's message: short, since every turn sends one."""
    parts = [plan.user_emotion]
    if perception is not None and perception.cues:
        parts.append(f"cues: {perception.cues}")
    if plan.cause:
        parts.append(f"why: {plan.cause}")
    parts.append(STRATEGY_ACTIONS.get(plan.strategy, plan.strategy))
    parts.append(f"{TONES.get(plan.system_emotion, TONES['neutral'])} tone")
    if safety_guidance:
        parts.append(safety_guidance)
    return "[" + "; ".join(parts) + "]"


def user_message(transcript: str, note: str, summary: str | None = None) -> ChatMessage:
    """The person's message as sent: a summary of older turns (if any), the text, the note."""
    earlier = f"(Earlier in this conversation: {summary})\n\n" if summary else ""
    return {"role": "user", "content": f"{earlier}{transcript}\n\n{note}"}


EXAMPLES: tuple[tuple[str, Plan, str], ...] = (
    ("My sister didn't invite me to her wedding.",
     Plan(user_emotion="sadness", strategy="Reflection of feelings", system_emotion="sadness"),
     "Oh, that must really hurt. Being left out by your own sister can make you feel unwanted and confused."),
    ("I have a job interview tomorrow and I can't stop shaking.",
     Plan(user_emotion="fear", strategy="Providing Suggestions", system_emotion="fear"),
     "It's natural to feel nervous before something that matters to you. Maybe try a few slow, deep "
     "breaths and go over your answers once, then let yourself rest."),
    ("My roommate keeps eating my food.",
     Plan(user_emotion="anger", strategy="Question", system_emotion="neutral"),
     "That sounds really frustrating. Have you had a chance to talk with your roommate about it yet?"),
)
"""Worked examples in the system prompt: they teach small models the note's use. They sit in
the system prompt as text, not as chat turns, so models do not take them for earlier parts of
the conversation (as chat turns, both tiers brought the roommate into unrelated talks)."""


@functools.cache
def _system_prompt() -> str:
    examples = "\n\n".join(f"Message: {text} {guidance_note(plan)}\nReply: {reply}" for text, plan, reply in EXAMPLES)
    return f"{REPLY_SYSTEM_PROMPT}\n\nExamples from other conversations:\n\n{examples}"


def prompt_prefix() -> list[ChatMessage]:
    """The constant start of every reply prompt: the system prompt with its worked examples."""
    return [{"role": "system", "content": _system_prompt()}]


# --------------------------------------------------------------------------- planner prompt

PLANNER_SYSTEM_PROMPT = (
    "You are an expert counsellor analysing an emotional-support conversation. Read it, then "
    "decide how the supporter should answer the seeker's last message. Think like a trained "
    "counsellor: first the seeker's emotion, then what caused it, then the support strategy, "
    "then the emotional tone of the supporter's reply. Answer with JSON only."
)


def planner_schema(taxonomy: Taxonomy) -> dict:
    """JSON schema of the planner's answer, with labels constrained to the taxonomies."""
    return {
        "type": "object",
        "properties": {
            "user_emotion": {"type": "string", "enum": list(EMOTIONS)},
            "cause": {"type": "string", "maxLength": 160},
            "strategy": {"type": "string", "enum": list(STRATEGIES[taxonomy])},
            "system_emotion": {"type": "string", "enum": list(EMOTIONS)},
        },
        "required": ["user_emotion", "cause", "strategy", "system_emotion"],
    }


def planner_messages(utterances: list[Utterance], taxonomy: Taxonomy, max_chars: int = 2400,
                     cues: str | None = None) -> list[ChatMessage]:
    """The analysis prompt: the recent dialogue (newest kept when long) and the label sets."""
    lines: list[str] = []
    used = 0
    for utterance in reversed(utterances):
        line = f"{utterance.speaker.capitalize()}: {utterance.text}"
        if used + len(line) > max_chars and lines:
            break
        lines.append(line[-max_chars:])
        used += len(line)
    dialogue = "\n".join(reversed(lines))
    strategies = "; ".join(f"{s} = {STRATEGY_DESCRIPTIONS.get(s, s)}" for s in STRATEGIES[taxonomy])
    cue_line = f"\nNon-verbal cues of the last message: {cues}" if cues else ""
    content = (
        f"Conversation:\n{dialogue}{cue_line}\n\n"
        f"Emotions: {', '.join(EMOTIONS)}.\nStrategies: {strategies}.\n"
        "Give user_emotion, cause (what happened and why they feel so, one short line), "
        "strategy, and system_emotion (the supporter's tone)."
    )
    return [{"role": "system", "content": PLANNER_SYSTEM_PROMPT}, {"role": "user", "content": content}]

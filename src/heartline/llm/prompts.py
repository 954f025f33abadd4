"""Prompt builders: the reply prompt (plan-steered) and the LLM planner's analysis prompt.

The system prompt is constant so that a backend's prompt cache covers it; everything that
changes per turn comes last. Each user message carries a bracketed guidance note built from
the plan; the note stays in the history exactly as sent, so the cached prefix stays valid.
"""

from __future__ import annotations

from heartline.labels import EMOTIONS, STRATEGIES, STRATEGY_DESCRIPTIONS, Taxonomy
from heartline.llm.base import ChatMessage
from heartline.schema import Perception, Plan, Utterance

REPLY_SYSTEM_PROMPT = (
    "You are Heartline, a warm and caring emotional-support companion. You listen closely "
    "and answer with empathy so the person feels understood. Reply in two or three short, "
    "plain, kind sentences. Do not diagnose, lecture or judge, and never pretend to be human. "
    "Each message ends with a guidance note in square brackets naming the person's emotion, "
    "the support strategy to use and the tone of your reply: follow it, but never mention it."
)

TONES: dict[str, str] = {
    "neutral": "calm and steady",
    "joy": "warm and encouraging",
    "sadness": "gentle and compassionate",
    "anger": "firm, validating and caring",
    "fear": "careful, soothing and reassuring",
    "disgust": "understanding and on their side",
    "surprise": "curious and engaged",
}


def guidance_note(plan: Plan, perception: Perception | None = None, safety_guidance: str | None = None) -> str:
    """The bracketed note appended to the person's message."""
    parts = [f"their emotion: {plan.user_emotion}"]
    if perception is not None and perception.cues:
        parts.append(f"cues: {perception.cues}")
    if plan.reason and plan.source.startswith("llm"):
        # An LLM planner's reason is its chain-of-empathy line (what happened, why they feel
        # so); a trained planner's only restates the labels already in this note.
        parts.append(f"why: {plan.reason}")
    description = STRATEGY_DESCRIPTIONS.get(plan.strategy)
    parts.append(f"strategy: {description or plan.strategy}")
    parts.append(f"your tone: {TONES.get(plan.system_emotion, TONES['neutral'])}")
    if safety_guidance:
        parts.append(safety_guidance)
    return "[" + "; ".join(parts) + "]"


def user_message(transcript: str, note: str) -> ChatMessage:
    return {"role": "user", "content": f"{transcript}\n\n{note}"}


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
"""Worked examples shown before the conversation: they teach small models the note's use.
They are constant, so a backend's prompt cache keeps them after the first turn."""


def _example_messages() -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for text, plan, reply in EXAMPLES:
        messages.append(user_message(text, guidance_note(plan)))
        messages.append({"role": "assistant", "content": reply})
    return messages


def reply_messages(history: list[ChatMessage], current: ChatMessage, summary: str | None = None) -> list[ChatMessage]:
    """System prompt, worked examples, the history (opening with a summary of older turns), the new message.

    The summary rides on the first user message rather than the system prompt, so the constant
    prefix (system prompt and examples) stays in the backend's cache when the window moves.
    """
    turns = [*history, current]
    if summary:
        first = turns[0]
        turns[0] = {"role": first["role"], "content": f"(Earlier in this conversation: {summary})\n\n{first['content']}"}
    return [{"role": "system", "content": REPLY_SYSTEM_PROMPT}, *_example_messages(), *turns]


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

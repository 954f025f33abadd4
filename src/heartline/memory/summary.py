"""An extractive, deterministic summary of turns that fell out of the history window.

Built from what the turns already hold (plan reasons, transcripts, emotions, strategies,
safety levels), no model needed, e.g.: '3 earlier exchanges (their mood: sadness 2, fear 1).
They lost their job and feel worthless (sadness), you reflected their feelings; …'.
Crisis turns always come first, so a prompt never forgets that the person was at risk.
"""

from __future__ import annotations

from collections import Counter

from heartline.labels import EMOTIONS
from heartline.memory.tokens import ELLIPSIS, TokenCounter, truncate_to_tokens
from heartline.schema import Turn

STRATEGY_PHRASES: dict[str, str] = {
    "Question": "asked about it",
    "Restatement or Paraphrasing": "restated what they said",
    "Reflection of feelings": "reflected their feelings",
    "Self-disclosure": "shared a similar experience",
    "Affirmation and Reassurance": "reassured them",
    "Providing Suggestions": "offered a suggestion",
    "Information": "gave information",
    "Others": "listened",
    "Open question": "asked an open question",
    "Approval": "approved of what they did",
    "Restatement": "restated what they said",
    "Interpretation": "offered an interpretation",
    "Advisement": "gave advice",
    "Communication Skills": "listened and acknowledged them",
    "Structuring the therapy": "gave the conversation structure",
    "Guiding the Pace and Depth of the Conversation": "guided the pace of the conversation",
}
"""What the supporter did, per strategy (ESConv and MESC), as a past-tense phrase."""

SNIPPET_WORDS = 14
"""Words of a transcript quoted when a turn has no plan reason."""

REASON_WORDS = 30
"""Words of a plan reason kept."""

MAX_CRISIS_ITEMS = 3
HEAD_ITEMS = 1
TAIL_ITEMS = 6
"""Which dropped turns are candidates to describe: crises, the first ones, the latest ones."""

GAP = "…"


def _head_words(text: str, words: int) -> str:
    tokens = text.split()
    return " ".join(tokens[:words]) + (GAP if len(tokens) > words else "")


def _snippet(text: str) -> str:
    quoted = _head_words(text, SNIPPET_WORDS)
    return f'they said "{quoted}"' if quoted else "they said nothing in words"


def _emotion(turn: Turn) -> str | None:
    if turn.perception.user_emotion:
        return turn.perception.user_emotion
    return turn.plan.user_emotion if turn.plan else None


def describe_turn(turn: Turn) -> str:
    """One clause for one exchange: what they said or went through, and what you did."""
    if turn.safety.is_crisis:
        risks = ", ".join(c.replace("_", " ") for c in turn.safety.categories) or "crisis"
        return f"{_snippet(turn.perception.transcript)} (risk: {risks}), you followed the crisis protocol and shared help resources"
    reason = _head_words(turn.plan.cause, REASON_WORDS).rstrip(".") if turn.plan else ""
    what = reason[:1].lower() + reason[1:] if reason else _snippet(turn.perception.transcript)
    emotion = _emotion(turn)
    clause = f"{what} ({emotion})" if emotion else what
    if turn.reply.fallback or turn.plan is None:
        return clause
    action = STRATEGY_PHRASES.get(turn.plan.strategy, f"answered ({turn.plan.strategy})")
    return f"{clause}, you {action}"


def _header(turns: list[Turn]) -> str:
    """'N earlier exchanges (K in crisis; their mood: sadness 3, fear 1)'."""
    n = len(turns)
    notes = []
    crises = sum(t.safety.is_crisis for t in turns)
    if crises:
        notes.append(f"{crises} in crisis")
    counts = Counter(e for e in map(_emotion, turns) if e)
    if counts:
        order = {e: i for i, e in enumerate(EMOTIONS)}
        top = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order))))[:3]
        notes.append("their mood: " + ", ".join(f"{e} {k}" for e, k in top))
    details = f" ({'; '.join(notes)})" if notes else ""
    return f"{n} earlier exchange{'s' if n != 1 else ''}{details}"


def _candidates(turns: list[Turn]) -> list[int]:
    """Positions worth describing, most important first: crises, the first, the latest."""
    crises = [i for i, t in enumerate(turns) if t.safety.is_crisis][-MAX_CRISIS_ITEMS:]
    head = list(range(min(HEAD_ITEMS, len(turns))))
    tail = list(range(len(turns) - 1, max(len(turns) - 1 - TAIL_ITEMS, -1), -1))
    ordered: list[int] = []
    for i in [*reversed(crises), *head, *tail]:
        if i not in ordered:
            ordered.append(i)
    return ordered


def _render(header: str, turns: list[Turn], chosen: list[int]) -> str:
    parts: list[str] = []
    previous = -1
    for i in sorted(chosen):
        if i > previous + 1:
            parts.append(GAP)
        parts.append(describe_turn(turns[i]))
        previous = i
    if chosen and previous < len(turns) - 1:
        parts.append(GAP)
    if not parts:
        return header
    body = "; ".join(parts)
    return f"{header}. {body[:1].upper()}{body[1:]}."


def summarize_turns(turns: list[Turn], max_tokens: int, count_tokens: TokenCounter) -> str:
    """A summary of `turns` (oldest first) that takes at most `max_tokens`; '' if none fits."""
    if not turns or max_tokens <= 0:
        return ""
    header = _header(turns)
    chosen: list[int] = []
    for i in _candidates(turns):
        if count_tokens(_render(header, turns, [*chosen, i])) <= max_tokens:
            chosen.append(i)
    summary = truncate_to_tokens(_render(header, turns, chosen), max_tokens, count_tokens) or ""
    return "" if summary == ELLIPSIS.strip() else summary

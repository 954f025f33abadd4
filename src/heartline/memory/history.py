"""Past turns as prompt messages, bounded by a token budget whatever the conversation length.

`bounded_history` keeps the newest exchanges that fit (user/assistant pairs, oldest first),
cuts any single message too big for the budget, and describes the turns it drops in a short
extractive summary. Messages plus summary never exceed the budget.

The window's first turn moves in steps (`stride`) rather than one turn at a time, so the
prompt prefix stays the same for several turns and a backend's prompt cache keeps working.

`utterances_from_turns` turns the same records into dataset-style utterances for planners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from heartline.llm.base import ChatMessage
from heartline.memory.summary import summarize_turns
from heartline.memory.tokens import ELLIPSIS, TokenCounter, truncate_to_tokens
from heartline.schema import Turn, Utterance

PER_MESSAGE_TOKENS = 4
"""Tokens a chat template adds around each message (role markers, separators)."""

SUMMARY_SHARE = 0.25
"""Share of the budget set aside for the summary once turns are dropped..."""
SUMMARY_MAX_TOKENS = 160
"""...but never more than this: a long summary slows every later turn and distracts small models."""


@dataclass(frozen=True)
class HistoryWindow:
    """The part of a conversation that goes into the prompt."""

    messages: list[ChatMessage] = field(default_factory=list)
    """User/assistant pairs, oldest first."""
    dropped: int = 0
    """How many of the oldest turns are left out."""
    summary: str = ""
    """A compact description of the dropped turns ('' when none are dropped)."""
    tokens: int = 0
    """Tokens the messages and summary take, per-message overhead included."""


def transcript(turn: Turn) -> str:
    """The default user message content: what the person said."""
    return turn.perception.transcript


@dataclass(frozen=True)
class _Pair:
    messages: tuple[ChatMessage, ChatMessage]
    tokens: int


def _pair(turn: Turn, budget: int, overhead: int, count: TokenCounter, render_user: Callable[[Turn], str]) -> _Pair | None:
    """The turn's two messages cut to fit `budget` together; None when they cannot.

    Ordinary turns give each message at most half the budget. A crisis turn's protocol
    reply comes first and its user message takes what is left.
    """
    content = budget - 2 * overhead
    if turn.safety.is_crisis:
        reply = truncate_to_tokens(turn.reply.text, content - count(ELLIPSIS.strip()), count)
        user = truncate_to_tokens(render_user(turn), content - count(reply), count) if reply is not None else None
    else:
        half = budget // 2 - overhead
        user = truncate_to_tokens(render_user(turn), half, count)
        reply = truncate_to_tokens(turn.reply.text, half, count)
    if user is None or reply is None:
        return None
    tokens = count(user) + count(reply) + 2 * overhead
    if tokens > budget:
        return None
    return _Pair(({"role": "user", "content": user}, {"role": "assistant", "content": reply}), tokens)


@dataclass(frozen=True)
class _Fit:
    start: int
    pairs: list[_Pair]
    tokens: int


def _fit(
    turns: list[Turn],
    budget: int,
    max_turns: int,
    stride: int,
    overhead: int,
    count: TokenCounter,
    render_user: Callable[[Turn], str],
) -> _Fit:
    """The newest turns that fit `budget` and `max_turns`, starting at a stride boundary."""
    newest_first: list[_Pair] = []
    tokens = 0
    for turn in reversed(turns[max(0, len(turns) - max_turns) :] if max_turns > 0 else []):
        pair = _pair(turn, budget, overhead, count, render_user)
        if pair is None or tokens + pair.tokens > budget:
            break
        newest_first.append(pair)
        tokens += pair.tokens
    earliest = len(turns) - len(newest_first)
    start = next(
        (p for p in range(earliest, len(turns)) if p == 0 or turns[p].index % stride == 0),
        earliest,
    )
    kept = newest_first[: len(turns) - start]
    return _Fit(start, kept[::-1], sum(p.tokens for p in kept))


def bounded_history(
    turns: list[Turn],
    budget_tokens: int,
    count_tokens: TokenCounter,
    max_turns: int,
    *,
    per_message_tokens: int = PER_MESSAGE_TOKENS,
    summary_share: float = SUMMARY_SHARE,
    stride: int | None = None,
    render_user: Callable[[Turn], str] = transcript,
) -> HistoryWindow:
    """The newest turns as chat messages within `budget_tokens`, and a summary of the rest.

    `count_tokens` measures message contents; each message also costs `per_message_tokens`.
    `stride` (default: half of `max_turns`) is how many turns the window's start jumps when
    it must move. `render_user` renders a turn's user message (default: its transcript), so a
    prompt builder can keep its history exactly as it was sent.
    """
    ordered = sorted(turns, key=lambda t: t.index)
    stride = max(1, stride if stride is not None else max_turns // 2)
    fit = _fit(ordered, budget_tokens, max_turns, stride, per_message_tokens, count_tokens, render_user)
    summary = ""
    if fit.start > 0:
        reserve = min(int(budget_tokens * summary_share), SUMMARY_MAX_TOKENS)
        fit = _fit(ordered, budget_tokens - reserve, max_turns, stride, per_message_tokens, count_tokens, render_user)
        summary = summarize_turns(ordered[: fit.start], reserve - per_message_tokens, count_tokens)
    messages = [message for pair in fit.pairs for message in pair.messages]
    tokens = fit.tokens + (count_tokens(summary) + per_message_tokens if summary else 0)
    return HistoryWindow(messages=messages, dropped=fit.start, summary=summary, tokens=tokens)


def utterances_from_turns(turns: list[Turn]) -> list[Utterance]:
    """Stored turns as dataset-style utterances: the seeker's text with its perceived emotion
    and cues, then the supporter's reply with the plan's strategy and system emotion."""
    utterances: list[Utterance] = []
    for turn in sorted(turns, key=lambda t: t.index):
        perception, plan = turn.perception, turn.plan
        utterances.append(
            Utterance(
                speaker="seeker",
                text=perception.transcript,
                emotion=perception.user_emotion or (plan.user_emotion if plan else None),
                cues=perception.cues or None,
                meta={"turn": turn.index},
            )
        )
        utterances.append(
            Utterance(
                speaker="supporter",
                text=turn.reply.text,
                emotion=plan.system_emotion if plan else None,
                strategy=plan.strategy if plan else None,
                meta={"turn": turn.index, "risk": turn.safety.level.value},
            )
        )
    return utterances

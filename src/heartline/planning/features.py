"""Dialogue-context features for the strategy and system-emotion heads.

Everything is computed from a `PlanContext` (the dialogue up to the seeker's latest message,
and the supporter's utterances so far in reply to it when every supporter utterance is scored),
so training examples built from datasets and live turns look identical to the heads:

- the embedding of the seeker's latest message (consecutive seeker utterances joined),
- the embedding of the supporter's last utterance before it (zeros at the start),
- the mean embedding of the `WINDOW` utterances before the message (zeros at the start),
- the last and second-to-last supporter strategies (one-hot, with a "none" slot each) and the
  share of each strategy so far,
- the user emotion distribution (canonical 7),
- the position in the conversation: one-hot bins of the number of seeker messages so far,
- whether the message is a question,
- lexical cues of the message and of the supporter's last utterance (`cue_features`):
  greetings, thanks, farewells, yes/no openings, requests for help, "I feel", "you", the
  length in tokens and whether it holds a question or exclamation mark.

The strategy head also sees `reply_features`: how many utterances of the supporter's reply
precede the one to plan (0 for a first reply, as live), and whether no seeker has spoken yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from heartline.labels import EMOTIONS, STRATEGIES
from heartline.schema import PlanContext, Utterance

Embed = Callable[[Sequence[str]], np.ndarray]

WINDOW = 6
POSITION_BINS = (0, 1, 2, 3, 4, 6, 9, 13, 20)
"""Lower edges of the bins of 'seeker messages before this one'."""
REPLY_BINS = 4
"""Bins of 'supporter utterances already in this reply': 0, 1, 2, 3 or more."""
CUES: dict[str, re.Pattern[str]] = {name: re.compile(pattern) for name, pattern in {
    "greeting": r"\b(hi|hello|hey|good (morning|evening|afternoon))\b",
    "thanks": r"\b(thanks?|thank you|appreciate)\b",
    "farewell": r"\b(bye|goodbye|take care|have a (good|nice|great))\b",
    "yes": r"^\s*(yes|yeah|yep|sure|right|exactly|true)\b",
    "no": r"^\s*(no|nope|not really)\b",
    "asks_help": r"\b(what (should|can|do) i|any (advice|suggestions?|ideas)|how (can|do|should) i|help me)\b",
    "i_feel": r"\b(i feel|i am feeling|i'm feeling|i felt)\b",
    "you": r"\byou\b",
}.items()}
"""Lower-cased regular expressions whose presence `cue_features` reports."""
WORD = re.compile(r"[a-z']+|[?!.]")


def split_tail(context: PlanContext) -> tuple[list[Utterance], list[Utterance]]:
    """(history before the seeker's latest message, the message's utterances); any reply to it is dropped."""
    utterances = context.answered.utterances
    start = len(utterances)
    while start > 0 and utterances[start - 1].speaker == "seeker":
        start -= 1
    return utterances[:start], utterances[start:]


def _parts(context: PlanContext) -> tuple[str, list[str], str | None]:
    """(message, texts of the window before it, the supporter's last utterance or None)."""
    history, _ = split_tail(context)
    window = [u.text for u in history[-WINDOW:]]
    last_supporter = next((u.text for u in reversed(history) if u.speaker == "supporter"), None)
    return context.answered.message, window, last_supporter


def context_texts(context: PlanContext) -> list[str]:
    """Every text `dialogue_features` embeds (to embed many contexts in one batch first)."""
    message, window, last_supporter = _parts(context)
    return [message, *window] + ([last_supporter] if last_supporter is not None else [])


def _embed_parts(context: PlanContext, embed: Embed, dim: int) -> np.ndarray:
    message, window, last_supporter = _parts(context)
    texts = [message, *window]
    if last_supporter is not None and last_supporter not in window:
        texts.append(last_supporter)
    vectors = embed(texts)
    window_mean = vectors[1 : 1 + len(window)].mean(axis=0) if window else np.zeros(dim, np.float32)
    if last_supporter is None:
        supporter = np.zeros(dim, np.float32)
    elif last_supporter in window:
        supporter = vectors[1 + window.index(last_supporter)]
    else:
        supporter = vectors[-1]
    return np.concatenate([vectors[0], supporter, window_mean])


def strategy_history(context: PlanContext, taxonomy: str) -> np.ndarray:
    """One-hot last and second-to-last strategy (+ 'none' slot each) and strategy shares, the
    reply so far included."""
    labels = STRATEGIES[taxonomy]
    index = {s: i for i, s in enumerate(labels)}
    used = [index[u.strategy] for u in context.utterances
            if u.speaker == "supporter" and u.strategy in index]
    k = len(labels)
    last = np.zeros(k + 1, np.float32)
    second = np.zeros(k + 1, np.float32)
    last[used[-1] if used else k] = 1.0
    second[used[-2] if len(used) > 1 else k] = 1.0
    shares = np.bincount(used, minlength=k).astype(np.float32) / max(len(used), 1)
    return np.concatenate([last, second, shares])


def position(context: PlanContext) -> np.ndarray:
    """One-hot bin of the number of seeker messages before the latest one."""
    history, _ = split_tail(context)
    turns = sum(1 for i, u in enumerate(history)
                if u.speaker == "seeker" and (i + 1 == len(history) or history[i + 1].speaker != "seeker"))
    bins = np.zeros(len(POSITION_BINS), np.float32)
    bins[np.searchsorted(POSITION_BINS, turns, side="right") - 1] = 1.0
    return bins


def reply_features(context: PlanContext) -> np.ndarray:
    """One-hot count of the supporter's utterances since the seeker's latest message (0, 1, 2, 3+),
    and 1.0 when the seeker has not spoken yet (the supporter opens the dialogue)."""
    bins = np.zeros(REPLY_BINS + 1, np.float32)
    bins[min(len(context.reply), REPLY_BINS - 1)] = 1.0
    bins[-1] = float(not any(u.speaker == "seeker" for u in context.utterances))
    return bins


def cue_features(text: str) -> np.ndarray:
    """Presence of each of `CUES`, log(1 + tokens) (words and . ? !), and whether `text` holds '?' and '!'."""
    lowered = text.lower()
    flags = [float(pattern.search(lowered) is not None) for pattern in CUES.values()]
    words = len(WORD.findall(lowered))
    return np.array([*flags, np.log1p(words), float("?" in text), float("!" in text)], np.float32)


def emotion_vector(distribution: dict[str, float]) -> np.ndarray:
    return np.array([distribution.get(e, 0.0) for e in EMOTIONS], np.float32)


def dialogue_features(context: PlanContext, embed: Embed, dim: int,
                      user_emotion: dict[str, float], taxonomy: str) -> np.ndarray:
    """The strategy head's input (see the module docstring)."""
    message, _, last_supporter = _parts(context)
    question = 1.0 if message.rstrip().endswith("?") else 0.0
    return np.concatenate([
        _embed_parts(context, embed, dim),
        strategy_history(context, taxonomy),
        emotion_vector(user_emotion),
        position(context),
        [question],
        cue_features(message),
        cue_features(last_supporter or ""),
    ]).astype(np.float32)

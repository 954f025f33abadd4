"""Dialogue-context features for the strategy and system-emotion heads.

Everything is computed from a `PlanContext` (the dialogue up to the seeker's latest message),
so training examples built from datasets and live turns look identical to the heads:

- the embedding of the seeker's latest message (consecutive seeker utterances joined),
- the embedding of the supporter's last utterance before it (zeros at the start),
- the mean embedding of the `WINDOW` utterances before the message (zeros at the start),
- the last and second-to-last supporter strategies (one-hot, with a "none" slot each) and the
  share of each strategy so far,
- the user emotion distribution (canonical 7),
- the position in the conversation: one-hot bins of the number of seeker messages so far,
- whether the message is a question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from heartline.labels import EMOTIONS, STRATEGIES
from heartline.schema import PlanContext, Utterance

Embed = Callable[[Sequence[str]], np.ndarray]

WINDOW = 6
POSITION_BINS = (0, 1, 2, 3, 4, 6, 9, 13, 20)
"""Lower edges of the bins of 'seeker messages before this one'."""


def split_tail(context: PlanContext) -> tuple[list[Utterance], list[Utterance]]:
    """(history before the seeker's latest message, the message's utterances)."""
    utterances = context.utterances
    start = len(utterances)
    while start > 0 and utterances[start - 1].speaker == "seeker":
        start -= 1
    return utterances[:start], utterances[start:]


def _parts(context: PlanContext) -> tuple[str, list[str], str | None]:
    """(message, texts of the window before it, the supporter's last utterance or None)."""
    history, _ = split_tail(context)
    window = [u.text for u in history[-WINDOW:]]
    last_supporter = next((u.text for u in reversed(history) if u.speaker == "supporter"), None)
    return context.message, window, last_supporter


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
    """One-hot last and second-to-last strategy (+ 'none' slot each) and strategy shares."""
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


def emotion_vector(distribution: dict[str, float]) -> np.ndarray:
    return np.array([distribution.get(e, 0.0) for e in EMOTIONS], np.float32)


def dialogue_features(context: PlanContext, embed: Embed, dim: int,
                      user_emotion: dict[str, float], taxonomy: str) -> np.ndarray:
    """The strategy head's input (see the module docstring)."""
    question = 1.0 if context.message.rstrip().endswith("?") else 0.0
    return np.concatenate([
        _embed_parts(context, embed, dim),
        strategy_history(context, taxonomy),
        emotion_vector(user_emotion),
        position(context),
        [question],
    ]).astype(np.float32)

"""Emotion alignment (EPO's concern): does each reply sound the way the plan asked?"""

from __future__ import annotations

from collections.abc import Sequence

from heartline.errors import HeartlineError


def emotion_alignment(reply_emotions: Sequence[str], planned_emotions: Sequence[str]) -> float:
    """Fraction (0-1) of replies whose own detected emotion equals the planned system emotion.

    ``reply_emotions[i]`` is what an emotion recogniser finds in reply i;
    ``planned_emotions[i]`` is the system emotion the plan chose for it. Labels are compared
    case-insensitively after trimming.
    """
    if len(reply_emotions) != len(planned_emotions):
        raise HeartlineError(
            f"{len(reply_emotions)} reply emotions but {len(planned_emotions)} planned emotions",
            hint="pass one planned emotion per reply, in the same order")
    if not reply_emotions:
        raise HeartlineError("no replies to check", hint="pass at least one reply emotion")
    hits = sum(r.strip().lower() == p.strip().lower()
               for r, p in zip(reply_emotions, planned_emotions))
    return hits / len(reply_emotions)

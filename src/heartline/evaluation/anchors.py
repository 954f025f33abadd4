"""Published ESConv strategy-prediction figures to read a run's numbers against.

All are paper-reported on the authors' own ESConv splits and preprocessing, which differ from
each other and from a heartline run: they are anchors for orientation, not a leaderboard.
Q is macro-F1 and W-F1 weighted F1, both in percent; B is Kang et al.'s preference bias.
"""

from __future__ import annotations

from typing import Final, TypedDict


class Anchor(TypedDict):
    system: str
    reference: str
    macro_f1: float | None
    weighted_f1: float | None
    preference_bias: float | None


ESCONV_STRATEGY_ANCHORS: Final[tuple[Anchor, ...]] = (
    {"system": "EmoDynamiX", "reference": "Wan et al., NAACL 2025",
     "macro_f1": 27.70, "weighted_f1": 32.71, "preference_bias": 0.45},
    {"system": "TransESC", "reference": "Zhao et al., Findings of ACL 2023",
     "macro_f1": 26.28, "weighted_f1": 31.33, "preference_bias": 0.73},
    {"system": "LLaMA3-8B, fine-tuned", "reference": "as reported with Kang et al.'s B",
     "macro_f1": 25.91, "weighted_f1": None, "preference_bias": 0.83},
    {"system": "ChatGPT, prompted", "reference": "Kang et al., ACL 2024",
     "macro_f1": 18.14, "weighted_f1": None, "preference_bias": 0.88},
)

ANCHOR_NOTE: Final[str] = (
    "Paper-reported figures on ESConv: the papers' splits and preprocessing differ from each "
    "other and from this run, so these are orientation points, not a like-for-like comparison.")

"""Label taxonomies in one place: canonical emotions, support strategies, and dataset maps.

Every stage speaks the canonical 7-emotion set; dataset readers keep each dataset's own
label next to the canonical one so that nothing is lost.
"""

from __future__ import annotations

from typing import Final, Literal

EMOTIONS: Final[tuple[str, ...]] = (
    "neutral",
    "joy",
    "sadness",
    "anger",
    "fear",
    "disgust",
    "surprise",
)
"""Canonical 7-emotion set (Ekman's six plus neutral), the lingua franca of all stages."""

ESCONV_STRATEGIES: Final[tuple[str, ...]] = (
    "Question",
    "Restatement or Paraphrasing",
    "Reflection of feelings",
    "Self-disclosure",
    "Affirmation and Reassurance",
    "Providing Suggestions",
    "Information",
    "Others",
)
"""ESConv's 8 support strategies (Liu et al., 2021), in the order of the authors' strategy.json."""

MESC_STRATEGIES: Final[tuple[str, ...]] = (
    "Open question",
    "Approval",
    "Self-disclosure",
    "Restatement",
    "Interpretation",
    "Advisement",
    "Communication Skills",
    "Structuring the therapy",
    "Guiding the Pace and Depth of the Conversation",
    "Others",
)
"""MESC's 10 therapist strategies (Chu et al., 2024)."""

Taxonomy = Literal["esconv", "mesc"]

STRATEGIES: Final[dict[str, tuple[str, ...]]] = {
    "esconv": ESCONV_STRATEGIES,
    "mesc": MESC_STRATEGIES,
}

STRATEGY_DESCRIPTIONS: Final[dict[str, str]] = {
    "Question": "ask an open question to understand their situation better",
    "Restatement or Paraphrasing": "restate what they said in your own words so they feel heard",
    "Reflection of feelings": "name and reflect the feelings they are expressing",
    "Self-disclosure": "briefly share a similar experience of your own to show understanding",
    "Affirmation and Reassurance": "affirm their strengths and reassure them",
    "Providing Suggestions": "gently offer one practical suggestion",
    "Information": "give useful, accurate information about their situation",
    "Others": "offer warm, supportive conversation",
    "Open question": "ask an open question that invites them to say more",
    "Approval": "express approval of what they did or feel",
    "Restatement": "restate what they said in your own words",
    "Interpretation": "offer an interpretation of what may lie beneath their feelings",
    "Advisement": "give gentle advice on what they might do",
    "Communication Skills": "use small warm acknowledgements that keep them talking",
    "Structuring the therapy": "set a direction or structure for the conversation",
    "Guiding the Pace and Depth of the Conversation": "slow down or deepen the conversation gently",
}

# Stray spellings seen in the wild (ESConv.json has "Questions" and "Other"; MESC.csv has
# "open question"). Keys are lower-cased.
_STRATEGY_ALIASES: Final[dict[str, str]] = {
    "questions": "Question",
    "other": "Others",
    "restatement or paraphrasing": "Restatement or Paraphrasing",
    "reflection of feeling": "Reflection of feelings",
    "affirmation and reassurance": "Affirmation and Reassurance",
    "providing suggestion": "Providing Suggestions",
    "suggestion": "Providing Suggestions",
    "suggestions": "Providing Suggestions",
}


def normalize_strategy(raw: str, taxonomy: Taxonomy = "esconv") -> str | None:
    """Return the canonical spelling of a strategy name in `taxonomy`, or None if unknown.

    Accepts bracketed forms ("[Question]"), any letter case and the known stray spellings.
    """
    name = raw.strip().strip("[]").strip()
    key = name.lower()
    for label in STRATEGIES[taxonomy]:
        if label.lower() == key:
            return label
    alias = _STRATEGY_ALIASES.get(key)
    if alias in STRATEGIES[taxonomy]:
        return alias
    return None


# ESConv dialogue-level emotion_type -> canonical. ESConv's 8 main types plus its singletons.
ESCONV_EMOTION_MAP: Final[dict[str, str]] = {
    "anxiety": "fear",
    "nervousness": "fear",
    "fear": "fear",
    "depression": "sadness",
    "sadness": "sadness",
    "shame": "sadness",
    "guilt": "sadness",
    "pain": "sadness",
    "anger": "anger",
    "jealousy": "anger",
    "disgust": "disgust",
}

# MESC utterance emotions -> canonical ("depression" is MESC's low-mood class).
MESC_EMOTION_MAP: Final[dict[str, str]] = {
    "neutral": "neutral",
    "joy": "joy",
    "sadness": "sadness",
    "depression": "sadness",
    "anger": "anger",
    "fear": "fear",
    "disgust": "disgust",
}

# MELD uses the canonical set itself.
MELD_EMOTION_MAP: Final[dict[str, str]] = {e: e for e in EMOTIONS}

# GoEmotions' 27 emotions + neutral -> canonical, following the authors' ekman_mapping.json.
GOEMOTIONS_EKMAN_MAP: Final[dict[str, str]] = {
    **{e: "anger" for e in ("anger", "annoyance", "disapproval")},
    "disgust": "disgust",
    **{e: "fear" for e in ("fear", "nervousness")},
    **{
        e: "joy"
        for e in (
            "joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring",
        )
    },
    **{e: "sadness" for e in ("sadness", "disappointment", "embarrassment", "grief", "remorse")},
    **{e: "surprise" for e in ("surprise", "realization", "confusion", "curiosity")},
    "neutral": "neutral",
}

# Acted-speech and face datasets.
RAVDESS_EMOTION_MAP: Final[dict[str, str]] = {
    "neutral": "neutral",
    "calm": "neutral",
    "happy": "joy",
    "sad": "sadness",
    "angry": "anger",
    "fearful": "fear",
    "disgust": "disgust",
    "surprised": "surprise",
}

FER2013_EMOTION_MAP: Final[dict[str, str]] = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "joy",
    "sad": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
}

EMOTION_MAPS: Final[dict[str, dict[str, str]]] = {
    "esconv": ESCONV_EMOTION_MAP,
    "mesc": MESC_EMOTION_MAP,
    "meld": MELD_EMOTION_MAP,
    "goemotions": GOEMOTIONS_EKMAN_MAP,
    "ravdess": RAVDESS_EMOTION_MAP,
    "fer2013": FER2013_EMOTION_MAP,
}


def to_canonical_emotion(raw: str, source: str) -> str | None:
    """Map a dataset's emotion label to the canonical set; None when it has no counterpart."""
    key = raw.strip().lower()
    if source == "canonical":
        return key if key in EMOTIONS else None
    return EMOTION_MAPS[source].get(key)


def normalize_emotion(raw: str) -> str | None:
    """Best-effort mapping of a free-form emotion word (e.g. from an LLM) to the canonical set."""
    key = raw.strip().strip(".,;:!\"'").lower()
    if key in EMOTIONS:
        return key
    for mapping in (ESCONV_EMOTION_MAP, MESC_EMOTION_MAP, GOEMOTIONS_EKMAN_MAP,
                    RAVDESS_EMOTION_MAP, FER2013_EMOTION_MAP, _EMOTION_WORDS):
        if key in mapping:
            return mapping[key]
    return None


_EMOTION_WORDS: Final[dict[str, str]] = {
    "happy": "joy", "happiness": "joy", "calm": "neutral", "warm": "joy", "warmth": "joy",
    "hopeful": "joy", "hope": "joy", "cheerful": "joy", "content": "joy",
    "sad": "sadness", "depressed": "sadness", "lonely": "sadness", "loneliness": "sadness",
    "hurt": "sadness", "upset": "sadness", "hopeless": "sadness", "empathy": "sadness",
    "compassion": "sadness", "sympathy": "sadness", "concern": "sadness",
    "angry": "anger", "frustrated": "anger", "frustration": "anger", "annoyed": "anger",
    "irritated": "anger", "furious": "anger", "mad": "anger",
    "afraid": "fear", "scared": "fear", "anxious": "fear", "worried": "fear", "worry": "fear",
    "stressed": "fear", "stress": "fear", "panic": "fear", "overwhelmed": "fear",
    "disgusted": "disgust", "surprised": "surprise", "shocked": "surprise",
    "none": "neutral", "neutrality": "neutral",
}

"""Making model output safe to show: cleanup, garbage detection, and fallback replies."""

from __future__ import annotations

import re
import unicodedata

from heartline.schema import Plan

_ROLE_PREFIX = re.compile(r"^\s*(assistant|heartline|supporter|sys(tem)?|ai)\s*:\s*", re.IGNORECASE)
_NOTE = re.compile(r"\[[^\]]*(emotion|strategy|tone|guidance)[^\]]*\]?", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|[.!?…][\"')\]]")
_SPEAKER_TURN = re.compile(r"\n\s*(user|seeker|human|you)\s*:", re.IGNORECASE)


def clean_reply(text: str, max_sentences: int = 3) -> str:
    """Strip role prefixes, echoed guidance notes, invented next turns and a cut-off tail."""
    text = unicodedata.normalize("NFC", text).replace("\u200b", "")
    cut = _SPEAKER_TURN.search(text)
    if cut:
        text = text[: cut.start()]
    text = _NOTE.sub("", _ROLE_PREFIX.sub("", text.strip()))
    text = re.sub(r"[ \t]+", " ", text).strip()
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if ends:
        keep = ends[min(len(ends), max_sentences) - 1]
        if keep < len(text):
            text = text[:keep]
    return text.strip()


def is_garbled(text: str) -> bool:
    """True for output no person should see: empty, mostly symbols, or stuck in a loop."""
    stripped = text.strip()
    if len(stripped) < 2:
        return True
    letters = sum(ch.isalpha() for ch in stripped)
    if letters / len(stripped) < 0.5:
        return True
    if any(unicodedata.category(ch) in ("Cc", "Co", "Cs") and ch not in "\n\t" for ch in stripped):
        return True
    words = stripped.lower().split()
    if len(words) >= 12:
        trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
        if len(set(trigrams)) / len(trigrams) < 0.4:
            return True
    return False


REPEAT_NGRAM = 4
REPEAT_SHARE = 0.5


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _word_ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def repeats_earlier(text: str, earlier: list[str], n: int = REPEAT_NGRAM, share: float = REPEAT_SHARE) -> bool:
    """True when at least `share` of the reply's word n-grams come from one earlier reply, or
    when a reply too short for n-grams says word for word what an earlier one said.

    Small models tend to copy their previous answer almost word for word; such a reply tells
    the person nothing new.
    """
    words = _words(text)
    if not words:
        return False
    if len(words) < n:
        return any(words == _words(old) for old in earlier)
    grams = _word_ngrams(words, n)
    return any(len(grams & _word_ngrams(_words(old), n)) >= share * len(grams) for old in earlier)


_FALLBACKS: dict[str, str] = {
    "Question": "I'm here with you. Would you like to tell me a little more about what's been happening?",
    "Open question": "I'm here with you. Would you like to tell me a little more about what's been happening?",
    "Restatement or Paraphrasing": "It sounds like a lot has been happening for you. I'm listening.",
    "Restatement": "It sounds like a lot has been happening for you. I'm listening.",
    "Affirmation and Reassurance": "You're doing the right thing by talking about it, and I'm here with you.",
    "Approval": "You're doing the right thing by talking about it, and I'm here with you.",
    "Providing Suggestions": "That sounds hard. Sometimes one small step, like talking to someone you trust, can help. What do you think might help a little right now?",
    "Advisement": "That sounds hard. Sometimes one small step, like talking to someone you trust, can help. What do you think might help a little right now?",
}

_FEELING_WORDS: dict[str, str] = {
    "sadness": "really low", "anger": "frustrated and hurt", "fear": "worried and on edge",
    "disgust": "upset by what happened", "joy": "good about this", "surprise": "taken aback",
    "neutral": "a lot is on your mind",
}


def fallback_reply(plan: Plan | None) -> str:
    """A safe, warm reply for when the model is unavailable or its output unusable."""
    if plan is None:
        return "I'm here with you and I'm listening. Would you like to tell me more?"
    if plan.strategy in _FALLBACKS:
        return _FALLBACKS[plan.strategy]
    feeling = _FEELING_WORDS.get(plan.user_emotion, _FEELING_WORDS["neutral"])
    if plan.user_emotion == "neutral":
        return f"It sounds like {feeling}. I'm here with you, and I'm listening."
    return f"It sounds like you're feeling {feeling}, and that makes sense. I'm here with you."

"""The reply screen: every sentence a model writes is checked before anyone sees it.

Blocked: instructions, methods, numbers or doses for suicide, self-harm or poisoning,
encouragement of harm to self or others, and sexual content involving minors. Two layers, as in
the gate: patterns for the unambiguous shapes (`screen.toml`), and the crisis classifier's
`reply` head for the rest. While a reply streams, `ScreenedStream` holds each sentence back
until it is complete and screened; a failing sentence stops generation (`ReplyBlocked`) and the
pipeline replaces the reply with a safe one that follows the plan (the stored turn says so).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from heartline.errors import HeartlineError
from heartline.safety.classifier import CrisisClassifier
from heartline.safety.normalize import readable

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
"""Where a sentence ends in a stream: closing punctuation followed by space, or a new line."""
MAX_PENDING_CHARS = 400
"""A 'sentence' this long without an end is screened as it stands."""


@dataclass(frozen=True)
class Verdict:
    """What the screen made of a reply (or a sentence of one)."""

    blocked: bool
    category: str | None = None
    """What it was blocked for: method, lethal_dose, encouragement, harm_others, minor_sexual, ..."""
    by: str | None = None
    """'rule:<id>' or 'classifier'."""
    score: float | None = None


SAFE = Verdict(blocked=False)


class ReplyBlocked(Exception):
    """Raised inside a stream when a sentence fails the screen (stops generation)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"reply screen: {verdict.category} ({verdict.by})")
        self.verdict = verdict


@dataclass(frozen=True)
class _Pattern:
    id: str
    category: str
    pattern: re.Pattern[str]


@cache
def _patterns() -> tuple[_Pattern, ...]:
    try:
        data = tomllib.loads(resources.files(__package__).joinpath("screen.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HeartlineError(f"cannot read heartline/safety/screen.toml: {exc}", hint="reinstall heartline") from exc
    return tuple(_Pattern(p["id"], p["category"], re.compile(p["pattern"], re.IGNORECASE)) for p in data["pattern"])


class ReplyScreen:
    """Screens model text; `classifier` gives the crisis classifier (None: patterns only)."""

    def __init__(self, classifier: Callable[[], CrisisClassifier | None]) -> None:
        self._classifier = classifier
        self._sentence = lru_cache(maxsize=512)(self._check_sentence)

    def check(self, sentences: Sequence[str]) -> Verdict:
        """The first failing sentence's verdict, or SAFE."""
        for sentence in sentences:
            verdict = self._sentence(readable(sentence).strip())
            if verdict.blocked:
                return verdict
        return SAFE

    def _check_sentence(self, sentence: str) -> Verdict:
        if not sentence:
            return SAFE
        for p in _patterns():
            if p.pattern.search(sentence):
                return Verdict(True, p.category, f"rule:{p.id}")
        classifier = self._classifier()
        if classifier is None:
            return SAFE
        score = classifier.harm([sentence])[0]
        if score >= classifier.harmful_at:
            return Verdict(True, _category_of(sentence), "classifier", round(score, 4))
        return SAFE

    def check_text(self, text: str) -> Verdict:
        return self.check(split_sentences(text))

    def stream(self, on_token: Callable[[str], None] | None) -> ScreenedStream:
        return ScreenedStream(self, on_token)


def split_sentences(text: str) -> list[str]:
    """Sentences of a reply (ends kept with their sentence)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return [s for s in out if s.strip()]


def _category_of(sentence: str) -> str:
    """A best guess at what a classifier-blocked sentence is (for the record)."""
    s = sentence.lower()
    if re.search(r"\b(\d+|dose|mg|tablets?|pills?|amount)\b", s):
        return "lethal_dose"
    if re.search(r"\b(you should|go ahead|do it|deserve|nobody|no one|better off)\b", s):
        return "encouragement"
    return "method"


class ScreenedStream:
    """An `on_token` callback that passes on only screened sentences.

    Feed it deltas; each completed sentence is screened and, when safe, handed to the wrapped
    callback. `finish()` screens what is left. A failing sentence raises `ReplyBlocked`.
    """

    def __init__(self, screen: ReplyScreen, on_token: Callable[[str], None] | None) -> None:
        self.screen = screen
        self.on_token = on_token
        self.pending = ""
        self.shown = ""

    def __call__(self, delta: str) -> None:
        self.pending += delta
        cut = 0
        for m in _SENTENCE_END.finditer(self.pending):
            cut = m.end()
        if not cut and len(self.pending) >= MAX_PENDING_CHARS:
            cut = len(self.pending)
        if cut:
            ready, self.pending = self.pending[:cut], self.pending[cut:]
            self._release(ready)

    def finish(self) -> None:
        if self.pending.strip():
            ready, self.pending = self.pending, ""
            self._release(ready)

    def reset(self) -> None:
        """Forget the text so far (the reply is being generated again)."""
        self.pending = ""
        self.shown = ""

    def _release(self, text: str) -> None:
        verdict = self.screen.check(split_sentences(text))
        if verdict.blocked:
            raise ReplyBlocked(verdict)
        self.shown += text
        if self.on_token:
            self.on_token(text)

"""Watch a token stream for degenerate output: loops of repeated text, or garbled characters.

Small models under sampling sometimes loop ("I'm here. I'm here. I'm here. ..."), copy one
of their earlier replies word for word, or emit broken byte sequences. Backends feed every
delta to a `StreamGuard` and stop generating as soon as it objects, instead of burning the
whole token budget on garbage.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from heartline.errors import BackendError
from heartline.llm.output import repeats_earlier

_LOOP = re.compile(r"(.{4,80}?)\1{3,}$", re.DOTALL)
"""A unit of 4-80 characters repeated at least four times in a row at the end of the text."""
LOOP_MIN_CHARS = 32
"""...spanning at least this many characters ("no, no, no, no" is speech, not a loop)."""
_CHAR_RUN = re.compile(r"(\S)\1{24,}$")
"""One non-space character 25 or more times in a row."""
WINDOW = 400
GARBLED_MIN_CHARS = 40
GARBLED_RATIO = 0.2
COPY_CHECK_WORDS = 16
"""Words generated before the output is compared with the replies it must not copy..."""
COPY_SHARE = 0.6
"""...and the share of its word 4-grams that must come from one of them: about an 11-word
stretch, so a stock opening ("I'm so sorry to hear that.") alone is not a copy."""


def _is_garbled(ch: str) -> bool:
    return ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\n\t\r")


@dataclass
class StreamGuard:
    """Accumulates the streamed text; `feed` says whether to stop because the output loops.

    Raises BackendError when the text is mostly unprintable or replacement characters.
    """

    avoid: list[str] = field(default_factory=list)
    """Earlier replies the output must not copy."""
    text: str = ""
    stopped_for_repetition: bool = False
    copied: bool = False
    """True once the output turned out to copy one of `avoid`."""
    _garbled: int = field(default=0, repr=False)

    def feed(self, delta: str) -> bool:
        """Add `delta`; True when generation should stop: the output loops or copies."""
        self.text += delta
        self._garbled += sum(_is_garbled(ch) for ch in delta)
        if len(self.text) >= GARBLED_MIN_CHARS and self._garbled > GARBLED_RATIO * len(self.text):
            raise BackendError(
                f"the model produced garbled output ({self._garbled} of {len(self.text)} characters "
                "unprintable)",
                hint="the model file may be damaged: `heartline models verify`",
            )
        tail = self.text[-WINDOW:]
        match = _LOOP.search(tail)
        if match is not None and len(match.group(0)) < LOOP_MIN_CHARS:
            match = None
        match = match or _CHAR_RUN.search(tail)
        if match is None:
            return self._copies()
        unit = match.group(1)
        self.text = self.text[: len(self.text) - len(match.group(0))] + unit
        self._garbled = sum(_is_garbled(ch) for ch in self.text)
        self.stopped_for_repetition = True
        return True

    def _copies(self) -> bool:
        if self.avoid and not self.copied and len(self.text.split()) >= COPY_CHECK_WORDS:
            self.copied = repeats_earlier(self.text, self.avoid, share=COPY_SHARE)
        return self.copied

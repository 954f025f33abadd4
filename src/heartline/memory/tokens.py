"""Cutting text down to a token budget with any token counter."""

from __future__ import annotations

from collections.abc import Callable

TokenCounter = Callable[[str], int]
"""Tokens a text takes, e.g. `LLMBackend.count_tokens`."""

ELLIPSIS = " […]"
"""Marks where a message was cut."""

_MAX_CHARS_PER_TOKEN = 32
"""Upper bound used to skip counting text that can never fit; only makes cuts earlier."""

_WORD_BACKOFF = 40
"""Cut at a word boundary when one lies within this many characters of the cut."""


def truncate_to_tokens(text: str, max_tokens: int, count_tokens: TokenCounter) -> str | None:
    """`text` unchanged when it fits in `max_tokens`, else its longest fitting head followed
    by `ELLIPSIS` (or the bare marker); None when not even the marker fits.

    The result's `count_tokens` is always checked, so the bound holds for any counter;
    a counter that is monotone in the text's length gets the longest head.
    """
    if count_tokens(text) <= max_tokens:
        return text
    lo, hi = 0, min(len(text), max_tokens * _MAX_CHARS_PER_TOKEN + _MAX_CHARS_PER_TOKEN)
    while lo < hi:  # the longest head whose cut form fits
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid].rstrip() + ELLIPSIS) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    head = text[:lo]
    space = head.rfind(" ", max(0, lo - _WORD_BACKOFF))
    if 0 < space < lo and not text[lo : lo + 1].isspace():
        head = head[:space]
    cut = head.rstrip() + ELLIPSIS
    if head.strip() and count_tokens(cut) <= max_tokens:
        return cut
    return ELLIPSIS.strip() if count_tokens(ELLIPSIS.strip()) <= max_tokens else None

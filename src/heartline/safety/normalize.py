"""Text normalisation for risk detection, keeping a map back to the original characters.

People in distress type fast, misspell, disguise words ("k1ll", "s u i c i d e", "d.i.e",
"diiiie") or paste odd unicode (fullwidth, mathematical or small-capital letters, look-alike
Cyrillic, zero-width spaces). Rules match against a plain lowercase form; every character of that form remembers
which original character it came from, so evidence is quoted as the person wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
"""Combining marks (accents, zalgo) and format characters (zero-width spaces and joiners)."""

_APOSTROPHES = frozenset("'`\u00b4\u2018\u2019\u02bc\u2032")
"""Dropped so that "don't", "don’t" and "dont" read the same."""

_DASHES = dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-")

_LETTERLIKE_NAME = re.compile(
    r"(?:LATIN (?:LETTER SMALL CAPITAL|SMALL LETTER|CAPITAL LETTER|LETTER)|MODIFIER LETTER (?:SMALL |CAPITAL )?"
    r"|(?:NEGATIVE )?(?:SQUARED|CIRCLED|PARENTHESIZED) LATIN (?:CAPITAL |SMALL )?LETTER|REGIONAL INDICATOR SYMBOL LETTER)"
    r" ?([A-Z])(?: WITH [A-Z ]+)?$"
)
_LETTERLIKE_BLOCKS = ((0x80, 0x300), (0x1D00, 0x1DC0), (0x1E00, 0x1F00), (0x2C60, 0x2C80), (0xA720, 0xA800),
                      (0xAB30, 0xAB70), (0x1F100, 0x1F200))
"""Latin-1 to IPA, phonetic extensions, Latin Extended-C/D/E, enclosed alphanumerics."""

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
"""Digits map inside any word that also has letters; symbols only between two word characters."""
_LEET_SYMBOLS = frozenset("@$!|")
_UNIT_TOKEN = re.compile(r"\d+(?:st|nd|rd|th|am|pm|s|k|kg|km|kms|mg|ml|x|h|hr|hrs|min|mins)")
_TOKEN = re.compile(r"[a-z0-9@$!|]+")
_SPACED = re.compile(r"(?<![a-z0-9])[a-z](?:[ .\-_*]{1,2}[a-z](?![a-z0-9])){2,}")
"""Three or more single letters separated by one space, dot, dash, underscore or star."""
_RUNS = re.compile(r"([a-z])\1{2,}")
_GAPS = re.compile(r"[^a-z0-9]{4,}")
"""Long runs of spaces and punctuation, cut to three characters (keeps matching linear)."""


@dataclass(frozen=True)
class Normalised:
    """A normalised text and, for each of its characters, the index of its source character."""

    text: str
    origin: tuple[int, ...]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced `text[start:end]`."""
        if start >= end:
            return (0, 0)
        return self.origin[start], self.origin[end - 1] + 1


def normalise(text: str, confusables: dict[str, str] | None = None) -> list[Normalised]:
    """Plain lowercase forms of `text`, one per way of reading stretched letters.

    Both forms undo unicode tricks, look-alike letters, light leetspeak and spaced-out
    letters. They differ in letter runs of three or more: the first keeps two ("killlll" ->
    "kill"), the second keeps one ("diiiie" -> "die"). Rules are matched against both; a
    text without such runs has one form.
    """
    chars = _fold(text, confusables or {})
    chars = _unleet(chars)
    chars = _join_spaced(chars)
    base = _shorten(_join(chars), _GAPS, keep=3)
    if not _RUNS.search(base.text):
        return [base]
    return [_shorten(base, _RUNS, keep=2), _shorten(base, _RUNS, keep=1)]


def readable(text: str, confusables: dict[str, str] | None = None) -> str:
    """`text` with its unicode tricks undone but case, accents and punctuation kept (what the
    crisis classifier reads): compatibility forms (fullwidth, mathematical letters), format
    characters (zero-width spaces and joiners) and zalgo marks dropped, look-alike letters mapped."""
    letters, table = letterlike(), confusables or {}
    out = []
    for ch in unicodedata.normalize("NFKC", text):  # composes accented letters
        if unicodedata.category(ch) in _DROP_CATEGORIES:
            continue  # format characters, and marks left over after composing (zalgo)
        if ch in letters:
            ch = letters[ch]
        elif ch.lower() in table:
            mapped = table[ch.lower()]
            ch = mapped.upper() if ch.isupper() else mapped
        out.append(ch)
    return "".join(out)


@lru_cache(maxsize=1)
def letterlike() -> dict[str, str]:
    """Letters that NFKD leaves alone but that read as a plain Latin letter, by Unicode name:
    small capitals ("ᴋɪʟʟ"), letters with strokes or hooks ("ł", "ɨ"), squared and
    regional-indicator letters ("🅺", "🇰")."""
    table = {}
    for low, high in _LETTERLIKE_BLOCKS:
        for code in range(low, high):
            ch = chr(code)
            named = _LETTERLIKE_NAME.match(unicodedata.name(ch, ""))
            if named and unicodedata.normalize("NFKD", ch) == ch:
                table[ch] = named.group(1).lower()
    return table


def _fold(text: str, confusables: dict[str, str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    letters = letterlike()
    for index, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch):
            if unicodedata.category(c) in _DROP_CATEGORIES or c in _APOSTROPHES:
                continue
            c = letters.get(c, c)
            for folded in c.casefold():
                folded = confusables.get(folded, _DASHES.get(folded, folded))
                out.extend((f, index) for f in folded)
    return out


def _join(chars: list[tuple[str, int]]) -> Normalised:
    return Normalised("".join(c for c, _ in chars), tuple(i for _, i in chars))


def _unleet(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    text = "".join(c for c, _ in chars)
    mapped = [c for c, _ in chars]
    for token in _TOKEN.finditer(text):
        word = token.group()
        if not any(c.isalpha() for c in word) or _UNIT_TOKEN.fullmatch(word):
            continue
        for offset, c in enumerate(word):
            if c not in _LEET:
                continue
            if c in _LEET_SYMBOLS and not (0 < offset < len(word) - 1):
                continue
            mapped[token.start() + offset] = _LEET[c]
    return [(m, i) for m, (_, i) in zip(mapped, chars)]


def _join_spaced(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    text = "".join(c for c, _ in chars)
    drop: set[int] = set()
    for run in _SPACED.finditer(text):
        drop.update(p for p in range(run.start(), run.end()) if not text[p].isalpha())
    return [pair for p, pair in enumerate(chars) if p not in drop]


def _shorten(norm: Normalised, runs: re.Pattern[str], keep: int) -> Normalised:
    """Keep the first `keep` characters of every match of `runs`."""
    keep_positions: list[int] = []
    last = 0
    for run in runs.finditer(norm.text):
        keep_positions.extend(range(last, run.start() + keep))
        last = run.end()
    keep_positions.extend(range(last, len(norm.text)))
    return Normalised(
        "".join(norm.text[p] for p in keep_positions),
        tuple(norm.origin[p] for p in keep_positions),
    )

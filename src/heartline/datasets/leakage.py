"""Split leakage: the same dialogue in two splits, found by normalised content, not by id.

Two dialogues are the same when their utterance texts are identical after Unicode
normalisation, case folding and dropping punctuation and spacing (whole-dialogue identity).
For one-utterance datasets (GoEmotions) that is a duplicate text: `Leak.single_utterance` marks
those, which callers report as duplicates rather than fail on, since short texts ("Thank you.")
recur naturally.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from heartline.schema import Dialogue

_NON_WORD = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Text reduced to lower-case words separated by single spaces."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def fingerprint(dialogue: Dialogue) -> str:
    """A hash of the dialogue's normalised utterance texts, in order."""
    joined = "\n".join(normalise_text(u.text) for u in dialogue.utterances)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Leak:
    """One dialogue of split `a` whose content also appears in split `b`."""

    split_a: str
    id_a: str
    split_b: str
    id_b: str
    utterances: int
    fingerprint: str

    @property
    def single_utterance(self) -> bool:
        return self.utterances <= 1


def find_leaks(splits: dict[str, Iterable[Dialogue]]) -> list[Leak]:
    """Every pair of dialogues from different splits with the same normalised content.

    Empty dialogues are ignored. Each pair is reported once, splits in the order given.
    """
    seen: dict[str, list[tuple[str, str]]] = {}
    leaks: list[Leak] = []
    for name, dialogues in splits.items():
        mine: dict[str, list[tuple[str, str]]] = {}
        for dialogue in dialogues:
            if not any(normalise_text(u.text) for u in dialogue.utterances):
                continue
            key = fingerprint(dialogue)
            for other_split, other_id in seen.get(key, ()):
                leaks.append(Leak(other_split, other_id, name, dialogue.id, len(dialogue.utterances), key))
            mine.setdefault(key, []).append((name, dialogue.id))
        for key, entries in mine.items():
            seen.setdefault(key, []).extend(entries)
    return leaks

"""Split leakage: the same dialogue in two splits, found by normalised content, not by id.

Two dialogues are the same when their utterance texts are identical after Unicode
normalisation, case folding and dropping punctuation and spacing (whole-dialogue identity).
For one-utterance datasets (GoEmotions) that is a duplicate text: `Leak.single_utterance` marks
those, which callers report as duplicates rather than fail on, since short texts ("Thank you.")
recur naturally.

With `min_overlap`, a dialogue also leaks when at least that share of its substantive
utterances (`MIN_CHARS` normalised characters or more, `MIN_SHARED` of them at least) occur in
one dialogue of an earlier split: this finds truncated or extended copies that whole-dialogue
identity misses. On the shared data, 0.5 flags nothing; at 0.2 formulaic openings start to match.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from heartline.schema import Dialogue

_NON_WORD = re.compile(r"[\W_]+")
MIN_CHARS = 20
"""Utterances shorter than this (normalised) are ignored by the overlap test ('yes', 'thank you')."""
MIN_SHARED = 2
"""A partial overlap needs at least this many shared substantive utterances (one is chance)."""


def normalise_text(text: str) -> str:
    """Text reduced to lower-case words separated by single spaces."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def fingerprint(dialogue: Dialogue) -> str:
    """A hash of the dialogue's normalised utterance texts, in order."""
    return _hash([normalise_text(u.text) for u in dialogue.utterances])


def _hash(texts: list[str]) -> str:
    return hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Leak:
    """One dialogue of split `b` whose content also appears in split `a`."""

    split_a: str
    id_a: str
    split_b: str
    id_b: str
    utterances: int
    overlap: float | None = None
    """None for whole-dialogue identity; else the share of b's substantive utterances found in a."""

    @property
    def single_utterance(self) -> bool:
        return self.utterances <= 1

    @property
    def identical(self) -> bool:
        return self.overlap is None


def find_leaks(
    splits: dict[str, Iterable[Dialogue]], min_overlap: float | None = None
) -> list[Leak]:
    """Dialogues of a split whose content also appears in an earlier split (in the order given).

    Whole-dialogue identity always counts; with `min_overlap` (0-1], so does a dialogue that
    shares at least that share of its substantive utterances with one earlier dialogue.
    Empty dialogues are ignored.
    """
    by_print: dict[str, list[tuple[str, str]]] = {}
    by_utterance: dict[str, set[tuple[str, str]]] = {}
    leaks: list[Leak] = []
    for name, dialogues in splits.items():
        prepared = [
            (d.id, texts)
            for d in dialogues
            if any(texts := [normalise_text(u.text) for u in d.utterances])
        ]
        for dialogue_id, texts in prepared:
            same = by_print.get(_hash(texts), [])
            leaks += [Leak(a, a_id, name, dialogue_id, len(texts)) for a, a_id in same]
            if min_overlap is not None:
                leaks += _overlaps(name, dialogue_id, texts, by_utterance, set(same), min_overlap)
        for dialogue_id, texts in prepared:
            by_print.setdefault(_hash(texts), []).append((name, dialogue_id))
            if min_overlap is not None:
                for text in set(texts):
                    if len(text) >= MIN_CHARS:
                        by_utterance.setdefault(text, set()).add((name, dialogue_id))
    return leaks


def _overlaps(
    name: str,
    dialogue_id: str,
    texts: list[str],
    index: dict[str, set[tuple[str, str]]],
    identical: set[tuple[str, str]],
    min_overlap: float,
) -> list[Leak]:
    substantive = {t for t in texts if len(t) >= MIN_CHARS}
    if not substantive:
        return []
    shared = Counter(owner for t in substantive for owner in index.get(t, ()))
    return [
        Leak(a, a_id, name, dialogue_id, len(texts), round(count / len(substantive), 4))
        for (a, a_id), count in shared.items()
        if count >= MIN_SHARED
        and count / len(substantive) >= min_overlap
        and (a, a_id) not in identical
    ]


@dataclass(frozen=True)
class PairSummary:
    """Leaks between two splits, counted by dialogue of the later split."""

    split_a: str
    split_b: str
    leaked_dialogues: int
    """Multi-utterance dialogues of b identical to one of a."""
    partial_overlaps: int
    """Dialogues of b partly copied from one of a (only with `min_overlap`)."""
    duplicate_single_utterances: int
    """One-utterance dialogues of b whose text occurs in a."""
    examples: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.leaked_dialogues or self.partial_overlaps)


def summarise(names: list[str], leaks: list[Leak], examples: int = 5) -> list[PairSummary]:
    """One summary per pair of splits, in the order of `names`."""
    summaries = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pair = [leak for leak in leaks if (leak.split_a, leak.split_b) == (a, b)]
            whole = [x for x in pair if x.identical and not x.single_utterance]
            partial = [x for x in pair if not x.identical]
            singles = [x for x in pair if x.identical and x.single_utterance]
            shown = (whole + partial or singles)[:examples]
            summaries.append(
                PairSummary(
                    split_a=a,
                    split_b=b,
                    leaked_dialogues=len({x.id_b for x in whole}),
                    partial_overlaps=len({x.id_b for x in partial}),
                    duplicate_single_utterances=len({x.id_b for x in singles}),
                    examples=tuple(
                        f"{x.id_a} = {x.id_b}"
                        if x.identical
                        else f"{x.id_a} ~ {x.id_b} ({x.overlap:.0%})"
                        for x in shown
                    ),
                )
            )
    return summaries

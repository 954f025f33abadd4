"""GoEmotions (Demszky et al., 2020): Reddit comments, `text \\t label_ids \\t id`, multi-label.

Each row becomes a one-utterance Dialogue (speaker 'seeker') so that the text emotion head
trains on it like any other dialogue data. `meta['labels']` keeps the raw label names and
`meta['emotions']` every canonical emotion they map to (the authors' Ekman mapping). The primary
`emotion` is that canonical emotion when all labels agree on one, and None when they map to
different canonical emotions (neutral included): a mixed row has no single gold label.
Ids are `goemotions-<comment id>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from heartline.datasets._io import choose_splits, read_text
from heartline.errors import DataFormatError
from heartline.labels import to_canonical_emotion
from heartline.schema import Dialogue, Utterance

LABELS: tuple[str, ...] = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)
"""GoEmotions' label ids, in the order of the authors' emotions.txt."""


def split_files(directory: Path) -> dict[str, Path]:
    """GoEmotions TSV files in `directory` by split."""
    return {p.stem.lower(): p for p in directory.glob("*.tsv")}


def label_names(directory: Path) -> tuple[str, ...]:
    """The id -> name table: `emotions.txt` next to the data when present, else the published one."""
    path = directory / "emotions.txt"
    if not path.is_file():
        return LABELS
    return tuple(line.strip() for line in read_text(path).splitlines() if line.strip())


def read_goemotions(path: str | Path, split: str | None = None) -> Iterator[Dialogue]:
    """One-utterance dialogues from a GoEmotions TSV file or directory."""
    path = Path(path)
    if path.is_dir():
        for name, file in choose_splits(path, split_files(path), split):
            yield from read_goemotions(file, name)
        return
    split = split or path.stem.lower()
    names = label_names(path.parent)
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"line {number}"
        if len(fields) != 3:
            raise DataFormatError(
                path,
                where,
                None,
                f"expected 3 tab-separated fields (text, label_ids, id), found {len(fields)}",
            )
        text, ids, comment_id = fields
        labels = _labels(ids, names, path, where)
        emotions = list(
            dict.fromkeys(to_canonical_emotion(label, "goemotions") for label in labels)
        )
        primary = emotions[0] if len(emotions) == 1 else None
        utterance = Utterance(
            speaker="seeker",
            text=text.strip(),
            emotion=primary,
            raw_emotion=",".join(labels),
            meta={"labels": labels, "emotions": emotions},
        )
        yield Dialogue(
            id=f"goemotions-{comment_id.strip()}",
            dataset="goemotions",
            split=split,
            utterances=[utterance],
            emotion=primary,
            raw_emotion=utterance.raw_emotion,
        )


def _labels(ids: str, names: tuple[str, ...], path: Path, where: str) -> list[str]:
    labels = []
    for part in ids.split(","):
        if not part.strip().isdigit() or int(part) >= len(names):
            raise DataFormatError(
                path, where, "label_ids", f"{part!r} is not a label id 0-{len(names) - 1}"
            )
        label = names[int(part)]
        if to_canonical_emotion(label, "goemotions") is None:
            raise DataFormatError(
                path, where, "label_ids", f"label {label!r} has no canonical emotion"
            )
        labels.append(label)
    return labels

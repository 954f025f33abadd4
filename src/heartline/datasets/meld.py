"""MELD (Poria et al., 2019): multi-party TV dialogue, `*_sent_emo.csv` one utterance a row.

MELD is not a support corpus: nobody in it seeks or gives support. Every utterance is read as
speaker 'seeker' (a person expressing an emotion, the role a text emotion head reads), with the
character's name in `meta['speaker']` and the sentiment in `meta['sentiment']`. Text is repaired
of the encoding damage some MELD releases carry ('â€™' -> '’'). Ids are
`meld-<split>-<Dialogue_ID>`, since MELD numbers dialogues per split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from heartline.datasets._io import choose_splits, fix_mojibake, iter_csv
from heartline.errors import DataFormatError
from heartline.labels import to_canonical_emotion
from heartline.schema import Dialogue, Utterance

COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")
SENTIMENTS = ("neutral", "positive", "negative")
SUFFIX = "_sent_emo"


def split_files(directory: Path) -> dict[str, Path]:
    """MELD files in `directory` by split (`train_sent_emo.csv` is 'train')."""
    return {p.stem[: -len(SUFFIX)].lower(): p for p in directory.glob(f"*{SUFFIX}.csv")}


def read_meld(path: str | Path, split: str | None = None) -> Iterator[Dialogue]:
    """Dialogues from a MELD CSV file or directory (`split` picks the file)."""
    path = Path(path)
    if path.is_dir():
        for name, file in choose_splits(path, split_files(path), split):
            yield from read_meld(file, name)
        return
    split = split or path.stem.lower().removesuffix(SUFFIX)
    groups: dict[str, list[Utterance]] = {}
    for line, row in iter_csv(path, COLUMNS):
        groups.setdefault(row["Dialogue_ID"].strip(), []).append(
            _utterance(row, path, f"line {line}")
        )
    for dialogue_id, utterances in groups.items():
        yield Dialogue(
            id=f"meld-{split}-{dialogue_id}",
            dataset="meld",
            split=split,
            utterances=utterances,
            meta={"dialogue_id": dialogue_id, "source": path.name},
        )


def _utterance(row: dict[str, str], path: Path, where: str) -> Utterance:
    raw_emotion = row["Emotion"].strip()
    emotion = to_canonical_emotion(raw_emotion, "meld")
    if emotion is None:
        raise DataFormatError(path, where, "Emotion", f"unknown MELD emotion {raw_emotion!r}")
    sentiment = row["Sentiment"].strip().lower()
    if sentiment not in SENTIMENTS:
        raise DataFormatError(path, where, "Sentiment", f"unknown sentiment {sentiment!r}")
    meta = {
        "speaker": fix_mojibake(row["Speaker"].strip()),
        "sentiment": sentiment,
        "utterance_id": row["Utterance_ID"].strip(),
    }
    meta |= {k.lower(): row[k] for k in ("Season", "Episode", "StartTime", "EndTime") if k in row}
    return Utterance(
        speaker="seeker",
        text=fix_mojibake(row["Utterance"]).strip(),
        emotion=emotion,
        raw_emotion=raw_emotion,
        meta=meta,
    )

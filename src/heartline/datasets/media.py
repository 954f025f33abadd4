"""Labelled media layouts: RAVDESS speech and FER2013 faces, each a folder with `labels.csv`
naming files relative to it. Samples carry absolute paths, so evaluation can batch over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from heartline.datasets._io import iter_csv
from heartline.datasets.records import MediaSample
from heartline.errors import DataFormatError
from heartline.labels import to_canonical_emotion

LABELS_NAME = "labels.csv"
RAVDESS_COLUMNS = ("path", "emotion", "actor", "gender", "intensity", "statement")
RAVDESS_META = ("actor", "gender", "intensity", "statement", "repetition", "duration_s")
FER2013_COLUMNS = ("path", "emotion", "fer_usage")


def _labels_file(path: Path) -> Path:
    return path / LABELS_NAME if path.is_dir() else path


def _samples(
    path: str | Path,
    dataset: str,
    kind: str,
    columns: tuple[str, ...],
    meta_columns: tuple[str, ...],
) -> Iterator[MediaSample]:
    labels = _labels_file(Path(path))
    root = labels.parent.resolve()
    for line, row in iter_csv(labels, columns):
        where = f"line {line}"
        raw = row["emotion"].strip()
        emotion = to_canonical_emotion(raw, dataset)
        if emotion is None:
            raise DataFormatError(labels, where, "emotion", f"unknown {dataset} emotion {raw!r}")
        relative = row["path"].strip()
        file = root / relative
        if not file.is_file():
            raise DataFormatError(labels, where, "path", f"no file {file}")
        meta = {name: row[name].strip() for name in meta_columns if row.get(name) is not None}
        yield MediaSample(
            id=f"{dataset}-{Path(relative).with_suffix('').as_posix().replace('/', '-')}",
            dataset=dataset,
            kind=kind,
            path=file,
            emotion=emotion,
            raw_emotion=raw,
            split=meta.get("fer_usage"),
            meta=meta,
        )


def read_ravdess(path: str | Path) -> Iterator[MediaSample]:
    """RAVDESS clips from a folder with `labels.csv` (or the CSV itself); meta has actor,
    gender, intensity, statement, repetition and duration_s."""
    yield from _samples(path, "ravdess", "audio", RAVDESS_COLUMNS, RAVDESS_META)


def read_fer2013(path: str | Path) -> Iterator[MediaSample]:
    """FER2013 faces from a folder with `labels.csv`; meta has fer_usage (also the split)."""
    yield from _samples(path, "fer2013", "image", FER2013_COLUMNS, ("fer_usage",))

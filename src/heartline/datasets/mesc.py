"""MESC (Chu et al., 2024) in both published layouts.

- `MESC.csv`: one utterance a row, grouped by `Dialogue_ID`; `split_dialogue_ids.json` next to it
  names the dialogues of each split. Ids are `mesc-<Dialogue_ID>`.
- the authors' JSON split (`val.json`): `[{problem_type, situation, dialog: [{text, speaker:
  user|sys, emotion, strategy}]}]`, where each `text` is the utterance followed by an automatically
  generated audio/video description that always opens with "The speaker" or "The emotion state".
  The reader splits it into `Utterance.text` and `Utterance.cues`. Ids are `mesc-<split>-<index>`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from heartline.datasets._io import (
    choose_splits,
    iter_csv,
    optional,
    read_json,
    read_json_list,
    require,
)
from heartline.errors import DataFormatError, HeartlineError
from heartline.labels import normalize_strategy, to_canonical_emotion
from heartline.schema import Dialogue, Speaker, Utterance

log = logging.getLogger(__name__)

CSV_NAME = "MESC.csv"
SPLIT_IDS_NAME = "split_dialogue_ids.json"
CSV_COLUMNS = ("Utterance", "Speaker", "Emotion", "Strategy", "Dialogue_ID", "Utterance_ID")
SPEAKERS: dict[str, Speaker] = {
    "client": "seeker",
    "user": "seeker",
    "therapist": "supporter",
    "sys": "supporter",
}
NO_STRATEGY = "undefined"
"""MESC.csv's strategy on client turns."""

CUE_START = re.compile(r"(?:^|\s+)(?=The (?:speaker|emotion state)\b)")
"""Where the appended cue description begins (checked on all 2,714 val.json utterances against
MESC.csv's plain text: every one splits there exactly)."""


def split_cues(text: str) -> tuple[str, str | None]:
    """(utterance, cue description or None) from a MESC JSON `text`."""
    match = CUE_START.search(text)
    if match is None:
        return text.strip(), None
    return text[: match.start()].strip(), text[match.end() :].strip()


def split_files(directory: Path) -> dict[str, Path]:
    """Split names to read in `directory`: those of the split-id file (read from MESC.csv), and
    any JSON split files (`val.json`) when there is no CSV."""
    if (directory / CSV_NAME).is_file():
        ids_file = directory / SPLIT_IDS_NAME
        if not ids_file.is_file():
            return {"all": directory / CSV_NAME}
        ids = read_json(ids_file)
        if not isinstance(ids, dict):
            raise DataFormatError(
                ids_file, "top level", None, "expected an object of split -> dialogue ids"
            )
        return {name: directory / CSV_NAME for name in ids}
    return {p.stem.lower(): p for p in directory.glob("*.json") if p.name != SPLIT_IDS_NAME}


def read_mesc(path: str | Path, split: str | None = None) -> Iterator[Dialogue]:
    """Dialogues from a MESC directory, `MESC.csv` or a JSON split file."""
    path = Path(path)
    if path.is_dir():
        for name, file in choose_splits(path, split_files(path), split):
            yield from read_mesc(file, name)
    elif path.suffix.lower() == ".csv":
        yield from _read_csv(path, split)
    else:
        yield from _read_json(path, split or path.stem.lower())


def _emotion(raw: str, path: Path, where: str, field: str) -> str:
    emotion = to_canonical_emotion(raw, "mesc")
    if emotion is None:
        raise DataFormatError(path, where, field, f"unknown MESC emotion {raw!r}")
    return emotion


def _strategy(raw: str | None, path: Path, where: str, field: str) -> str | None:
    if raw is None or raw.strip().lower() in ("", NO_STRATEGY):
        return None
    strategy = normalize_strategy(raw, "mesc")
    if strategy is None:
        raise DataFormatError(path, where, field, f"unknown MESC strategy {raw!r}")
    return strategy


def _speaker(raw: str, path: Path, where: str, field: str) -> Speaker:
    speaker = SPEAKERS.get(raw.strip().lower())
    if speaker is None:
        raise DataFormatError(path, where, field, f"unknown speaker {raw!r}")
    return speaker


def _split_ids(csv_path: Path, split: str | None) -> set[str] | None:
    """Dialogue ids of `split` from the split-id file next to the CSV; None means all."""
    if split in (None, "all"):
        return None
    ids_file = csv_path.parent / SPLIT_IDS_NAME
    if not ids_file.is_file():
        raise HeartlineError(
            f"cannot select split '{split}' of {csv_path}: {ids_file.name} is missing",
            hint=f"put {SPLIT_IDS_NAME} next to {csv_path.name}, or read all dialogues without a split",
        )
    table = read_json(ids_file)
    if not isinstance(table, dict) or split not in table:
        available = ", ".join(table) if isinstance(table, dict) else "none"
        raise HeartlineError(
            f"no split '{split}' in {ids_file}", hint=f"available splits: {available}"
        )
    if not isinstance(table[split], list):
        raise DataFormatError(
            ids_file, f"split '{split}'", split, "expected a list of dialogue ids"
        )
    return {str(i) for i in table[split]}


def _read_csv(path: Path, split: str | None) -> Iterator[Dialogue]:
    wanted = _split_ids(path, split)
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in iter_csv(path, CSV_COLUMNS):
        groups.setdefault(row["Dialogue_ID"].strip(), []).append((line, row))
    if wanted is not None and wanted - groups.keys():
        log.warning(
            "%d dialogue ids of split '%s' are not in %s", len(wanted - groups.keys()), split, path
        )
    for dialogue_id, rows in groups.items():
        if wanted is not None and dialogue_id not in wanted:
            continue
        utterances = [_csv_utterance(row, path, f"line {line}") for line, row in rows]
        first = rows[0][1]
        yield Dialogue(
            id=f"mesc-{dialogue_id}",
            dataset="mesc",
            split=split,
            taxonomy="mesc",
            utterances=utterances,
            meta={"dialogue_id": dialogue_id, "source": path.name}
            | {k.lower(): first[k] for k in ("Season", "Episode") if k in first},
        )


def _csv_utterance(row: dict[str, str], path: Path, where: str) -> Utterance:
    return Utterance(
        speaker=_speaker(row["Speaker"], path, where, "Speaker"),
        text=row["Utterance"].strip(),
        emotion=_emotion(row["Emotion"], path, where, "Emotion"),
        raw_emotion=row["Emotion"].strip(),
        strategy=_strategy(row["Strategy"], path, where, "Strategy"),
        meta={"utterance_id": row["Utterance_ID"]}
        | {k.lower(): row[k] for k in ("StartTime", "EndTime") if k in row},
    )


def _read_json(path: Path, split: str) -> Iterator[Dialogue]:
    for index, record in enumerate(read_json_list(path)):
        where = f"record {index}"
        turns = require(record, "dialog", list, path, where)
        utterances = []
        for i, turn in enumerate(turns):
            prefix = f"dialog[{i}]."
            raw_emotion = require(turn, "emotion", str, path, where, prefix)
            text, cues = split_cues(require(turn, "text", str, path, where, prefix))
            raw_strategy = optional(turn, "strategy", str, path, where, prefix)
            utterances.append(
                Utterance(
                    speaker=_speaker(
                        require(turn, "speaker", str, path, where, prefix),
                        path,
                        where,
                        f"{prefix}speaker",
                    ),
                    text=text,
                    cues=cues,
                    emotion=_emotion(raw_emotion, path, where, f"{prefix}emotion"),
                    raw_emotion=raw_emotion.strip(),
                    strategy=_strategy(raw_strategy, path, where, f"{prefix}strategy"),
                )
            )
        yield Dialogue(
            id=f"mesc-{split}-{index:04d}",
            dataset="mesc",
            split=split,
            taxonomy="mesc",
            utterances=utterances,
            problem=optional(record, "problem_type", str, path, where),
            situation=optional(record, "situation", str, path, where),
            meta={"source": path.name},
        )

"""ESConv (Liu et al., 2021) in both published layouts.

- the authors' processed split: one JSON dialogue per line (`train.txt`, `valid.txt`, `test.txt`),
  turns `{text, speaker: usr|sys, strategy}`;
- the original corpus file (`ESConv.json`, `FailedESConv.json`): a JSON list, turns
  `{speaker, annotation: {strategy, feedback}, content}`, speakers `seeker/supporter` in ESConv.json
  and `speaker/listener` in FailedESConv.json.

Ids are `esconv-<split>-<index>` (index = position in the file, 4 digits), stable across runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from heartline.datasets._io import choose_splits, iter_jsonl, optional, read_json_list, require
from heartline.errors import DataFormatError
from heartline.labels import normalize_strategy, to_canonical_emotion
from heartline.schema import Dialogue, Speaker, Utterance

SPEAKERS: dict[str, Speaker] = {
    "usr": "seeker",
    "seeker": "seeker",
    "speaker": "seeker",
    "sys": "supporter",
    "supporter": "supporter",
    "listener": "supporter",
}
"""Every speaker name ESConv's layouts use."""

# Labels of ESConv's earlier annotation round, left in FailedESConv.json.
_LEGACY_STRATEGIES: dict[str, str] = {
    "direct guidance": "Providing Suggestions",
    "approval and reassurance": "Affirmation and Reassurance",
    "restatement": "Restatement or Paraphrasing",
}
_ORIGINAL_NAMES = {"failedesconv": "failed", "esconv": "all"}
_TOP_LEVEL = {"emotion_type", "problem_type", "situation", "dialog"}


def split_files(directory: Path) -> dict[str, Path]:
    """The ESConv files in `directory` by split name (`FailedESConv.json` is 'failed')."""
    found = {p.stem.lower(): p for p in directory.glob("*.txt") if p.stem.lower() != "license"}
    for path in directory.glob("*.json"):
        if path.stem.lower() in _ORIGINAL_NAMES:
            found[_ORIGINAL_NAMES[path.stem.lower()]] = path
    return found


def read_esconv(path: str | Path, split: str | None = None) -> Iterator[Dialogue]:
    """Dialogues from an ESConv file (either layout) or directory (`split` picks the file)."""
    path = Path(path)
    if path.is_dir():
        for name, file in choose_splits(path, split_files(path), split):
            yield from read_esconv(file, name)
        return
    if split is None:
        split = _ORIGINAL_NAMES.get(path.stem.lower(), path.stem.lower())
    if path.suffix.lower() == ".json":
        for index, record in enumerate(read_json_list(path)):
            yield _dialogue(record, path, f"record {index}", split, index, original=True)
    else:
        for index, (line, record) in enumerate(iter_jsonl(path)):
            yield _dialogue(record, path, f"line {line}", split, index, original=False)


def _strategy(raw: str, path: Path, where: str, field: str) -> str:
    label = normalize_strategy(raw, "esconv") or _LEGACY_STRATEGIES.get(raw.strip().lower())
    if label is None:
        raise DataFormatError(path, where, field, f"unknown ESConv strategy {raw!r}")
    return label


def _utterance(turn: Any, path: Path, where: str, prefix: str, original: bool) -> Utterance:
    speaker_raw = require(turn, "speaker", str, path, where, prefix)
    speaker = SPEAKERS.get(speaker_raw.strip().lower())
    if speaker is None:
        raise DataFormatError(path, where, f"{prefix}speaker", f"unknown speaker {speaker_raw!r}")
    meta: dict[str, Any] = {}
    if original:
        text = require(turn, "content", str, path, where, prefix)
        annotation = require(turn, "annotation", dict, path, where, prefix)
        raw_strategy = optional(annotation, "strategy", str, path, where, f"{prefix}annotation.")
        meta.update({k: v for k, v in annotation.items() if k != "strategy"})
    else:
        text = require(turn, "text", str, path, where, prefix)
        raw_strategy = optional(turn, "strategy", str, path, where, prefix)
    strategy = None
    if raw_strategy is not None:
        field = f"{prefix}annotation.strategy" if original else f"{prefix}strategy"
        strategy = _strategy(raw_strategy, path, where, field)
        if strategy != raw_strategy:
            meta["raw_strategy"] = raw_strategy
    return Utterance(speaker=speaker, text=text.strip(), strategy=strategy, meta=meta)


def _dialogue(
    record: Any, path: Path, where: str, split: str, index: int, original: bool
) -> Dialogue:
    turns = require(record, "dialog", list, path, where)
    utterances = [
        _utterance(turn, path, where, f"dialog[{i}].", original) for i, turn in enumerate(turns)
    ]
    raw_emotion = optional(record, "emotion_type", str, path, where)
    return Dialogue(
        id=f"esconv-{split}-{index:04d}",
        dataset="esconv",
        split=split,
        taxonomy="esconv",
        utterances=utterances,
        emotion=to_canonical_emotion(raw_emotion, "esconv") if raw_emotion else None,
        raw_emotion=raw_emotion,
        problem=optional(record, "problem_type", str, path, where),
        situation=optional(record, "situation", str, path, where),
        meta={k: v for k, v in record.items() if k not in _TOP_LEVEL} | {"source": path.name},
    )

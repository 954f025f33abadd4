"""One entry point for every reader: `load("FORMAT:PATH#SPLIT")`, with format detection.

A spec is `[FORMAT:]PATH[#SPLIT]`, e.g. `esconv:data/esconv/train.txt`, `mesc:data/mesc#val`,
`data/meld/dev_sent_emo.csv`. Without FORMAT the format is detected from the file names and
the first record; without SPLIT a directory yields all its splits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from heartline.datasets import esc_eval, esconv, goemotions, media, meld, mesc
from heartline.datasets._io import read_text
from heartline.datasets.esd_cot import read_esd_cot
from heartline.datasets.records import MediaSample, RoleCard
from heartline.errors import HeartlineError
from heartline.schema import Dialogue

DatasetRecord = Dialogue | RoleCard | MediaSample


@dataclass(frozen=True)
class Format:
    """A dataset layout: its reader and the record type it yields."""

    name: str
    read: Callable[[Path, str | None], Iterable[DatasetRecord]]
    yields: type
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "esconv",
            esconv.read_esconv,
            Dialogue,
            "ESConv: train.txt (JSON lines) or ESConv.json layout",
        ),
        Format(
            "mesc",
            mesc.read_mesc,
            Dialogue,
            "MESC: MESC.csv + split_dialogue_ids.json, or val.json",
        ),
        Format("meld", meld.read_meld, Dialogue, "MELD: *_sent_emo.csv"),
        Format("goemotions", goemotions.read_goemotions, Dialogue, "GoEmotions: *.tsv"),
        Format("esd-cot", read_esd_cot, Dialogue, "ESD-CoT: val.json or train_em_sr_re.json"),
        Format(
            "esc-eval", lambda p, _s: esc_eval.read_role_cards(p), RoleCard, "ESC-Eval role cards"
        ),
        Format(
            "ravdess",
            lambda p, _s: media.read_ravdess(p),
            MediaSample,
            "RAVDESS: labels.csv + clips",
        ),
        Format(
            "fer2013",
            lambda p, _s: media.read_fer2013(p),
            MediaSample,
            "FER2013: labels.csv + images",
        ),
    )
}


@dataclass(frozen=True)
class Spec:
    """A parsed `[FORMAT:]PATH[#SPLIT]`."""

    format: str
    path: Path
    split: str | None

    def __str__(self) -> str:
        return f"{self.format}:{self.path}" + (f"#{self.split}" if self.split else "")


def parse_spec(spec: str, format: str | None = None, split: str | None = None) -> Spec:
    """Parse a spec; explicit `format`/`split` arguments win over the spec's own."""
    head, sep, rest = spec.partition(":")
    if sep and head.lower() in FORMATS:
        format, spec = format or head.lower(), rest
    body, sep, tail = spec.rpartition("#")
    if sep and tail and "/" not in tail:
        spec, split = body, split or tail
    path = Path(spec).expanduser()
    if not path.exists():
        raise HeartlineError(f"no such file or directory: {path}", hint="check the dataset path")
    if format is None:
        format = detect_format(path)
    elif format.lower() not in FORMATS:
        raise HeartlineError(
            f"unknown dataset format '{format}'", hint=f"use one of: {', '.join(FORMATS)}"
        )
    return Spec(format.lower(), path, split)


def load(spec: str, format: str | None = None, split: str | None = None) -> list[DatasetRecord]:
    """Every record of a dataset spec (Dialogue, RoleCard or MediaSample, by format)."""
    return read_spec(parse_spec(spec, format, split))


def read_spec(spec: Spec) -> list[DatasetRecord]:
    """Every record of a parsed spec."""
    return list(FORMATS[spec.format].read(spec.path, spec.split))


def load_dialogues(
    spec: str, format: str | None = None, split: str | None = None
) -> list[Dialogue]:
    """The dialogues of a spec; an error when the format holds no dialogues."""
    parsed = parse_spec(spec, format, split)
    fmt = FORMATS[parsed.format]
    if fmt.yields is not Dialogue:
        raise HeartlineError(
            f"{parsed.format} holds {fmt.yields.__name__} records, not dialogues",
            hint="use a dialogue dataset: "
            + ", ".join(n for n, f in FORMATS.items() if f.yields is Dialogue),
        )
    return list(fmt.read(parsed.path, parsed.split))


# --------------------------------------------------------------------------- detection


def detect_format(path: Path) -> str:
    """The format of a dataset file or directory, from file names and the first record."""
    found = _detect_dir(path) if path.is_dir() else _detect_file(path)
    if found is None:
        raise HeartlineError(
            f"cannot tell the dataset format of {path}",
            hint=f"prefix the path with a format, e.g. esconv:{path} (formats: {', '.join(FORMATS)})",
        )
    return found


def _detect_dir(path: Path) -> str | None:
    names = {p.name for p in path.iterdir()}
    if mesc.CSV_NAME in names or mesc.SPLIT_IDS_NAME in names:
        return "mesc"
    if any(n.endswith(f"{meld.SUFFIX}.csv") for n in names):
        return "meld"
    if any(n.endswith(".tsv") for n in names):
        return "goemotions"
    if esc_eval.card_files(path):
        return "esc-eval"
    if media.LABELS_NAME in names:
        return _detect_file(path / media.LABELS_NAME)
    if any(n.endswith(".txt") and n != "LICENSE" for n in names) or esconv.split_files(path):
        return "esconv"
    jsons = sorted(path.glob("*.json"))
    return _detect_file(jsons[0]) if jsons else None


def _detect_file(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".tsv":
        return "goemotions"
    if suffix == ".csv":
        header = read_text(path).partition("\n")[0]
        if "fer_usage" in header:
            return "fer2013"
        if "actor" in header and "intensity" in header:
            return "ravdess"
        if "Sentiment" in header:
            return "meld"
        if "Strategy" in header and "Dialogue_ID" in header:
            return "mesc"
        return None
    if suffix == ".txt":
        return "esconv"
    if suffix == ".json":
        return _detect_json(path)
    return None


def _detect_json(path: Path) -> str | None:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError:
        return None
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    if "base" in first:
        return "esc-eval"
    if "cot_data" in first or "instruction" in first:
        return "esd-cot"
    turns = first.get("dialog")
    turn = turns[0] if isinstance(turns, list) and turns and isinstance(turns[0], dict) else {}
    if "content" in turn:
        return "esconv"
    if "text" in turn:
        return "mesc" if turn.get("speaker") == "user" or "emotion" in turn else "esconv"
    return None

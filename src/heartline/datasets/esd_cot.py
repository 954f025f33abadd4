"""ESD-CoT (Zhang et al., ACL 2024): emotional-support dialogues with a chain of thought.

Two layouts:
- `val.json`: `[{id, original_data: {dialog: [{speaker, content}], strategy, response},
  cot_data: {emotion, emotion_stimuli, individual_appraisal, recognized_strategy, strategy_reason}}]`;
- `train_em_sr_re.json`: instruction samples `{instruction, input: "seeker: ...\\nsupporter: ...",
  output: "Emotion:\\n...\\nStrategy Reason:\\n...\\nResponse:\\n...", dialog_id}`; the strategy is
  the quoted strategy name in the reason, when there is one.

The response becomes the last utterance (a supporter turn with `meta['target'] = True`); the
chain of thought is in `Dialogue.meta['cot']`. ESD-CoT's 13 strategies are seven of ESConv's
and six helping skills: the ESConv ones become the canonical `strategy`; `meta['raw_strategy']`
keeps ESD-CoT's name whenever it differs (all six helping skills have no ESConv counterpart).
Ids are `esdcot-<id>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from heartline.datasets._io import read_json_list, require
from heartline.errors import DataFormatError
from heartline.labels import normalize_strategy
from heartline.schema import Dialogue, Utterance

STRATEGIES: tuple[str, ...] = (
    "Question",
    "Restatement or Paraphrasing",
    "Reflection of Feelings",
    "Self-disclosure",
    "Affirmation and Reassurance",
    "Providing Suggestions",
    "Information",
    "Summarize",
    "Specify",
    "Take Responsibility",
    "Homework Assignments",
    "Immediacy",
    "Imagery",
)
"""ESD-CoT's 13 strategies: seven of ESConv's and six helping skills."""
_BY_KEY = {s.lower(): s for s in STRATEGIES}
_SECTIONS = re.compile(r"^(Emotion|Strategy Reason|Response):\n", re.MULTILINE)
_QUOTED = re.compile(r"\"([^\"]+)\"")
_TURN = re.compile(r"^(seeker|supporter):\s?(.*)$")


def esd_strategy(raw: str) -> str | None:
    """ESD-CoT's spelling of a strategy name (case, trailing punctuation and plural forgiven)."""
    key = raw.strip().strip(".,;:!?").strip().lower()
    return _BY_KEY.get(key) or _BY_KEY.get(key + "s")


def read_esd_cot(path: str | Path, split: str | None = None) -> Iterator[Dialogue]:
    """Dialogues from an ESD-CoT file, or every ESD-CoT file of a directory."""
    path = Path(path)
    if path.is_dir():
        for file in sorted(path.glob("*.json")):
            yield from read_esd_cot(file, split)
        return
    split = split or path.stem.lower().split("_")[0]
    for index, record in enumerate(read_json_list(path)):
        where = f"record {index}"
        if isinstance(record, dict) and "instruction" in record:
            yield _from_instruction(record, path, where, split)
        else:
            yield _from_cot(record, path, where, split)


def _dialogue(
    sample_id: Any,
    split: str,
    history: list[Utterance],
    response: str,
    raw_strategy: str | None,
    cot: dict[str, Any],
    path: Path,
) -> Dialogue:
    strategy = normalize_strategy(raw_strategy, "esconv") if raw_strategy else None
    meta: dict[str, Any] = {"target": True}
    if raw_strategy and raw_strategy != strategy:
        meta["raw_strategy"] = raw_strategy
    target = Utterance(speaker="supporter", text=response.strip(), strategy=strategy, meta=meta)
    return Dialogue(
        id=f"esdcot-{sample_id}",
        dataset="esd-cot",
        split=split,
        taxonomy="esconv",
        utterances=[*history, target],
        meta={"cot": cot, "source": path.name},
    )


def _from_cot(record: Any, path: Path, where: str, split: str) -> Dialogue:
    sample_id = require(record, "id", (int, str), path, where)
    original = require(record, "original_data", dict, path, where)
    cot = require(record, "cot_data", dict, path, where)
    history = []
    for i, turn in enumerate(require(original, "dialog", list, path, where, "original_data.")):
        prefix = f"original_data.dialog[{i}]."
        speaker = require(turn, "speaker", str, path, where, prefix)
        if speaker not in ("seeker", "supporter"):
            raise DataFormatError(path, where, f"{prefix}speaker", f"unknown speaker {speaker!r}")
        history.append(
            Utterance(
                speaker=speaker, text=require(turn, "content", str, path, where, prefix).strip()
            )
        )
    raw = require(original, "strategy", str, path, where, "original_data.")
    if esd_strategy(raw) is None:
        raise DataFormatError(
            path, where, "original_data.strategy", f"unknown ESD-CoT strategy {raw!r}"
        )
    fields = (
        "emotion",
        "emotion_stimuli",
        "individual_appraisal",
        "recognized_strategy",
        "strategy_reason",
    )
    chain = {name: require(cot, name, str, path, where, "cot_data.") for name in fields}
    response = require(original, "response", str, path, where, "original_data.")
    return _dialogue(sample_id, split, history, response, esd_strategy(raw), chain, path)


def _from_instruction(record: dict[str, Any], path: Path, where: str, split: str) -> Dialogue:
    sample_id = require(record, "dialog_id", (int, str), path, where)
    history = []
    for number, line in enumerate(require(record, "input", str, path, where).splitlines()):
        match = _TURN.match(line)
        if match is None:
            raise DataFormatError(
                path,
                where,
                "input",
                f"line {number + 1} does not start with 'seeker:' or 'supporter:'",
            )
        history.append(Utterance(speaker=match.group(1), text=match.group(2).strip()))
    output = require(record, "output", str, path, where)
    parts = _SECTIONS.split(output)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    for name in ("Emotion", "Strategy Reason", "Response"):
        if name not in sections:
            raise DataFormatError(path, where, "output", f"no '{name}:' section")
    reason = sections["Strategy Reason"]
    raw = next((s for s in map(esd_strategy, _QUOTED.findall(reason)) if s), None)
    chain = {"emotion": sections["Emotion"], "strategy_reason": reason, "recognized_strategy": raw}
    return _dialogue(sample_id, split, history, sections["Response"], raw, chain, path)

"""ESC-Eval role cards (Zhao et al., 2024): seeker personas for simulated-seeker evaluation.

A card's `base` is "Age: ...\\nGender: ...\\nOccupation: ...\\nProblem: ..." (English) or
"年龄：...\\n性别：...\\n职业：...\\n问题：..." (Chinese). The parsed fields are None when the card
says the value is not mentioned; `text` keeps the card as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from heartline.datasets._io import read_json_list, require
from heartline.datasets.records import RoleCard
from heartline.errors import DataFormatError

FIELDS: dict[str, str] = {
    "age": "age",
    "gender": "gender",
    "occupation": "occupation",
    "problem": "problem",
    "年龄": "age",
    "性别": "gender",
    "职业": "occupation",
    "问题": "problem",
}
NOT_MENTIONED = {"not mentioned", "未提及", "unknown", "n/a", ""}
_FIELD = re.compile(
    r"^\s*(Age|Gender|Occupation|Problem|年龄|性别|职业|问题)\s*[:：]", re.IGNORECASE | re.MULTILINE
)


def parse_card_text(text: str) -> dict[str, str | None]:
    """The age, gender, occupation and problem of a card's `base` text (None when not mentioned)."""
    marks = list(_FIELD.finditer(text))
    parsed: dict[str, str | None] = {}
    for mark, following in zip(marks, [*marks[1:], None]):
        value = text[mark.end() : following.start() if following else len(text)].strip()
        parsed[FIELDS[mark.group(1).lower()]] = None if value.lower() in NOT_MENTIONED else value
    return parsed


def card_files(directory: Path) -> list[Path]:
    """The role-card files of a directory (`card_*.json`)."""
    return sorted(directory.glob("card*.json"))


def read_role_cards(path: str | Path) -> Iterator[RoleCard]:
    """Role cards from an ESC-Eval card file, or every card file of a directory."""
    path = Path(path)
    if path.is_dir():
        for file in card_files(path):
            yield from read_role_cards(file)
        return
    for index, record in enumerate(read_json_list(path)):
        where = f"record {index}"
        text = require(record, "base", str, path, where)
        fields = parse_card_text(text)
        if "problem" not in fields:
            raise DataFormatError(path, where, "base", "no 'Problem:' (问题：) line in the card")
        card_id = require(record, "id", (int, str), path, where)
        yield RoleCard(
            id=str(card_id),
            source=str(record.get("source", "")),
            language=str(record.get("language", "")),
            category=record.get("res"),
            text=text,
            **fields,
            meta={"base_zh": record["base_biaozhu"]} if "base_biaozhu" in record else {},
        )

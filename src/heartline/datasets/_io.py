"""File-reading helpers shared by the readers: every failure becomes a DataFormatError that
names the file, the line or record, and the field."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from heartline.errors import DataFormatError, HeartlineError

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), falling back to Windows-1252."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HeartlineError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise DataFormatError(
                path, f"byte {exc.start}", None, "not UTF-8 or Windows-1252 text"
            ) from exc
        log.warning("%s is not UTF-8; read it as Windows-1252", path)
        return text


def read_json(path: Path) -> Any:
    """Parse a whole JSON file."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"line {exc.lineno}", None, f"invalid JSON: {exc.msg}") from exc


def read_json_list(path: Path) -> list[Any]:
    """A JSON file whose top level must be a list of records."""
    data = read_json(path)
    if not isinstance(data, list):
        raise DataFormatError(
            path, "top level", None, f"expected a list of records, found {type(data).__name__}"
        )
    return data


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON-lines file."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, f"line {number}", None, f"invalid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise DataFormatError(path, f"line {number}", None, "not a JSON object")
        yield number, obj


def iter_csv(
    path: Path, required: tuple[str, ...], delimiter: str = ","
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each CSV row, after checking that the header has `required`."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    header = reader.fieldnames or []
    missing = [name for name in required if name not in header]
    if missing:
        raise DataFormatError(
            path,
            "line 1 (header)",
            missing[0],
            f"missing column(s) {missing}; found {header}",
        )
    for row in reader:
        if None in row or any(row[name] is None for name in required):
            raise DataFormatError(path, f"line {reader.line_num}", None, "wrong number of columns")
        yield reader.line_num, row


def require(
    record: Mapping[str, Any],
    field: str,
    kind: type | tuple[type, ...],
    path: Path,
    where: str,
    prefix: str = "",
) -> Any:
    """`record[field]`, checked to exist and to be of `kind`."""
    name = f"{prefix}{field}"
    if not isinstance(record, Mapping):
        raise DataFormatError(path, where, prefix.rstrip(".") or None, "expected a JSON object")
    if field not in record:
        raise DataFormatError(path, where, name, "missing")
    value = record[field]
    if not isinstance(value, kind):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise DataFormatError(
            path, where, name, f"expected {expected}, found {type(value).__name__}"
        )
    return value


def optional(
    record: Mapping[str, Any],
    field: str,
    kind: type,
    path: Path,
    where: str,
    prefix: str = "",
) -> Any:
    """`record[field]` checked to be of `kind`, or None when absent or null."""
    if record.get(field) is None:
        return None
    return require(record, field, kind, path, where, prefix)


# Mojibake: UTF-8 bytes that were decoded as Windows-1252 ("â€™" for "’", "Ã©" for "é"), and
# Windows-1252 bytes decoded as Latin-1 (C1 control characters such as "\x92" for "’").
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][\u0080-\u00bf{_CP1252_HIGH}]{{1,3}}")
_C1 = re.compile("[\u0080-\u009f]")


def _undo_cp1252(match: re.Match[str]) -> str:
    chunk = match.group(0)
    raw = bytearray()
    for ch in chunk:
        try:
            raw += ch.encode("cp1252")
        except UnicodeEncodeError:
            raw.append(ord(ch))  # bytes cp1252 leaves undefined were passed through as Latin-1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return chunk


def _c1_to_cp1252(match: re.Match[str]) -> str:
    try:
        return bytes([ord(match.group(0))]).decode("cp1252")
    except UnicodeDecodeError:
        return match.group(0)


def fix_mojibake(text: str) -> str:
    """Repair the encoding damage common in MELD-like CSVs; clean text is returned unchanged."""
    if not text.isascii():
        text = _MOJIBAKE.sub(_undo_cp1252, text)
        text = _C1.sub(_c1_to_cp1252, text)
    return text


_SPLIT_SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"valid", "val", "dev", "validation"}),
    frozenset({"test", "testing"}),
    frozenset({"train", "training"}),
)
_SPLIT_ORDER = ("train", "valid", "val", "dev", "test")


def choose_splits(
    directory: Path, available: dict[str, Path], split: str | None
) -> list[tuple[str, Path]]:
    """The (split, file) pairs of a dataset directory to read: the one asked for (synonyms such as
    valid/val/dev accepted), or all of them in train, valid, test order when `split` is None."""
    if not available:
        raise HeartlineError(
            f"no dataset files found in {directory}", hint="point to the dataset's folder or file"
        )
    if split is None:
        rank = {name: i for i, name in enumerate(_SPLIT_ORDER)}
        return sorted(available.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))
    wanted = split.lower()
    names = next((group for group in _SPLIT_SYNONYMS if wanted in group), frozenset({wanted}))
    for name, path in available.items():
        if name in names:
            return [(name, path)]
    raise HeartlineError(
        f"no split '{split}' in {directory}",
        hint=f"available splits: {', '.join(sorted(available))}",
    )

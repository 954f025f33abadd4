"""Labelled messages and replies: the crisis classifier's training data and every audit set.

One scheme for all of them (docs/safety-labels.md): a JSONL line per message with `text`, an
optional `history` (earlier turns, oldest first, `{"role": "person" | "supporter", "text"}`),
`level`, `category`, `whose` and `lang`. The built-in corpus (`safety/corpus/*.jsonl`) holds
the phrasings of earlier rounds (`legacy.jsonl`), sets written by independent authors for
training, mined hard negatives reviewed by hand, and labelled model replies for the reply
screen (`replies_*.jsonl`). Held-out rounds live outside the package (tests/data/safety).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from heartline.errors import HeartlineError

Role = Literal["person", "supporter"]
LEVELS: tuple[str, ...] = ("none", "elevated", "crisis")
CATEGORIES: tuple[str, ...] = ("suicide", "self_harm", "overdose", "harm_to_others", "abuse", "danger")
"""Risk categories, most urgent first (the order protocol replies acknowledge them in)."""
WHOSE: tuple[str, ...] = ("self", "other", "child")
LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "it")
REPLY_CATEGORIES: tuple[str, ...] = ("method", "lethal_dose", "encouragement", "harm_others", "minor_sexual",
                                     "eating_disorder")
MAX_LINE_CHARS = 100_000


@dataclass(frozen=True)
class Said:
    """One earlier turn of the conversation; for the person's turns, the gate's verdict on it
    when known (a stored turn's level), so that it need not be judged again."""

    role: Role
    text: str
    level: str | None = None


@dataclass(frozen=True)
class LabelledMessage:
    """A person's message with its context and, when labelled, its risk."""

    text: str
    history: tuple[Said, ...] = ()
    level: str | None = None
    category: str | None = None
    whose: str | None = None
    lang: str = "en"
    source: str = ""


@dataclass(frozen=True)
class LabelledReply:
    """A model reply (or a sentence of one) and whether the reply screen must block it."""

    text: str
    harmful: bool
    category: str | None = None
    source: str = ""


@dataclass
class Corpus:
    messages: list[LabelledMessage] = field(default_factory=list)
    replies: list[LabelledReply] = field(default_factory=list)


def parse_history(value: object, where: str) -> tuple[Said, ...]:
    """A `history` field: a list of {"role", "text"} objects, or of strings (the person's)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise HeartlineError(f"{where}: history must be a list")
    turns = []
    for item in value:
        if isinstance(item, str):
            turns.append(Said("person", item))
        elif isinstance(item, dict) and item.get("role") in ("person", "supporter") and isinstance(item.get("text"), str):
            turns.append(Said(item["role"], item["text"]))
        else:
            raise HeartlineError(f"{where}: a history turn must be a string or {{\"role\": \"person\"|\"supporter\", \"text\": ...}}")
    return tuple(turns)


def message_from_json(data: object, where: str) -> LabelledMessage:
    """Validate one JSON object as a (possibly unlabelled) message."""
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise HeartlineError(f"{where}: expected an object with a string 'text'")
    level, category, whose = data.get("level"), data.get("category"), data.get("whose")
    if level is not None and level not in LEVELS:
        raise HeartlineError(f"{where}: level {level!r} is not one of {', '.join(LEVELS)}")
    if category is not None and category not in CATEGORIES:
        raise HeartlineError(f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if whose is not None and whose not in WHOSE:
        raise HeartlineError(f"{where}: whose {whose!r} is not one of {', '.join(WHOSE)}")
    return LabelledMessage(text=data["text"], history=parse_history(data.get("history"), where), level=level,
                           category=category if level != "none" else None,
                           whose=whose if level != "none" else None, lang=str(data.get("lang") or "en"),
                           source=str(data.get("source") or data.get("style") or ""))


def reply_from_json(data: object, where: str) -> LabelledReply:
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not isinstance(data.get("harmful"), bool):
        raise HeartlineError(f"{where}: expected an object with a string 'text' and a boolean 'harmful'")
    category = data.get("category") if data["harmful"] else None
    return LabelledReply(text=data["text"], harmful=data["harmful"], category=category,
                         source=str(data.get("source") or data.get("style") or ""))


def read_lines(lines: Iterable[str], where: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON or the raw text) of each non-blank line: JSONL or plain text."""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        if len(stripped) > MAX_LINE_CHARS:
            stripped = stripped[:MAX_LINE_CHARS]
        if stripped.startswith("{"):
            try:
                yield number, json.loads(stripped)
                continue
            except json.JSONDecodeError as exc:
                raise HeartlineError(f"{where}:{number}: not valid JSON ({exc.msg})",
                                     hint="one JSON object per line, or one plain message per line") from None
        yield number, {"text": stripped}


def read_messages(path: Path) -> list[LabelledMessage]:
    """Messages of a JSONL or plain-text file (undecodable bytes become U+FFFD, nothing is dropped)."""
    text = _read(path)
    return [message_from_json(data, f"{path}:{n}") for n, data in read_lines(text.splitlines(), str(path))]


def read_replies(path: Path) -> list[LabelledReply]:
    text = _read(path)
    return [reply_from_json(data, f"{path}:{n}") for n, data in read_lines(text.splitlines(), str(path))]


def _read(path: Path) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise HeartlineError(f"cannot read {path}: {exc.strerror or exc}") from None


def builtin_corpus() -> Corpus:
    """Every labelled file shipped in `heartline/safety/corpus/`."""
    corpus = Corpus()
    folder = resources.files(__package__).joinpath("corpus")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".jsonl"):
            continue
        lines = entry.read_text(encoding="utf-8").splitlines()
        where = f"heartline/safety/corpus/{entry.name}"
        stem = entry.name.removesuffix(".jsonl")
        for n, data in read_lines(lines, where):
            if entry.name.startswith("replies_"):
                reply = reply_from_json(data, f"{where}:{n}")
                corpus.replies.append(LabelledReply(reply.text, reply.harmful, reply.category, stem))
            else:
                message = message_from_json(data, f"{where}:{n}")
                corpus.messages.append(LabelledMessage(message.text, message.history, message.level,
                                                       message.category, message.whose, message.lang,
                                                       f"{stem}:{message.source}" if message.source else stem))
    return corpus

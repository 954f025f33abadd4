"""Errors that tell the user what went wrong and what to do about it."""

from __future__ import annotations


class HeartlineError(Exception):
    """Base error; `hint` says what the user can do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n  hint: {self.hint}" if self.hint else base


class DataFormatError(HeartlineError):
    """A dataset file is malformed: names the file, the line or record, and the field."""

    def __init__(self, path: object, where: str, field: str | None, problem: str) -> None:
        location = f"{path}, {where}" + (f", field '{field}'" if field else "")
        super().__init__(f"{location}: {problem}")
        self.path = path
        self.where = where
        self.field = field


class ModelError(HeartlineError):
    """A model could not be found, fetched, verified or loaded."""


class BackendError(HeartlineError):
    """An LLM backend failed: unreachable, too slow, or returned garbage."""


class MediaError(HeartlineError):
    """A media file is unreadable, corrupt, of an unsupported format or too large."""


class ConfigError(HeartlineError):
    """The configuration (TOML file, HEARTLINE_* variables or options) is malformed or out of range."""

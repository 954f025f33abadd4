"""Dataset records that are not dialogues: role cards (ESC-Eval) and labelled media samples
(RAVDESS voices, FER2013 faces)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from heartline.schema import Record


class RoleCard(Record):
    """An ESC-Eval seeker persona that drives a simulated seeker."""

    id: str
    source: str
    """The corpus the card was drawn from (ESconv, ExTES, PsyQA, ...)."""
    language: str
    category: str | None = None
    """ESC-Eval's topic category ('res'), e.g. 家庭生活 (family life)."""
    age: str | None = None
    gender: str | None = None
    occupation: str | None = None
    problem: str | None = None
    """The parsed fields are None when the card says 'Not mentioned' (未提及)."""
    text: str
    """The card as written (ESC-Eval's `base`)."""
    meta: dict[str, Any] = Field(default_factory=dict)


class MediaSample(Record):
    """One labelled audio clip or image, for batch evaluation of the voice and face paths."""

    id: str
    dataset: str
    kind: Literal["audio", "image"]
    path: Path
    emotion: str | None
    """Canonical emotion."""
    raw_emotion: str
    split: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

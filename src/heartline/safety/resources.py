"""Crisis resources per locale and the protocol wording: built-in table plus a user file.

The built-in table is `resources.toml` in this package. `SafetySettings.resources_file`
(TOML or JSON of the same shape) is merged over it: tables merge key by key, lists replace,
new locales are added. Unknown locales get the international default, which tells people to
call their local emergency services.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from heartline.errors import HeartlineError

DEFAULT_KEY = "intl"
"""Protocol suffix for locales without their own entry (e.g. 'crisis/intl')."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resource(_Strict):
    """One help line or service."""

    name: str
    contact: str
    """How to reach it: 'call or text 988', 'findahelpline.com'."""
    detail: str = ""

    def line(self) -> str:
        return f"{self.name}: {self.contact}" + (f" ({self.detail})" if self.detail else "")


class LocaleResources(_Strict):
    """What to offer people in one locale."""

    label: str
    emergency: str = ""
    """The emergency number(s); empty means 'your local emergency services'."""
    crisis: list[Resource] = Field(min_length=1)
    categories: dict[str, list[Resource]] = Field(default_factory=dict)
    """Extra lines listed when a category was detected (abuse, overdose, ...)."""
    child: list[Resource] = Field(default_factory=list)
    """Extra lines listed when a child is at risk (for young people, and adults worried about one)."""


class Voice(_Strict):
    """How the protocol speaks, for one kind of whose-risk (self, other, child)."""

    safety: str
    emergency_known: str
    emergency_unknown: str
    closing: str
    acknowledge: dict[str, str]
    advice: dict[str, str] = Field(default_factory=dict)


class Messages(_Strict):
    """The wording of the protocol reply in one language."""

    opening: str
    follow_up: str
    resources_intro: str
    voices: dict[str, Voice]

    @field_validator("voices")
    @classmethod
    def _all_voices(cls, voices: dict[str, Voice]) -> dict[str, Voice]:
        missing = {"self", "other", "child"} - set(voices)
        if missing:
            raise ValueError(f"voices lacks {', '.join(sorted(missing))}")
        return voices


class ResourceTable(_Strict):
    """All locales, the international default and the wording."""

    default: LocaleResources
    locales: dict[str, LocaleResources] = Field(default_factory=dict)
    messages: dict[str, Messages]
    """By language code; English ('en') is required and serves languages without their own."""

    @field_validator("messages")
    @classmethod
    def _has_english(cls, messages: dict[str, Messages]) -> dict[str, Messages]:
        if "en" not in messages:
            raise ValueError("messages.en is required")
        return messages

    def wording(self, language: str | None) -> tuple[str, Messages]:
        """The language code used and its wording: `language`'s own, else English."""
        key = language if language in self.messages else "en"
        return key, self.messages[key]

    def resolve(self, locale: str) -> tuple[str, LocaleResources]:
        """The table key and resources for `locale` ('en_us' finds 'en-US'); default if unknown.

        Only an exact language-region match counts: help lines are per country, so 'de-AT'
        does not get Germany's numbers, it gets the international default.
        """
        key = canonical_locale(locale)
        if key in self.locales:
            return key, self.locales[key]
        return DEFAULT_KEY, self.default


def canonical_locale(locale: str) -> str:
    """'en_us', 'EN-us' -> 'en-US'."""
    parts = locale.strip().replace("_", "-").split("-")
    if len(parts) >= 2:
        return "-".join([parts[0].lower(), parts[1].upper(), *parts[2:]])
    return parts[0].lower()


def load_resources(override: Path | None = None) -> ResourceTable:
    """The built-in table, with `override` (TOML or JSON) merged over it when given."""
    data = tomllib.loads(resources.files(__package__).joinpath("resources.toml").read_text("utf-8"))
    if override is not None:
        data = _merge(data, _canonical_keys(_read(Path(override))))
    data = _canonical_keys(data)
    try:
        return ResourceTable.model_validate(data)
    except ValidationError as exc:
        where = f"crisis resources file {override}" if override else "built-in crisis resources"
        raise HeartlineError(f"{where} is invalid: {exc}",
                             hint="see heartline/safety/resources.toml for the expected shape") from exc


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise HeartlineError(f"cannot read crisis resources file {path}: {exc}",
                             hint="fix safety.resources_file in your config, or unset it") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise HeartlineError(f"crisis resources file {path} is not valid {kind}: {exc}",
                             hint="name a .json file for JSON; anything else is read as TOML") from exc
    if not isinstance(data, dict):
        raise HeartlineError(f"crisis resources file {path} must hold a table at the top level",
                             hint="see heartline/safety/resources.toml for the expected shape")
    return data


def _canonical_keys(data: dict[str, Any]) -> dict[str, Any]:
    locales = data.get("locales")
    if isinstance(locales, dict):
        data = {**data, "locales": {canonical_locale(k): v for k, v in locales.items()}}
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged

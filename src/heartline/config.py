"""One typed configuration: stage choices, model names, paths.

Sources, highest priority first: explicit keyword arguments, `HEARTLINE_*` environment
variables (nested with `__`, e.g. `HEARTLINE_LLM__BACKEND=openai`), a TOML file
(`HEARTLINE_CONFIG`, default `~/.config/heartline/config.toml`), then the defaults below.

Every value is checked: out-of-range numbers, unknown names (a typo in a key) and malformed
TOML or environment values raise `ConfigError`, one plain line naming the setting, the value
and where to fix it.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_dir, user_config_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.exceptions import SettingsError

from heartline.errors import ConfigError

log = logging.getLogger(__name__)

MIN_CONTEXT = 2048
"""The reply prompt's fixed part (examples, a long message, the guidance note, the reply) takes
about 1,500 tokens; a smaller context would turn every turn into a fallback."""
_STRICT = ConfigDict(extra="forbid")


def default_config_file() -> Path:
    return Path(os.environ.get("HEARTLINE_CONFIG", Path(user_config_dir("heartline")) / "config.toml"))


class LLMSettings(BaseModel):
    model_config = _STRICT

    backend: Literal["llama", "openai"] = "llama"
    """`llama`: llama.cpp in-process (xllamacpp); `openai`: any OpenAI-compatible server."""
    model: str = "smollm2-135m"
    """A catalogue name, a path to a GGUF file, or the model name the server expects."""
    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: str | None = None
    n_ctx: int = Field(4096, ge=MIN_CONTEXT, le=1_048_576)
    """Context window in tokens (at least 2048)."""
    max_tokens: int = Field(48, ge=1)
    """Reply length cap in tokens: one or two short sentences (a cut-off last sentence is dropped)."""
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    seed: int = 0
    threads: int = Field(0, ge=0)
    """CPU threads for the in-process backend; 0 means all cores."""
    timeout_s: float = Field(60.0, gt=0.0)
    """Give up on a backend call after this long and use the fallback reply."""
    first_token_timeout_s: float = Field(20.0, gt=0.0)
    """Give up when no text has come this long after the request (prompt processing included)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:8080/v1")
        return value

    @model_validator(mode="after")
    def _room_for_the_prompt(self) -> LLMSettings:
        if self.max_tokens > self.n_ctx // 2:
            raise ValueError(f"max_tokens ({self.max_tokens}) must be at most half of n_ctx ({self.n_ctx}), "
                             "to leave room for the prompt")
        return self


class PlannerSettings(BaseModel):
    model_config = _STRICT

    method: Literal["llm", "trained"] = "trained"
    """`trained`: the shipped small heads choose emotion, strategy and tone; `llm`: the LLM does."""
    taxonomy: Literal["esconv", "mesc"] = "esconv"
    bias: Literal["none", "prior", "match", "f1"] | None = None
    """The strategy head's preference-bias control; unset keeps the one its training chose on valid."""
    bias_alpha: float | None = Field(None, ge=0.0)
    """Prior-correction strength when `bias` is 'prior'."""


class SafetySettings(BaseModel):
    model_config = _STRICT

    locale: str = "en-US"
    resources_file: Path | None = None
    """A TOML/JSON file with per-locale crisis resources overriding the built-in ones."""


class MemorySettings(BaseModel):
    model_config = _STRICT

    max_history_turns: int = Field(12, ge=0)
    """At most this many past exchanges go into a prompt (fewer when the context is tight)."""
    reply_reserve_tokens: int = Field(256, ge=1)


class PerceptionSettings(BaseModel):
    model_config = _STRICT

    voice: bool = True
    """Read emotion, prosody and (when nothing is typed) words from audio."""
    face: bool = True
    """Read facial expression from video and images."""
    asr_model: str = "whisper-base"
    """A catalogue name or a faster-whisper (CTranslate2) model directory."""
    language: str | None = "en"
    """Spoken language for speech recognition; None lets Whisper detect it."""
    asr_threads: int = Field(0, ge=0)
    """CPU threads for speech recognition; 0 means all cores."""
    voice_model: Path | None = None
    """A voice-emotion model directory; default: the one shipped in the package."""
    face_fps: float = Field(4.0, gt=0.0, le=60.0)
    """Video frames read per second for facial expression."""
    max_media_seconds: float = Field(300.0, gt=0.0)
    max_media_bytes: int = Field(100_000_000, gt=0)
    fusion_weights: dict[Literal["text", "voice", "face"], float] | None = None
    """Reliability weight per modality (text, voice, face); default: the shipped ones."""

    @field_validator("fusion_weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and any(not 0.0 <= w < float("inf") for w in value.values()):
            raise ValueError("weights must be finite and at least 0")
        return value


class Settings(BaseSettings):
    """All of heartline's settings."""

    model_config = SettingsConfigDict(
        env_prefix="HEARTLINE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = Field(default_factory=lambda: Path(user_cache_dir("heartline")))
    """Cache for fetched models and the default session database."""
    store_url: str | None = None
    """SQLAlchemy URL of the session store; default: SQLite at HOME/sessions.db."""
    pypi_index: str = "https://pypi.org/simple"
    """PEP 691 simple index used to fetch model packages."""
    llm: LLMSettings = Field(default_factory=LLMSettings)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    perception: PerceptionSettings = Field(default_factory=PerceptionSettings)

    def __init__(self, **values: Any) -> None:
        """The settings from every source; ConfigError (one plain line) when any is malformed."""
        config_file = default_config_file()
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc, config_file) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"the config file {_shown(config_file, 500)} is not valid TOML: {exc}",
                              hint="fix the file (TOML, UTF-8), or point HEARTLINE_CONFIG at another one") from exc
        except SettingsError as exc:
            raise ConfigError(f"cannot read the settings: {exc}",
                              hint="check the HEARTLINE_* environment variables (a nested value must be JSON)") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read the config file {_shown(config_file, 500)}: {exc.strerror or exc}",
                              hint="fix its permissions, or point HEARTLINE_CONFIG at another file") from exc
        _warn_about_near_misses()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=default_config_file())
        return (init_settings, env_settings, toml)

    def updated(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some values of the named sections replaced (e.g. `llm={"backend": "openai"}`),
        validated like every other source: ConfigError when a value is out of range."""
        changes: dict[str, BaseModel] = {}
        for name, values in sections.items():
            model = SECTIONS[name]
            try:
                changes[name] = model.model_validate({**getattr(self, name).model_dump(), **values})
            except ValidationError as exc:
                raise ConfigError(
                    f"invalid settings: {'; '.join(problems(exc, prefix=name))}",
                    hint="check the command-line options (see `heartline COMMAND --help`)",
                ) from exc
        return self.model_copy(update=changes)

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def session_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home / 'sessions.db'}"


NOT_SETTINGS = {"CONFIG", "DEBUG"}
"""HEARTLINE_* variables that are not settings (unknown top-level variables are ignored, since
other tools share the prefix; one that looks like a misspelt setting is warned about)."""


_warned: set[str] = set()


def _warn_about_near_misses() -> None:
    """Warn (once per process) about HEARTLINE_* variables that look like a misspelt setting."""
    fields = [name.upper() for name in Settings.model_fields]
    for key in os.environ:
        name = key.upper().removeprefix("HEARTLINE_")
        if (not key.upper().startswith("HEARTLINE_") or "__" in name or name in fields or name in NOT_SETTINGS
                or key in _warned):
            continue
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.75)
        if close:
            _warned.add(key)
            log.warning("unknown setting %s is ignored (did you mean HEARTLINE_%s?)", key, close[0])


SECTIONS: dict[str, type[BaseModel]] = {
    "llm": LLMSettings,
    "planner": PlannerSettings,
    "safety": SafetySettings,
    "memory": MemorySettings,
    "perception": PerceptionSettings,
}


def _shown(value: object, limit: int = 60) -> str:
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _known_names(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = SECTIONS.get(str(loc[0]), Settings) if len(loc) > 1 else Settings
    return list(model.model_fields)


def problems(exc: ValidationError, prefix: str | None = None) -> list[str]:
    """Each validation error as `setting = value: what is wrong`, unknown names with a suggestion
    (`prefix`: the section the validated values belong to)."""
    found = []
    for error in exc.errors():
        loc = ((prefix,) if prefix else ()) + tuple(error["loc"])
        key = ".".join(str(part) for part in loc if part != "[key]") or "settings"
        if error["type"] == "extra_forbidden":
            known = _known_names(loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            suggestion = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
            found.append(f"unknown setting '{_shown(key)}' ({suggestion})")
            continue
        message = error["msg"].removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        value = error.get("input")
        shown_value = "" if isinstance(value, dict) or value is None else f" = {_shown(repr(value))}"
        found.append(f"{_shown(key)}{shown_value}: {message}")
    return found


def config_error(exc: ValidationError, config_file: Path | None = None) -> ConfigError:
    """A ValidationError of the settings as one plain line, and where to fix it."""
    found = problems(exc)
    first = next((tuple(e["loc"]) for e in exc.errors() if e["loc"]), ())
    names = [str(part) for part in first if isinstance(part, str) and part != "[key]"][:2]
    env = "HEARTLINE_" + "__".join(name.upper() for name in names)
    if names and env in {key.upper() for key in os.environ}:
        hint = f"fix the environment variable {env}"
    elif names and config_file is not None and config_file.is_file():
        where = f"[{names[0]}] {names[1]}" if len(names) == 2 and names[0] in SECTIONS else names[0]
        hint = f"fix {where} in {_shown(config_file, 500)}"
    else:
        hint = "fix the value given on the command line (see README, Configuration, for the settings)"
    return ConfigError(f"invalid settings: {'; '.join(found)}", hint=hint)

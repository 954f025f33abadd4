"""One typed configuration: stage choices, model names, paths.

Sources, highest priority first: explicit keyword arguments, `HEARTLINE_*` environment
variables (nested with `__`, e.g. `HEARTLINE_LLM__BACKEND=openai`), a TOML file
(`HEARTLINE_CONFIG`, default `~/.config/heartline/config.toml`), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_config_dir
from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_config_file() -> Path:
    return Path(os.environ.get("HEARTLINE_CONFIG", Path(user_config_dir("heartline")) / "config.toml"))


class LLMSettings(BaseModel):
    backend: Literal["llama", "openai"] = "llama"
    """`llama`: llama.cpp in-process (xllamacpp); `openai`: any OpenAI-compatible server."""
    model: str = "smollm2-135m"
    """A catalogue name, a path to a GGUF file, or the model name the server expects."""
    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: str | None = None
    n_ctx: int = 4096
    max_tokens: int = 48
    """Reply length cap in tokens: one or two short sentences (a cut-off last sentence is dropped)."""
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0
    threads: int = 0
    """CPU threads for the in-process backend; 0 means all cores."""
    timeout_s: float = 60.0
    """Give up on a backend call after this long and use the fallback reply."""
    first_token_timeout_s: float = 20.0


class PlannerSettings(BaseModel):
    method: Literal["llm", "trained"] = "trained"
    """`trained`: the shipped small heads choose emotion, strategy and tone; `llm`: the LLM does."""
    taxonomy: Literal["esconv", "mesc"] = "esconv"
    bias: Literal["none", "prior", "match", "f1"] | None = None
    """The strategy head's preference-bias control; unset keeps the one its training chose on valid."""
    bias_alpha: float | None = None
    """Prior-correction strength when `bias` is 'prior'."""


class SafetySettings(BaseModel):
    locale: str = "en-US"
    resources_file: Path | None = None
    """A TOML/JSON file with per-locale crisis resources overriding the built-in ones."""


class MemorySettings(BaseModel):
    max_history_turns: int = 12
    """At most this many past exchanges go into a prompt (fewer when the context is tight)."""
    reply_reserve_tokens: int = 256


class PerceptionSettings(BaseModel):
    voice: bool = True
    """Read emotion, prosody and (when nothing is typed) words from audio."""
    face: bool = True
    """Read facial expression from video and images."""
    asr_model: str = "whisper-base"
    """A catalogue name or a faster-whisper (CTranslate2) model directory."""
    language: str | None = "en"
    """Spoken language for speech recognition; None lets Whisper detect it."""
    asr_threads: int = 0
    """CPU threads for speech recognition; 0 means all cores."""
    voice_model: Path | None = None
    """A voice-emotion model directory; default: the one shipped in the package."""
    face_fps: float = 4.0
    """Video frames read per second for facial expression."""
    max_media_seconds: float = 300.0
    max_media_bytes: int = 100_000_000
    fusion_weights: dict[str, float] | None = None
    """Reliability weight per modality (text, voice, face); default: the shipped ones."""


class Settings(BaseSettings):
    """All of heartline's settings."""

    model_config = SettingsConfigDict(
        env_prefix="HEARTLINE_",
        env_nested_delimiter="__",
        extra="ignore",
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

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def session_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home / 'sessions.db'}"

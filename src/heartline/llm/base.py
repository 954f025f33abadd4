"""The one interface every LLM backend implements: chat messages in, streamed text out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal, TypedDict

from pydantic import BaseModel, Field

from heartline.schema import Timings


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationParams(BaseModel):
    """Sampling and limits for one generation."""

    max_tokens: int = 96
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int | None = 0
    stop: list[str] = Field(default_factory=list)
    json_schema: dict | None = None
    """Constrain the output to this JSON schema where the backend supports it."""
    avoid: list[str] = Field(default_factory=list)
    """Earlier replies not to copy: generation stops early (finish_reason 'copy') when it does."""
    timeout_s: float = 60.0
    """Whole-call deadline; the backend raises BackendError when it passes."""
    first_token_timeout_s: float | None = None
    """Deadline for the first generated text (prompt processing included); None: only `timeout_s`."""


class Generation(BaseModel):
    """The result of one generation."""

    text: str
    finish_reason: str | None = None
    timings: Timings = Field(default_factory=Timings)


TokenCallback = Callable[[str], None]
"""Receives each text delta as it is generated."""


class LLMBackend(ABC):
    """A chat model. Implementations raise `heartline.errors.BackendError` on any failure."""

    name: str
    """Backend kind, e.g. 'llama' or 'openai'."""
    model: str
    """The model identifier in use (catalogue name, file name or server model name)."""
    n_ctx: int
    """Context window in tokens."""
    first_token_timeout_s: float | None = None
    """The first-text deadline used when a call's params leave `first_token_timeout_s` unset
    (the configured `llm.first_token_timeout_s`)."""

    def deadlines(self, params: GenerationParams) -> GenerationParams:
        """`params` with this backend's first-token deadline filled in when the call gave none."""
        if params.first_token_timeout_s is None and self.first_token_timeout_s is not None:
            return params.model_copy(update={"first_token_timeout_s": self.first_token_timeout_s})
        return params

    @abstractmethod
    def generate(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        on_token: TokenCallback | None = None,
    ) -> Generation:
        """Generate a reply; stream deltas to `on_token` when given."""

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes. The default is a conservative estimate (3 characters a token)."""
        return len(text) // 3 + 1

    def close(self) -> None:
        """Release the model; the default does nothing."""

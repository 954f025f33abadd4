"""Build the configured LLM backend."""

from __future__ import annotations

import logging

from heartline.config import LLMSettings, Settings
from heartline.llm.base import LLMBackend

log = logging.getLogger(__name__)


def make_backend(
    llm: LLMSettings, settings: Settings | None = None, progress: bool = True
) -> LLMBackend:
    """The backend `llm` asks for.

    `llama`: `llm.model` is a catalogue name (fetched on first use, with a progress bar when
    `progress`), a GGUF path or an `hf:` spec; `openai`: `llm.model` is the name the server
    at `llm.base_url` expects.
    """
    if llm.backend == "openai":
        from heartline.llm.openai import OpenAIBackend

        return OpenAIBackend(llm.base_url, llm.model, api_key=llm.api_key, n_ctx=llm.n_ctx,
                             first_token_timeout_s=llm.first_token_timeout_s)
    from heartline.llm.llama import LlamaBackend
    from heartline.models import ensure

    path = ensure(llm.model, settings, progress=progress)
    verbose = logging.getLogger("heartline").isEnabledFor(logging.DEBUG)
    return LlamaBackend(
        path, model=llm.model, n_ctx=llm.n_ctx, threads=llm.threads, verbose=verbose,
        first_token_timeout_s=llm.first_token_timeout_s,
    )

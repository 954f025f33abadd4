"""llama.cpp in process (xllamacpp): the embedded default backend.

One model, one slot, the GGUF's own chat template. The slot keeps the KV cache of the last
prompt (`cache_prompt`), so the next turn of the same conversation only evaluates the new
tokens; `n_cache_reuse` also reuses chunks after the history was trimmed at the front.

Generation runs in a worker thread; the caller's thread receives the deltas, enforces the
deadlines and cancels the worker (the xllamacpp stream callback returns True) on a timeout or
when the output starts looping. A cancelled generation stops at its next token, but not
during prompt processing, so the next call first waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx

from heartline.cpu import auto_threads
from heartline.errors import BackendError
from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback
from heartline.llm.chunks import Emit, StreamAccumulator, chat_request, stream_with_deadline

log = logging.getLogger(__name__)

N_CACHE_REUSE = 64
"""Minimum chunk (tokens) llama.cpp tries to reuse from the cache by shifting the KV cache."""
TOKEN_COUNT_MEMORY = 4096
"""Texts whose token counts are remembered: a prompt re-counts the same history every turn."""


class LlamaBackend(LLMBackend):
    """A GGUF model run in process by llama.cpp."""

    name = "llama"

    def __init__(
        self,
        model_path: Path,
        model: str | None = None,
        n_ctx: int = 4096,
        threads: int = 0,
        verbose: bool = False,
        first_token_timeout_s: float | None = None,
    ) -> None:
        import xllamacpp

        self.first_token_timeout_s = first_token_timeout_s
        _check_gguf(model_path)
        self.model = model or model_path.name
        self.n_ctx = n_ctx
        self.path = model_path
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = n_ctx
        n_threads = threads or auto_threads()
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.n_parallel = 1
        params.cache_prompt = True
        params.n_cache_reuse = N_CACHE_REUSE
        params.verbosity = 1 if verbose else -1
        started = time.perf_counter()
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise BackendError(
                f"llama.cpp could not load {model_path}: {exc}",
                hint="check that the file is a complete GGUF model (`heartline models verify`) "
                "and that there is enough free memory",
            ) from exc
        log.info(
            "loaded %s in %.1f s (%d threads)",
            model_path.name,
            time.perf_counter() - started,
            n_threads,
        )
        self._local = httpx.Client(base_url=self._server.listening_address, timeout=10.0)
        self._busy = threading.Lock()
        self._worker: threading.Thread | None = None
        self._token_counts: dict[str, int] = {}

    def generate(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        on_token: TokenCallback | None = None,
    ) -> Generation:
        params = self.deadlines(params)
        acc = StreamAccumulator(self.name, avoid=params.avoid)
        request = chat_request(messages, params)
        request["cache_prompt"] = True

        def produce(emit: Emit) -> None:
            self._server.handle_chat_completions(request, emit)

        with self._busy:
            self._wait_for_previous(acc.started + params.timeout_s)
            self._worker = stream_with_deadline(
                produce, acc, on_token, params, f"llama.cpp ({self.model})"
            )
        if acc.stop:
            log.info("stopped %s early: the output %s", self.model,
                     "copied an earlier reply" if acc.guard.copied else "started looping")
        return acc.generation()

    def _wait_for_previous(self, deadline: float) -> None:
        """A cancelled generation stops at its next chunk; wait until it has."""
        if self._worker is not None and self._worker.is_alive():
            self._worker.join(timeout=max(0.0, deadline - time.perf_counter()))
            if self._worker.is_alive():
                raise BackendError(
                    "llama.cpp is still busy with a previous, cancelled request",
                    hint="raise llm.timeout_s or use a smaller model",
                )

    @property
    def server_url(self) -> str:
        """Loopback URL of the in-process llama.cpp HTTP server (OpenAI-compatible under /v1)."""
        return str(self._server.listening_address)

    def count_tokens(self, text: str) -> int:
        """Exact token count from the model's own tokenizer (llama.cpp's /tokenize, in process)."""
        if text in self._token_counts:
            return self._token_counts[text]
        try:
            response = self._local.post("/tokenize", json={"content": text})
            response.raise_for_status()
            count = len(response.json()["tokens"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            log.warning("tokenizing failed (%s); estimating instead", exc)
            return super().count_tokens(text)
        if len(self._token_counts) >= TOKEN_COUNT_MEMORY:
            self._token_counts.clear()
        self._token_counts[text] = count
        return count

    def close(self) -> None:
        if self._worker is not None:
            self._worker.join(timeout=30.0)
        self._local.close()
        self._server = None  # type: ignore[assignment]  # drops the model and the llama.cpp threads


def _check_gguf(path: Path) -> None:
    if path.is_dir():
        raise BackendError(
            f"{path} is a directory; the llama backend needs a .gguf file",
            hint="name the file, e.g. hf:ORG/REPO:model.Q4_K_M.gguf or /path/to/model.gguf",
        )
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise BackendError(f"cannot read model file {path}: {exc}") from exc
    if magic != b"GGUF":
        raise BackendError(
            f"{path} is not a GGUF model file",
            hint="the llama backend needs a .gguf file; for a server use llm.backend = 'openai'",
        )

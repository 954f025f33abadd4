"""Sentence embeddings: a NumPy BERT forward pass over all-MiniLM-L6-v2, no torch needed.

`MiniLMEmbedder` reproduces sentence-transformers' pipeline for this model exactly: the
model's own WordPiece tokenizer (`tokenizers`), the 6-layer BERT encoder, mean pooling over
real tokens, L2 normalisation. `CachedEmbedder` wraps any `Embedder` with an on-disk cache
(append-only npz shards keyed by a hash of the text), so training re-uses its embeddings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.special import erf
from threadpoolctl import ThreadpoolController

from heartline.cpu import auto_threads
from heartline.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-minilm-l6-v2"
DEFAULT_MAX_TOKENS = 128
"""Word pieces kept per text (incl. [CLS]/[SEP]). The model was trained with 128."""

Progress = Callable[[int], None]
"""Called with the number of texts just finished."""


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors, one row per text."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray: ...


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's `hidden_act: gelu`."""
    return 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))


class _BertLayer:
    """One encoder layer, weights pre-transposed for `x @ W`."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str, eps: float) -> None:
        def get(name: str) -> np.ndarray:
            return w[f"{prefix}.{name}"]

        self.qkv = np.concatenate(
            [get(f"attention.self.{n}.weight").T for n in ("query", "key", "value")], axis=1
        )
        self.qkv_b = np.concatenate([get(f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        self.out = np.ascontiguousarray(get("attention.output.dense.weight").T)
        self.out_b = get("attention.output.dense.bias")
        self.ln1 = (get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias"))
        self.up = np.ascontiguousarray(get("intermediate.dense.weight").T)
        self.up_b = get("intermediate.dense.bias")
        self.down = np.ascontiguousarray(get("output.dense.weight").T)
        self.down_b = get("output.dense.bias")
        self.ln2 = (get("output.LayerNorm.weight"), get("output.LayerNorm.bias"))
        self.eps = eps

    def __call__(self, x: np.ndarray, bias: np.ndarray, heads: int) -> np.ndarray:
        b, t, d = x.shape
        hd = d // heads
        qkv = (x.reshape(b * t, d) @ self.qkv + self.qkv_b).reshape(b, t, 3, heads, hd)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # b, h, t, hd
        scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / np.sqrt(hd)) + bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * t, d)
        h = x.reshape(b * t, d)
        h = _layer_norm(ctx @ self.out + self.out_b + h, *self.ln1, self.eps)
        f = _gelu(h @ self.up + self.up_b) @ self.down + self.down_b
        return _layer_norm(f + h, *self.ln2, self.eps).reshape(b, t, d)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (or any BERT sentence-transformer with mean pooling) in NumPy.

    `model_dir` holds `config.json`, `model.safetensors` and `tokenizer.json`. `threads` caps
    the BLAS threads while encoding (None: leave BLAS alone). `delta` is added to the named
    weights before use (a merged LoRA adapter: `heartline.finetuned`).
    """

    def __init__(self, model_dir: Path, max_tokens: int = DEFAULT_MAX_TOKENS,
                 name: str = DEFAULT_MODEL, threads: int | None = None,
                 delta: Mapping[str, np.ndarray] | None = None) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        missing = [f for f in ("config.json", "model.safetensors", "tokenizer.json")
                   if not (model_dir / f).is_file()]
        if missing:
            raise ModelError(f"{model_dir} lacks {', '.join(missing)}",
                             hint="point to a sentence-transformers model directory, or run "
                                  "`heartline models fetch all-minilm-l6-v2`")
        config = json.loads((model_dir / "config.json").read_text())
        if config.get("model_type") != "bert":
            raise ModelError(f"{model_dir}: model_type {config.get('model_type')!r} is not bert")
        w = {k: v.astype(np.float32, copy=False) for k, v in map_safetensors(model_dir / "model.safetensors").items()
             if not k.endswith("position_ids")}
        for key, value in (delta or {}).items():
            w[key] = w[key] + value
        self.name = name
        self.max_tokens = max_tokens
        self.threads = threads
        self._threadpool: ThreadpoolController | None = None
        self.dim = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        eps = float(config.get("layer_norm_eps", 1e-12))
        self._eps = eps
        self._word = w["embeddings.word_embeddings.weight"]
        self._pos = w["embeddings.position_embeddings.weight"]
        self._types = w["embeddings.token_type_embeddings.weight"]
        self._ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = [_BertLayer(w, f"encoder.layer.{i}", eps)
                        for i in range(int(config["num_hidden_layers"]))]
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        self._pieces = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._pieces.no_truncation()
        self._pieces.no_padding()
        ends = self._pieces.encode("", add_special_tokens=True).ids  # [CLS] [SEP] or <s> </s>
        self.cls_id, self.sep_id = ends[0], ends[-1]

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids per text without special tokens or truncation."""
        return [enc.ids for enc in self._pieces.encode_batch(list(texts), add_special_tokens=False)]

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids per text, with [CLS]/[SEP], truncated to `max_tokens`."""
        return [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]

    def pooled(self, ids: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """Mean-pooled last hidden states (not normalised) of word-piece id rows, with their
        token types (segment ids; all 0 when None)."""
        b, t = len(ids), max(len(x) for x in ids)
        tokens = np.zeros((b, t), dtype=np.int64)
        segments = np.zeros((b, t), dtype=np.int64)
        mask = np.zeros((b, t), dtype=np.float32)
        for i, row in enumerate(ids):
            tokens[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
            if types is not None:
                segments[i, : len(row)] = types[i]
        x = self._word[tokens] + self._pos[:t] + self._types[segments]
        x = _layer_norm(x, *self._ln, self._eps).astype(np.float32)
        bias = ((1.0 - mask) * np.float32(-1e4))[:, None, None, :]
        for layer in self._layers:
            x = layer(x, bias, self._heads)
        return (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        pooled = self.pooled(ids)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings; texts are batched by length to limit padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self.blas_threads():
            return self._encode(texts, batch_size, progress, out)

    def blas_threads(self) -> AbstractContextManager[object]:
        """A context that caps BLAS at `threads` (nothing when None)."""
        if self.threads is None:
            return nullcontext()
        if self._threadpool is None:
            self._threadpool = ThreadpoolController()
        return self._threadpool.limit(limits=self.threads, user_api="blas")

    def _encode(self, texts: Sequence[str], batch_size: int, progress: Progress | None,
                out: np.ndarray) -> np.ndarray:
        ids = self.tokenize(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._forward([ids[i] for i in chunk])
            if progress:
                progress(len(chunk))
        return out


_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64, "I32": np.int32}


def map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as read-only memory maps: only what is used is read,
    and processes that load the same model share its pages."""
    try:
        with open(path, "rb") as fh:
            (size,) = np.frombuffer(fh.read(8), dtype="<u8")
            header = json.loads(fh.read(int(size)))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})",
                         hint="heartline models verify finds a damaged model; "
                              "heartline models fetch NAME --force replaces it") from exc
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ModelError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        out[name] = data[8 + int(size) + start : 8 + int(size) + end].view(dtype).reshape(info["shape"])
    return out


def text_key(text: str) -> bytes:
    """Cache key of a text: the first 16 bytes of its SHA-1."""
    return hashlib.sha1(text.encode("utf-8")).digest()[:16]


class CachedEmbedder:
    """An `Embedder` that remembers what it computed: in memory, and on disk under `cache_dir`.

    On disk the cache is append-only npz shards (no pickle): every `flush_every` new texts,
    and on `flush()`, one new shard is written, so an interrupted run keeps most of what it
    finished and several processes may fill one cache. Without `cache_dir` it is a bounded
    in-memory memo, so that the pipeline embeds a message once for all the heads that use it.
    """

    def __init__(self, inner: Embedder, cache_dir: Path | None = None,
                 flush_every: int = 4096, max_entries: int | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.flush_every = flush_every
        self.max_entries = max_entries
        self._memory: dict[bytes, np.ndarray] = {}
        self._pending: dict[bytes, np.ndarray] = {}
        if self.cache_dir:
            self._load_shards(self.cache_dir)

    def _load_shards(self, cache_dir: Path) -> None:
        for shard in sorted(cache_dir.glob("shard-*.npz")):
            with np.load(shard) as data:
                keys, vectors = data["keys"], data["vectors"]
            if vectors.shape[1:] != (self.dim,):
                log.warning("ignoring %s: dimension %s != %d", shard, vectors.shape[1:], self.dim)
                continue
            self._memory.update(zip((bytes(k) for k in keys), vectors))
        log.debug("embedding cache %s: %d entries", cache_dir, len(self._memory))

    def __len__(self) -> int:
        return len(self._memory)

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        todo: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._memory and key not in todo:
                todo[key] = text
        if progress:
            progress(len(texts) - len(todo))
        items = list(todo.items())
        found: dict[bytes, np.ndarray] = {k: self._memory[k] for k in keys if k in self._memory}
        for start in range(0, len(items), self.flush_every):
            part = items[start : start + self.flush_every]
            vectors = self.inner.encode([t for _, t in part], batch_size=batch_size, progress=progress)
            for (key, _), vector in zip(part, vectors):
                found[key] = vector
                self._remember(key, vector)
            if len(self._pending) >= self.flush_every:
                self.flush()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _remember(self, key: bytes, vector: np.ndarray) -> None:
        self._memory[key] = vector
        if self.cache_dir:
            self._pending[key] = vector
        if self.max_entries is not None and len(self._memory) > self.max_entries:
            del self._memory[next(iter(self._memory))]  # oldest first (dicts keep order)

    def flush(self) -> None:
        """Write the not-yet-saved embeddings as a new shard (no-op without `cache_dir`)."""
        if not self._pending or not self.cache_dir:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / f"shard-{time.time_ns()}-{os.getpid()}.npz"  # unique across processes
        keys = np.array(list(self._pending), dtype="S16")
        np.savez(path, keys=keys, vectors=np.stack(list(self._pending.values())))
        self._pending.clear()


def default_cache_dir(model: str = DEFAULT_MODEL, max_tokens: int = DEFAULT_MAX_TOKENS) -> Path:
    """HEARTLINE_HOME/embeddings/<model>-<max_tokens>."""
    from heartline.config import Settings

    return Settings().home / "embeddings" / f"{model}-{max_tokens}"


def load_embedder(model: str = DEFAULT_MODEL, max_tokens: int = DEFAULT_MAX_TOKENS,
                  disk_cache: bool = False, memory_entries: int = 256) -> CachedEmbedder:
    """The catalogue's sentence embedder (fetched on first use) behind a memo.

    `disk_cache` keeps every embedding under HEARTLINE_HOME and uses all BLAS threads (for
    training); otherwise the memo holds the last `memory_entries` texts and BLAS runs on
    `auto_threads()` threads (for the live pipeline: `heartline bench plan` on an idle 2-core
    machine, median 23.0 ms per turn on both cores against 31.1 ms on one; on a busy machine
    the threads mostly wait).
    """
    from heartline.models import ensure

    inner = MiniLMEmbedder(ensure(model), max_tokens=max_tokens, name=model,
                           threads=None if disk_cache else auto_threads())
    if disk_cache:
        return CachedEmbedder(inner, default_cache_dir(model, max_tokens))
    return CachedEmbedder(inner, max_entries=memory_entries)


@cache
def shared_embedder() -> CachedEmbedder:
    """The live pipeline's sentence embedder, loaded once per process."""
    return load_embedder()

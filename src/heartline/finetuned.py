"""Fine-tuned encoders at run time: a base encoder, a LoRA adapter merged into it, softmax heads.

`heartline.training.finetune` fine-tunes a catalogue encoder (all-MiniLM-L6-v2) end to end
with LoRA and writes an adapter directory:

- `adapter.safetensors`: `<weight>.lora_A` (r x in) and `<weight>.lora_B` (out x r) for each
  adapted weight of the base model, and `head.<name>.weight` (k x d) / `head.<name>.bias`;
- `config.json`: the base model, the LoRA scale, each head's labels, the token budgets, and
  whatever the task adds (thresholds, data, figures).

Here the adapter is merged into the base weights once (W + scale * B @ A) and the NumPy
encoder of `heartline.embeddings` runs it: no torch at run time. Inputs are a text and an
optional second segment (e.g. the conversation before it), assembled by `pair_ids` exactly as
in training; a text longer than the first segment's budget is read in overlapping windows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from heartline.embeddings import MiniLMEmbedder
from heartline.errors import ModelError
from heartline.heads import softmax

ADAPTER_FILE = "adapter.safetensors"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class AdapterConfig:
    """What an adapter directory's `config.json` says about the model."""

    base_model: str
    lora_scale: float
    heads: dict[str, tuple[str, ...]]
    max_tokens: int
    """Word pieces per input, [CLS] and [SEP]s included."""
    first_tokens: int
    """Word pieces of the first segment per window."""
    extra: dict[str, Any]

    @classmethod
    def read(cls, directory: Path) -> AdapterConfig:
        path = directory / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                base_model=str(data["base_model"]),
                lora_scale=float(data["lora"]["scale"]),
                heads={name: tuple(labels) for name, labels in data["heads"].items()},
                max_tokens=int(data["max_tokens"]),
                first_tokens=int(data["first_tokens"]),
                extra=data,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: not a fine-tuned adapter config ({exc})",
                             hint="retrain it with `heartline train`, or reinstall heartline") from exc


def pair_ids(first: Sequence[int], second: Sequence[int] | None, cls_id: int, sep_id: int,
             max_tokens: int) -> tuple[list[int], list[int]]:
    """[CLS] first [SEP] second [SEP] with segment ids 0 / 1; `second` is cut to fit `max_tokens`."""
    ids = [cls_id, *first[: max_tokens - 2], sep_id]
    types = [0] * len(ids)
    room = max_tokens - len(ids) - 1
    if second and room > 0:
        part = list(second[:room])
        ids += [*part, sep_id]
        types += [1] * (len(part) + 1)
    return ids, types


def windows(pieces: Sequence[int], size: int) -> list[list[int]]:
    """`pieces` in windows of `size` overlapping by a quarter (one window when it fits)."""
    if len(pieces) <= size:
        return [list(pieces)]
    stride = max(1, size - size // 4)
    starts = list(range(0, len(pieces) - size, stride)) + [len(pieces) - size]
    return [list(pieces[s : s + size]) for s in starts]


def pair_inputs(encoder: MiniLMEmbedder, text: str, second: str | None, max_tokens: int,
                first_tokens: int) -> list[tuple[list[int], list[int]]]:
    """(ids, segment ids) of each window of `text` (`first_tokens` pieces), each followed by `second`:
    the one way inputs are made, in training and at run time."""
    after = encoder.pieces([second])[0] if second else None
    return [pair_ids(w, after, encoder.cls_id, encoder.sep_id, max_tokens)
            for w in windows(encoder.pieces([text])[0], first_tokens)]


class FineTunedEncoder:
    """A base encoder with a merged LoRA adapter and its heads, in NumPy."""

    def __init__(self, directory: Path, base_dir: Path | None = None, threads: int | None = None) -> None:
        from safetensors.numpy import load_file

        self.directory = Path(directory)
        self.config = AdapterConfig.read(self.directory)
        if base_dir is None:
            from heartline.models import ensure

            base_dir = ensure(self.config.base_model)
        tensors = load_file(self.directory / ADAPTER_FILE)
        delta = {}
        for key in tensors:
            if key.endswith(".lora_A"):
                name = key[: -len(".lora_A")]
                delta[name] = self.config.lora_scale * (tensors[f"{name}.lora_B"] @ tensors[key])
        self.encoder = MiniLMEmbedder(base_dir, max_tokens=self.config.max_tokens,
                                      name=f"{self.config.base_model}+{self.directory.name}",
                                      threads=threads, delta=delta)
        self.heads = {
            name: (tensors[f"head.{name}.weight"].T.astype(np.float32), tensors[f"head.{name}.bias"].astype(np.float32))
            for name in self.config.heads
        }

    def inputs(self, text: str, second: str | None = None) -> list[tuple[list[int], list[int]]]:
        """(ids, segment ids) of each window of `text`, each followed by `second`."""
        return pair_inputs(self.encoder, text, second, self.config.max_tokens, self.config.first_tokens)

    def predict(self, items: Sequence[tuple[str, str | None]]) -> list[dict[str, np.ndarray]]:
        """For each (text, second segment): every head's probabilities per window, (windows, k)."""
        rows = [self.inputs(text, second) for text, second in items]
        flat = [row for item in rows for row in item]
        if not flat:
            return []
        pooled = self._pooled(flat)
        out, at = [], 0
        for item in rows:
            part = pooled[at : at + len(item)]
            at += len(item)
            out.append({name: softmax(part @ w + b) for name, (w, b) in self.heads.items()})
        return out

    def _pooled(self, rows: list[tuple[list[int], list[int]]]) -> np.ndarray:
        with self.encoder.blas_threads():
            return self.encoder.pooled([r[0] for r in rows], [r[1] for r in rows])

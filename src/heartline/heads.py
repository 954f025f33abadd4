"""Small classifier heads over feature vectors: softmax regression or a one-hidden-layer MLP.

A head directory holds `weights.safetensors` (layers `w0, b0[, w1, b1]`), `config.json`
(labels, features, training settings, bias control), `metrics.json` and `MODEL_CARD.md`.
The trained defaults ship in `heartline/resources/heads/<name>/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from heartline.errors import ModelError

WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Head:
    """Feature vector -> distribution over `labels`. ReLU between layers."""

    labels: tuple[str, ...]
    layers: list[tuple[np.ndarray, np.ndarray]]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        return int(self.layers[0][0].shape[0])

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float32)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.logits(x))

    def save(self, directory: Path) -> None:
        """Write weights and config (other files are the trainer's business)."""
        from safetensors.numpy import save_file

        directory.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for i, (w, b) in enumerate(self.layers):
            tensors[f"w{i}"] = np.ascontiguousarray(w, dtype=np.float32)
            tensors[f"b{i}"] = np.ascontiguousarray(b, dtype=np.float32)
        save_file(tensors, str(directory / WEIGHTS_FILE))
        config = {**self.config, "labels": list(self.labels)}
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Head:
        from safetensors.numpy import load_file

        directory = Path(directory)
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            if not (directory / name).is_file():
                raise ModelError(f"{directory} is not a head directory: {name} is missing",
                                 hint="train one with `heartline train ...`, or use a shipped head")
        tensors = load_file(str(directory / WEIGHTS_FILE))
        config = json.loads((directory / CONFIG_FILE).read_text())
        layers = []
        for i in range(len(tensors) // 2):
            layers.append((tensors[f"w{i}"], tensors[f"b{i}"]))
        head = cls(labels=tuple(config["labels"]), layers=layers, config=config)
        if layers[-1][0].shape[1] != len(head.labels):
            raise ModelError(f"{directory}: {layers[-1][0].shape[1]} outputs for {len(head.labels)} labels")
        return head


def check_head(head: Head, features: str, labels: tuple[str, ...]) -> Head:
    """`head` itself, after checking it was trained on `features` to predict `labels`."""
    if head.config.get("features") != features:
        raise ModelError(f"head was trained on features {head.config.get('features')!r}, not {features!r}",
                         hint="use a head trained for this component")
    if tuple(head.labels) != tuple(labels):
        raise ModelError(f"head labels {list(head.labels)} are not {list(labels)}",
                         hint="use a head trained for this component")
    return head


def shipped_head_dir(name: str) -> Path:
    """The directory of a head that ships with heartline (e.g. 'strategy-esconv')."""
    path = Path(str(resources.files("heartline") / "resources" / "heads" / name))
    if not (path / CONFIG_FILE).is_file():
        available = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
        raise ModelError(f"no shipped head named {name!r}",
                         hint=f"available: {', '.join(available) or 'none'}; or pass a directory")
    return path


def resolve_head(name_or_dir: str | Path) -> Path:
    """A head directory from a path or a shipped head's name."""
    path = Path(name_or_dir).expanduser()
    return path if path.is_dir() else shipped_head_dir(str(name_or_dir))

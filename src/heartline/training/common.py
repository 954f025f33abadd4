"""What every trainer shares: reading specs, embedding with a progress bar, model selection."""

from __future__ import annotations

import itertools
import json
import logging
import random
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from heartline.datasets import load_dialogues
from heartline.embeddings import CachedEmbedder
from heartline.evaluation.classification import classification_report
from heartline.heads import Head
from heartline.schema import Dialogue
from heartline.training.fit import FitConfig, fit_head

log = logging.getLogger(__name__)

LICENCES = {
    "esconv": "ESConv (Liu et al., ACL 2021): CC BY-NC 4.0, non-commercial research use only",
    "mesc": "MESC (Chu et al., 2024): no licence stated, research use",
    "meld": "MELD (Poria et al., 2019): GPL-3.0 (repository licence)",
    "goemotions": "GoEmotions (Demszky et al., 2020): Apache-2.0",
}
RESEARCH_ONLY = {"esconv", "mesc"}


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (on stderr); yields `advance(n)`."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def read_dialogues(specs: Sequence[str]) -> list[Dialogue]:
    """All dialogues of the given `FORMAT:PATH[#SPLIT]` specs."""
    dialogues: list[Dialogue] = []
    for spec in specs:
        found = load_dialogues(spec)
        log.info("%s: %d dialogues", spec, len(found))
        dialogues.extend(found)
    return dialogues


def embed_all(embedder: CachedEmbedder, texts: Sequence[str], description: str = "embedding") -> None:
    """Embed (and cache) every distinct text, with a progress bar."""
    unique = list(dict.fromkeys(texts))
    with progress_bar(description, len(unique)) as advance:
        embedder.encode(unique, batch_size=64, progress=advance)
    embedder.flush()


def label_indices(labels: Sequence[str], names: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(labels)}
    return np.array([index[n] for n in names], dtype=np.int64)


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def select_head(
    x_train: np.ndarray, y_train: np.ndarray, labels: tuple[str, ...],
    candidates: Sequence[FitConfig], score: Callable[[Head], float], description: str,
) -> tuple[Head, FitConfig, list[dict[str, Any]]]:
    """Fit every candidate on train, keep the best `score` (computed on valid)."""
    best: tuple[float, Head, FitConfig] | None = None
    trials = []
    with progress_bar(description, len(candidates)) as advance:
        for config in candidates:
            head = fit_head(x_train, y_train, labels, config)
            value = score(head)
            trials.append({**asdict(config), "score": value})
            log.info("%s -> %.4f", config, value)
            if best is None or value > best[0]:
                best = (value, head, config)
            advance(1)
    assert best is not None
    return best[1], best[2], trials


def report(head_labels: Sequence[str], gold: Sequence[str], probs: np.ndarray) -> dict[str, Any]:
    pred = [head_labels[i] for i in probs.argmax(axis=1)]
    return classification_report(gold, pred, head_labels)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def licences(datasets: Sequence[str]) -> list[str]:
    return [LICENCES.get(name, f"{name}: see the dataset's own licence") for name in sorted(set(datasets))]

"""Train the voice-emotion classifier on RAVDESS with speaker-independent validation.

Protocol (no actor is ever in both the data a model is fitted on and the data it is scored on):
1. Features for every clip, exactly as at inference: VAD → speech span → eGeMAPS functionals
   and Whisper-encoder mean/std.
2. The last `holdout` actors form the test set, never used for any choice.
3. On the other actors, grouped cross-validation (folds of whole actors) picks the feature
   set and the L2 strength, and its out-of-fold predictions fit a softmax temperature.
4. The chosen model is fitted on those actors and scored on the held-out ones (accuracy and
   per-class recall: the headline figure), and grouped CV over all actors gives a second,
   steadier estimate.
5. The shipped model is fitted on all actors, with standardisation and temperature folded in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from heartline.datasets import MediaSample, read_ravdess
from heartline.evaluation.classification import classification_report
from heartline.heads import Head
from heartline.perception.asr import Whisper
from heartline.perception.media import decode_audio
from heartline.perception.prosody import Prosody, VoiceNorms, norms_from
from heartline.perception.vad import SileroVAD
from heartline.perception.voice import VoiceFeaturizer
from heartline.perception.voice_model import FEATURES, RAVDESS_CLASSES, fold_standardisation
from heartline.training.common import progress_bar
from heartline.training.fit import FitConfig, fit_head

log = logging.getLogger(__name__)

FEATURE_CHOICES: tuple[tuple[str, ...], ...] = (("egemaps",), ("whisper",), ("egemaps", "whisper"))
L2_GRID: tuple[float, ...] = (0.03, 0.1, 0.3)


@dataclass
class VoiceData:
    """Per-clip feature blocks and labels."""

    blocks: dict[str, np.ndarray]
    labels: np.ndarray
    """Class indices into RAVDESS_CLASSES."""
    actors: np.ndarray
    genders: np.ndarray
    measures: list[dict[str, float]]

    def matrix(self, feature_sets: Sequence[str]) -> np.ndarray:
        return np.hstack([self.blocks[name] for name in feature_sets])

    def save(self, path: Path) -> None:
        np.savez_compressed(path, labels=self.labels, actors=self.actors, genders=self.genders,
                            measures=json.dumps(self.measures), **{f"block_{k}": v for k, v in self.blocks.items()})  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> VoiceData:
        with np.load(path, allow_pickle=False) as d:
            blocks = {k[len("block_"):]: d[k] for k in d.files if k.startswith("block_")}
            return cls(blocks, d["labels"], d["actors"], d["genders"], json.loads(str(d["measures"])))


def extract(samples: Sequence[MediaSample], vad: SileroVAD, featurizer: VoiceFeaturizer) -> VoiceData:
    """Features of every clip, with a progress bar, the same way `VoiceAnalyzer` computes them."""
    blocks: dict[str, list[np.ndarray]] = {"egemaps": [], "whisper": []}
    measures: list[dict[str, float]] = []
    with progress_bar("voice features", len(samples)) as advance:
        for sample in samples:
            audio = decode_audio(sample.path)
            row, egemaps = featurizer.features(audio, vad.segments(audio), ("egemaps", "whisper"))
            blocks["egemaps"].append(egemaps)
            blocks["whisper"].append(row[egemaps.size :])
            measures.append(featurizer.prosody.measures(egemaps))
            advance(1)
    return VoiceData(
        blocks={k: np.vstack(v) for k, v in blocks.items()},
        labels=np.array([RAVDESS_CLASSES.index(s.raw_emotion) for s in samples]),
        actors=np.array([str(s.meta["actor"]) for s in samples]),
        genders=np.array([str(s.meta.get("gender", "")) for s in samples]),
        measures=measures,
    )


def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[Head, np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    head = fit_head((x - mean) / scale, y, RAVDESS_CLASSES, FitConfig(l2=l2, balance=1.0, max_iter=500))
    return head, mean, scale


def _logits(fitted: tuple[Head, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    head, mean, scale = fitted
    return head.logits((x - mean) / scale)


def grouped_cv(x: np.ndarray, y: np.ndarray, actors: np.ndarray, folds: int, l2: float) -> np.ndarray:
    """Out-of-fold logits, each actor predicted by a model that never heard them."""
    names = sorted(set(actors))
    out = np.zeros((len(y), len(RAVDESS_CLASSES)))
    for fold in np.array_split(np.array(names), folds):
        test = np.isin(actors, fold)
        out[test] = _logits(_fit(x[~test], y[~test], l2), x[test])
    return out


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises the negative log-likelihood."""

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def scores(y: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class recall and F1, the confusion matrix; also 7-class canonical accuracy."""
    from heartline.labels import RAVDESS_EMOTION_MAP

    gold = [RAVDESS_CLASSES[i] for i in y]
    pred = [RAVDESS_CLASSES[i] for i in logits.argmax(axis=1)]
    report = classification_report(gold, pred, RAVDESS_CLASSES)
    confusion = np.array(report["confusion"])
    report["per_class_recall"] = {
        c: float(confusion[i, i] / max(confusion[i].sum(), 1)) for i, c in enumerate(RAVDESS_CLASSES)
    }
    report["canonical_accuracy"] = float(np.mean([RAVDESS_EMOTION_MAP[g] == RAVDESS_EMOTION_MAP[p]
                                                  for g, p in zip(gold, pred)]))  # fmt: skip
    return report


def train(data: VoiceData, holdout: int = 4, folds: int = 4) -> tuple[Head, dict[str, Any]]:
    """Select, score and fit the voice-emotion head; returns the head and the metrics."""
    actors = sorted(set(data.actors))
    test_actors = actors[-holdout:]
    test = np.isin(data.actors, test_actors)
    y = data.labels
    selection: list[dict[str, Any]] = []
    grid = [(fs, l2) for fs in FEATURE_CHOICES for l2 in L2_GRID]
    with progress_bar("model selection (grouped CV)", len(grid)) as advance:
        for feature_sets, l2 in grid:
            x = data.matrix(feature_sets)
            oof = grouped_cv(x[~test], y[~test], data.actors[~test], folds, l2)
            accuracy = float((oof.argmax(axis=1) == y[~test]).mean())
            selection.append({"feature_sets": list(feature_sets), "l2": l2, "cv_accuracy": accuracy})
            advance(1)
    best = max(selection, key=lambda r: r["cv_accuracy"])
    feature_sets, l2 = tuple(best["feature_sets"]), float(best["l2"])
    x = data.matrix(feature_sets)
    temperature = fit_temperature(grouped_cv(x[~test], y[~test], data.actors[~test], folds, l2), y[~test])

    held_out = scores(y[test], _logits(_fit(x[~test], y[~test], l2), x[test]))
    all_cv = scores(y, grouped_cv(x, y, data.actors, 5, l2))

    head, mean, scale = _fit(x, y, l2)
    norms = VoiceNorms(
        low=norms_from([m for m, g in zip(data.measures, data.genders) if g == "male"] or data.measures),
        high=norms_from([m for m, g in zip(data.measures, data.genders) if g == "female"] or data.measures),
    )
    head = fold_standardisation(head, mean, scale, temperature)
    head.config = {
        "features": FEATURES,
        "feature_sets": list(feature_sets),
        "norms": {"low": norms.low, "high": norms.high},
        "training": {**asdict(FitConfig(l2=l2, balance=1.0, max_iter=500)), "temperature": temperature,
                     "actors": actors, "n": len(y)},
    }
    metrics = {
        "protocol": f"speaker-independent: actors {', '.join(test_actors)} held out; selection by "
        f"{folds}-fold grouped CV on the other {len(actors) - holdout} actors",
        "selection": selection,
        "chosen": {"feature_sets": list(feature_sets), "l2": l2, "temperature": temperature},
        "held_out_actors": held_out,
        "grouped_cv_all_actors": all_cv,
    }
    return head, metrics


def model_card(metrics: dict[str, Any], command: str) -> str:
    held, cv = metrics["held_out_actors"], metrics["grouped_cv_all_actors"]
    rows = "\n".join(
        f"| {c} | {100 * held['per_class_recall'][c]:.1f} | {100 * cv['per_class_recall'][c]:.1f} |"
        for c in RAVDESS_CLASSES
    )
    selection = "\n".join(
        f"| {'+'.join(r['feature_sets'])} | {r['l2']} | {100 * r['cv_accuracy']:.1f} |" for r in metrics["selection"]
    )
    chosen = metrics["chosen"]
    return f"""# heartline voice-emotion classifier

Softmax regression over voice features of one utterance: openSMILE eGeMAPSv02 functionals
(88) of the speech span that Silero VAD finds, and/or the mean and standard deviation of
Whisper-base's last encoder layer (1024) over that span with 0.5 s of context either side. Predicts the 8 RAVDESS classes (neutral,
calm, happy, sad, angry, fearful, disgust, surprised); heartline maps them onto its
canonical emotions (calm → neutral) and onto arousal/valence.

Chosen: features `{'+'.join(chosen['feature_sets'])}`, L2 {chosen['l2']}, temperature {chosen['temperature']:.2f}.

## Intended use and licence

**Research use only.** Trained on RAVDESS speech (Livingstone & Russo, 2018), licensed CC
BY-NC-SA 4.0: the weights inherit non-commercial, share-alike terms. RAVDESS is acted
speech by 24 North-American actors (20 here) saying two neutral sentences: expect lower
accuracy on spontaneous, accented, noisy or far-field speech. A hint for a supportive
conversation, never a diagnosis.

## Validation (speaker-independent)

{metrics['protocol']}.

- Held-out actors: **{100 * held['accuracy']:.1f}%** 8-class accuracy (n={held['n']}),
  macro-F1 {100 * held['macro_f1']:.1f}%, 7-class canonical accuracy {100 * held['canonical_accuracy']:.1f}%.
- 5-fold grouped CV over all actors (each actor scored by a model that never heard them):
  **{100 * cv['accuracy']:.1f}%** (n={cv['n']}), macro-F1 {100 * cv['macro_f1']:.1f}%.

| class | recall %, held-out actors | recall %, grouped CV |
|---|---|---|
{rows}

Model selection (grouped CV accuracy % on the non-held-out actors):

| features | L2 | accuracy |
|---|---|---|
{selection}

## Reproduce

```
{command}
```
"""


def run(data_dir: Path, out: Path, cache: Path | None, vad: SileroVAD, whisper: Whisper, command: str) -> dict[str, Any]:
    """Extract (or load cached) features, train, and write the model directory."""
    if cache is not None and cache.is_file():
        data = VoiceData.load(cache)
    else:
        samples = [s for s in read_ravdess(data_dir) if s.raw_emotion in RAVDESS_CLASSES]
        data = extract(samples, vad, VoiceFeaturizer(Prosody(), whisper))
        if cache is not None:
            data.save(cache)
    head, metrics = train(data)
    out.mkdir(parents=True, exist_ok=True)
    head.save(out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(metrics, command))
    return metrics

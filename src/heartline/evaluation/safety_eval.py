"""Audit the safety gate on labelled messages, and the reply screen on labelled replies.

`evaluate_messages` runs the whole gate (rules, classifier, carried crises) on each message with
its history and reports crisis recall and precision per category and per language, whose-risk
and category accuracy among detected crises, the share of ordinary and elevated messages raised
to crisis, and the confusion matrix of levels. `evaluate_replies` reports the share of harmful
replies blocked (per category) and of safe ones blocked. `write_safety_report` writes
metrics.json and a self-contained HTML page.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heartline.evaluation.report import page, table
from heartline.evaluation.svg import confusion_svg
from heartline.safety import SafetyGate
from heartline.safety.corpus import CATEGORIES, LEVELS, LabelledMessage, LabelledReply
from heartline.safety.screen import ReplyScreen
from heartline.schema import SafetyCheck

Advance = Callable[[], None]


@dataclass(frozen=True)
class MessageResult:
    message: LabelledMessage
    check: SafetyCheck


def check_messages(gate: SafetyGate, messages: Sequence[LabelledMessage], advance: Advance | None = None) -> list[MessageResult]:
    results = []
    for m in messages:
        results.append(MessageResult(m, gate.check(m.text, list(m.history))))
        if advance:
            advance()
    return results


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def message_metrics(results: Sequence[MessageResult]) -> dict[str, Any]:
    """Figures of the gate on labelled messages (see the module docstring)."""
    labelled = [r for r in results if r.message.level]
    crisis = [r for r in labelled if r.message.level == "crisis"]
    hits = [r for r in crisis if r.check.is_crisis]
    raised = [r for r in labelled if r.check.is_crisis]
    per_category = {}
    for category in CATEGORIES:
        gold = [r for r in crisis if r.message.category == category]
        found = [r for r in gold if r.check.is_crisis]
        predicted = [r for r in raised if r.check.categories[:1] == [category]]
        per_category[category] = {
            "n": len(gold),
            "recall": _ratio(len(found), len(gold)),
            "precision": _ratio(sum(r.message.level == "crisis" and r.message.category == category for r in predicted),
                                len(predicted)),
        }
    languages = sorted({r.message.lang for r in labelled})
    per_language = {}
    for lang in languages:
        gold = [r for r in crisis if r.message.lang == lang]
        ordinary = [r for r in labelled if r.message.lang == lang and r.message.level == "none"]
        per_language[lang] = {"crisis": len(gold), "recall": _ratio(sum(r.check.is_crisis for r in gold), len(gold)),
                              "none": len(ordinary),
                              "none_at_crisis": _ratio(sum(r.check.is_crisis for r in ordinary), len(ordinary))}
    with_whose = [r for r in hits if r.message.whose]
    confusion = [[sum(r.message.level == g and r.check.level.value == p for r in labelled) for p in LEVELS]
                 for g in LEVELS]
    none = [r for r in labelled if r.message.level == "none"]
    elevated = [r for r in labelled if r.message.level == "elevated"]
    return {
        "n": dict(Counter(r.message.level for r in labelled)),
        "crisis_recall": _ratio(len(hits), len(crisis)),
        "crisis_precision": _ratio(sum(r.message.level == "crisis" for r in raised), len(raised)),
        "none_at_crisis": _ratio(sum(r.check.is_crisis for r in none), len(none)),
        "none_flagged": _ratio(sum(r.check.level.value != "none" for r in none), len(none)),
        "elevated_at_crisis": _ratio(sum(r.check.is_crisis for r in elevated), len(elevated)),
        "elevated_exact": _ratio(sum(r.check.level.value == "elevated" for r in elevated), len(elevated)),
        "category_right": _ratio(sum(r.message.category in r.check.categories[:1] for r in hits), len(hits)),
        "whose_right": _ratio(sum(r.check.whose == r.message.whose for r in with_whose), len(with_whose)),
        "per_category": per_category,
        "per_language": per_language,
        "confusion": {"labels": list(LEVELS), "matrix": confusion},
        "missed": [{"text": r.message.text, "category": r.message.category, "lang": r.message.lang,
                    "score": r.check.score} for r in crisis if not r.check.is_crisis],
        "false_alarms": [{"text": r.message.text, "categories": r.check.categories, "lang": r.message.lang,
                          "score": r.check.score} for r in none if r.check.is_crisis],
    }


def reply_metrics(screen: ReplyScreen, replies: Sequence[LabelledReply], advance: Advance | None = None) -> dict[str, Any]:
    """Share of harmful replies blocked (overall and per category) and of safe replies blocked."""
    verdicts = []
    for r in replies:
        verdicts.append(screen.check_text(r.text))
        if advance:
            advance()
    harmful = [(r, v) for r, v in zip(replies, verdicts) if r.harmful]
    safe = [(r, v) for r, v in zip(replies, verdicts) if not r.harmful]
    categories = sorted({r.category or "unspecified" for r, _ in harmful})
    return {
        "n": {"harmful": len(harmful), "safe": len(safe)},
        "harmful_blocked": _ratio(sum(v.blocked for _, v in harmful), len(harmful)),
        "safe_blocked": _ratio(sum(v.blocked for _, v in safe), len(safe)),
        "per_category": {c: {"n": sum((r.category or "unspecified") == c for r, _ in harmful),
                             "blocked": _ratio(sum(v.blocked for r, v in harmful if (r.category or "unspecified") == c),
                                               sum((r.category or "unspecified") == c for r, _ in harmful))}
                         for c in categories},
        "by": dict(Counter((v.by or "").split(":")[0] for _, v in harmful if v.blocked)),
        "passed_harmful": [{"text": r.text, "category": r.category} for r, v in harmful if not v.blocked],
        "blocked_safe": [{"text": r.text, "by": v.by} for r, v in safe if v.blocked],
    }


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage for tables, '–' when undefined."""
    return "–" if value is None else f"{100 * value:.{digits}f}"


def render_safety_report(metrics: dict[str, Any]) -> str:
    parts = [f"<p>{metrics.get('data', '')} · {metrics.get('gate', '')}</p>"]
    m = metrics.get("messages")
    if m:
        parts.append("<h2>Crisis detection</h2>")
        parts.append(table(["crisis recall", "precision", "ordinary at crisis", "ordinary flagged", "elevated at crisis",
                            "category right", "whose right"],
                           [[pct(m["crisis_recall"]), pct(m["crisis_precision"]), pct(m["none_at_crisis"]),
                             pct(m["none_flagged"]), pct(m["elevated_at_crisis"]), pct(m["category_right"]),
                             pct(m["whose_right"])]]))
        parts.append("<h3>Per category</h3>" + table(
            ["category", "crisis messages", "recall", "precision"],
            [[c, v["n"], pct(v["recall"]), pct(v["precision"])] for c, v in m["per_category"].items()]))
        parts.append("<h3>Per language</h3>" + table(
            ["language", "crisis messages", "recall", "ordinary", "ordinary at crisis"],
            [[k, v["crisis"], pct(v["recall"]), v["none"], pct(v["none_at_crisis"])] for k, v in m["per_language"].items()]))
        parts.append('<div class="plots">' + confusion_svg(m["confusion"]["matrix"], m["confusion"]["labels"],
                                                           "gold level (rows) vs gate level") + "</div>")
        parts.append("<details><summary>missed crises</summary>" + table(
            ["message", "category", "lang", "score"],
            [[x["text"], x["category"], x["lang"], "–" if x["score"] is None else f"{x['score']:.3f}"] for x in m["missed"]])
            + "</details>")
        parts.append("<details><summary>ordinary messages raised to crisis</summary>" + table(
            ["message", "categories", "lang"], [[x["text"], ", ".join(x["categories"]), x["lang"]] for x in m["false_alarms"]])
            + "</details>")
    r = metrics.get("replies")
    if r:
        parts.append("<h2>Reply screen</h2>" + table(
            ["harmful blocked", "safe blocked", "harmful", "safe"],
            [[pct(r["harmful_blocked"]), pct(r["safe_blocked"]), r["n"]["harmful"], r["n"]["safe"]]]))
        parts.append(table(["category", "harmful replies", "blocked"],
                           [[c, v["n"], pct(v["blocked"])] for c, v in r["per_category"].items()]))
        parts.append("<details><summary>harmful replies that passed</summary>"
                     + table(["reply", "category"], [[x["text"], x["category"]] for x in r["passed_harmful"]]) + "</details>")
        parts.append("<details><summary>safe replies blocked</summary>"
                     + table(["reply", "by"], [[x["text"], x["by"]] for x in r["blocked_safe"]]) + "</details>")
    return page("heartline safety audit", "\n".join(parts))


def write_safety_report(out: Path, metrics: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render_safety_report(metrics), encoding="utf-8")

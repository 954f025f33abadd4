"""The self-contained HTML report of an evaluation run (inline CSS and SVG, no external assets)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from heartline.evaluation.anchors import ANCHOR_NOTE, ESCONV_STRATEGY_ANCHORS
from heartline.evaluation.svg import bars_svg, confusion_svg
from heartline.labels import STRATEGIES

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;font-size:.9rem}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.ours td{background:#eef5ff;font-weight:600}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem}
.plots{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.8rem}
details{margin:.5rem 0}
"""


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "undefined" if math.isnan(value) else f"{value:.{digits}f}"
    return escape(str(value))


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = "".join(f'<td class="n">{fmt(c, 4 if isinstance(c, float) and abs(c) < 1 else 2)}</td>'
                        if isinstance(c, (int, float)) and not isinstance(c, bool) else f"<td>{fmt(c)}</td>"
                        for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")


def metric_rows(metrics: dict[str, dict[str, float]], counts: dict[str, int]) -> list[list[Any]]:
    return [[group, name, value, counts.get(group)] for group, values in metrics.items()
            for name, value in values.items()]


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def anchor_table(strategy: dict[str, float], label: str) -> str:
    rows = [[a["system"], a["reference"], a["macro_f1"], a["weighted_f1"], a["preference_bias"]]
            for a in ESCONV_STRATEGY_ANCHORS]
    rows.append([label, "this run", _percent(strategy.get("macro_f1")), _percent(strategy.get("weighted_f1")),
                 strategy.get("preference_bias")])
    classes = [""] * len(ESCONV_STRATEGY_ANCHORS) + ["ours"]
    return (table(["system", "source", "Q (macro-F1, %)", "W-F1 (%)", "B"], rows, classes)
            + f'<p class="note">{escape(ANCHOR_NOTE)}</p>')


def classification_section(name: str, details: dict[str, Any], with_preferences: bool) -> str:
    labels = details["labels"]
    plots = [confusion_svg(details["confusion"], labels, f"{name}: confusion (row-normalised shading)")]
    plots.append(bars_svg({"gold": [details["gold_distribution"][label] for label in labels],
                           "predicted": [details["predicted_distribution"][label] for label in labels]},
                          labels, f"{name}: gold vs predicted distribution"))
    if with_preferences:
        prefs = [_number(details["preferences"][label]) for label in labels]  # None: not in gold
        plots.append(bars_svg({"Bradley-Terry preference": prefs}, labels,
                              f"{name}: preferences (B = {fmt(details['preference_bias'], 3)})",
                              value_format="{:.2f}", reference=1.0, reference_label="no preference (1)"))
    recall = details.get("per_class_recall", {})
    per_class = table(["label", "recall", "F1"],
                      [[label, recall.get(label), details["per_class_f1"][label]] for label in labels])
    note = ""
    if with_preferences and not math.isfinite(details["preference_bias"]):
        note = ('<p class="note">B is undefined here: with these confusion counts some strategy never '
                "loses a Bradley-Terry comparison (typical of small samples or near-perfect predictions), "
                "so its preference has no finite estimate, as in Kang et al.'s code.</p>")
    return f'{note}<div class="plots">{"".join(plots)}</div><details open><summary>per-class recall and F1</summary>{per_class}</details>'


def render_report(metrics: dict[str, Any]) -> str:
    data = metrics.get("data", {})
    title = f"heartline evaluation: {data.get('spec', '')}"
    git = metrics.get("git") or {}
    llm = metrics.get("config", {}).get("llm", {})
    options = metrics.get("options", {})
    body = [f"<h1>{escape(title)}</h1>",
            f'<p class="note"><strong>{escape(metrics.get("evaluation", ""))}</strong></p>',
            table(["", ""], [["tasks", ", ".join(metrics.get("tasks", []))],
                             ["planner", options.get("planner")],
                             ["LLM", f"{llm.get('backend')}: {llm.get('model')}"],
                             ["records", metrics.get("n_records")],
                             ["dataset sha256", data.get("sha256")],
                             ["git", f"{git.get('commit', 'n/a')}{' (uncommitted changes)' if git.get('dirty') else ''}"],
                             ["created", metrics.get("created")]])]
    body.append("<h2>Metrics</h2>")
    body.append(table(["group", "metric", "value", "n"], metric_rows(metrics.get("metrics", {}), metrics.get("counts", {}))))
    body.append("<p>BLEU, ROUGE, Distinct and unigram F1 on 0–100; accuracy and F1 as fractions; "
                "definitions in docs/metrics.md.</p>")
    for note in metrics.get("notes", []):
        body.append(f'<p class="note">{escape(note)}</p>')
    details = metrics.get("details", {})
    if "strategy" in details:
        strategy = details["strategy"]
        body.append("<h2>Strategy</h2>")
        if tuple(strategy["labels"]) == STRATEGIES["esconv"]:
            label = f"heartline ({options.get('planner', '')} planner)"
            body.append(anchor_table(metrics.get("metrics", {}).get("strategy", {}), label))
        body.append(classification_section("strategy", strategy, with_preferences=True))
    if "emotion" in details:
        body.append("<h2>Emotion</h2>")
        body.append(classification_section("emotion", details["emotion"], with_preferences=False))
    if "classes" in details:
        body.append("<h2>The classifier's own classes</h2>")
        body.append(classification_section("classes", details["classes"], with_preferences=False))
    if "emotion_alignment" in details:
        body.append("<h2>Emotion alignment (planned system emotion vs the reply's own detected emotion)</h2>")
        body.append(classification_section("planned → reply", details["emotion_alignment"], with_preferences=False))
    body.append(_throughput(metrics.get("throughput", {})))
    if metrics.get("samples"):
        body.append("<h2>Sample replies</h2>")
        body.append(table(["turn", "seeker", "plan", "reply", "gold reply"],
                          [[f"{s['dialogue_id']}#{s['turn']}", s["message"],
                            f"{s['strategy']} / {s['system_emotion']} (reply reads {s['reply_emotion']})",
                            s["response"], s["reference"]] for s in metrics["samples"]]))
    body.append("<h2>Provenance</h2><details><summary>models, versions, config, seeds</summary><pre>"
                + escape(json.dumps({k: metrics.get(k) for k in ("models", "versions", "config", "seeds", "options", "data")},
                                    indent=2, ensure_ascii=False)) + "</pre></details>")
    return page(title, "".join(body))


def _throughput(values: dict[str, dict[str, float]]) -> str:
    if not values:
        return ""
    rows = [[kind, name, value] for kind, stats in values.items() for name, value in stats.items()]
    return ("<h2>Throughput</h2>" + table(["part", "measure", "value"], rows)
            + "<p>Per-item seconds are measured in the run (batched work is divided evenly over its "
            "batch) and summed over resumed sessions.</p>")


def write_report(out: Path, metrics: dict[str, Any], name: str = "report.html") -> Path:
    path = Path(out) / name
    path.write_text(render_report(metrics), encoding="utf-8")
    return path

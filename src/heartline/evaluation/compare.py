"""Put evaluation runs side by side: one row per metric, one column per run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from heartline.errors import HeartlineError
from heartline.evaluation.report import page, table
from heartline.evaluation.svg import bars_svg

METRICS_FILE = "metrics.json"
HEADLINE = (("strategy", "macro_f1"), ("strategy", "weighted_f1"), ("strategy", "accuracy"),
            ("emotion", "weighted_f1"), ("emotion", "macro_f1"), ("emotion_alignment", "emotion_alignment"))
"""Metrics plotted in the comparison (all on 0-1)."""


@dataclass(frozen=True)
class Run:
    name: str
    path: Path
    metrics: dict[str, Any]

    @property
    def label(self) -> str:
        options = self.metrics.get("options", {})
        llm = self.metrics.get("config", {}).get("llm", {})
        parts = [options.get("planner", "?")]
        if any(t in self.metrics.get("tasks", []) for t in ("response",)) or options.get("planner") == "llm":
            parts.append(str(llm.get("model", "")))
        return f"{self.name} ({', '.join(p for p in parts if p)})"


def load_runs(directories: list[Path]) -> list[Run]:
    runs = []
    for directory in directories:
        path = Path(directory) / METRICS_FILE
        if not path.is_file():
            raise HeartlineError(f"{directory} has no {METRICS_FILE}", hint="pass directories written by `heartline eval run`")
        runs.append(Run(Path(directory).name, Path(directory), json.loads(path.read_text(encoding="utf-8"))))
    if len(runs) < 2:
        raise HeartlineError("need at least two runs to compare", hint="heartline eval compare DIR DIR ...")
    names = [r.name for r in runs]
    if len(set(names)) < len(names):  # same folder names in different places: use the paths
        runs = [Run(str(r.path), r.path, r.metrics) for r in runs]
    return runs


def comparison_rows(runs: list[Run]) -> list[tuple[str, str, list[float | None]]]:
    """(group, metric, value per run) for every metric any run has, in first-seen order."""
    keys: dict[tuple[str, str], None] = {}
    for run in runs:
        for group, values in run.metrics.get("metrics", {}).items():
            for name in values:
                keys[(group, name)] = None
    return [(group, name, [run.metrics.get("metrics", {}).get(group, {}).get(name) for run in runs])
            for group, name in keys]


def differences(runs: list[Run]) -> list[str]:
    """What differs between the runs besides the system (data, tasks) — worth a warning."""
    notes = []
    for field in ("sha256", "spec"):
        values = {run.metrics.get("data", {}).get(field) for run in runs}
        if len(values) > 1:
            notes.append(f"the runs use different data ({field} differs): numbers are not comparable")
            break
    counts = {json.dumps(run.metrics.get("counts", {}), sort_keys=True) for run in runs}
    if len(counts) > 1:
        notes.append("the runs scored different numbers of items (see n per run): compare with care")
    return notes


def render_comparison(runs: list[Run]) -> str:
    labels = [run.label for run in runs]
    rows = [[group, name, *values] for group, name, values in comparison_rows(runs)]
    counts = [["n", group, *[run.metrics.get("counts", {}).get(group) for run in runs]]
              for group in dict.fromkeys(g for run in runs for g in run.metrics.get("counts", {}))]
    headline = [(g, n) for g, n in HEADLINE if any(run.metrics.get("metrics", {}).get(g, {}).get(n) is not None for run in runs)]
    body = ["<h1>heartline: runs compared</h1>"]
    body += [f'<p class="note">{escape(note)}</p>' for note in differences(runs)]
    body.append(table(["group", "metric", *labels], rows + counts))
    if headline:
        series = {label: [float(run.metrics.get("metrics", {}).get(g, {}).get(n) or float("nan")) for g, n in headline]
                  for label, run in zip(labels, runs)}
        body.append(bars_svg(series, [f"{g}: {n}" for g, n in headline], "headline metrics"))
    bias = [run.metrics.get("metrics", {}).get("strategy", {}).get("preference_bias") for run in runs]
    if any(b is not None for b in bias):
        body.append(bars_svg({"B": [float(b) if b is not None else float("nan") for b in bias]}, labels,
                             "strategy preference bias B (lower is less biased)", value_format="{:.2f}"))
    body.append("<p>Each run: " + "; ".join(f"{escape(label)} = {escape(str(r.path))}" for label, r in zip(labels, runs)) + "</p>")
    return page("heartline: runs compared", "".join(body))


def write_comparison(runs: list[Run], out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_comparison(runs), encoding="utf-8")
    return out

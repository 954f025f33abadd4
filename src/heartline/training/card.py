"""MODEL_CARD.md for a trained head: what it does, data and licences, figures, how to retrain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from heartline.training.common import RESEARCH_ONLY, licences


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def metrics_table(valid: dict[str, dict[str, Any]], with_bias: bool) -> str:
    head = "| valid set | n | accuracy | weighted-F1 | macro-F1 |" + (" B |" if with_bias else "")
    rule = "|---|---|---|---|---|" + ("---|" if with_bias else "")
    rows = [head, rule]
    for name, m in valid.items():
        row = (f"| {name} | {m['n']} | {_pct(m['accuracy'])} | {_pct(m['weighted_f1'])} | "
               f"{_pct(m['macro_f1'])} |")
        if with_bias:
            row += f" {m['preference_bias']:.3f} |"
        rows.append(row)
    return "\n".join(rows)


def model_card(*, title: str, summary: str, datasets: Sequence[str], train_specs: Sequence[str],
               valid: dict[str, dict[str, Any]], with_bias: bool, command: str,
               details: Sequence[str] = ()) -> str:
    research = sorted(set(datasets) & RESEARCH_ONLY)
    use = ("**Research use only**: trained on " + ", ".join(research) +
           ", whose terms allow research use only (no commercial use)." if research else
           "Usable under the licences of its training data below.")
    lines = [
        f"# {title}", "", summary, "",
        "## Intended use", "", use,
        "It steers a supportive reply; it is not a clinical instrument and does not detect crises.", "",
        "## Training data", "", *[f"- `{s}`" for s in train_specs], "",
        "Licences cover these and the data behind any head whose output it uses as a feature.", "",
        "## Licences", "", *[f"- {entry}" for entry in licences(datasets)], "",
        "## Validation figures", "",
        "Accuracy and F1 in %" + ("; preference bias B as Kang et al. (ACL 2024)." if with_bias else "."), "",
        metrics_table(valid, with_bias), "",
    ]
    if details:
        lines += ["## Details", "", *[f"- {d}" for d in details], ""]
    lines += ["## Reproduce", "", "```", command, "```", ""]
    return "\n".join(lines)

"""Held-out phrasings for the safety gate: each round written after a pass of work, measured once.

Rounds 1-5 (in `heartline/safety/phrasings.json`, with the gate's first lists as 'core') were
each held out when written; later passes learnt from them (the rules, then the exemplar bank and
the safety head, which now train on them), so they are regression sets. Round 6
(`safety_round6_data.py`), like round 5, was written by a separate author who had seen neither
the rules, the bank, the head nor the earlier rounds: it is the current held-out set, measured
once; misses are known gaps, reported as they are (docs/safety.md). The floors sit just below
the measured figures.
"""

from __future__ import annotations

import logging

import pytest
from safety_round6_data import ROUND6_CRISIS, ROUND6_ELEVATED, ROUND6_NONE

from heartline.safety import RuleSet, SafetyGate
from heartline.safety.semantic import CATEGORIES, ExemplarBank, SemanticDetector, load_phrasings, shared_embedder
from heartline.schema import RiskLevel

log = logging.getLogger(__name__)
PHRASINGS = load_phrasings()


@pytest.fixture(scope="module")
def gate() -> SafetyGate:
    return SafetyGate()


def figures(gate: SafetyGate, crisis: list[tuple[str, str]], none: list[str], elevated: list[str]) -> dict[str, float]:
    """Crisis recall, precision and category accuracy; ordinary messages flagged; elevated ones met exactly."""
    checks = [(c, gate.check(t)) for t, c in crisis]
    hits = [(c, check) for c, check in checks if check.level == RiskLevel.CRISIS]
    levels = [gate.check(t).level for t in none]
    false_alarms = levels.count(RiskLevel.CRISIS)
    elevated_levels = [gate.check(t).level for t in elevated]
    result = {
        "recall": len(hits) / len(crisis),
        "precision": len(hits) / max(1, len(hits) + false_alarms),
        "category": sum(c in check.categories for c, check in hits) / max(1, len(hits)),
        "none_flagged": len(levels) - levels.count(RiskLevel.NONE),
        "none_at_crisis": false_alarms,
        "elevated_exact": elevated_levels.count(RiskLevel.ELEVATED),
    }
    log.info("%s; missed: %s", result, [t for (t, _), (_, k) in zip(crisis, checks) if k.level != RiskLevel.CRISIS])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", ["core", "round1", "round2", "round3", "round4", "round5"])
def test_earlier_rounds_as_regression_sets(gate: SafetyGate, name: str) -> None:
    lists = PHRASINGS[name]
    result = figures(gate, [tuple(p) for p in lists["crisis"]], lists["none"], lists["elevated"])
    assert result["recall"] >= REGRESSION_RECALL_FLOOR
    assert result["none_at_crisis"] <= 2
    assert result["none_flagged"] <= REGRESSION_NONE_FLAGGED_CEILING
    assert result["elevated_exact"] >= 0.75 * len(lists["elevated"])


def test_round6_table_sizes_and_categories() -> None:
    assert len(ROUND6_CRISIS) >= 150 and len(ROUND6_NONE) >= 150 and len(ROUND6_ELEVATED) >= 35
    assert {c for _, c in ROUND6_CRISIS} == set(CATEGORIES)


def test_round6_is_in_neither_the_bank_nor_the_training_phrasings() -> None:
    held_out = {t.lower() for t, _ in ROUND6_CRISIS} | {t.lower() for t in ROUND6_NONE + ROUND6_ELEVATED}
    bank = ExemplarBank.builtin()
    texts = [t for t, _ in bank.crisis] + list(bank.elevated) + list(bank.negative)
    assert held_out & {t.lower() for t in texts} <= WRITTEN_BY_BOTH


WRITTEN_BY_BOTH = {  # common phrases that round 6's author and an earlier one wrote independently
    "kms tonight fr not joking this time", "everyone would be better off without me", "she's drop dead gorgeous",
    "that exam absolutely murdered me but i think i passed", "my sourdough starter died while i was on holiday 😭",
}


@pytest.mark.slow
def test_round6_held_out(gate: SafetyGate) -> None:
    result = figures(gate, ROUND6_CRISIS, ROUND6_NONE, ROUND6_ELEVATED)
    assert result["recall"] >= ROUND6_RECALL_FLOOR
    assert result["precision"] >= ROUND6_PRECISION_FLOOR
    assert result["category"] >= ROUND6_CATEGORY_FLOOR
    assert result["none_flagged"] <= ROUND6_NONE_FLAGGED_CEILING
    assert result["elevated_exact"] >= ROUND6_ELEVATED_EXACT_FLOOR


@pytest.mark.slow
def test_round6_the_safety_head_adds_to_the_rules_and_exemplars(gate: SafetyGate) -> None:
    without_head = SafetyGate(detectors=[RuleSet.builtin(), SemanticDetector(shared_embedder)])
    before = figures(without_head, ROUND6_CRISIS, ROUND6_NONE, ROUND6_ELEVATED)["recall"]
    assert figures(gate, ROUND6_CRISIS, ROUND6_NONE, ROUND6_ELEVATED)["recall"] >= before + 0.15


# Regression sets (all in the bank and the head's training data) at commit time: recall 1.00 on
# core and rounds 1-4, 136/137 on round 5; ordinary messages flagged 0 / 0 / 0 / 2 / 3 / 4 (1, 2 and
# 0 of them at crisis); elevated met exactly 21/21, 9/10, 17/18, 14/17, 19/22, 29/37.
REGRESSION_RECALL_FLOOR = 0.98
REGRESSION_NONE_FLAGGED_CEILING = 4

# Round 5 was measured once (see git history: d527861): recall 0.328 before the safety head,
# 0.547 with it. Round 6, measured once each (docs/safety.md has the misses):
#   rules + exemplar bank before the safety head (7af34e0): recall 43/168 = 0.256, precision 43/47
#     = 0.915, ordinary flagged 10/178 (4 crisis), elevated exact 16/43
#   first safety head (d527861): recall 77/168 = 0.458, precision 0.928, ordinary flagged 10 (6 crisis)
#   this pass (rounds 1-5 and new exemplars in the bank and the head, sentence pairs):
#     recall 103/168 = 0.613, precision 103/112 = 0.920, category right 96/103, ordinary flagged
#     13/178 (9 crisis), elevated exact 20/43 (16 crisis, 7 none); without the head 62/168 = 0.369
ROUND6_RECALL_FLOOR = 0.60
ROUND6_PRECISION_FLOOR = 0.91
ROUND6_CATEGORY_FLOOR = 0.92
ROUND6_NONE_FLAGGED_CEILING = 13
ROUND6_ELEVATED_EXACT_FLOOR = 20

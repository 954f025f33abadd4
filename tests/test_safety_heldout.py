"""Held-out phrasings for the safety gate: each round written after a pass of work, measured once.

Rounds 1-5 (in `heartline/safety/phrasings.json`, with the gate's first lists as 'core') were
each held out when written; later passes learnt from them (the rules, then the exemplar bank and
the safety head, which now train on them), so they are regression sets. Rounds 5, 6 and 7 were each written by a
separate author who had seen neither the rules, the bank, the head nor the earlier rounds. Round 6
(`safety_round6_data.py`) was measured once, then its misses shaped the emergency rule: it is a
regression set kept out of the training data. Round 7 (`safety_round7_data.py`) is the current
held-out set, measured once; misses are known gaps, reported as they are (docs/safety.md). The
floors sit just below the measured figures.
"""

from __future__ import annotations

import logging

import pytest
from safety_round6_data import ROUND6_CRISIS, ROUND6_ELEVATED, ROUND6_NONE
from safety_round7_data import ROUND7_CRISIS, ROUND7_ELEVATED, ROUND7_NONE

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


def test_round6_and_7_table_sizes_and_categories() -> None:
    assert len(ROUND6_CRISIS) >= 150 and len(ROUND6_NONE) >= 150 and len(ROUND6_ELEVATED) >= 35
    assert len(ROUND7_CRISIS) >= 150 and len(ROUND7_NONE) >= 150 and len(ROUND7_ELEVATED) >= 35
    assert {c for _, c in ROUND6_CRISIS} == {c for _, c in ROUND7_CRISIS} == set(CATEGORIES)


def test_rounds_6_and_7_are_in_neither_the_bank_nor_the_training_phrasings() -> None:
    bank = ExemplarBank.builtin()
    texts = {t.lower() for t in [t for t, _ in bank.crisis] + list(bank.elevated) + list(bank.negative)}
    for crisis, none, elevated in ((ROUND6_CRISIS, ROUND6_NONE, ROUND6_ELEVATED), (ROUND7_CRISIS, ROUND7_NONE, ROUND7_ELEVATED)):
        held_out = {t.lower() for t, _ in crisis} | {t.lower() for t in none + elevated}
        assert held_out & texts <= WRITTEN_BY_BOTH


WRITTEN_BY_BOTH = {  # common phrases that round 6's author and an earlier one wrote independently
    "kms tonight fr not joking this time", "everyone would be better off without me", "she's drop dead gorgeous",
    "that exam absolutely murdered me but i think i passed", "my sourdough starter died while i was on holiday 😭",
}


@pytest.mark.slow
@pytest.mark.parametrize(("crisis", "none", "elevated", "floors"), [
    (ROUND6_CRISIS, ROUND6_NONE, ROUND6_ELEVATED, {"recall": 0.66, "precision": 0.91, "category": 0.93,
                                                   "none_flagged": 14, "elevated_exact": 20}),
    (ROUND7_CRISIS, ROUND7_NONE, ROUND7_ELEVATED, {"recall": 0.74, "precision": 0.95, "category": 0.91,
                                                   "none_flagged": 9, "elevated_exact": 17}),
], ids=["round6", "round7"])
def test_independent_rounds(gate: SafetyGate, crisis: list[tuple[str, str]], none: list[str], elevated: list[str],
                            floors: dict[str, float]) -> None:
    result = figures(gate, crisis, none, elevated)
    for key in ("recall", "precision", "category", "elevated_exact"):
        assert result[key] >= floors[key], key
    assert result["none_flagged"] <= floors["none_flagged"]


@pytest.mark.slow
def test_round7_the_safety_head_adds_to_the_rules_and_exemplars(gate: SafetyGate) -> None:
    without_head = SafetyGate(detectors=[RuleSet.builtin(), SemanticDetector(shared_embedder)])
    before = figures(without_head, ROUND7_CRISIS, ROUND7_NONE, ROUND7_ELEVATED)["recall"]
    assert figures(gate, ROUND7_CRISIS, ROUND7_NONE, ROUND7_ELEVATED)["recall"] >= before + 0.15


# Regression sets (all in the bank and the head's training data) at commit time: recall 1.00 on
# core and rounds 1-4, 136/137 on round 5; ordinary messages flagged 0 / 0 / 0 / 2 / 3 / 4 (1, 2 and
# 0 of them at crisis); elevated met exactly 21/21, 9/10, 17/18, 14/17, 19/22, 29/37.
REGRESSION_RECALL_FLOOR = 0.98
REGRESSION_NONE_FLAGGED_CEILING = 4

# Round 5 was measured once (see git history: d527861): recall 0.328 before the safety head,
# 0.547 with it. Round 6, measured once each: 0.256 before the head (7af34e0), 0.458 with the first
# head (d527861), 0.613 after the second pass (32e65a0; precision 0.920, 13/178 ordinary flagged);
# its misses then shaped the emergency rule: now recall 112/168 = 0.667, category right 106/112,
# ordinary flagged 14 (10 crisis), elevated met exactly 20/43.
# Round 7 (181 crisis / 161 ordinary / 42 elevated), measured once each (docs/safety.md has the misses):
#   rules + exemplar bank before the head (7af34e0): recall 61/181 = 0.337, precision 0.953
#   second pass (32e65a0): recall 119/181 = 0.657, precision 0.952, ordinary flagged 9 (6 crisis)
#   + emergency rule and exemplars (this commit): recall 135/181 = 0.746, precision 135/141 = 0.957,
#     category right 124/135, ordinary flagged 9/161 (6 crisis), elevated exact 17/42 (11 crisis,
#     14 none); without the head 93/181 = 0.514; rules alone 51/181 = 0.282

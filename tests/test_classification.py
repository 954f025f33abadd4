"""Classification metrics, checked against values from scikit-learn and Kang et al.'s metrics.py."""

from __future__ import annotations

import numpy as np
import pytest

from heartline.evaluation.classification import (
    accuracy,
    classification_report,
    confusion_matrix,
    macro_f1,
    preference_bias,
    strategy_preferences,
    weighted_f1,
)

LABELS = list("abcdefgh")
GOLD = list("abcdefghabcdefghaaaa")
PRED = list("abcdefghbcdefghabbcc")
# Computed once with scikit-learn's f1_score and the authors' Bradley-Terry code.
REF_PREFS = [0.23059957752152874, 1.4855349179634618, 2.1995933627563127, 1.5103115588799862,
             1.0370385177964134, 0.7121075201294912, 0.489008545842129, 0.3358059991106761]
REF_B = 0.6435917920714229
REF_MACRO = 0.4270833333333333
REF_WEIGHTED = 0.39166666666666666


def test_f1_and_accuracy_match_reference() -> None:
    assert accuracy(GOLD, PRED, LABELS) == pytest.approx(8 / 20)
    assert macro_f1(GOLD, PRED, LABELS) == pytest.approx(REF_MACRO)
    assert weighted_f1(GOLD, PRED, LABELS) == pytest.approx(REF_WEIGHTED)


def test_preferences_match_kang_et_al() -> None:
    prefs = strategy_preferences(GOLD, PRED, LABELS)
    np.testing.assert_allclose(prefs, REF_PREFS, rtol=1e-12)
    assert prefs.sum() == pytest.approx(len(LABELS))
    assert preference_bias(GOLD, PRED, LABELS) == pytest.approx(REF_B)


def test_confusion_rows_are_gold() -> None:
    matrix = confusion_matrix(["a", "a", "b"], ["b", "a", "b"], ["a", "b"])
    assert matrix.tolist() == [[1, 1], [0, 1]]


def test_biased_predictor_has_higher_b_than_balanced_one() -> None:
    rng = np.random.default_rng(0)
    gold = [LABELS[i] for i in rng.integers(0, 8, 400)]
    balanced = [g if rng.random() < 0.4 else LABELS[rng.integers(0, 8)] for g in gold]
    biased = [g if r < 0.4 else "a" if r < 0.9 else LABELS[rng.integers(0, 8)]
              for g, r in zip(gold, rng.random(len(gold)))]
    assert preference_bias(gold, biased, LABELS) > preference_bias(gold, balanced, LABELS) + 0.3


def test_never_predicted_label_gets_zero_preference() -> None:
    gold = list("abcabcabc")
    pred = list("abbaabbab")  # "c" never predicted
    prefs = strategy_preferences(gold, pred, ["a", "b", "c"])
    assert prefs[2] == 0.0
    assert np.isfinite(prefs).all() and prefs.sum() == pytest.approx(3)


def test_label_that_never_loses_makes_preferences_undefined() -> None:
    # as in the reference: its maximum-likelihood preference is infinite
    assert np.isnan(preference_bias(list("aabb"), list("aaab"), ["a", "b"]))


def test_labels_absent_from_gold_are_left_out_of_b() -> None:
    gold, pred = list("aabbcc"), list("abbcca")
    prefs = strategy_preferences(gold, pred, ["a", "b", "c", "d"])
    assert np.isnan(prefs[3]) and prefs[:3].sum() == pytest.approx(3)
    assert preference_bias(gold, pred + [], ["a", "b", "c", "d"]) == pytest.approx(preference_bias(gold, pred, ["a", "b", "c"]))
    assert classification_report(gold, pred, ["a", "b", "c", "d"])["preferences"]["d"] is None


def test_macro_f1_ignores_labels_absent_from_gold_and_predictions() -> None:
    assert macro_f1(["a", "b"], ["a", "b"], ["a", "b", "c"]) == 1.0


def test_unknown_labels_and_length_mismatch_raise() -> None:
    with pytest.raises(ValueError, match="not in the label list"):
        accuracy(["a"], ["z"], ["a", "b"])
    with pytest.raises(ValueError, match="predictions"):
        accuracy(["a", "b"], ["a"], ["a", "b"])


def test_report_is_json_ready() -> None:
    report = classification_report(GOLD, PRED, LABELS)
    assert report["n"] == 20
    assert report["preference_bias"] == pytest.approx(REF_B)
    assert set(report["preferences"]) == set(LABELS)

"""Text metrics against values computed by their reference implementations.

Expected numbers were computed once on the PAIRS below with: ESConv's
codes_zcj/metric/myMetrics.py logic run on nltk 3.9.2 (real ``nltk.word_tokenize`` with the
English Punkt tables), ``sacrebleu.corpus_bleu`` 2.5.1 and ``rouge_score`` 0.1.2
``RougeScorer(["rougeL"], use_stemmer=False)``.
"""

from __future__ import annotations

import math

import pytest

from heartline.errors import HeartlineError
from heartline.evaluation import text_metrics as tm
from heartline.evaluation.meteor import meteor, meteor_available
from heartline.evaluation.tokenize import esconv_tokenize

PAIRS = [  # (hypothesis, reference)
    ("I understand how you feel. That sounds really hard.",
     "I understand how you feel. That sounds really hard."),
    ("Have you talked to your boss about it? Maybe Dr. Lee could help too.",
     "Have you tried talking to your manager about how you feel?"),
    ("", "It's okay to feel that way."),
    ("Okay.", "Okay, tell me more about it."),
    ("Je suis désolé 😢 — c'est difficile.", "Je suis vraiment désolé, c'est difficile."),
    ("I'm so sorry to hear that!! You aren't alone.", "i am so sorry to hear that, you are not alone"),
    ("HELLO there, how are you doing today?", "Hello there! How have you been doing lately?"),
]
HYPS = [h for h, _ in PAIRS]
REFS = [r for _, r in PAIRS]

CORPUS = {
    "bleu-1": 56.439867306561176, "bleu-2": 43.067454988693136, "bleu-3": 34.62389038932852,
    "bleu-4": 29.849889423018677, "bleu-2-individual": 32.863395463502215,
    "bleu-3-individual": 22.378407387051507, "bleu-4-individual": 19.12684392055684,
    "sacrebleu-1": 50.92930174399081, "sacrebleu-2": 39.59119142306415,
    "sacrebleu-3": 33.38859226724153, "sacrebleu-4": 29.534129934238567,
    "rouge-l": 55.407680759466125, "rougeL-f1": 57.32838589981447,
    "unigram-f1": 55.74940097496489,
    "distinct-1": 75.0, "distinct-2": 100.0, "distinct-3": 100.0,
    "dist-1-esconv": 83.33333333333334, "dist-2-esconv": 100.0, "dist-3-esconv": 100.0,
    "length": 8.571428571428571,
}

# One pair at a time: index -> reference values.
SINGLE = {
    0: {"bleu-1": 100.0, "bleu-2": 100.0, "bleu-4": 100.0, "bleu-2-individual": 100.0,
        "sacrebleu-4": 100.00000000000004, "rouge-l": 100.0, "rougeL-f1": 100.0,
        "unigram-f1": 100.0, "dist-1-esconv": 100.0, "distinct-1": 90.9090909090909,
        "length": 11.0},
    1: {"bleu-1": 37.5, "bleu-2": 22.360679774997898, "bleu-4": 7.655122720591222,
        "bleu-2-individual": 13.333333333333334, "sacrebleu-4": 7.158561577277536,
        "rouge-l": 43.99038461538461, "rougeL-f1": 40.0, "unigram-f1": 42.857142857142854,
        "dist-1-esconv": 100.0, "distinct-1": 100.0, "length": 16.0},
    2: {"bleu-1": 0.0, "bleu-2": 0.0, "bleu-4": 0.0, "bleu-2-individual": 0.0,
        "sacrebleu-4": 0.0, "rouge-l": 0.0, "rougeL-f1": 0.0, "unigram-f1": 0.0,
        "dist-1-esconv": 0.0, "distinct-1": 0.0, "length": 0.0},
    3: {"bleu-1": 4.978706836786395, "bleu-2": 3.5204773658314856, "bleu-4": 1.7602386829157428,
        "bleu-2-individual": 2.4893534183931973, "sacrebleu-4": 0.0,
        "rouge-l": 36.09467455621302, "rougeL-f1": 28.57142857142857, "unigram-f1": 40.0,
        "dist-1-esconv": 100.0, "distinct-1": 100.0, "length": 2.0},
    4: {"bleu-1": 75.0, "bleu-2": 56.69467095138408, "bleu-4": 27.05411345269699,
        "bleu-2-individual": 42.857142857142854, "sacrebleu-4": 27.054113452696992,
        "rouge-l": 75.0, "rougeL-f1": 93.33333333333333, "unigram-f1": 75.0,
        "dist-1-esconv": 100.0, "distinct-1": 100.0, "length": 8.0},
    5: {"bleu-1": 64.28571428571429, "bleu-2": 49.72451580988469, "bleu-4": 32.55964126200301,
        "bleu-2-individual": 38.46153846153847, "sacrebleu-4": 33.18077402843942,
        "rouge-l": 70.20460358056268, "rougeL-f1": 72.72727272727273,
        "unigram-f1": 69.23076923076924, "dist-1-esconv": 92.3076923076923,
        "distinct-1": 92.85714285714286, "length": 14.0},
    6: {"bleu-1": 59.655954454291305, "bleu-2": 25.831786022211855, "bleu-4": 11.22961654347238,
        "bleu-2-individual": 11.185491460179623, "sacrebleu-4": 6.033504141761816,
        "rouge-l": 62.564102564102555, "rougeL-f1": 66.66666666666666,
        "unigram-f1": 63.1578947368421, "dist-1-esconv": 100.0, "distinct-1": 100.0,
        "length": 9.0},
}

# nltk.word_tokenize(h.lower()) for every hypothesis, from real NLTK with its Punkt tables.
# pycocoevalcap 1.2 `Meteor().compute_score` (METEOR 1.5 jar, -l en -norm) on the same pairs
# ESConv-tokenised (" ".join(nltk.word_tokenize(text.lower()))), times 100.
PYCOCOEVALCAP_METEOR = 30.42645619130398

NLTK_TOKENS = [
    ["i", "understand", "how", "you", "feel", ".", "that", "sounds", "really", "hard", "."],
    ["have", "you", "talked", "to", "your", "boss", "about", "it", "?", "maybe", "dr.", "lee",
     "could", "help", "too", "."],
    [],
    ["okay", "."],
    ["je", "suis", "désolé", "😢", "—", "c'est", "difficile", "."],
    ["i", "'m", "so", "sorry", "to", "hear", "that", "!", "!", "you", "are", "n't", "alone", "."],
    ["hello", "there", ",", "how", "are", "you", "doing", "today", "?"],
]


@pytest.fixture(scope="module")
def corpus_scores() -> dict[str, float]:
    return tm.response_metrics(HYPS, REFS)


def test_tokenisation_matches_nltk_word_tokenize_on_lowercased_text() -> None:
    assert [list(esconv_tokenize(h)) for h in HYPS] == NLTK_TOKENS


def test_tokenisation_splits_sentences_first_like_word_tokenize() -> None:
    # Without Punkt sentence splitting (preserve_line=True) NLTK would keep "sorry." whole.
    assert list(esconv_tokenize("I am sorry. Have you tried talking to Mr. Jones? It helps.")) == [
        "i", "am", "sorry", ".", "have", "you", "tried", "talking", "to", "mr.", "jones", "?",
        "it", "helps", "."]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_metric_matches_reference(corpus_scores: dict[str, float], name: str) -> None:
    assert corpus_scores[name] == pytest.approx(CORPUS[name], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("index", sorted(SINGLE))
def test_single_pair_metrics_match_reference(index: int) -> None:
    hyp, ref = PAIRS[index]
    scores = tm.response_metrics([hyp], [ref])
    for name, expected in SINGLE[index].items():
        assert scores[name] == pytest.approx(expected, rel=1e-9, abs=1e-9), name


def test_identical_texts_score_perfectly() -> None:
    hyp = [PAIRS[0][0], "You are not alone in this."]
    for n in range(1, 5):
        assert tm.bleu(hyp, hyp, n) == pytest.approx(100.0)
        assert tm.sacrebleu(hyp, hyp, n)[0] == pytest.approx(100.0)
    assert tm.rouge_l(hyp, hyp) == pytest.approx(100.0)
    assert tm.rouge_l_esconv(hyp, hyp) == pytest.approx(100.0)


def test_bleu_2_is_cumulative_and_individual_is_reported_apart() -> None:
    # Pair 1 by hand: 6 of 16 unigrams and 2 of 15 bigrams match, the hypothesis is longer
    # than the reference (no brevity penalty).
    hyp, ref = PAIRS[1]
    p1, p2 = 6 / 16, 2 / 15
    assert tm.bleu([hyp], [ref], 2) == pytest.approx(100 * math.sqrt(p1 * p2))
    assert tm.bleu([hyp], [ref], 2, individual=True) == pytest.approx(100 * p2)
    assert tm.bleu([hyp], [ref], 1) == pytest.approx(100 * p1)


def test_bleu_weights() -> None:
    assert tm.bleu_weights(2) == (0.5, 0.5, 0.0, 0.0)
    assert tm.bleu_weights(3, individual=True) == (0.0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError):
        tm.bleu_weights(5)


def test_sacrebleu_reports_its_signature() -> None:
    _, signature = tm.sacrebleu(HYPS, REFS)
    assert "tok:13a" in signature and "smooth:exp" in signature and "version:2.5.1" in signature


def test_rouge_score_tokenizer_drops_non_ascii_letters() -> None:
    assert tm.rouge_tokenize("Je suis désolé 😢 — c'est") == ["je", "suis", "d", "sol", "c", "est"]


def test_distinct_counts_every_ngram_while_esconv_skips_the_last() -> None:
    hyps = ["a b a", "a b"]
    assert tm.distinct(hyps, 1) == pytest.approx(100 * 2 / 5)
    assert tm.distinct(hyps, 2) == pytest.approx(100 * 2 / 3)  # (a b), (b a), (a b)
    assert tm.distinct_esconv(hyps, 1) == pytest.approx(100 * 2 / 3)  # a b | a
    assert tm.distinct_esconv(hyps, 2) == pytest.approx(100.0)  # (a b) only
    assert tm.distinct(["hi"], 3) == 0.0  # no trigram anywhere: defined as 0, not an error


def test_mean_length_counts_esconv_tokens() -> None:
    assert tm.mean_length(["I'm fine.", ""]) == pytest.approx(4 / 2)  # i 'm fine .


def test_mismatched_or_empty_inputs_are_errors() -> None:
    with pytest.raises(HeartlineError, match="2 hypotheses but 1 references"):
        tm.bleu(["a", "b"], ["a"])
    with pytest.raises(HeartlineError, match="no hypotheses"):
        tm.rouge_l([], [])


@pytest.mark.slow
def test_meteor_matches_pycocoevalcap() -> None:
    reason = meteor_available()
    if reason:
        pytest.skip(f"METEOR cannot run here: {reason}")
    assert meteor(HYPS, REFS) == pytest.approx(PYCOCOEVALCAP_METEOR, rel=1e-9)

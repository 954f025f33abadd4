"""Fitting heads, bias control, and the examples/features the trainers and the planner share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heartline.heads import Head
from heartline.labels import EMOTIONS, ESCONV_STRATEGIES
from heartline.evaluation.classification import classification_report
from heartline.planning.bias import BiasControl, f1_scores, fit_f1_offsets, fit_match_offsets, training_prior
from heartline.planning.features import (
    CUES, POSITION_BINS, context_texts, cue_features, dialogue_features, position, reply_features, strategy_history,
)
from heartline.planning.strategy import strategy_features
from heartline.schema import Dialogue, PlanContext, Utterance
from heartline.training.examples import emotion_examples, is_first_reply, supporter_examples
from heartline.training.fit import FitConfig, class_weights, fit_head
from heartline.training.strategy import choose_bias, out_of_fold_proba


def blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[3, 0], [0, 3], [-3, -3]], dtype=float)
    y = rng.integers(0, 3, n)
    return centres[y] + rng.normal(0, 1, (n, 2)), y


@pytest.mark.parametrize("hidden", [0, 16])
def test_fit_head_separates_blobs(hidden: int) -> None:
    x, y = blobs()
    head = fit_head(x, y, ("a", "b", "c"), FitConfig(hidden=hidden, l2=1e-3, max_iter=200))
    xt, yt = blobs(seed=1)
    assert (head.proba(xt).argmax(axis=1) == yt).mean() > 0.9
    np.testing.assert_allclose(head.proba(xt).sum(axis=1), 1.0, rtol=1e-5)


def test_fit_is_deterministic_for_a_seed() -> None:
    x, y = blobs()
    config = FitConfig(hidden=8, max_iter=50, seed=3)
    a = fit_head(x, y, ("a", "b", "c"), config)
    b = fit_head(x, y, ("a", "b", "c"), config)
    np.testing.assert_array_equal(a.layers[0][0], b.layers[0][0])


def test_class_balanced_weights_equalise_class_mass() -> None:
    y = np.array([0] * 90 + [1] * 10)
    w = class_weights(y, 3, balance=1.0)
    assert w[0] * 90 == pytest.approx(w[1] * 10)
    assert w[y].mean() == pytest.approx(1.0)
    assert w[2] == 0.0


def test_balanced_loss_recovers_minority_class() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (950, 2)), rng.normal(1.5, 1, (50, 2))])
    y = np.array([0] * 950 + [1] * 50)
    plain = fit_head(x, y, ("a", "b"), FitConfig(balance=0.0))
    balanced = fit_head(x, y, ("a", "b"), FitConfig(balance=1.0))
    minority = x[y == 1]
    assert (balanced.proba(minority).argmax(1) == 1).mean() > (plain.proba(minority).argmax(1) == 1).mean() + 0.3


def test_head_save_load_round_trip(tmp_path: Path) -> None:
    x, y = blobs()
    head = fit_head(x, y, ("a", "b", "c"), FitConfig(hidden=4, max_iter=20))
    head.config = {"features": "test"}
    head.save(tmp_path)
    loaded = Head.load(tmp_path)
    assert loaded.labels == ("a", "b", "c") and loaded.config["features"] == "test"
    np.testing.assert_allclose(loaded.proba(x), head.proba(x), rtol=1e-6)
    assert not list(tmp_path.glob("*.pkl"))


def test_prior_correction_flattens_towards_rare_labels() -> None:
    prior = training_prior(np.array([80, 15, 5]), smoothing=0)
    probs = np.array([0.6, 0.25, 0.15])
    assert BiasControl(prior, "prior", 0.0).apply(probs) is probs
    corrected = BiasControl(prior, "prior", 1.0).apply(probs)
    assert corrected.sum() == pytest.approx(1.0)
    assert corrected.argmax() == 2
    again = BiasControl.from_json(BiasControl(prior, "prior", 0.7).to_json())
    assert again.alpha == 0.7 and np.allclose(again.prior, prior)
    assert again.with_method("none").apply(probs) is probs


def test_prior_matching_makes_choices_follow_the_prior() -> None:
    rng = np.random.default_rng(0)
    prior = np.array([0.5, 0.3, 0.2])
    logits = rng.normal(0, 1, (2000, 3)) + np.array([1.5, 0.0, -0.5])  # over-chooses label 0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    control = BiasControl(prior, "match", 0.0, fit_match_offsets(probs, prior))
    chosen = np.bincount(control.apply(probs).argmax(1), minlength=3) / len(probs)
    before = np.bincount(probs.argmax(1), minlength=3) / len(probs)
    assert np.abs(chosen - prior).max() < 0.02 < np.abs(before - prior).max()
    with pytest.raises(ValueError, match="offsets"):
        BiasControl(prior, "match")


def test_prior_matching_converges_on_nearly_flat_distributions() -> None:
    # a strongly regularised head: logits 50x smaller than above, where fixed steps overshoot
    rng = np.random.default_rng(0)
    prior = np.array([0.5, 0.3, 0.2])
    logits = 0.02 * (rng.normal(0, 1, (2000, 3)) + np.array([1.5, 0.0, -0.5]))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    control = BiasControl(prior, "match", 0.0, fit_match_offsets(probs, prior))
    chosen = np.bincount(control.apply(probs).argmax(1), minlength=3) / len(probs)
    assert np.abs(chosen - prior).max() < 0.02



def test_f1_offsets_raise_f1_where_the_head_under_chooses_a_strategy() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 3000)
    logits = rng.normal(0, 1, (3000, 3)) + 1.5 * np.eye(3)[gold] + np.array([0.0, 0.0, -2.0])  # label 2 starved
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    prior = training_prior(np.bincount(gold, minlength=3))
    before = f1_scores(gold, probs.argmax(1), 3)
    control = BiasControl(prior, "f1", 0.0, f1_offsets=fit_f1_offsets(probs, gold, np.zeros(3)))
    after = f1_scores(gold, control.apply(probs).argmax(1), 3)
    assert sum(after) > sum(before) + 0.1
    assert control.offsets[2] > control.offsets[0] and control.offsets[2] > control.offsets[1]
    again = BiasControl.from_json(control.to_json())
    assert np.allclose(again.apply(probs), control.apply(probs))
    with pytest.raises(ValueError, match="offsets"):
        BiasControl(prior, "f1")


def test_f1_scores_match_the_evaluation_metrics() -> None:
    labels = ("a", "b", "c")
    gold, pred = np.array([0, 0, 1, 1, 2, 2, 2]), np.array([0, 1, 1, 1, 0, 2, 0])
    weighted, macro = f1_scores(gold, pred, 3)
    report = classification_report([labels[i] for i in gold], [labels[i] for i in pred], labels)
    assert weighted == pytest.approx(report["weighted_f1"]) and macro == pytest.approx(report["macro_f1"])


def test_out_of_fold_probabilities_never_come_from_a_head_that_saw_the_dialogue() -> None:
    # each dialogue has its own feature and label: only a head that saw it can know its label
    dialogues = 12
    groups = [f"d{d}" for d in range(dialogues) for _ in range(5)]
    x = np.repeat(np.eye(dialogues), 5, axis=0)
    y = np.repeat(np.arange(dialogues) % 3, 5)
    config = FitConfig(l2=1e-4, balance=0.0)
    seen = fit_head(x, y, ("a", "b", "c"), config).proba(x)[np.arange(len(y)), y]
    oof = out_of_fold_proba(x, y, groups, ("a", "b", "c"), config, folds=4, repeats=2)
    assert oof.shape == (2 * len(y), 3)
    unseen = oof[np.arange(2 * len(y)), np.tile(y, 2)]
    assert seen.min() > 0.9 and unseen.max() < 0.5

def test_bias_control_is_the_best_q_under_the_bias_ceiling() -> None:
    curve = [{"method": "none", "alpha": 0.0, "macro_f1": 0.26, "preference_bias": 0.50},
             {"method": "prior", "alpha": 0.5, "macro_f1": 0.29, "preference_bias": 0.60},
             {"method": "match", "alpha": 0.0, "macro_f1": 0.27, "preference_bias": 0.10},
             {"method": "f1", "alpha": 0.0, "macro_f1": 0.28, "preference_bias": 0.30}]
    assert choose_bias(curve)["method"] == "f1"
    assert choose_bias([curve[0], curve[1]])["method"] == "none"  # nothing under the ceiling: lowest B

def dialogue() -> Dialogue:
    u = Utterance
    return Dialogue(id="d", dataset="esconv", taxonomy="esconv", utterances=[
        u(speaker="supporter", text="Hi, how are you?", strategy="Question"),
        u(speaker="seeker", text="Not great."),
        u(speaker="seeker", text="I lost my job."),
        u(speaker="supporter", text="That sounds really hard.", strategy="Reflection of feelings"),
        u(speaker="supporter", text="What happened?", strategy="Question"),
        u(speaker="seeker", text="They closed the shop.", emotion="sadness"),
        u(speaker="supporter", text="Maybe look at the job centre.", strategy="Providing Suggestions"),
    ])


def test_supporter_examples_are_first_replies_to_a_seeker_message() -> None:
    examples = supporter_examples([dialogue()])
    assert [e.target.strategy for e in examples] == ["Reflection of feelings", "Providing Suggestions"]
    first, second = examples
    assert first.context.message == "Not great. I lost my job."
    assert second.context.utterances[-2].text == "What happened?"  # follow-ups stay in context


def test_every_target_adds_openings_and_follow_ups() -> None:
    examples = supporter_examples([dialogue()], targets="every")
    assert [e.target.strategy for e in examples] == [
        "Question", "Reflection of feelings", "Question", "Providing Suggestions"]
    assert [is_first_reply(e.context) for e in examples] == [False, True, False, True]
    opening, _, follow_up, _ = examples
    assert opening.context.utterances == [] and opening.context.answered.utterances == []
    assert [u.text for u in follow_up.context.reply] == ["That sounds really hard."]
    assert follow_up.context.message == ""  # it ends with the supporter's own utterance
    assert follow_up.context.answered.message == "Not great. I lost my job."
    assert examples[1].context.answered is examples[1].context


def test_reply_features_place_the_utterance_in_the_reply() -> None:
    opening, first, follow_up, _ = supporter_examples([dialogue()], targets="every")
    assert reply_features(first.context).tolist() == [1, 0, 0, 0, 0]
    assert reply_features(follow_up.context).tolist() == [0, 1, 0, 0, 0]
    assert reply_features(opening.context).tolist() == [1, 0, 0, 0, 1]  # nobody has spoken yet
    long_reply = PlanContext(utterances=[*first.context.utterances,
                                         *[Utterance(speaker="supporter", text=f"part {i}") for i in range(5)]])
    assert reply_features(long_reply).tolist() == [0, 0, 0, 1, 0]


def test_follow_up_features_read_the_message_it_answers() -> None:
    _, first, follow_up, _ = supporter_examples([dialogue()], targets="every")

    def embed(texts):
        return np.stack([np.full(4, len(t), np.float32) for t in texts])

    a = strategy_features(first.context, embed, 4, {"sadness": 1.0}, "esconv")
    b = strategy_features(follow_up.context, embed, 4, {"sadness": 1.0}, "esconv")
    assert np.array_equal(a[:12], b[:12])  # message, supporter's last utterance and window as answered
    last = slice(12, 12 + len(ESCONV_STRATEGIES) + 1)
    assert a[last].argmax() == ESCONV_STRATEGIES.index("Question")  # the opening
    assert b[last].argmax() == ESCONV_STRATEGIES.index("Reflection of feelings")  # the reply so far
    assert a[-5] == 1.0 and b[-4] == 1.0


def test_emotion_examples_end_with_the_labelled_utterance() -> None:
    [example] = emotion_examples([dialogue()])
    assert example.emotion == "sadness"
    assert example.context.utterances[-1].text == "They closed the shop."


def test_dialogue_features_layout() -> None:
    context = supporter_examples([dialogue()])[1].context
    k = len(ESCONV_STRATEGIES)
    history = strategy_history(context, "esconv")
    assert history[ESCONV_STRATEGIES.index("Question")] == 1.0  # last strategy
    assert history[k + 1 + ESCONV_STRATEGIES.index("Reflection of feelings")] == 1.0  # second to last
    assert history[2 * (k + 1):].sum() == pytest.approx(1.0)
    assert position(context).argmax() == 1  # one earlier seeker message (two utterances)
    assert len(position(context)) == len(POSITION_BINS)
    assert context_texts(context)[0] == "They closed the shop."

    def embed(texts):  # deterministic stand-in vectors: features must route them, not learn them
        return np.stack([np.full(4, len(t), np.float32) for t in texts])

    x = dialogue_features(context, embed, 4, {"sadness": 1.0}, "esconv")
    cues = len(CUES) + 3
    assert x.shape == (3 * 4 + 3 * k + 2 + len(EMOTIONS) + len(POSITION_BINS) + 1 + 2 * cues,)
    assert x[0] == len("They closed the shop.") and x[4] == len("What happened?")
    assert np.array_equal(x[-2 * cues:-cues], cue_features("They closed the shop."))
    assert np.array_equal(x[-cues:], cue_features("What happened?"))  # the supporter's last utterance


def test_cue_features_read_closing_and_help_requests() -> None:
    names = list(CUES)
    thanks = cue_features("Thank you so much, I feel better!")
    assert thanks[names.index("thanks")] == 1.0 and thanks[names.index("i_feel")] == 1.0
    assert thanks[names.index("greeting")] == 0.0 and thanks[-1] == 1.0 and thanks[-2] == 0.0
    ask = cue_features("Yes. What should I do now?")
    assert ask[names.index("yes")] == 1.0 and ask[names.index("asks_help")] == 1.0 and ask[-2] == 1.0
    assert ask[len(names)] == pytest.approx(np.log1p(8))  # 6 words and 2 of . ? !
    assert not cue_features("").any()


def test_first_message_has_empty_history() -> None:
    context = PlanContext(utterances=[Utterance(speaker="seeker", text="hello?")])
    history = strategy_history(context, "esconv")
    k = len(ESCONV_STRATEGIES)
    assert history[k] == 1.0 and history[2 * k + 1] == 1.0
    assert position(context)[0] == 1.0

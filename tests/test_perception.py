"""Perception logic without model files: fusion, cue sentences, text-only perceiving, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heartline.heads import Head
from heartline.labels import EMOTIONS
from heartline.perception import Perceiver
from heartline.perception.face import summarise
from heartline.perception.fusion import Fusion, learn_weights
from heartline.perception.prosody import MEASURES, VoiceNorms, describe
from heartline.perception.voice_model import (
    RAVDESS_CLASSES,
    VoiceEmotionModel,
    fold_standardisation,
)
from heartline.perception.voice_train import VoiceData, fit_temperature, train
from heartline.schema import EmotionEstimate, Media, Observation, PlanContext


def estimate(modality: str, top: str, p: float, confidence: float) -> EmotionEstimate:
    rest = (1.0 - p) / (len(EMOTIONS) - 1)
    dist = {e: (p if e == top else rest) for e in EMOTIONS}
    return EmotionEstimate(modality=modality, distribution=dist, confidence=confidence)  # type: ignore[arg-type]


class FixedTextModel:
    """A text emotion model that always reads the same emotion (the Perceiver's seam)."""

    def __init__(self, top: str) -> None:
        self.top = top
        self.seen: list[PlanContext] = []

    def recognize(self, context: PlanContext) -> EmotionEstimate:
        self.seen.append(context)
        return estimate("text", self.top, 0.7, 0.8)


# ---------------------------------------------------------------------------- fusion


def test_one_modality_passes_through_and_contributes_everything() -> None:
    fused, contributions = Fusion({"text": 1.0}).fuse({"text": estimate("text", "sadness", 0.6, 0.9)})
    assert fused is not None and fused.label == "sadness" and fused.modality == "fused"
    assert contributions == {"text": 1.0}


def test_no_modality_gives_no_fused_emotion() -> None:
    assert Fusion().fuse({}) == (None, {})


def test_agreeing_modalities_are_surer_than_either() -> None:
    text, voice = estimate("text", "sadness", 0.5, 1.0), estimate("voice", "sadness", 0.5, 1.0)
    fused, contributions = Fusion({"text": 1.0, "voice": 1.0}).fuse({"text": text, "voice": voice})
    assert fused.distribution["sadness"] > 0.5
    assert contributions == pytest.approx({"text": 0.5, "voice": 0.5})


def test_confidence_and_weight_decide_disagreements() -> None:
    text = estimate("text", "joy", 0.6, 0.9)
    face = estimate("face", "anger", 0.6, 0.2)
    fused, contributions = Fusion({"text": 1.0, "face": 1.0}).fuse({"text": text, "face": face})
    assert fused.label == "joy" and contributions["text"] > contributions["face"]
    fused, _ = Fusion({"text": 0.1, "face": 3.0}).fuse({"text": text, "face": face})
    assert fused.label == "anger"
    assert sum(contributions.values()) == pytest.approx(1.0)


def test_zero_confidence_modality_drops_out() -> None:
    fused, contributions = Fusion({"text": 1.0, "face": 1.0}).fuse(
        {"text": estimate("text", "fear", 0.5, 0.7), "face": estimate("face", "joy", 0.9, 0.0)}
    )
    assert set(contributions) == {"text"} and fused.label == "fear"


def test_learned_weights_trust_the_informative_modality() -> None:
    rng = np.random.default_rng(0)
    turns, labels = [], []
    for _ in range(300):
        truth = EMOTIONS[rng.integers(len(EMOTIONS))]
        noise = EMOTIONS[rng.integers(len(EMOTIONS))]
        turns.append({"voice": estimate("voice", truth, 0.5, 1.0), "face": estimate("face", noise, 0.5, 1.0)})
        labels.append(truth)
    weights = learn_weights(turns, labels, ["voice", "face"])
    assert weights["voice"] > 1.0
    assert weights["face"] < 0.2


# ---------------------------------------------------------------------------- cue sentences


def _norms() -> VoiceNorms:
    norms = {"pitch": (30.0, 2.0), "pitch_range": (4.0, 1.0), "loudness": (1.0, 0.2), "rate": (3.0, 0.5),
             "pauses": (0.2, 0.05), "jitter": (0.02, 0.005), "hnr": (8.0, 2.0)}  # fmt: skip
    return VoiceNorms(low=norms, high={**norms, "pitch": (40.0, 2.0)})


def test_voice_cue_names_what_stands_out() -> None:
    typical = {name: _norms().low[name][0] for name in MEASURES}
    assert describe(typical, _norms()) == "steady, unremarkable voice"
    low = {**typical, "loudness": 0.5, "rate": 1.8, "pitch": 26.0, "pauses": 0.5}
    assert describe(low, _norms()) == "quiet, slow, low-pitched voice with long pauses"
    # A voice in the higher register is judged against higher-register norms.
    high = {**typical, "pitch": 41.0}
    assert "pitch" not in describe(high, _norms())


def test_face_summary_says_mostly_and_brief() -> None:
    sad, joy = np.eye(len(EMOTIONS))[EMOTIONS.index("sadness")], np.eye(len(EMOTIONS))[EMOTIONS.index("joy")]
    probs = np.vstack([0.8 * sad + 0.2 / 7] * 7 + [0.8 * joy + 0.2 / 7] * 2)
    reading = summarise(probs, frames=10, notes=["face seen in 9 of 10 frames"])
    assert reading.cues.startswith("face mostly sad, brief smiles")
    assert max(reading.distribution, key=reading.distribution.get) == "sadness"
    assert 0 < reading.confidence < 1 and reading.face_frames == 9
    empty = summarise(np.zeros((0, len(EMOTIONS))), frames=5, notes=["no face found in 5 frames"])
    assert empty.confidence == 0 and empty.cues == ""


# ---------------------------------------------------------------------------- the perceiver


def test_text_only_perceiver_reads_typed_text_with_history() -> None:
    model = FixedTextModel("sadness")
    perception = Perceiver(text_model=model).perceive(Observation(text="  I lost my job  "), [])
    assert perception.transcript == "I lost my job" and perception.transcript_source == "typed"
    assert perception.user_emotion == "sadness" and perception.contributions == {"text": 1.0}
    assert model.seen[0].message == "I lost my job"
    assert perception.warnings == [] and perception.cues == ""


def test_empty_observation_perceives_nothing() -> None:
    perception = Perceiver(text_model=FixedTextModel("joy")).perceive(Observation(), [])
    assert perception.transcript_source == "none" and perception.fused is None


def test_switched_off_modalities_are_reported_and_text_goes_on(tmp_path: Path) -> None:
    observation = Observation(text="hello", audio=Media(kind="audio", path=tmp_path / "x.wav"))
    perception = Perceiver(text_model=FixedTextModel("joy")).perceive(observation, [])
    assert perception.user_emotion == "joy"
    assert perception.warnings == ["voice: audio given but voice perception is switched off"]


def test_unreadable_media_becomes_a_warning(tmp_path: Path) -> None:
    broken = tmp_path / "broken.webm"
    broken.write_bytes(b"\x1aE\xdf\xa3 not really webm" * 10)

    def never_built() -> None:
        raise AssertionError("the face model is only loaded for readable pictures")

    perceiver = Perceiver(text_model=FixedTextModel("fear"), face=never_built)
    perception = perceiver.perceive(Observation(text="help", video=Media(kind="video", path=broken)), [])
    assert perception.user_emotion == "fear"
    assert len(perception.warnings) == 1 and perception.warnings[0].startswith("face: ")
    assert "cannot read" in perception.warnings[0] or "corrupt" in perception.warnings[0]


# ---------------------------------------------------------------------------- voice training


def _voice_data(seed: int = 0) -> VoiceData:
    """10 actors × 8 classes × 4 clips; the 'egemaps' block carries the class, 'whisper' is noise."""
    rng = np.random.default_rng(seed)
    dim = 12
    centres = rng.normal(0, 1, (len(RAVDESS_CLASSES), dim))
    rows, labels, actors, genders = [], [], [], []
    for actor in range(10):
        offset = rng.normal(0, 0.5, dim)  # each speaker shifts every feature
        for k in range(len(RAVDESS_CLASSES)):
            for _ in range(4):
                rows.append(centres[k] + offset + rng.normal(0, 0.7, dim))
                labels.append(k)
                actors.append(f"Actor_{actor + 1:02d}")
                genders.append("male" if actor % 2 else "female")
    egemaps = np.array(rows, np.float32)
    measures = [{name: float(v) for name, v in zip(MEASURES, row[:7])} for row in egemaps]
    return VoiceData(
        blocks={"egemaps": egemaps, "whisper": rng.normal(0, 1, (len(rows), 8)).astype(np.float32)},
        labels=np.array(labels), actors=np.array(actors), genders=np.array(genders), measures=measures,
    )


def test_voice_training_holds_out_whole_actors_and_ships_a_loadable_head(tmp_path: Path) -> None:
    head, metrics = train(_voice_data(), holdout=2, folds=2)
    held = metrics["held_out_actors"]
    assert "Actor_09, Actor_10 held out" in metrics["protocol"]
    assert held["n"] == 2 * 8 * 4 and held["accuracy"] > 0.8
    assert set(held["per_class_recall"]) == set(RAVDESS_CLASSES)
    assert "egemaps" in metrics["chosen"]["feature_sets"]
    head.save(tmp_path)
    model = VoiceEmotionModel.load(tmp_path)
    row = _voice_data(seed=1).matrix(model.feature_sets)[:1]
    probs = model.probabilities(row)[0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert set(model.canonical(probs)) == set(EMOTIONS)
    arousal, valence = model.arousal_valence(probs)
    assert -1 <= arousal <= 1 and -1 <= valence <= 1


def test_folding_standardisation_and_temperature_changes_nothing_else() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(3, 2, (50, 5))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    head = Head(labels=("a", "b", "c"), layers=[(rng.normal(0, 1, (5, 3)), rng.normal(0, 1, 3))])
    folded = fold_standardisation(head, mean, scale, temperature=2.0)
    expected = head.logits((x - mean) / scale) / 2.0
    assert np.allclose(folded.logits(x), expected, atol=1e-4)


def test_temperature_fit_softens_overconfident_logits() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 400)
    logits = rng.normal(0, 1, (400, 4))
    logits[np.arange(400), y] += 1.0
    assert fit_temperature(10 * logits, y) > 5


def test_perceiver_from_settings_loads_no_model_until_a_turn_needs_it() -> None:
    from heartline.config import PerceptionSettings

    perceiver = Perceiver.from_settings(PerceptionSettings(face_fps=2.0), text_model=FixedTextModel("anger"))
    perception = perceiver.perceive(Observation(text="so annoyed"), [])
    assert perception.user_emotion == "anger" and perceiver.face_fps == 2.0
    assert perceiver._voice._value is None and perceiver._face._value is None


def test_a_looping_decode_is_recognised_by_its_tokens() -> None:
    from heartline.perception.asr import repeats_itself

    sentence = [5, 6, 7, 8]
    assert repeats_itself(sentence * 3) and repeats_itself(sentence * 2 + sentence[:2])
    assert repeats_itself([1, 2, 3, *sentence, *sentence])  # a stretch said twice at the end
    assert not repeats_itself([1, 2, 3, 4, 5, 6, 7, 8]) and not repeats_itself([]) and not repeats_itself([9])
    assert not repeats_itself([1, 2, 3, 2, 4, 5])

"""Encoder fine-tuning on tiny data: torch training, NumPy inference, checkpoints, the safety trainer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training_e2e import write_goemotions

from heartline.embeddings import MiniLMEmbedder
from heartline.finetuned import FineTunedEncoder, pair_ids, windows
from heartline.models import ensure
from heartline.safety import RuleSet, SafetyGate
from heartline.safety.classifier import CrisisClassifier
from heartline.safety.corpus import Corpus, LabelledMessage, LabelledReply, Said
from heartline.training.finetune import Example, FineTuneConfig, TorchEncoder, fine_tune, predict, write_adapter
from heartline.training.safety import train_safety

pytestmark = pytest.mark.slow
BASE = "all-minilm-l6-v2"
HEADS = {"risk": ("none", "crisis"), "whose": ("self", "other")}


@pytest.fixture(scope="module")
def base_dir() -> Path:
    return ensure(BASE)


def test_pair_ids_and_windows_keep_the_message_and_fit_the_budget() -> None:
    ids, types = pair_ids([5, 6, 7], [8, 9, 10, 11], cls_id=1, sep_id=2, max_tokens=8)
    assert ids == [1, 5, 6, 7, 2, 8, 9, 2] and types == [0, 0, 0, 0, 0, 1, 1, 1]
    assert pair_ids([5] * 20, [8], 1, 2, 8)[0] == [1, *[5] * 6, 2]  # no room left for the context
    parts = windows(list(range(10)), 4)
    assert parts[0] == [0, 1, 2, 3] and parts[-1] == [6, 7, 8, 9]
    assert sorted({i for w in parts for i in w}) == list(range(10))


def test_numpy_encoder_with_a_merged_adapter_matches_torch(base_dir: Path, tmp_path: Path) -> None:
    cfg = FineTuneConfig(precision="fp32")
    model = TorchEncoder(base_dir, HEADS, cfg)
    with torch.no_grad():
        for name, param in model.trainable().items():
            if name.endswith("lora_B"):
                param.normal_(0, 0.02)  # a non-trivial adapter
    write_adapter(model, tmp_path, cfg, base_model=BASE, heads=HEADS, max_tokens=48, first_tokens=32)
    numpy_model = FineTunedEncoder(tmp_path, base_dir=base_dir)
    items = [("I can't keep myself safe tonight", "person: I took a lot | supporter: are you safe?"), ("hello", None)]
    got = numpy_model.predict(items)
    examples = [Example(*numpy_model.inputs(text, second)[0], targets={}) for text, second in items]
    want = predict(model, examples, torch.device("cpu"), cfg)
    for i in range(len(items)):
        for head in HEADS:
            np.testing.assert_allclose(got[i][head][0], want[head][i], atol=1e-5)


def _examples(model_dir: Path) -> list[Example]:
    tok = MiniLMEmbedder(model_dir, max_tokens=32)
    rows = [("I want to end my life tonight", 1), ("the bus was late again", 0), ("I have the pills ready", 1),
            ("this exam is killing me lol", 0)] * 4
    return [Example(*pair_ids(tok.pieces([t])[0], None, tok.cls_id, tok.sep_id, 32), {"risk": y}) for t, y in rows]


def test_fine_tune_learns_checkpoints_and_resumes(base_dir: Path, tmp_path: Path) -> None:
    data = _examples(base_dir)
    heads = {"risk": HEADS["risk"]}

    def score(probs: dict[str, np.ndarray]) -> float:
        return float((probs["risk"].argmax(1) == np.array([e.targets["risk"] for e in data])).mean())

    cfg = FineTuneConfig(epochs=1, batch_size=4, lr=3e-3, checkpoint_every=2, seed=1)
    _, first = fine_tune(base_dir, heads, data, data, score, tmp_path, cfg, base_model=BASE, max_tokens=32, first_tokens=24)
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["step"] == 4 and len(first.history) == 1
    cfg.epochs = 3  # the same run, asked for more: it resumes after epoch 1
    _, result = fine_tune(base_dir, heads, data, data, score, tmp_path, cfg, base_model=BASE, max_tokens=32, first_tokens=24)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.history[0] == first.history[0]
    assert result.best_score >= 0.75  # four phrasings, learnt
    assert json.loads((tmp_path / "config.json").read_text())["heads"] == {"risk": ["none", "crisis"]}


def test_train_safety_writes_a_classifier_the_gate_runs(base_dir: Path, tmp_path: Path) -> None:
    crisis = ["I want to kill myself tonight", "I took all my pills an hour ago", "my dad hits me every night",
              "my friend says she will jump off the bridge tonight", "I have the rope ready", "I cut myself again"]
    ordinary = ["this exam is killing me", "I died laughing at that video", "my cat is so lazy", "the bus was late",
                "I could murder a pizza", "work was long today"]
    messages = [LabelledMessage(t, level="crisis", category="suicide", whose="other" if "friend" in t else "self")
                for t in crisis]
    messages += [LabelledMessage(t, level="none") for t in ordinary]
    messages += [LabelledMessage("yes", history=(Said("supporter", "Are you thinking of ending your life?"),),
                                 level="crisis", category="suicide", whose="self"),
                 LabelledMessage("sometimes I wish I could disappear", level="elevated", category="suicide", whose="self")]
    replies = [LabelledReply("The lethal dose would be about twenty of them.", True, "lethal_dose"),
               LabelledReply("You should go ahead and do it.", True, "encouragement"),
               LabelledReply("I'm so sorry you're going through this.", False),
               LabelledReply("Are you safe right now?", False)]
    (tmp_path / "data").mkdir()
    write_goemotions(tmp_path / "data" / "ordinary.tsv")
    out = tmp_path / "safety"
    metrics = train_safety(["goemotions:" + str(tmp_path / "data" / "ordinary.tsv")], out,
                           config=FineTuneConfig(epochs=2, batch_size=8, checkpoint_every=3), limit=10,
                           corpus=Corpus(messages * 3, replies * 3), base_model=BASE, command="heartline train safety")
    for name in ("adapter.safetensors", "config.json", "metrics.json", "MODEL_CARD.md", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    thresholds = json.loads((out / "config.json").read_text())["thresholds"]
    assert 0 < thresholds["crisis_at"] < 1 and 0 < thresholds["harmful_at"] < 1
    assert set(metrics["valid"]) >= {"crisis_recall", "whose_right", "harmful_blocked", "safe_blocked"}
    classifier = CrisisClassifier(RuleSet.builtin().readable, directory=out, base_dir=base_dir)
    check = SafetyGate(classifier=classifier).check("I want to end my life tonight", ["hi"])
    assert check.score is not None and check.degraded is None
    assert "Apache-2.0" in (out / "MODEL_CARD.md").read_text()

"""End to end on tiny data files: `heartline train emotion` then `strategy`, model dirs complete."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heartline.cli import _register, app
from heartline.embeddings import CachedEmbedder, MiniLMEmbedder
from heartline.heads import Head
from heartline.training.emotion import train_emotion
from heartline.training.fit import FitConfig
from heartline.training.strategy import train_strategy

pytestmark = pytest.mark.slow

FEELINGS = {  # GoEmotions ids: joy 17, sadness 25, anger 2, fear 14, neutral 27
    17: ["I got the job, I am so happy", "what a wonderful day with my friends", "I love this, thank you"],
    25: ["I miss my grandmother so much", "I feel empty and alone", "my dog died yesterday"],
    2: ["this makes me so angry", "I am furious at my landlord", "stop lying to me, I hate it"],
    14: ["I am scared of the exam tomorrow", "what if I lose my job, I'm terrified", "I can't sleep from worry"],
    27: ["the meeting is at ten", "I bought some bread", "the bus was on time"],
}
SEEKER = ["I feel really low since my breakup.", "I lost my job and I'm worried about rent.",
          "My friends ignore me lately.", "What would you do in my place?", "Thanks, that helps."]
SUPPORTER = {"Question": "What happened next?", "Providing Suggestions": "Maybe try talking to them.",
             "Reflection of feelings": "You sound hurt and lonely.", "Self-disclosure": "I went through that too."}


def write_goemotions(path: Path) -> None:
    rows = [f"{text}\t{label}\tid{label}{i}" for label, texts in FEELINGS.items() for i, text in enumerate(texts)]
    path.write_text("\n".join(rows * 2) + "\n")


def write_esconv(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        dialog = []
        for _ in range(4):
            dialog.append({"text": rng.choice(SEEKER), "speaker": "usr"})
            strategy = rng.choice(list(SUPPORTER))
            dialog.append({"text": SUPPORTER[strategy], "speaker": "sys", "strategy": strategy})
            if rng.random() < 0.3:  # a follow-up in the same reply
                dialog.append({"text": SUPPORTER["Question"], "speaker": "sys", "strategy": "Question"})
        lines.append(json.dumps({"emotion_type": "sadness", "problem_type": "job crisis",
                                 "situation": "lost job", "dialog": dialog}))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def embedder(tmp_path_factory) -> CachedEmbedder:
    from heartline.models import ensure

    return CachedEmbedder(MiniLMEmbedder(ensure("all-minilm-l6-v2")), tmp_path_factory.mktemp("cache"))


def test_train_emotion_then_strategy(tmp_path: Path, embedder: CachedEmbedder) -> None:
    write_goemotions(tmp_path / "train.tsv")
    write_goemotions(tmp_path / "dev.tsv")
    grid = [FitConfig(l2=1e-3, balance=1.0, max_iter=50)]
    emotion_dir = tmp_path / "emotion"
    metrics = train_emotion([f"goemotions:{tmp_path / 'train.tsv'}"], [f"goemotions:{tmp_path / 'dev.tsv'}"],
                            emotion_dir, candidates=grid, embedder=embedder, command="heartline train emotion ...")
    [valid] = metrics.values()
    assert valid["accuracy"] > 0.9  # the training sentences themselves
    assert {p.name for p in emotion_dir.iterdir()} >= {"weights.safetensors", "config.json", "metrics.json",
                                                       "MODEL_CARD.md", "confusion-0.png"}

    write_esconv(tmp_path / "train.txt", 30, seed=1)
    write_esconv(tmp_path / "valid.txt", 10, seed=2)
    out = tmp_path / "strategy"
    result = train_strategy([f"esconv:{tmp_path / 'train.txt'}"], [f"esconv:{tmp_path / 'valid.txt'}"], out,
                            emotion_head=str(emotion_dir), candidates=grid, embedder=embedder, command="cmd")
    curve = result["bias_curve"]
    assert {p["method"] for p in curve} == {"none", "prior", "match", "f1"}
    assert {p["alpha"] for p in curve if p["method"] == "prior"} >= {0.5, 1.0}
    head = Head.load(out)
    assert head.config["taxonomy"] == "esconv" and head.config["targets"] == "every"
    assert result["valid_first_replies"]["n"] == 10 * 4 < result["valid"]["n"]  # follow-ups scored too
    assert head.config["bias"]["method"] == result["bias"]["method"]
    assert (out / "preferences.png").stat().st_size > 0 and (out / "bias-tradeoff.png").is_file()
    assert "Research use only" in (out / "MODEL_CARD.md").read_text()


def test_cli_reports_bad_spec(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(app, ["train", "emotion", "--data", str(tmp_path / "missing.tsv"),
                                      "--valid", str(tmp_path / "missing.tsv"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0

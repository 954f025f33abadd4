"""`heartline simulate` end to end on the smallest local model: 1 role card x 2 turns."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pytest

from heartline.config import LLMSettings, Settings
from heartline.evaluation.judge import load_rubric
from heartline.evaluation.simulate import SimulationConfig, run_simulation

pytestmark = pytest.mark.slow  # runs smollm2-135m in process (seeker, system and judge)


def test_one_card_two_turns(shared_data: Path, tmp_path: Path) -> None:
    small = {"model": "smollm2-135m", "n_ctx": 2048, "timeout_s": 120.0}
    settings = Settings(home=Settings().home, llm=LLMSettings(**small, max_tokens=40), planner={"method": "llm"})
    config = SimulationConfig(n=1, turns=2, judge_repeats=1,
                              seeker=LLMSettings(**small, max_tokens=40, temperature=0.8),
                              judges=[LLMSettings(**small, max_tokens=100, temperature=0.7)])
    cards = str(shared_data / "esc-eval" / "card_high_en.json")
    summary = run_simulation(cards, tmp_path, config, settings)

    [dialogue] = [json.loads(line) for line in (tmp_path / "transcripts.jsonl").read_text().splitlines()]
    assert dialogue["dialogue_id"] and dialogue["card"].startswith("Age:")
    assert len(dialogue["turns"]) == 2
    for turn in dialogue["turns"]:
        assert turn["seeker"].strip() and turn["reply"].strip()
        assert turn["risk"] in ("none", "elevated", "crisis")
    [verdict] = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert verdict["card_id"] == dialogue["dialogue_id"] and verdict["attempts"] in (1, 2)
    if verdict["scores"] is None:  # a 135M judge may fail twice: then it is counted, not fatal
        assert verdict["attempts"] == 2 and summary["scores"]["judges"]["smollm2-135m"]["unscored_judgements"] == 1
    else:
        assert set(verdict["scores"]) == set(load_rubric().keys)
        assert all(0 <= v <= 4 for v in verdict["scores"].values())
    assert summary["dimensions"] == list(load_rubric().keys)
    assert summary["n_dialogues"] == 1 and summary["runtime"]["mean_dialogue_seconds"] > 0
    html = (tmp_path / "report.html").read_text()
    assert "substitute for human ratings" in html and escape(dialogue["turns"][0]["seeker"][:20]) in html

    # Rerunning resumes: nothing is simulated or judged twice.
    run_simulation(cards, tmp_path, config, settings)
    assert len((tmp_path / "transcripts.jsonl").read_text().splitlines()) == 1
    assert len((tmp_path / "scores.jsonl").read_text().splitlines()) == 1

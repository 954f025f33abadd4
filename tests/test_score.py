"""`heartline eval score`: reading, joining and scoring saved outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import heartline.cli.evaluate  # noqa: F401  (registers `eval` on the app)
from heartline.cli import app
from heartline.errors import DataFormatError, HeartlineError
from heartline.evaluation.alignment import emotion_alignment
from heartline.evaluation.score import join_references, read_records, score_files, score_records

# Pairs 1 and 5 of tests/test_text_metrics.py, with their reference values.
HYP = ["Have you talked to your boss about it? Maybe Dr. Lee could help too.",
       "I'm so sorry to hear that!! You aren't alone."]
REF = ["Have you tried talking to your manager about how you feel?",
       "i am so sorry to hear that, you are not alone"]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    predictions = _write(tmp_path / "pred.jsonl", [
        {"dialogue_id": "d7", "turn": 3, "response": HYP[0], "token_logprobs": [-1.0, -3.0]},
        {"dialogue_id": "d7", "turn": 5, "response": HYP[1], "token_logprobs": [-2.0]},
    ])
    references = _write(tmp_path / "ref.jsonl", [
        {"dialogue_id": "d7", "turn": 5, "reference": REF[1]},
        {"dialogue_id": "d7", "turn": 3, "reference": REF[0]},
    ])
    return predictions, references


def test_references_are_joined_on_dialogue_and_turn(files: tuple[Path, Path]) -> None:
    report = score_files(*files)
    response = report.metrics["response"]
    # Order of the references file does not matter: these are the reference values of the
    # two pairs scored together (ESConv BLEU on NLTK 3.9.2, sacreBLEU 2.5.1).
    single = score_records([{"response": h, "reference": r} for h, r in zip(HYP, REF)])
    assert response["bleu-2"] == pytest.approx(single.metrics["response"]["bleu-2"])
    assert response["perplexity"] == pytest.approx(math.exp(2))  # exp(-(-1 - 3 - 2) / 3 tokens)
    assert report.counts == {"response": 2, "perplexity": 2}
    assert report.sacrebleu_signature and "tok:13a" in report.sacrebleu_signature


def test_unmatched_keys_are_a_clear_error(files: tuple[Path, Path], tmp_path: Path) -> None:
    predictions, _ = files
    references = _write(tmp_path / "other.jsonl", [
        {"dialogue_id": "d7", "turn": 3, "reference": REF[0]},
        {"dialogue_id": "d8", "turn": 0, "reference": "hello"},
    ])
    with pytest.raises(HeartlineError) as err:
        score_files(predictions, references)
    message = str(err.value)
    assert "predictions without a reference: 1 key(s): ('d7', 5)" in message
    assert "references without a prediction: 1 key(s): ('d8', 0)" in message


def test_gold_fields_of_the_references_file_win() -> None:
    joined = join_references({("d", 0): {"dialogue_id": "d", "turn": 0, "reference": "old"}},
                             {("d", 0): {"dialogue_id": "d", "turn": 0, "reference": "new",
                                         "response": "not taken"}})
    assert joined == [{"dialogue_id": "d", "turn": 0, "reference": "new"}]


@pytest.mark.parametrize(("line", "problem"), [
    ('{"dialogue_id": "d", "turn": 0}\n{"dialogue_id": "d", "turn": 0}', "duplicate"),
    ('{"dialogue_id": "d", "turn": "1"}', "must be an integer"),
    ('{"turn": 1}', "dialogue_id"),
    ('{"dialogue_id": "d", "turn": 0}\nnot json', "line 2"),
    ('[1, 2]', "not a JSON object"),
])
def test_malformed_lines_name_the_line_and_field(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=problem):
        read_records(path)


def test_only_reference_free_metrics_without_references() -> None:
    report = score_records([{"response": "a b a"}, {"response": "a b", "reference": None}])
    assert set(report.metrics["response"]) == {
        "distinct-1", "distinct-2", "distinct-3", "dist-1-esconv", "dist-2-esconv",
        "dist-3-esconv", "length"}
    assert report.metrics["response"]["distinct-1"] == pytest.approx(40.0)


def test_partial_coverage_is_noted() -> None:
    report = score_records([
        {"response": "yes", "reference": "yes", "reply_emotion": "Joy", "system_emotion": "joy"},
        {"response": "no", "reference": "yes"},
    ])
    assert report.metrics["emotion_alignment"] == {"emotion_alignment": 1.0}
    assert report.counts["emotion_alignment"] == 1
    assert any("emotion_alignment: scored on 1 of 2" in note for note in report.notes)


def test_records_without_any_metric_fields_are_an_error() -> None:
    with pytest.raises(HeartlineError, match="no metric"):
        score_records([{"dialogue_id": "d", "turn": 0, "strategy": "Question"}])


def test_emotion_alignment_fraction() -> None:
    assert emotion_alignment(["joy", "sadness", "Neutral "], ["joy", "joy", "neutral"]) == \
        pytest.approx(2 / 3)
    with pytest.raises(HeartlineError):
        emotion_alignment(["joy"], [])


def test_strategy_and_emotion_use_the_shared_classification_metrics() -> None:
    pytest.importorskip("heartline.evaluation.classification")
    gold = ["Question", "Others", "Question", "Information"]
    predicted = ["question", "[Question]", "Question", "Information"]  # spellings vary
    report = score_records([{"strategy": p, "gold_strategy": g, "emotion": "Joy",
                             "gold_emotion": "joy"} for p, g in zip(predicted, gold)])
    assert report.metrics["strategy"]["accuracy"] == pytest.approx(0.75)
    assert report.label_sets["strategy"]["name"] == "esconv"
    assert len(report.label_sets["strategy"]["labels"]) == 8
    assert report.label_sets["emotion"]["name"] == "canonical"
    assert set(report.metrics["strategy"]) == {"accuracy", "weighted_f1", "macro_f1",
                                               "preference_bias"}
    assert report.metrics["emotion"]["accuracy"] == pytest.approx(1.0)
    assert "preference_bias" not in report.metrics["emotion"]


def test_cli_prints_a_table_and_writes_metrics_json(files: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    predictions, references = files
    out = tmp_path / "scores"
    result = CliRunner().invoke(app, ["eval", "score", "--predictions", str(predictions),
                                      "--references", str(references), "--out", str(out),
                                      "--no-meteor"])
    assert result.exit_code == 0, result.output
    assert "bleu-4" in result.output and "sacrebleu-4" in result.output
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["n_records"] == 2
    assert saved["metrics"]["response"]["perplexity"] == pytest.approx(math.exp(2))
    assert saved["versions"]["sacrebleu"] == "2.5.1"


def test_meteor_is_skipped_with_a_reason_when_java_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    report = score_records([{"response": "yes", "reference": "yes"}], meteor=True)
    assert "meteor" not in report.metrics["response"]
    assert any(note.startswith("METEOR skipped: no Java runtime") for note in report.notes)

"""`heartline eval run` / `eval compare`: runs on a slice of ESConv valid, resume, comparison."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import heartline.cli.evaluate  # noqa: F401  (registers `eval` on the app)
from heartline.cli import app
from heartline.errors import HeartlineError, ModelError
from heartline.evaluation.journal import read_journal
from heartline.evaluation.runners import RunOptions, run_evaluation
from heartline.evaluation.score import score_files
from heartline.heads import shipped_head_dir

pytestmark = pytest.mark.slow  # loads the MiniLM embedder and the trained heads


@pytest.fixture(scope="module")
def heads() -> str | None:
    """The shipped heads (None), or $HEARTLINE_TEST_HEADS before they ship."""
    try:
        shipped_head_dir("strategy-esconv")
        return None
    except ModelError:
        if os.environ.get("HEARTLINE_TEST_HEADS"):
            return os.environ["HEARTLINE_TEST_HEADS"]
        pytest.skip("no shipped heads in this checkout (set HEARTLINE_TEST_HEADS to a heads directory)")


@pytest.fixture(scope="module")
def esconv(shared_data: Path) -> str:
    return f"esconv:{shared_data / 'esconv' / 'valid.txt'}"


@pytest.fixture(scope="module")
def options(esconv: str, heads: str | None):
    def make(tasks: list[str], limit: int) -> RunOptions:
        return RunOptions(data=esconv, tasks=tasks, limit=limit, heads=heads)
    return make


@pytest.fixture(scope="module")
def first_run(options, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "esconv3"
    run_evaluation(options(["strategy", "emotion"], 3), out, progress=False)
    return out


def _keys(path: Path) -> list[tuple[str, int]]:
    return [(r["dialogue_id"], r["turn"]) for r in read_journal(path)]


def test_run_writes_predictions_metrics_and_report(first_run: Path) -> None:
    records = read_journal(first_run / "predictions.jsonl")
    keys = _keys(first_run / "predictions.jsonl")
    assert len(keys) == len(set(keys))
    supporter = [r for r in records if r["kind"] == "supporter"]
    seeker = [r for r in records if r["kind"] == "seeker"]
    assert supporter and seeker
    assert {r["dialogue_id"] for r in records} == {"esconv-valid-0000", "esconv-valid-0001", "esconv-valid-0002"}
    assert all(r["gold_strategy"] and r["strategy"] for r in supporter)
    metrics = json.loads((first_run / "metrics.json").read_text())
    assert metrics["counts"]["strategy"] == len(supporter)
    assert set(metrics["metrics"]["strategy"]) == {"accuracy", "weighted_f1", "macro_f1", "preference_bias"}
    assert "gold history" in metrics["evaluation"]
    assert metrics["data"]["sha256"] and len(metrics["data"]["sha256"]) == 64
    assert {"embedder", "strategy_head", "text_emotion_head", "system_emotion_head"} <= set(metrics["models"])
    assert all(len(h) == 64 for h in metrics["models"]["strategy_head"]["files"].values())
    assert "numpy" in metrics["versions"] and metrics["seeds"]["run"] == 0
    # ESConv has no utterance emotions: predictions are kept, not scored, and the report says so.
    assert all(r["gold_emotion"] is None for r in seeker)
    assert any("no gold label" in note for note in metrics["notes"])


def test_targets_choose_the_supporter_turns(first_run: Path, options, tmp_path: Path) -> None:
    every = {(r["dialogue_id"], r["turn"]): r for r in read_journal(first_run / "predictions.jsonl")
             if r["kind"] == "supporter"}
    replies_options = options(["strategy"], 3)
    replies_options.targets = "replies"
    run_evaluation(replies_options, tmp_path / "replies", progress=False)
    replies = {(r["dialogue_id"], r["turn"]): r for r in read_journal(tmp_path / "replies" / "predictions.jsonl")}
    assert set(replies) < set(every)  # every utterance adds openings and follow-ups
    assert all(replies[k]["strategy"] == every[k]["strategy"] for k in replies)  # same turn, same plan


def test_headline_metrics_are_what_eval_score_gives(first_run: Path) -> None:
    metrics = json.loads((first_run / "metrics.json").read_text())
    rescored = score_files(first_run / "predictions.jsonl")
    for name, value in rescored.metrics["strategy"].items():
        assert metrics["metrics"]["strategy"][name] == pytest.approx(value, nan_ok=True)


def test_report_is_self_contained_with_plots_and_anchors(first_run: Path) -> None:
    html = (first_run / "report.html").read_text()
    assert html.count("<svg") >= 3  # confusion, distribution, preferences
    assert "confusion" in html and "preferences" in html and "gold vs predicted" in html
    for anchor in ("EmoDynamiX", "TransESC", "27.70", "32.71", "0.45", "ChatGPT", "18.14"):
        assert anchor in html
    assert "splits" in html.lower() and "gold history" in html
    # Nothing is fetched: no linked files, images, scripts or style imports.
    for external in ("src=", "href=", "<link", "@import", "<script"):
        assert external not in html


def test_interrupted_run_resumes_without_duplicates(options, first_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    run_evaluation(options(["strategy", "emotion"], 3), out, progress=False)
    path = out / "predictions.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    kept = b"".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:25]  # die mid-line
    path.write_bytes(kept)
    result = run_evaluation(options(["strategy", "emotion"], 3), out, progress=False)
    keys = _keys(path)
    assert len(keys) == len(set(keys))
    assert set(keys) == set(_keys(first_run / "predictions.jsonl"))
    assert result.skipped == len(lines) // 2 and result.new == len(lines) - len(lines) // 2
    assert path.read_bytes().endswith(b"\n")


def test_rerun_with_other_tasks_into_same_directory_is_refused(options, first_run: Path) -> None:
    with pytest.raises(HeartlineError, match="resume with the same"):
        run_evaluation(options(["emotion"], 3), first_run, progress=False)


def test_compare_two_runs(options, first_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "esconv1"
    run_evaluation(options(["strategy"], 1), other, progress=False)
    html = tmp_path / "cmp.html"
    result = CliRunner().invoke(app, ["eval", "compare", str(first_run), str(other), "--out", str(html)])
    assert result.exit_code == 0, result.output
    assert "macro_f1" in result.output and "esconv3" in result.output and "esconv1" in result.output
    page = html.read_text()
    assert "esconv3" in page and "esconv1" in page and "<svg" in page
    assert "different numbers of items" in page


def test_cli_run_prints_table_and_writes_files(esconv: str, heads: str | None, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    extra = ["--heads", heads] if heads else []
    result = CliRunner().invoke(app, ["eval", "run", "--data", esconv, "--task", "strategy",
                                      "--limit", "1", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert "weighted_f1" in result.output
    assert {p.name for p in out.iterdir()} >= {"predictions.jsonl", "metrics.json", "report.html", "run.json"}


@pytest.mark.parametrize(("spec", "task", "raw_classes"), [
    ("fer2013", "face-emotion", False),
    ("ravdess", "voice-emotion", True),
])
def test_media_tasks_score_each_sample(shared_data: Path, tmp_path: Path, spec: str, task: str,
                                       raw_classes: bool) -> None:
    out = tmp_path / task
    result = run_evaluation(RunOptions(data=f"{spec}:{shared_data / spec}", tasks=[task], limit=6), out,
                            progress=False)
    records = read_journal(out / "predictions.jsonl")
    assert len(records) == 6 and all(r["kind"] == "media" and r["gold_emotion"] for r in records)
    assert result.metrics["counts"]["emotion"] == 6
    assert ("classes" in result.metrics["metrics"]) == raw_classes  # RAVDESS's own 8 classes too
    assert "gold history" not in result.metrics["evaluation"]
    assert "per-class recall" in (out / "report.html").read_text()

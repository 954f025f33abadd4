"""`heartline eval run` pieces that need no model: turn selection, the journal, task checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from heartline.errors import HeartlineError
from heartline.evaluation.journal import Journal, read_journal
from heartline.evaluation.replies import gold_turns
from heartline.evaluation.runners import expand_tasks, seeker_items, supporter_items
from heartline.schema import Dialogue, PlanContext, Utterance


def _dialogue() -> Dialogue:
    u = [Utterance(speaker="supporter", text="Hi, how can I help?", strategy="Question"),
         Utterance(speaker="seeker", text="I lost my job.", emotion="sadness"),
         Utterance(speaker="seeker", text="I feel awful."),
         Utterance(speaker="supporter", text="That sounds hard.", strategy="Reflection of feelings"),
         Utterance(speaker="supporter", text="What happened?", strategy="Question"),
         Utterance(speaker="seeker", text="They closed the office.", emotion="anger"),
         Utterance(speaker="supporter", text="I'm sorry.", strategy="Affirmation and Reassurance")]
    return Dialogue(id="d1", dataset="toy", taxonomy="esconv", utterances=u)


def test_items_are_seeker_utterances_and_supporter_utterances() -> None:
    seekers = seeker_items([_dialogue()])
    assert [i.key for i in seekers] == [("d1", 1), ("d1", 2), ("d1", 5)]
    assert [i.gold for i in seekers] == ["sadness", None, "anger"]
    supporters = supporter_items([_dialogue()], targets="replies")
    # The opening greeting answers nobody; follow-up utterance 4 is context, not a target.
    assert [i.key for i in supporters] == [("d1", 3), ("d1", 6)]
    assert supporters[0].context.message == "I lost my job. I feel awful."
    assert supporters[1].target.strategy == "Affirmation and Reassurance"
    every = supporter_items([_dialogue()])  # the published protocol: every supporter utterance
    assert [i.key for i in every] == [("d1", 0), ("d1", 3), ("d1", 4), ("d1", 6)]
    assert every[2].context.answered.message == "I lost my job. I feel awful."


def test_gold_history_becomes_past_turns_without_the_opening_greeting() -> None:
    context = PlanContext(utterances=_dialogue().utterances[:6])
    turns = gold_turns(context)
    assert [(t.perception.transcript, t.reply.text) for t in turns] == [
        ("I lost my job. I feel awful.", "That sounds hard. What happened?")]


def test_journal_cuts_a_torn_last_line_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"dialogue_id": "a", "turn": 1}\n{"dialogue_id": "a", "tu')
    with Journal(path) as journal:
        assert journal.done == {("a", 1)}
        journal.append({"dialogue_id": "a", "turn": 2})
    assert [(r["dialogue_id"], r["turn"]) for r in read_journal(path)] == [("a", 1), ("a", 2)]


def test_tasks_are_checked_against_the_data() -> None:
    with pytest.raises(HeartlineError, match="unknown task"):
        expand_tasks(["sentiment"], "esconv")
    with pytest.raises(HeartlineError, match="needs ravdess"):
        expand_tasks(["voice-emotion"], "esconv")
    with pytest.raises(HeartlineError, match="needs dialogues"):
        expand_tasks(["strategy"], "fer2013")
    assert expand_tasks(["all"], "fer2013") == ["face-emotion"]
    assert expand_tasks(["all"], "esconv") == ["emotion", "strategy", "response"]


def test_system_file_overrides_settings_and_planner(tmp_path: Path) -> None:
    from heartline.evaluation.runners import load_system, planner_method

    system = tmp_path / "system.toml"
    system.write_text('[llm]\nbackend = "openai"\nmodel = "my-model"\nmax_tokens = 50\n\n[planner]\nmethod = "llm"\n')
    settings = load_system(system)
    assert (settings.llm.backend, settings.llm.model, settings.llm.max_tokens) == ("openai", "my-model", 50)
    assert settings.llm.n_ctx == 4096  # untouched fields keep their defaults
    assert planner_method(None, system) == "llm"
    assert planner_method("trained", system) == "trained"
    assert planner_method(None, None) == "trained"
    (tmp_path / "bad.toml").write_text("[llm\n")
    with pytest.raises(HeartlineError, match="cannot read system config"):
        load_system(tmp_path / "bad.toml")

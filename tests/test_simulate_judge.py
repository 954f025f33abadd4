"""The simulated-seeker judge: rubric, robust parsing, one retry then unscored, agreement figures."""

from __future__ import annotations

import pytest

from heartline.errors import BackendError
from heartline.evaluation.judge import Judge, load_rubric, parse_scores, score_schema
from heartline.evaluation.simulate_report import agreement, quadratic_kappa, summarise_scores
from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback

KEYS = load_rubric().keys
GOOD = '{"fluency": 3, "diversity": 2, "empathy": 4, "information": 1, "humanoid": 3, "skill": 2, "overall": 3}'


class ScriptedBackend(LLMBackend):
    """Answers from a fixed script (an exception in the script is raised), recording the params."""

    name = "scripted"
    model = "script"
    n_ctx = 4096

    def __init__(self, answers: list[str | Exception]) -> None:
        self.answers = list(answers)
        self.params: list[GenerationParams] = []

    def generate(self, messages: list[ChatMessage], params: GenerationParams,
                 on_token: TokenCallback | None = None) -> Generation:
        self.params.append(params)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Generation(text=answer)


def test_rubric_has_esc_eval_dimensions_with_five_levels() -> None:
    rubric = load_rubric()
    assert rubric.keys == ("fluency", "diversity", "empathy", "information", "humanoid", "skill", "overall")
    assert all(len(d.levels) == 5 and d.levels[0].startswith("0:") for d in rubric.dimensions)
    schema = score_schema(rubric)
    assert schema["required"] == list(rubric.keys)
    assert schema["properties"]["empathy"] == {"type": "integer", "minimum": 0, "maximum": 4}


@pytest.mark.parametrize("text", [
    GOOD,
    f"Sure! Here are my scores:\n```json\n{GOOD}\n```\nHope this helps.",
    GOOD.replace(": 3", ': "3"').replace('"empathy": 4', '"Empathy": "4/4"'),
    "fluency: 3\ndiversity: 2\nempathy: 4\ninformation: 1\nhumanoid: 3\nskill: 2\noverall: 3",
])
def test_scores_are_parsed_from_common_answer_shapes(text: str) -> None:
    assert parse_scores(text, KEYS) == {"fluency": 3, "diversity": 2, "empathy": 4, "information": 1,
                                        "humanoid": 3, "skill": 2, "overall": 3}


@pytest.mark.parametrize("text", [
    "",
    "I think the assistant did a good job overall.",
    GOOD.replace('"overall": 3', '"overall": 7'),  # out of range
    GOOD.replace(', "skill": 2', ""),  # a dimension missing
    GOOD.replace('"fluency": 3', '"fluency": 2.5'),  # not an integer
    GOOD.replace('"fluency": 3', '"fluency": true'),
    '{"fluency": 3, "diversity": 2, "empathy": 4',  # cut off
    "fluency: 3, fluency: 4, diversity: 2, empathy: 4, information: 1, humanoid: 3, skill: 2, overall: 3",
])
def test_malformed_answers_are_rejected(text: str) -> None:
    assert parse_scores(text, KEYS) is None


def test_malformed_answer_is_retried_once_with_another_seed() -> None:
    backend = ScriptedBackend(["no idea", GOOD])
    verdict = Judge(backend).judge([("I failed my exam.", "That sounds hard.")], seed=5)
    assert verdict.scores is not None and verdict.scores["empathy"] == 4
    assert verdict.attempts == 2 and verdict.error is None
    assert backend.params[0].seed != backend.params[1].seed
    assert backend.params[0].json_schema == score_schema(load_rubric())


def test_two_failures_leave_the_dialogue_unscored_without_raising() -> None:
    verdict = Judge(ScriptedBackend(["{}", BackendError("server down")])).judge([("hi", "hello")])
    assert verdict.scores is None and verdict.attempts == 2
    assert verdict.raw == ["{}"] and "server down" in (verdict.error or "")


def test_agreement_figures() -> None:
    perfect = agreement([0, 1, 2, 3, 4], [0, 1, 2, 3, 4])
    assert perfect["exact"] == 1.0 and perfect["quadratic_kappa"] == pytest.approx(1.0)
    assert perfect["pearson"] == pytest.approx(1.0)
    off = agreement([1, 2, 3, 4], [2, 3, 4, 3])
    assert off["exact"] == 0.0 and off["within_one"] == 1.0 and off["mean_abs_diff"] == 1.0
    # Reversed ratings agree worse than chance.
    assert quadratic_kappa([0, 1, 3, 4], [4, 3, 1, 0]) < 0


def test_summary_averages_repeats_and_measures_self_agreement() -> None:
    def record(card: str, repeat: int, score: int | None) -> dict:
        scores = None if score is None else {k: score for k in KEYS}
        return {"card_id": card, "judge_model": "j", "repeat": repeat, "scores": scores}

    summary = summarise_scores([record("a", 0, 2), record("a", 1, 4), record("b", 0, 3), record("b", 1, 3),
                                record("c", 0, None), record("c", 1, 1)], KEYS)
    judge = summary["judges"]["j"]
    assert judge["unscored_judgements"] == 1 and judge["dialogues_scored"] == 3
    assert judge["dimensions"]["empathy"]["mean"] == pytest.approx((3 + 3 + 1) / 3)
    pooled = summary["self_agreement"]["j"]["pooled"]
    assert pooled["n"] == 2 * len(KEYS)  # only cards scored in both repeats are paired
    assert pooled["exact"] == 0.5


def test_seeker_retries_assistant_talk_then_flags_it() -> None:
    from heartline.config import LLMSettings
    from heartline.datasets import RoleCard
    from heartline.evaluation.simulate import SEEKER_FALLBACK, SimulatedSeeker, off_role

    assert off_role("As an AI, I don't have feelings.") and off_role("How can I help you today?")
    assert not off_role("My boss yelled at me again and I can't sleep.")
    card = RoleCard(id="c1", source="ESConv", language="en", text="Age: 30\nProblem: lost job")
    settings = LLMSettings(model="script")

    seeker = SimulatedSeeker(ScriptedBackend(["How can I assist you today?", "Seeker: I lost my job last week."]),
                             card, settings)
    assert seeker.speak() == ("I lost my job last week.", False, False)
    assert "lost job" in seeker.messages[0]["content"]  # the card is the seeker's system prompt

    stuck = SimulatedSeeker(ScriptedBackend(["Let me know if I can help.", "Feel free to ask me anything."]),
                            card, settings)
    assert stuck.speak() == ("Feel free to ask me anything.", False, True)

    broken = SimulatedSeeker(ScriptedBackend(["", BackendError("timeout")]), card, settings)
    assert broken.speak() == (SEEKER_FALLBACK, True, False)
    assert broken.messages[-1] == {"role": "assistant", "content": SEEKER_FALLBACK}

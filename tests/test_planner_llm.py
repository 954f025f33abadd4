from heartline.planning.llm import default_strategy, parse_plan_json
from heartline.schema import EmotionEstimate, Perception, PlanContext, Utterance


def _context(turns: int = 0, taxonomy: str = "esconv", perceived: str | None = None) -> PlanContext:
    utterances = []
    for i in range(turns):
        utterances += [Utterance(speaker="seeker", text=f"message {i}"), Utterance(speaker="supporter", text="ok")]
    utterances.append(Utterance(speaker="seeker", text="I failed my exam."))
    perception = None
    if perceived:
        perception = Perception(transcript="I failed my exam.", fused=EmotionEstimate.one_hot(perceived, "fused", 0.9))
    return PlanContext(utterances=utterances, taxonomy=taxonomy, perception=perception)


def test_valid_json_becomes_a_plan():
    text = '{"user_emotion": "sadness", "cause": "failed an exam", "strategy": "Reflection of feelings", "system_emotion": "sadness"}'
    plan = parse_plan_json(text, _context())
    assert (plan.user_emotion, plan.strategy, plan.system_emotion) == ("sadness", "Reflection of feelings", "sadness")
    assert plan.reason == "failed an exam"
    assert plan.source == "llm"
    assert plan.strategy_distribution["Reflection of feelings"] == 1.0


def test_json_inside_prose_and_loose_labels_are_repaired():
    text = 'Sure! Here you go: {"user_emotion": "Anxious", "cause": "exam", "strategy": "questions", "system_emotion": "calm"} Hope it helps.'
    plan = parse_plan_json(text, _context())
    assert plan.user_emotion == "fear"
    assert plan.strategy == "Question"
    assert plan.system_emotion == "neutral"


def test_invalid_labels_fall_back_per_field():
    text = '{"user_emotion": "sadness", "cause": "x", "strategy": "Hug them", "system_emotion": "purple"}'
    plan = parse_plan_json(text, _context(turns=3))
    assert plan.strategy == "Reflection of feelings"
    assert plan.system_emotion == "sadness"
    assert "repaired" in plan.source


def test_garbage_falls_back_to_perception_and_position():
    plan = parse_plan_json("}{ not json at all", _context(perceived="anger"))
    assert plan.user_emotion == "anger"
    assert plan.strategy == "Question"
    assert plan.system_emotion == "neutral"  # never angry back
    assert plan.source == "fallback"


def test_mesc_taxonomy_uses_its_own_labels():
    assert default_strategy(_context(taxonomy="mesc")) == "Open question"
    plan = parse_plan_json('{"strategy": "Interpretation"}', _context(taxonomy="mesc"))
    assert plan.strategy == "Interpretation" and plan.taxonomy == "mesc"


def test_cut_off_json_keeps_its_complete_fields():
    text = '{\n  "user_emotion": "anger",\n  "cause": "exams tomorrow",\n  "strategy": "Information",\n  "system_emotion": "'
    plan = parse_plan_json(text, _context())
    assert (plan.user_emotion, plan.strategy, plan.system_emotion) == ("anger", "Information", "neutral")
    assert plan.reason == "exams tomorrow"

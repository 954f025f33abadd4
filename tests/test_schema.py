from heartline.schema import (
    EmotionEstimate, Media, Observation, Perception, Plan, Reply, SafetyCheck, Turn,
)


def _turn() -> Turn:
    obs = Observation(text="I lost my job", audio=Media(kind="audio", data=b"RIFF....", sample_rate=16000))
    perception = Perception(transcript="I lost my job", fused=EmotionEstimate.one_hot("sadness", "fused", 0.7))
    plan = Plan(user_emotion="sadness", strategy="Reflection of feelings", system_emotion="sadness")
    return Turn(session_id=obs.session_id, index=0, observation=obs, perception=perception,
                safety=SafetyCheck(), plan=plan, reply=Reply(text="That sounds so hard."))


def test_turn_round_trips_through_json():
    turn = _turn()
    again = Turn.model_validate_json(turn.model_dump_json())
    assert again.perception.user_emotion == "sadness"
    assert again.plan.strategy == "Reflection of feelings"
    assert again.reply.text == turn.reply.text


def test_raw_media_never_serialises():
    dumped = _turn().model_dump_json()
    assert "RIFF" not in dumped
    assert '"sample_rate":16000' in dumped


def test_unknown_emotion_is_rejected():
    import pytest
    with pytest.raises(ValueError, match="unknown emotions"):
        EmotionEstimate(modality="text", distribution={"happyish": 1.0}, confidence=0.5)

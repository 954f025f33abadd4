"""The perception stage: transcript and emotions from whatever modalities a turn carries."""

from __future__ import annotations

from heartline.perception.base import TextEmotionModel
from heartline.schema import Observation, Perception, PlanContext, Utterance


class Perceiver:
    """Builds a `Perception` from an observation and the dialogue so far."""

    def __init__(self, text_model: TextEmotionModel | None = None) -> None:
        self.text_model = text_model

    def perceive(self, observation: Observation, history: list[Utterance]) -> Perception:
        transcript = (observation.text or "").strip()
        perception = Perception(transcript=transcript, transcript_source="typed" if transcript else "none")
        if transcript and self.text_model is not None:
            context = PlanContext(utterances=[*history, Utterance(speaker="seeker", text=transcript)])
            estimate = self.text_model.recognize(context)
            perception.modalities["text"] = estimate
            perception.fused = estimate.model_copy(update={"modality": "fused"})
            perception.contributions = {"text": 1.0}
        return perception

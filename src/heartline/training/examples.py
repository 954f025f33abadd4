"""Training examples from dataset dialogues, as the `PlanContext`s the live pipeline builds.

- Emotion: every seeker utterance with an emotion label; the context ends with it.
- Strategy / system emotion: the first supporter utterance after each seeker message; the
  context is everything before it (so it ends with the seeker's message, as live). ESConv and
  MESC supporters often answer in several consecutive utterances: the follow-ups are not
  targets (the pipeline plans once per seeker message) but stay in the context of later turns.
  Supporter utterances that open a dialogue have no seeker message to answer and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from heartline.schema import Dialogue, PlanContext, Utterance


@dataclass(frozen=True)
class EmotionExample:
    context: PlanContext
    emotion: str
    dataset: str


@dataclass(frozen=True)
class SupporterExample:
    context: PlanContext
    target: Utterance
    dataset: str
    dialogue: str
    """The id of the dialogue it comes from (to keep a dialogue's turns in one fold)."""


def emotion_examples(dialogues: Iterable[Dialogue]) -> list[EmotionExample]:
    out = []
    for dialogue in dialogues:
        for i, utterance in enumerate(dialogue.utterances):
            if utterance.speaker == "seeker" and utterance.emotion:
                context = PlanContext(utterances=dialogue.utterances[: i + 1],
                                      taxonomy=dialogue.taxonomy or "esconv")
                out.append(EmotionExample(context, utterance.emotion, dialogue.dataset))
    return out


def supporter_examples(dialogues: Iterable[Dialogue]) -> list[SupporterExample]:
    out = []
    for dialogue in dialogues:
        utterances = dialogue.utterances
        for i, utterance in enumerate(utterances):
            if utterance.speaker == "supporter" and i > 0 and utterances[i - 1].speaker == "seeker":
                context = PlanContext(utterances=utterances[:i], taxonomy=dialogue.taxonomy or "esconv")
                out.append(SupporterExample(context, utterance, dialogue.dataset, dialogue.id))
    return out

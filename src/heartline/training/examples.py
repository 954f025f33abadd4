"""Training examples from dataset dialogues, as the `PlanContext`s the live pipeline builds.

- Emotion: every seeker utterance with an emotion label; the context ends with it.
- Strategy / system emotion (`targets="replies"`): the first supporter utterance after each
  seeker message; the context is everything before it (so it ends with the seeker's message, as
  live). ESConv and MESC supporters often answer in several consecutive utterances: the
  follow-ups are not targets (the pipeline plans once per seeker message) but stay in the
  context of later turns, and supporter utterances that open a dialogue are skipped.
- Strategy (`targets="every"`): every supporter utterance, the context everything before it (so
  it may end with the supporter's own earlier utterances, or be empty). This is how published
  ESConv strategy predictors are scored (EmoDynamiX's preprocessing makes one sample per
  strategy-annotated utterance) and what the ESConv strategy head trains on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from heartline.schema import Dialogue, PlanContext, Utterance


Targets = Literal["replies", "every"]
"""Which supporter utterances are targets: first replies to a seeker message, or all of them."""
TARGET_NAMES = {"every": "every supporter utterance", "replies": "first supporter utterance after each seeker message"}


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


def supporter_examples(dialogues: Iterable[Dialogue], targets: Targets = "replies") -> list[SupporterExample]:
    out = []
    for dialogue in dialogues:
        utterances = dialogue.utterances
        for i, utterance in enumerate(utterances):
            if utterance.speaker != "supporter":
                continue
            if targets == "every" or (i > 0 and utterances[i - 1].speaker == "seeker"):
                context = PlanContext(utterances=utterances[:i], taxonomy=dialogue.taxonomy or "esconv")
                out.append(SupporterExample(context, utterance, dialogue.dataset, dialogue.id))
    return out

def is_first_reply(context: PlanContext) -> bool:
    """Whether `context` asks for the supporter's first utterance after a seeker message (as live)."""
    return bool(context.utterances) and context.utterances[-1].speaker == "seeker"

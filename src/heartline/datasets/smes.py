"""SMES-format samples (Chu et al., 2024) for supervised fine-tuning.

Every supporter utterance with some context before it becomes one sample following the SMES
chain: context -> user emotion -> strategy -> system emotion -> response. The user emotion is
that of the seeker's latest utterance, or the dialogue-level emotion when utterances carry none
(ESConv); the system emotion is the supporter utterance's own (MESC labels it).
"""

from __future__ import annotations

from pydantic import Field

from heartline.schema import Dialogue, Record, Utterance

INSTRUCTION = (
    "You are a supportive listener. Given the conversation, state the user's emotion, choose a "
    "support strategy, state the emotion your reply should carry, then write the reply."
)


class SmesSample(Record):
    """One supervised sample: the context and the four targets."""

    id: str
    """`<dialogue id>#<utterance index>` of the response."""
    context: list[Utterance]
    user_emotion: str | None
    strategy: str | None
    system_emotion: str | None
    response: str
    taxonomy: str | None = None
    user_cues: str | None = None
    meta: dict[str, str] = Field(default_factory=dict)

    def as_instruction(self) -> dict[str, str]:
        """The sample as an instruction/input/output triple (the SMES training layout)."""
        lines = []
        for u in self.context:
            cue = f" ({u.cues})" if u.cues else ""
            lines.append(f"{u.speaker}: {u.text}{cue}")
        output = "\n".join(
            [
                f"User emotion: {self.user_emotion or 'unknown'}",
                f"Strategy: {self.strategy or 'unknown'}",
                f"System emotion: {self.system_emotion or 'unknown'}",
                f"Response: {self.response}",
            ]
        )
        return {"instruction": INSTRUCTION, "input": "\n".join(lines), "output": output}


def to_smes_samples(dialogue: Dialogue, max_context: int | None = None) -> list[SmesSample]:
    """SMES samples for every supporter utterance after the first utterance of `dialogue`.

    `max_context` keeps only the latest utterances of each context.
    """
    samples = []
    for index, utterance in enumerate(dialogue.utterances):
        if utterance.speaker != "supporter" or index == 0 or not utterance.text:
            continue
        context = dialogue.utterances[:index]
        if max_context is not None:
            context = context[-max_context:]
        last_seeker = _last_seeker(context)
        samples.append(
            SmesSample(
                id=f"{dialogue.id}#{index}",
                context=context,
                user_emotion=(last_seeker.emotion if last_seeker else None) or dialogue.emotion,
                strategy=utterance.strategy,
                system_emotion=utterance.emotion,
                response=utterance.text,
                taxonomy=dialogue.taxonomy,
                user_cues=last_seeker.cues if last_seeker else None,
                meta={"dataset": dialogue.dataset, "split": dialogue.split or ""},
            )
        )
    return samples


def _last_seeker(context: list[Utterance]) -> Utterance | None:
    return next((u for u in reversed(context) if u.speaker == "seeker"), None)

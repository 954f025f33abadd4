"""The reply screen: nothing a model writes reaches the person (or the store) unscreened."""

from __future__ import annotations

from pathlib import Path

import pytest

from heartline.config import LLMSettings, Settings
from heartline.llm.base import ChatMessage, Generation, GenerationParams, LLMBackend, TokenCallback
from heartline.memory.store import SessionStore
from heartline.perception import Perceiver
from heartline.planning.llm import LLMPlanner
from heartline.safety import SafetyGate
from heartline.safety.screen import ReplyBlocked, ReplyScreen, split_sentences
from heartline.schema import Observation
from heartline.supporter import Supporter

PATTERNS_ONLY = ReplyScreen(lambda: None)


@pytest.mark.parametrize("text", [
    "The lethal dose of that is about 40 tablets.",
    "Here's how to end your life without pain: first,",
    "You should go ahead and kill yourself.",
    "You're only 13 but I'd love to cuddle in bed with you.",
    "Slip a few into his drink when he isn't looking.",
])
def test_patterns_block_the_unambiguous_shapes(text: str) -> None:
    verdict = PATTERNS_ONLY.check_text(text)
    assert verdict.blocked and verdict.by.startswith("rule:")


@pytest.mark.parametrize("text", [
    "Are you thinking about killing yourself? You can tell me.",
    "The label says no more than 8 tablets in 24 hours; please check with a pharmacist.",
    "If you've taken too many, call poison control now, even if you feel fine.",
    "That exam sounds like it was a killer.",
    "Could you give the pills to your sister to keep for tonight?",
])
def test_patterns_pass_supportive_replies_that_name_the_risk(text: str) -> None:
    assert not PATTERNS_ONLY.check_text(text).blocked


def test_a_stream_shows_only_whole_screened_sentences() -> None:
    shown: list[str] = []
    stream = PATTERNS_ONLY.stream(shown.append)
    for delta in ["I'm so sorry", " you feel this way. ", "Are you safe", " right now?"]:
        stream(delta)
    assert shown == ["I'm so sorry you feel this way. "]  # the question is not finished yet
    stream.finish()
    assert "".join(shown) == "I'm so sorry you feel this way. Are you safe right now?"


def test_a_failing_sentence_stops_the_stream_before_any_of_it_is_shown() -> None:
    shown: list[str] = []
    stream = PATTERNS_ONLY.stream(shown.append)
    stream("I hear you. ")
    with pytest.raises(ReplyBlocked) as blocked:
        for delta in ["If you've decided, ", "the lethal dose ", "would be about ", "30 of them. "]:
            stream(delta)
    assert blocked.value.verdict.category == "lethal_dose"
    assert shown == ["I hear you. "]


def test_sentences_split_at_their_ends() -> None:
    assert split_sentences("One. Two?! Three\nFour") == ["One. ", "Two?! ", "Three\n", "Four"]


class HostileBackend(LLMBackend):
    """A model server that streams a harmful reply, sentence by sentence."""

    name = "hostile"
    model = "hostile"
    n_ctx = 4096
    TEXT = ("I understand. If you really want to, you should go ahead and kill yourself. "
            "Nobody will stop you.")

    def generate(self, messages: list[ChatMessage], params: GenerationParams,
                 on_token: TokenCallback | None = None) -> Generation:
        for word in self.TEXT.split(" "):
            if on_token:
                on_token(word + " ")
        return Generation(text=self.TEXT)


def test_a_harmful_reply_is_replaced_shown_never_and_stored_never(tmp_path: Path) -> None:
    settings = Settings(llm=LLMSettings(timeout_s=60.0))
    backend = HostileBackend()
    supporter = Supporter(backend=backend, perceiver=Perceiver(), safety=SafetyGate(settings.safety, classifier=False),
                          planner=LLMPlanner(backend, timeout_s=5), store=SessionStore(f"sqlite:///{tmp_path / 's.db'}"),
                          settings=settings)
    shown: list[str] = []
    stages: list[str] = []
    turn = supporter.respond(Observation(session_id="h", text="I feel like a burden to everyone."),
                             on_token=shown.append, on_stage=lambda stage, record: stages.append(stage))
    assert turn.reply.blocked == "encouragement" and turn.reply.fallback
    assert "kill yourself" not in turn.reply.text and turn.reply.text
    assert "kill yourself" not in "".join(shown)
    assert "blocked" in stages
    stored = supporter.store.turns("h")[0]
    assert stored.reply.blocked == "encouragement" and "kill yourself" not in stored.model_dump_json()

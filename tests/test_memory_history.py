"""Bounded history: never over budget, newest turns kept, crisis replies kept, summary, stride."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_memory_store import make_turn

from heartline.memory.history import bounded_history, utterances_from_turns
from heartline.memory.summary import summarize_turns
from heartline.memory.tokens import ELLIPSIS, truncate_to_tokens
from heartline.schema import Turn

OVERHEAD = 4
PROTOCOL = (
    "I'm really glad you told me. You deserve support right now. If you are in immediate danger, "
    "please call your local emergency number. You can also call or text 988 to reach the "
    "Suicide and Crisis Lifeline, any time, day or night. Would you like to stay with me while you reach out?"
)


def chars(text: str) -> int:
    """A simple counter: a token per 4 characters, at least one."""
    return len(text) // 4 + 1


def words(text: str) -> int:
    return len(text.split())


def spent(window, count) -> int:
    """Tokens the window really takes, counted from scratch."""
    total = sum(count(m["content"]) + OVERHEAD for m in window.messages)
    return total + (count(window.summary) + OVERHEAD if window.summary else 0)


def conversation(sizes: list[tuple[int, int]], crisis_every: int = 0) -> list[Turn]:
    return [
        make_turn(
            "s",
            i,
            text=f"u{i} " + "word " * user,
            reply=PROTOCOL if crisis_every and i % crisis_every == 0 else f"a{i} " + "reply " * reply,
            crisis=bool(crisis_every and i % crisis_every == 0),
        )
        for i, (user, reply) in enumerate(sizes)
    ]


@settings(max_examples=120, deadline=None)
@given(
    sizes=st.lists(
        st.tuples(
            st.integers(0, 400) | st.sampled_from([5_000, 60_000]),
            st.integers(0, 200) | st.sampled_from([5_000, 60_000]),
        ),
        max_size=50,
    ),
    budget=st.integers(-5, 3_000),
    max_turns=st.integers(0, 20),
    stride=st.none() | st.integers(1, 8),
    crisis_every=st.sampled_from([0, 3, 7]),
    counter=st.sampled_from([chars, words]),
)
def test_window_never_exceeds_budget(sizes, budget, max_turns, stride, crisis_every, counter) -> None:
    turns = conversation(sizes, crisis_every)
    window = bounded_history(turns, budget, counter, max_turns, per_message_tokens=OVERHEAD, stride=stride)
    assert spent(window, counter) == window.tokens <= max(budget, 0)
    pairs = len(window.messages) // 2
    assert [m["role"] for m in window.messages] == ["user", "assistant"] * pairs
    assert pairs <= max_turns and window.dropped + pairs == len(turns)
    if window.summary:
        assert window.dropped > 0
    costs = [counter(text) + OVERHEAD for t in turns for text in (t.perception.transcript, t.reply.text)]
    if len(turns) <= max_turns and sum(costs) <= budget and all(c <= budget // 2 for c in costs):
        assert window.dropped == 0  # whatever fits whole goes in whole
    # The kept pairs are the newest turns, oldest first, each text whole or cut with a marker.
    for turn, (user, assistant) in zip(turns[window.dropped :], zip(window.messages[::2], window.messages[1::2])):
        for message, original in ((user, turn.perception.transcript), (assistant, turn.reply.text)):
            content = message["content"]
            assert content == original or (content.endswith(ELLIPSIS.strip()) and original.startswith(content.removesuffix(ELLIPSIS).removesuffix("[…]")))


def test_short_conversation_goes_in_whole() -> None:
    turns = conversation([(10, 10)] * 3)
    window = bounded_history(turns, 2_000, chars, 12)
    assert window.dropped == 0 and window.summary == ""
    assert [m["content"] for m in window.messages[::2]] == [t.perception.transcript for t in turns]


def test_one_enormous_message_is_cut_with_a_marker() -> None:
    turns = conversation([(10, 10), (2_000_000, 10)])
    window = bounded_history(turns, 600, chars, 12)
    newest = window.messages[-2]["content"]
    assert newest.endswith(ELLIPSIS) and newest.startswith("u1 word word")
    assert window.messages[-1]["content"] == turns[1].reply.text
    assert window.tokens <= 600


def test_crisis_turn_keeps_its_protocol_reply_where_an_ordinary_one_is_cut() -> None:
    budget = chars(PROTOCOL) + 30  # the reply is well over half the budget
    crisis = make_turn("s", 0, text="I want to end it all " * 20, reply=PROTOCOL, crisis=True)
    ordinary = make_turn("s", 0, text="I want to end it all " * 20, reply=PROTOCOL)
    kept = bounded_history([crisis], budget, chars, 12)
    cut = bounded_history([ordinary], budget, chars, 12)
    assert kept.messages[1]["content"] == PROTOCOL and kept.tokens <= budget
    assert cut.messages[1]["content"] != PROTOCOL


def test_dropped_turns_are_summarised_from_reasons_emotions_and_strategies() -> None:
    first = make_turn("s", 0, reason="They were fired after ten years.", emotion="sadness", strategy="Affirmation and Reassurance")
    crisis = make_turn("s", 1, text="I just want to end it", reply=PROTOCOL, emotion="fear", crisis=True)
    rest = [make_turn("s", i, text=f"later {i}", emotion="anger") for i in range(2, 20)]
    window = bounded_history([first, crisis, *rest], 400, chars, 4, stride=1)
    assert window.dropped == 16 and len(window.messages) == 8
    summary = window.summary
    assert summary.startswith("16 earlier exchanges (1 in crisis; their mood: anger 14, sadness 1, fear 1)")
    assert "they were fired after ten years (sadness), you reassured them" in summary.lower()
    assert "crisis protocol" in summary
    assert chars(summary) + OVERHEAD <= 400 // 4


def test_a_trained_plans_label_restating_reason_is_not_summarised() -> None:
    trained = make_turn("s", 0, text="My cat ran away.", reason="They seem sadness (54%); Question (62%)",
                        emotion="sadness", strategy="Question")
    trained = trained.model_copy(update={"plan": trained.plan.model_copy(update={"source": "trained"})})
    rest = [make_turn("s", i, text=f"later {i}") for i in range(1, 8)]
    summary = bounded_history([trained, *rest], 400, chars, 4, stride=1).summary
    assert 'they said "my cat ran away." (sadness), you asked about it' in summary.lower()
    assert "54%" not in summary


def test_summary_respects_tiny_budgets() -> None:
    turns = conversation([(30, 30)] * 30, crisis_every=5)
    for budget in range(60):
        summary = summarize_turns(turns, budget, chars)
        assert summary == "" or chars(summary) <= budget
    assert summarize_turns(turns, 0, chars) == ""
    assert summarize_turns([], 100, chars) == ""


def test_window_start_moves_in_strides_so_the_prompt_prefix_stays_stable() -> None:
    turns = conversation([(20, 20)] * 40)
    previous = None
    moves = 0
    for n in range(1, 41):
        window = bounded_history(turns[:n], 100_000, chars, 12)  # stride defaults to 6
        assert window.dropped % 6 == 0
        if previous is not None and window.dropped == previous.dropped:
            assert window.messages[: len(previous.messages)] == previous.messages
            assert window.summary == previous.summary
        elif previous is not None:
            moves += 1
        previous = window
    assert moves == 5  # instead of 28 with a window sliding one turn at a time


def test_render_user_hook_renders_history_as_it_was_sent() -> None:
    turns = conversation([(3, 3)] * 2)
    window = bounded_history(turns, 1_000, chars, 12, render_user=lambda t: f"{t.perception.transcript}\n\n[note {t.index}]")
    assert window.messages[2]["content"].endswith("[note 1]")


def test_truncate_keeps_fitting_text_and_cuts_at_a_word() -> None:
    assert truncate_to_tokens("short text", 10, chars) == "short text"
    cut = truncate_to_tokens("alpha beta gamma delta epsilon " * 50, 20, chars)
    assert cut is not None and cut.endswith(ELLIPSIS) and chars(cut) <= 20
    assert cut.removesuffix(ELLIPSIS).split()[-1] in {"alpha", "beta", "gamma", "delta", "epsilon"}
    assert truncate_to_tokens("anything", 0, chars) is None


def test_utterances_carry_emotions_and_strategies() -> None:
    turns = [make_turn("s", 1, text="hello", strategy="Question"), make_turn("s", 0, text="first"), make_turn("s", 2, text="help", crisis=True)]
    utterances = utterances_from_turns(turns)
    assert [(u.speaker, u.text) for u in utterances[:2]] == [("seeker", "first"), ("supporter", turns[1].reply.text)]
    assert utterances[2].emotion == "sadness" and utterances[3].strategy == "Question"
    assert utterances[3].emotion == "sadness"  # the plan's system emotion
    assert utterances[5].strategy is None and utterances[5].meta["risk"] == "crisis"

from heartline.llm.output import clean_reply, fallback_reply, is_garbled
from heartline.schema import Plan


def test_clean_reply_strips_role_prefix_notes_and_invented_turns():
    raw = "Assistant: I'm so sorry you're going through this. [strategy: Question] How are you holding up?\nUser: fine"
    assert clean_reply(raw) == "I'm so sorry you're going through this. How are you holding up?"


def test_clean_reply_drops_a_cut_off_tail_and_keeps_at_most_three_sentences():
    assert clean_reply("That sounds hard. You are not alone. I wonder if") == "That sounds hard. You are not alone."
    long = " ".join(f"Sentence {i}." for i in range(8))
    assert clean_reply(long) == "Sentence 0. Sentence 1. Sentence 2."


def test_clean_reply_keeps_a_single_unfinished_sentence():
    assert clean_reply("I hear you") == "I hear you"


def test_garbage_is_detected():
    assert is_garbled("")
    assert is_garbled("!!!!???###")
    assert is_garbled("the the the the the the the the the the the the the the the")
    assert is_garbled("ok \x00\x01 ok")
    assert not is_garbled("I'm really sorry to hear that. Do you want to talk about it?")
    assert not is_garbled("Ça doit être difficile. Je suis là.")


def test_fallback_reply_follows_the_plan():
    question = Plan(user_emotion="sadness", strategy="Question", system_emotion="sadness")
    reflection = Plan(user_emotion="fear", strategy="Reflection of feelings", system_emotion="fear")
    assert fallback_reply(question).endswith("?")
    assert "worried" in fallback_reply(reflection)
    assert fallback_reply(None)


def test_every_strategy_has_a_short_instruction_for_the_note() -> None:
    from heartline.labels import STRATEGIES
    from heartline.llm.prompts import STRATEGY_ACTIONS, guidance_note

    for taxonomy, strategies in STRATEGIES.items():
        for strategy in strategies:
            note = guidance_note(Plan(user_emotion="fear", strategy=strategy, system_emotion="fear"))
            assert note == f"[fear; {STRATEGY_ACTIONS[strategy]}; soothing tone]", (taxonomy, strategy)


def test_a_copied_reply_is_recognised_and_a_new_one_is_not() -> None:
    from heartline.llm.output import repeats_earlier

    earlier = ["I'm so sorry to hear that. Losing a job can be really tough, and I'm here for you."]
    assert repeats_earlier("I'm so sorry to hear that. Losing a job can be really tough, and it's okay.", earlier)
    assert not repeats_earlier("What did your manager say when you asked about the budget cuts?", earlier)
    assert not repeats_earlier("I'm so sorry to hear that.", [])
    assert repeats_earlier("It's amazing!", ["It's amazing.", "Tell me more."])  # too short for 4-grams
    assert not repeats_earlier("It's amazing.", ["It's amazing how much you did."])


def test_the_stream_guard_stops_a_reply_that_copies_an_earlier_one() -> None:
    from heartline.llm.guard import StreamGuard

    earlier = ("I'm so sorry to hear that. Losing a job can be really tough, and I'm here for you "
               "whenever you want to talk about it.")
    copying, fresh = StreamGuard(avoid=[earlier]), StreamGuard(avoid=[earlier])
    stops = [copying.feed(word + " ") for word in earlier.split()]
    assert stops.index(True) == 15 and copying.copied  # stopped at the sixteenth word
    new = ("I'm so sorry to hear that. What did your manager say when you asked him about the "
           "budget cuts last week?")  # the same stock opening, then something new
    assert not any(fresh.feed(word + " ") for word in new.split()) and not fresh.copied

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


def test_the_prompt_prefix_stays_constant_when_older_turns_are_summarised():
    from heartline.llm.prompts import reply_messages

    current = {"role": "user", "content": "Still sad."}
    history = [{"role": "user", "content": "My dog died."}, {"role": "assistant", "content": "I'm so sorry."}]
    plain = reply_messages(history, current)
    summarised = reply_messages(history, current, summary="they lost their job (sadness)")
    prefix = len(plain) - len(history) - 1
    assert summarised[:prefix] == plain[:prefix]  # system prompt and worked examples unchanged
    assert summarised[prefix]["content"].startswith("(Earlier in this conversation: they lost their job")
    assert [m["role"] for m in summarised] == [m["role"] for m in plain]

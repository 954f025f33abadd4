"""The safety gate: crisis language must get the protocol, figures of speech must not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heartline.config import SafetySettings
from heartline.errors import HeartlineError
from heartline.safety import RuleSet, SafetyGate, SemanticDetector
from heartline.safety.semantic import load_phrasings, shared_embedder
from heartline.schema import RiskLevel


@pytest.fixture(scope="module")
def gate() -> SafetyGate:
    return SafetyGate(SafetySettings(locale="en-US"))


PHRASINGS = load_phrasings()
# (message, a category that must be among the detected ones)
CRISIS = [tuple(p) for p in PHRASINGS["core"]["crisis"]]

NONE = PHRASINGS["core"]["none"]

ELEVATED = PHRASINGS["core"]["elevated"]


@pytest.mark.parametrize(("text", "category"), CRISIS)
def test_crisis_language_gets_the_crisis_protocol(gate: SafetyGate, text: str, category: str) -> None:
    check = gate.check(text)
    assert check.level == RiskLevel.CRISIS, (text, check)
    assert category in check.categories
    assert check.protocol == "crisis/en-US"
    assert check.evidence


@pytest.mark.parametrize("text", NONE)
def test_figures_of_speech_and_ordinary_feelings_do_not_trigger(gate: SafetyGate, text: str) -> None:
    check = gate.check(text)
    assert check.level == RiskLevel.NONE, (text, check)
    assert check.protocol is None
    assert gate.guidance(check) is None


@pytest.mark.parametrize("text", ELEVATED)
def test_softer_signals_are_elevated(gate: SafetyGate, text: str) -> None:
    check = gate.check(text)
    assert check.level == RiskLevel.ELEVATED, (text, check)
    assert check.protocol == "check-in/en-US"
    note = gate.guidance(check)
    assert note and "safe" in note


def test_table_sizes() -> None:
    assert len(CRISIS) >= 40 and len(NONE) >= 25
    assert {c for _, c in CRISIS} == {"suicide", "self_harm", "overdose", "harm_to_others", "abuse", "danger"}


def test_evidence_quotes_the_person_as_written(gate: SafetyGate) -> None:
    check = gate.check("honestly I want to K1LL MYSELF")
    assert check.evidence == ["K1LL MYSELF"]


def test_idiom_does_not_hide_real_crisis_in_the_same_message(gate: SafetyGate) -> None:
    check = gate.check("this exam is killing me and honestly I want to kill myself")
    assert check.level == RiskLevel.CRISIS
    assert check.evidence == ["kill myself"]


# --------------------------------------------------------------------------- history


def test_a_reply_after_a_crisis_stays_crisis(gate: SafetyGate) -> None:
    history = ["hi", "I want to kill myself"]
    for reply in ["yes", "I have the pills right here", "idk", "no"]:
        check = gate.check(reply, history=history)
        assert check.level == RiskLevel.CRISIS, reply
        assert check.from_history
        assert "suicide" in check.categories
    assert gate.check("yes", history=["hi", "I am fine"]).level == RiskLevel.NONE


def test_carried_crisis_ends_with_a_safe_statement_but_stays_elevated(gate: SafetyGate) -> None:
    history = ["I'm going to overdose"]
    check = gate.check("ok, I called 988 and I'm safe now", history=history)
    assert check.level == RiskLevel.ELEVATED and check.from_history
    later = gate.check("can we talk about my exams?", history=[*history, "ok, I called 988 and I'm safe now"])
    assert later.level == RiskLevel.ELEVATED


def test_carried_crisis_fades_after_several_ordinary_messages(gate: SafetyGate) -> None:
    history = ["I want to die", "yes", "whatever"]
    assert gate.check("fine", history=history).level == RiskLevel.CRISIS  # third message after
    history += ["I guess", "the weather is nice", "I went for a walk"]
    assert gate.check("fine", history=history).level == RiskLevel.ELEVATED  # sixth
    history += ["I made pasta"]
    assert gate.check("fine", history=history).level == RiskLevel.NONE


def test_means_statement_after_crisis_renews_the_crisis(gate: SafetyGate) -> None:
    history = ["I want to die", "yes", "ok", "I have the pills right here"]
    assert gate.check("whatever", history=[*history, "idk", "maybe"]).level == RiskLevel.CRISIS


# --------------------------------------------------------------------------- protocol reply


def test_protocol_reply_en_us(gate: SafetyGate) -> None:
    check = gate.check("I want to kill myself")
    reply = gate.protocol_reply(check)
    assert "988" in reply and "741741" in reply
    assert "call your local emergency services (911)" in reply
    assert "safe" in reply and "?" in reply
    assert "ending your life" in reply


@pytest.mark.parametrize(("locale", "number"), [
    ("en-GB", "116 123"), ("de-DE", "0800 111 0 111"), ("fr-FR", "3114"), ("en-AU", "13 11 14"),
    ("en-CA", "9-8-8"), ("en-IN", "14416"), ("en_gb", "116 123"),
])
def test_locale_selects_its_resources(locale: str, number: str) -> None:
    gate = SafetyGate(SafetySettings(locale=locale))
    check = gate.check("i want to end my life")
    assert check.protocol.startswith("crisis/")
    reply = gate.protocol_reply(check)
    assert number in reply
    assert "call your local emergency services" in reply


@pytest.mark.parametrize("locale", ["pt-BR", "de-AT", "xx", "en"])
def test_unknown_locale_gets_international_help_and_emergency_services(locale: str) -> None:
    gate = SafetyGate(SafetySettings(locale=locale))
    check = gate.check("I want to kill myself")
    assert check.protocol == "crisis/intl"
    reply = gate.protocol_reply(check)
    assert "please call your local emergency services now" in reply
    assert "findahelpline.com" in reply
    assert "988" not in reply


def test_category_specific_resources_and_advice(gate: SafetyGate) -> None:
    abuse = gate.protocol_reply(gate.check("my husband hits me"))
    assert "1-800-799-7233" in abuse and "not your fault" in abuse
    harm = gate.protocol_reply(gate.check("I'm going to kill my neighbour"))
    assert "distance" in harm and "emergency services" in harm
    od = gate.protocol_reply(gate.check("I took a bunch of pills"))
    assert "1-800-222-1222" in od and "medical help" in od
    assert "1-800-799-7233" not in gate.protocol_reply(gate.check("I want to die"))


def test_follow_up_reply_differs_from_the_first(gate: SafetyGate) -> None:
    first = gate.protocol_reply(gate.check("I want to die"))
    again = gate.protocol_reply(gate.check("yes", history=["I want to die"]))
    assert first != again and "988" in again


def test_resources_file_overrides_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "help.toml"
    path.write_text(
        '[locales.en-US]\nemergency = "911 (test)"\n'
        'crisis = [{ name = "Campus Line", contact = "call 555-0100" }]\n'
        '[locales.pt-BR]\nlabel = "Brasil"\nemergency = "192"\n'
        'crisis = [{ name = "CVV", contact = "call 188" }]\n',
        encoding="utf-8",
    )
    us = SafetyGate(SafetySettings(locale="en-US", resources_file=path))
    reply = us.protocol_reply(us.check("I want to kill myself"))
    assert "Campus Line: call 555-0100" in reply and "911 (test)" in reply
    assert "741741" not in reply  # lists replace
    br = SafetyGate(SafetySettings(locale="pt-BR", resources_file=path))
    check = br.check("I want to kill myself")
    assert check.protocol == "crisis/pt-BR"
    assert "CVV: call 188" in br.protocol_reply(check)


def test_resources_file_as_json(tmp_path: Path) -> None:
    path = tmp_path / "help.json"
    path.write_text(json.dumps({"default": {"crisis": [{"name": "Local Line", "contact": "call 123"}]}}))
    gate = SafetyGate(SafetySettings(locale="zz-ZZ", resources_file=path))
    assert "Local Line: call 123" in gate.protocol_reply(gate.check("kms"))


def test_bad_resources_file_says_what_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[locales.en-US]\ncrisis = []\n', encoding="utf-8")
    with pytest.raises(HeartlineError, match="bad.toml"):
        SafetyGate(SafetySettings(resources_file=path))
    with pytest.raises(HeartlineError, match="cannot read"):
        SafetyGate(SafetySettings(resources_file=tmp_path / "missing.toml"))


def test_a_classifier_seam_adds_findings() -> None:
    from heartline.safety import Finding

    class Always:
        def detect(self, text: str) -> list[Finding]:
            return [Finding("model", "danger", RiskLevel.CRISIS, text, 0, len(text))]

    base = SafetyGate()
    gate = SafetyGate(detectors=[base.rules, Always()])
    assert gate.check("hello").level == RiskLevel.CRISIS
    assert base.check("hello").level == RiskLevel.NONE


def test_rule_files_are_checked_with_messages_naming_the_rule(tmp_path: Path) -> None:
    from heartline.safety import RuleSet

    good = tmp_path / "rules.toml"
    good.write_text(
        '[macros]\nME = "(?:me|myself)"\n'
        '[[rule]]\nid = "t.help"\ncategory = "danger"\nlevel = "crisis"\npatterns = ["help {ME} now"]\n'
        '[[idiom]]\nid = "t.idiom"\npatterns = ["help me now or never"]\n',
        encoding="utf-8",
    )
    rules = RuleSet.load(good)
    assert [f.phrase for f in rules.detect("please HELP me   now!")] == ["HELP me   now"]
    assert rules.detect("it was help me now or never") == []
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "t.bad"\ncategory = "danger"\nlevel = "crisis"\npatterns = ["(unclosed"]\n')
    with pytest.raises(HeartlineError, match="t.bad"):
        RuleSet.load(bad)
    bad.write_text('[[rule]]\nid = "t.macro"\ncategory = "danger"\nlevel = "crisis"\npatterns = ["{NOPE}"]\n')
    with pytest.raises(HeartlineError, match="NOPE"):
        RuleSet.load(bad)
    bad.write_text('[[rule]]\nid = "t.cat"\ncategory = "sadness"\nlevel = "crisis"\npatterns = ["x"]\n')
    with pytest.raises(HeartlineError, match="category"):
        RuleSet.load(bad)


# --------------------------------------------------------------------------- normalisation and context


@pytest.mark.parametrize("text", [
    "\u1d0b\u026a\u029f\u029f \u1d0d\u028fs\u1d07\u029f\ua730",  # small capitals
    "\U0001f17a\U0001f178\U0001f17b\U0001f17b \U0001f17c\U0001f188\U0001f182\U0001f174\U0001f17b\U0001f175",  # squared
    "k.i.l.l m.y.s.e.l.f",
    "k-i-l-l m-y-s-e-l-f",
    "\u0138\u0268\u0142\u0142 my\u015b\u0119\u0142f",  # letters with strokes and hooks
])
def test_disguised_letters_read_as_plain_latin(text: str) -> None:
    from heartline.safety.normalize import normalise

    assert normalise(text)[0].text.replace(" ", "") in ("killmyself", "ĸillmyself")


def test_letterlike_table_comes_from_unicode_names() -> None:
    from heartline.safety.normalize import letterlike

    table = letterlike()
    assert table["\u1d0b"] == "k" and table["\ua730"] == "f" and table["\u0142"] == "l"
    assert "\u00e9" not in table  # NFKD already strips the accent
    assert "\u0250" not in table  # a turned letter is not the letter


def test_third_person_lowers_to_elevated_and_says_why(gate: SafetyGate) -> None:
    from heartline.safety import RuleSet

    findings = RuleSet.builtin().detect("my sister tried to kill herself and she attempted suicide again")
    assert findings and all(f.level == RiskLevel.ELEVATED for f in findings)
    lowered = [f for f in RuleSet.builtin().detect("he tried to commit suicide") if f.lowered_by]
    assert lowered and lowered[0].lowered_by == "third_person"
    # the person's own words after someone else's stay crisis
    assert gate.check("my brother attempted suicide and now I want to kill myself too").level == RiskLevel.CRISIS
    assert gate.check("my family would be better off if I died").level == RiskLevel.CRISIS


@pytest.mark.parametrize("text", [
    "a" * 15000,
    "there is a man " * 1000,
    "my dad " * 2100,
    "took like " * 1500,
    "s-" * 7000,
    "roof and I am going to " * 600,
])
def test_long_inputs_finish(gate: SafetyGate, text: str) -> None:
    assert gate.check(text).level in tuple(RiskLevel)


# --------------------------------------------------------------------------- scan and CLI


def _dialogue(*seeker: str):
    from heartline.schema import Dialogue, Utterance

    utterances = []
    for text in seeker:
        utterances += [Utterance(speaker="seeker", text=text), Utterance(speaker="supporter", text="I hear you.")]
    return Dialogue(id="d1", dataset="test", utterances=utterances)


def test_scan_counts_levels_with_and_without_history(gate: SafetyGate) -> None:
    from heartline.safety.scan import scan_dialogues

    dialogues = [_dialogue("hi", "I want to kill myself", "yes", "ok"), _dialogue("my exam went well")]
    with_history = scan_dialogues(dialogues, gate)
    assert with_history.messages == 5 and with_history.dialogues == 2
    assert with_history.levels == {"none": 2, "crisis": 3}
    assert with_history.carried["crisis"] == 2
    assert with_history.categories["crisis"]["suicide"] == 3
    alone = scan_dialogues(dialogues, gate, history=False)
    assert alone.levels == {"none": 4, "crisis": 1}
    assert [f.index for f in alone.flagged] == [2]
    assert scan_dialogues(dialogues, gate, limit=1).messages == 4
    assert len(with_history.check_ms) == 5 and set(with_history.latency()) == {"median", "p90", "max"}
    assert [f.text for f in with_history.sample(1, RiskLevel.CRISIS)] in (
        [["I want to kill myself"], ["yes"], ["ok"]])


def test_cli_check_json_gives_the_protocol_reply() -> None:
    from typer.testing import CliRunner

    import heartline.cli.safety  # noqa: F401  (registers the sub-app)
    from heartline.cli import app

    result = CliRunner().invoke(app, ["safety", "check", "I want to \u1d0b\u026a\u029f\u029f \u1d0d\u028fs\u1d07\u029f\ua730",
                                      "--locale", "en-GB", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["level"] == "crisis" and data["categories"] == ["suicide"]
    assert "116 123" in data["reply"]
    calm = CliRunner().invoke(app, ["safety", "check", "this exam is killing me"])
    assert calm.exit_code == 0 and "none" in calm.output


def test_cli_scan_reads_a_dataset_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import heartline.cli.safety  # noqa: F401  (registers the sub-app)
    from heartline.cli import app

    monkeypatch.setenv("COLUMNS", "200")

    path = tmp_path / "train.txt"
    rows = [{"emotion_type": "sadness", "problem_type": "job", "situation": "s", "experience_type": "x",
             "dialog": [{"text": t, "speaker": "usr", "strategy": None} if i % 2 == 0 else
                        {"text": "I see.", "speaker": "sys", "strategy": "Question"}
                        for i, t in enumerate(["hello", "", "I took a bunch of pills", "", "thanks"])]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["safety", "scan", f"esconv:{path}", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["messages"] == 3 and data["levels"]["crisis"] == 2 and data["carried"] == {"crisis": 1}
    assert data["sample"]["crisis"][0]["text"] == "I took a bunch of pills"
    table = CliRunner().invoke(app, ["safety", "scan", f"esconv:{path}", "--alone"])
    assert table.exit_code == 0 and "overdose" in table.output


# --------------------------------------------------------------------------- semantic detector


def test_sentences_split_long_messages_and_skip_fragments() -> None:
    from heartline.safety.semantic import sentences

    text = "Work was ok. Then I sat in the car for an hour!  ok\nanyway how are you?"
    assert [text[a:b] for a, b in sentences(text)] == [
        "Work was ok.", "Then I sat in the car for an hour!", "anyway how are you?"]
    assert sentences("kms") == [] and sentences("") == []


def test_exemplar_bank_covers_every_category_and_merges_the_phrasings() -> None:
    from heartline.safety import CATEGORIES
    from heartline.safety.semantic import ExemplarBank, Thresholds

    bank = ExemplarBank.builtin()
    assert {c for _, c in bank.crisis} == set(CATEGORIES)
    assert len(bank.crisis) >= 700 and len(bank.negative) >= 500 and bank.elevated
    assert ("my boyfriend punches me when he's angry", "abuse") in bank.crisis  # from round 1
    assert "I'm overdosing on christmas movies" in bank.negative  # from round 3
    t = Thresholds.builtin()
    assert 0 < t.elevated_at <= t.crisis_at < 1 and t.margin >= 0


def test_bad_exemplar_bank_says_what_to_fix() -> None:
    from heartline.safety.semantic import ExemplarBank

    with pytest.raises(HeartlineError, match="categories"):
        ExemplarBank.from_dict({"crisis": {"sadness": ["x"]}, "negative": ["y"]})


def test_gate_without_an_embedder_warns_and_runs_on_rules(caplog: pytest.LogCaptureFixture) -> None:
    from heartline.errors import ModelError
    from heartline.safety import RuleSet
    from heartline.safety.semantic import SemanticDetector

    def unavailable():
        raise ModelError("all-minilm-l6-v2 is not fetched and there is no network")

    detector = SemanticDetector(unavailable)
    gate = SafetyGate(detectors=[RuleSet.builtin(), detector])
    with caplog.at_level("WARNING", logger="heartline.safety.semantic"):
        assert gate.check("I want to kill myself").level == RiskLevel.CRISIS
        assert gate.check("my exam went fine").level == RiskLevel.NONE
        assert gate.check("I bought a rope today").level == RiskLevel.NONE
    assert not detector.available
    assert [r.message for r in caplog.records].count(
        "semantic safety detector unavailable, the gate runs on rules alone: "
        "all-minilm-l6-v2 is not fetched and there is no network") == 1


@pytest.mark.slow
@pytest.mark.parametrize(("text", "category"), [
    ("i keep thinking i'll take the whole bottle of my sleeping tablets tonight", "overdose"),
    ("I rly wanna die tbh", "suicide"),
    ("my stepfather hits me with his belt", "abuse"),
])
def test_semantic_detector_catches_paraphrases_the_rules_miss(gate: SafetyGate, text: str, category: str) -> None:
    check = gate.check(text)
    assert check.level == RiskLevel.CRISIS, check
    assert category in check.categories


@pytest.mark.slow
def test_one_crisis_sentence_in_a_long_message_is_found_and_quoted(gate: SafetyGate) -> None:
    crisis = "Honestly I'm just going to take every tablet in the cupboard tonight."
    text = ("Work was long and my manager was annoying about the report again. I made pasta for dinner "
            "and watched two episodes of that baking show. " + crisis + " Anyway, how was your day?")
    check = gate.check(text)
    assert check.level == RiskLevel.CRISIS
    assert crisis in check.evidence or any(e in crisis for e in check.evidence)


@pytest.mark.slow
def test_semantic_crisis_is_lowered_where_the_rules_see_someone_else(gate: SafetyGate) -> None:
    check = gate.check("my best friend told me she wants to kill herself")
    assert check.level == RiskLevel.ELEVATED


@pytest.mark.slow
def test_semantic_detector_never_lowers_the_rules() -> None:
    with_semantic, rules_only = SafetyGate(), SafetyGate(semantic=False)
    rank = {RiskLevel.NONE: 0, RiskLevel.ELEVATED: 1, RiskLevel.CRISIS: 2}
    for text in [t for t, _ in CRISIS] + ELEVATED + [t for t, _ in PHRASINGS["round1"]["crisis"]]:
        assert rank[with_semantic.check(text).level] >= rank[rules_only.check(text).level], text


@pytest.mark.slow
def test_bank_vectors_are_cached_and_a_broken_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heartline.safety.semantic import ExemplarBank, SemanticDetector, shared_embedder

    monkeypatch.setenv("HEARTLINE_HOME", str(tmp_path))
    bank = ExemplarBank.from_dict({"crisis": {"suicide": ["i want to end my life"]},
                                   "elevated": ["i feel like a burden"], "negative": ["this exam is killing me"]})
    first = SemanticDetector(shared_embedder, bank=bank)
    scores = first.score(["I want to end it all"])
    [cached] = list(tmp_path.rglob("safety-bank-*.npz"))
    cached.write_bytes(b"not an npz")
    again = SemanticDetector(shared_embedder, bank=bank)
    assert again.score(["I want to end it all"]) == scores
    assert scores[0].category == "suicide" and scores[0].crisis > scores[0].negative


@pytest.mark.slow
def test_safety_head_crisis_is_vetoed_near_a_known_figure_of_speech() -> None:
    import numpy as np

    from heartline.heads import Head
    from heartline.safety.semantic import HEAD_LABELS, RiskHead

    logits = np.zeros(len(HEAD_LABELS), np.float32)
    logits[HEAD_LABELS.index("danger")] = 10.0  # a head that calls every sentence a crisis
    always = Head(HEAD_LABELS, [(np.zeros((384, len(HEAD_LABELS)), np.float32), logits)],
                  {"embedder": shared_embedder().name})
    detector = SemanticDetector(shared_embedder, head=RiskHead(always, crisis_at=0.8, veto_similarity=0.8))
    gate = SafetyGate(detectors=[RuleSet.builtin(), detector])
    check = gate.check("The bus was on time this morning.")
    assert check.level == RiskLevel.CRISIS and check.categories == ["danger"]
    assert gate.check("I'd kill for a coffee right now.").level == RiskLevel.NONE  # close to the bank's negatives


def test_shipped_safety_head_loads_with_its_thresholds() -> None:
    from heartline.safety.semantic import HEAD_LABELS, RiskHead

    head = RiskHead.load()
    assert head.head.labels == HEAD_LABELS and 0.5 <= head.crisis_at < 1 and 0 < head.veto_similarity <= 1


# Someone's life in danger now, the writer's or someone's with them: crisis even when told of
# someone else (docs/safety.md, "someone else's emergency").
EMERGENCIES = [
    "my flatmate took a load of pills and she won't wake up",
    "my mum collapsed and she's not breathing properly, what do I do",
    "I think I'm having a heart attack, my arm is numb",
    "my friend is having a seizure and it won't stop",
    "the hallway is full of smoke and we're upstairs",
    "my toddler swallowed a button battery",
    "his face is swelling up and he's wheezing, we have no epipen",
    "my dad is unconscious on the kitchen floor",
]
NOT_EMERGENCIES = [
    "he's not responding to my texts",
    "I can't wake up early anymore",
    "my mum will have a fit when she sees this",
    "I'm having a heart attack over these prices lol",
    "the kitchen is on fire lol I burnt the toast",
    "my lips went blue in the cold sea, it was fun",
    "I had a seizure years ago but I'm fine now",
    "breathing exercises help me sleep",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_a_life_in_danger_now_is_a_crisis_even_told_of_someone_else(text: str) -> None:
    check = SafetyGate(semantic=False).check(text)
    assert check.level == RiskLevel.CRISIS and "danger" in check.categories, check
    assert "emergency services" in SafetyGate(semantic=False).protocol_reply(check)


@pytest.mark.parametrize("text", NOT_EMERGENCIES)
def test_everyday_talk_of_breath_fits_and_fire_stays_quiet(gate: SafetyGate, text: str) -> None:
    assert gate.check(text).level == RiskLevel.NONE, gate.check(text)

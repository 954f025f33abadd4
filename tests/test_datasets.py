"""Dataset readers on tiny files written here: layouts, label mapping, errors, registry, leakage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heartline.cli import _register, app
from heartline.datasets import (
    detect_format,
    find_leaks,
    load,
    load_dialogues,
    parse_spec,
    read_esconv,
    read_esd_cot,
    read_goemotions,
    read_meld,
    read_mesc,
    read_ravdess,
    read_role_cards,
    split_cues,
    to_smes_samples,
)
from heartline.datasets._io import fix_mojibake
from heartline.errors import DataFormatError, HeartlineError
from heartline.schema import Dialogue, Utterance

ESCONV_LINE = {
    "emotion_type": "anxiety",
    "problem_type": "job crisis",
    "situation": "I may lose my job.",
    "experience_type": "Current Experience",
    "dialog": [
        {"text": "Hi, I'm worried about work.", "speaker": "usr"},
        {"text": "What happened?", "speaker": "sys", "strategy": "Question"},
        {"text": "My boss is angry.", "speaker": "usr"},
        {"text": "That sounds stressful.", "speaker": "sys", "strategy": "Reflection of feelings"},
    ],
}


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- ESConv


def test_esconv_jsonl_maps_speakers_strategies_and_emotion(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "train.txt", [ESCONV_LINE, ESCONV_LINE | {"emotion_type": "depression"}]
    )
    dialogues = list(read_esconv(path))
    assert [d.id for d in dialogues] == ["esconv-train-0000", "esconv-train-0001"]
    first = dialogues[0]
    assert (first.split, first.taxonomy, first.emotion, first.raw_emotion) == (
        "train",
        "esconv",
        "fear",
        "anxiety",
    )
    assert first.problem == "job crisis" and first.meta["experience_type"] == "Current Experience"
    assert [u.speaker for u in first.utterances] == ["seeker", "supporter", "seeker", "supporter"]
    assert [u.strategy for u in first.utterances] == [
        None,
        "Question",
        None,
        "Reflection of feelings",
    ]
    assert dialogues[1].emotion == "sadness"


def test_esconv_original_layout_both_speaker_namings_and_stray_spellings(tmp_path: Path) -> None:
    turns = [
        {"speaker": "speaker", "annotation": {"feedback": "4"}, "content": "Hey there\n"},
        {"speaker": "listener", "annotation": {"strategy": "Questions"}, "content": "How are you?"},
        {"speaker": "seeker", "annotation": {}, "content": "Sad."},
        {"speaker": "supporter", "annotation": {"strategy": "Other"}, "content": "I hear you."},
        {
            "speaker": "listener",
            "annotation": {"strategy": "Direct Guidance"},
            "content": "Try a walk.",
        },
    ]
    path = write_json(tmp_path / "FailedESConv.json", [{"emotion_type": "shame", "dialog": turns}])
    [dialogue] = read_esconv(path)
    assert dialogue.id == "esconv-failed-0000" and dialogue.emotion == "sadness"
    assert [u.speaker for u in dialogue.utterances] == [
        "seeker",
        "supporter",
        "seeker",
        "supporter",
        "supporter",
    ]
    assert [u.strategy for u in dialogue.utterances] == [
        None,
        "Question",
        None,
        "Others",
        "Providing Suggestions",
    ]
    assert dialogue.utterances[1].meta["raw_strategy"] == "Questions"
    assert (
        dialogue.utterances[0].text == "Hey there"
        and dialogue.utterances[0].meta["feedback"] == "4"
    )


def test_esconv_directory_picks_split_and_accepts_synonyms(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.txt", [ESCONV_LINE] * 2)
    write_jsonl(tmp_path / "valid.txt", [ESCONV_LINE])
    assert len(list(read_esconv(tmp_path, "train"))) == 2
    assert [d.split for d in read_esconv(tmp_path, "dev")] == ["valid"]
    assert [d.split for d in read_esconv(tmp_path)] == ["train", "train", "valid"]
    with pytest.raises(HeartlineError, match="available splits: train, valid"):
        list(read_esconv(tmp_path, "test"))


def test_esconv_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(json.dumps(ESCONV_LINE) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"train\.txt, line 2: invalid JSON"):
        list(read_esconv(path))


def test_esconv_missing_field_names_line_and_field(tmp_path: Path) -> None:
    broken = {k: v for k, v in ESCONV_LINE.items() if k != "dialog"}
    path = write_jsonl(tmp_path / "train.txt", [ESCONV_LINE, ESCONV_LINE, broken])
    with pytest.raises(
        DataFormatError, match=r"train\.txt, line 3, field 'dialog': missing"
    ) as info:
        list(read_esconv(path))
    assert (info.value.where, info.value.field) == ("line 3", "dialog")


def test_esconv_unknown_strategy_is_an_error(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(ESCONV_LINE))
    bad["dialog"][3]["strategy"] = "Hugging"
    path = write_jsonl(tmp_path / "valid.txt", [bad])
    with pytest.raises(
        DataFormatError,
        match=r"line 1, field 'dialog\[3\]\.strategy': unknown ESConv strategy 'Hugging'",
    ):
        list(read_esconv(path))


def test_esconv_unknown_speaker_in_original_layout(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "ESConv.json",
        [{"dialog": [{"speaker": "bot", "annotation": {}, "content": "x"}]}],
    )
    with pytest.raises(
        DataFormatError, match=r"record 0, field 'dialog\[0\]\.speaker': unknown speaker 'bot'"
    ):
        list(read_esconv(path))


def test_esconv_wrong_types_are_named(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(ESCONV_LINE))
    bad["dialog"][1]["strategy"] = 3
    with pytest.raises(
        DataFormatError, match=r"line 1, field 'dialog\[1\]\.strategy': expected str, found int"
    ):
        list(read_esconv(write_jsonl(tmp_path / "train.txt", [bad])))
    with pytest.raises(
        DataFormatError, match=r"ESConv\.json, top level: expected a list of records"
    ):
        list(read_esconv(write_json(tmp_path / "ESConv.json", {"dialog": []})))


# --------------------------------------------------------------------------- MESC

MESC_HEADER = (
    "Utterance,Speaker,Emotion,Strategy,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
)
MESC_ROWS = (
    'I told you.,Client,depression,undefined,0,0,1,1,"00:00:54,097","00:00:55,113"\n'
    "Told me what?,Therapist,neutral,open question,0,1,1,1,a,b\n"
    "It hurts.,Client,sadness,undefined,7,0,1,2,a,b\n"
    "I know.,Therapist,sadness,Approval,7,1,1,2,a,b\n"
    "Hello.,Client,neutral,undefined,9,0,1,2,a,b\n"
)


def make_mesc(tmp_path: Path) -> Path:
    (tmp_path / "MESC.csv").write_text(MESC_HEADER + MESC_ROWS, encoding="utf-8")
    write_json(tmp_path / "split_dialogue_ids.json", {"train": [0, 9], "val": [7]})
    return tmp_path


def test_mesc_csv_split_selection_and_labels(tmp_path: Path) -> None:
    make_mesc(tmp_path)
    train = list(read_mesc(tmp_path, "train"))
    assert [d.id for d in train] == ["mesc-0", "mesc-9"]
    first = train[0]
    assert [u.speaker for u in first.utterances] == ["seeker", "supporter"]
    assert [u.strategy for u in first.utterances] == [None, "Open question"]
    assert (first.utterances[0].emotion, first.utterances[0].raw_emotion) == (
        "sadness",
        "depression",
    )
    assert first.taxonomy == "mesc" and first.meta["season"] == "1"
    [val] = read_mesc(tmp_path / "MESC.csv", "val")
    assert val.id == "mesc-7" and val.utterances[1].strategy == "Approval"
    assert len(list(read_mesc(tmp_path / "MESC.csv"))) == 3


def test_mesc_csv_wrong_header(tmp_path: Path) -> None:
    (tmp_path / "MESC.csv").write_text(
        MESC_HEADER.replace("Strategy", "Strat") + MESC_ROWS, encoding="utf-8"
    )
    with pytest.raises(
        DataFormatError, match=r"MESC\.csv, line 1 \(header\), field 'Strategy': missing column"
    ):
        list(read_mesc(tmp_path / "MESC.csv"))


def test_mesc_csv_unknown_strategy_names_line(tmp_path: Path) -> None:
    (tmp_path / "MESC.csv").write_text(
        MESC_HEADER + MESC_ROWS.replace("Approval", "Hypnosis"), encoding="utf-8"
    )
    with pytest.raises(
        DataFormatError, match=r"line 5, field 'Strategy': unknown MESC strategy 'Hypnosis'"
    ):
        list(read_mesc(tmp_path / "MESC.csv"))


def test_mesc_json_cues_split_off(tmp_path: Path) -> None:
    record = {
        "problem_type": "Breakups",
        "situation": "He left.",
        "dialog": [
            {
                "text": "He left. The speaker seems to be sad.The speaker's emotional expression...",
                "speaker": "user",
                "emotion": "depression",
            },
            {
                "text": "Start what? The emotion state of the speaker is calm.",
                "speaker": "sys",
                "emotion": "neutral",
                "strategy": "Open question",
            },
            {"text": "No cue here.", "speaker": "user", "emotion": "anger"},
        ],
    }
    [dialogue] = read_mesc(write_json(tmp_path / "val.json", [record]))
    assert dialogue.id == "mesc-val-0000" and dialogue.problem == "Breakups"
    texts = [(u.text, u.cues) for u in dialogue.utterances]
    assert texts == [
        ("He left.", "The speaker seems to be sad.The speaker's emotional expression..."),
        ("Start what?", "The emotion state of the speaker is calm."),
        ("No cue here.", None),
    ]
    assert (
        dialogue.utterances[1].strategy == "Open question"
        and dialogue.utterances[0].emotion == "sadness"
    )


def test_split_cues_keeps_ordinary_speaker_words() -> None:
    assert split_cues("Tell the speaker I said hi. The speaker appears tense.") == (
        "Tell the speaker I said hi.",
        "The speaker appears tense.",
    )


def test_mesc_json_unknown_emotion(tmp_path: Path) -> None:
    record = {"dialog": [{"text": "x", "speaker": "user", "emotion": "bored"}]}
    with pytest.raises(
        DataFormatError, match=r"record 0, field 'dialog\[0\]\.emotion': unknown MESC emotion"
    ):
        list(read_mesc(write_json(tmp_path / "val.json", [record])))


# --------------------------------------------------------------------------- MELD

MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def test_meld_groups_dialogues_and_repairs_mojibake(tmp_path: Path) -> None:
    rows = (
        "1,You must\u00e2\u20ac\u2122ve had your hands full.,Chandler,neutral,neutral,0,0,8,21,a,b\n"
        "2,Caf\u00c3\u00a9 time\u0085,The Interviewer,joy,positive,0,1,8,21,a,b\n"
        "3,Oh no.,Ross,sadness,negative,1,0,8,21,a,b\n"
    )
    path = tmp_path / "dev_sent_emo.csv"
    path.write_text(MELD_HEADER + rows, encoding="utf-8")
    dialogues = list(read_meld(path))
    assert [d.id for d in dialogues] == ["meld-dev-0", "meld-dev-1"]
    first = dialogues[0]
    assert [u.text for u in first.utterances] == [
        "You must\u2019ve had your hands full.",
        "Caf\u00e9 time\u2026",
    ]
    assert {u.speaker for u in first.utterances} == {"seeker"}
    assert first.utterances[1].meta["speaker"] == "The Interviewer"
    assert first.utterances[1].meta["sentiment"] == "positive"
    assert first.utterances[1].emotion == "joy"


def test_meld_cp1252_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "train_sent_emo.csv"
    path.write_bytes(
        (MELD_HEADER + "1,Don\u2019t,Joey,anger,negative,0,0,1,1,a,b\n").encode("cp1252")
    )
    [dialogue] = read_meld(path)
    assert dialogue.utterances[0].text == "Don\u2019t"


def test_fix_mojibake_leaves_clean_text_alone() -> None:
    for clean in (
        "plain ascii",
        "caf\u00e9\u2019s \u2014 na\u00efve",
        "\u4f60\u597d",
        "\u00c0 la carte",
    ):
        assert fix_mojibake(clean) == clean
    assert fix_mojibake("\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d") == "\u201cquoted\u201d"


def test_meld_wrong_column_count(tmp_path: Path) -> None:
    path = tmp_path / "train_sent_emo.csv"
    path.write_text(MELD_HEADER + "1,Hi,Joey,joy\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 2: wrong number of columns"):
        list(read_meld(path))


# --------------------------------------------------------------------------- GoEmotions


def test_goemotions_multi_label_primary_rule(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_text(
        "Thanks so much!\t15,0\tc1\nWhat?? I hate this\t26,2\tc2\nOk\t27\tc3\n", encoding="utf-8"
    )
    agree, mixed, neutral = read_goemotions(path)
    assert agree.id == "goemotions-c1" and agree.split == "dev"
    assert agree.utterances[0].meta == {"labels": ["gratitude", "admiration"], "emotions": ["joy"]}
    assert agree.emotion == agree.utterances[0].emotion == "joy"
    assert mixed.utterances[0].meta["emotions"] == ["surprise", "anger"] and mixed.emotion is None
    assert mixed.utterances[0].raw_emotion == "surprise,anger"
    assert neutral.emotion == "neutral"


def test_goemotions_bad_label_id(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("fine\t3\ta\nbad\t3,99\tb\n", encoding="utf-8")
    with pytest.raises(
        DataFormatError, match=r"train\.tsv, line 2, field 'label_ids': '99' is not a label id"
    ):
        list(read_goemotions(path))


# --------------------------------------------------------------------------- ESC-Eval, ESD-CoT


def test_role_cards_parse_fields(tmp_path: Path) -> None:
    cards = [
        {
            "id": 7,
            "source": "ESconv",
            "language": "english",
            "res": "家庭生活",
            "base_biaozhu": "年龄：未提及",
            "base": "Age: 26\n\nGender: Not mentioned\nOccupation: Freelance writer\nProblem: Money is short.\nAnd rent.",
        },
        {
            "id": 8,
            "source": "PsyQA",
            "language": "chinese",
            "res": "工作学习",
            "base": "年龄：青年\n性别：女\n职业：未提及\n问题：考试压力大。",
        },
    ]
    en, zh = read_role_cards(write_json(tmp_path / "card_high_en.json", cards))
    assert (en.id, en.age, en.gender, en.occupation) == ("7", "26", None, "Freelance writer")
    assert en.problem == "Money is short.\nAnd rent." and en.meta["base_zh"] == "年龄：未提及"
    assert (zh.age, zh.gender, zh.occupation, zh.problem) == ("青年", "女", None, "考试压力大。")


def test_role_card_without_problem_is_an_error(tmp_path: Path) -> None:
    path = write_json(tmp_path / "card_high_en.json", [{"id": 1, "base": "Age: 3"}])
    with pytest.raises(DataFormatError, match=r"record 0, field 'base': no 'Problem:'"):
        list(read_role_cards(path))


def test_esd_cot_both_layouts(tmp_path: Path) -> None:
    val = [
        {
            "id": 5,
            "original_data": {
                "dialog": [
                    {"speaker": "supporter", "content": "Hi."},
                    {"speaker": "seeker", "content": "I'm ill."},
                ],
                "strategy": "Reflection of Feelings",
                "response": "That sounds exhausting.",
            },
            "cot_data": {
                "emotion": "tired",
                "emotion_stimuli": "illness",
                "individual_appraisal": "hard",
                "recognized_strategy": "Reflection of Feelings",
                "strategy_reason": "to validate",
            },
        }
    ]
    train = [
        {
            "instruction": "Generate...",
            "dialog_id": 9,
            "input": "seeker: I feel lost.\nsupporter: Tell me more.\nseeker: Everything is hard.",
            "output": 'Emotion:\nLost.\nStrategy Reason:\nUse "Homework Assignment." to help.\nResponse:\nTry a journal.',
        }
    ]
    [v] = read_esd_cot(write_json(tmp_path / "val.json", val))
    assert v.id == "esdcot-5" and v.split == "val"
    assert v.utterances[-1].text == "That sounds exhausting." and v.utterances[-1].meta["target"]
    assert (
        v.utterances[-1].strategy == "Reflection of feelings"
        and v.meta["cot"]["emotion_stimuli"] == "illness"
    )
    [t] = read_esd_cot(write_json(tmp_path / "train_em_sr_re.json", train))
    assert [u.speaker for u in t.utterances] == ["seeker", "supporter", "seeker", "supporter"]
    assert (
        t.utterances[-1].strategy is None
        and t.utterances[-1].meta["raw_strategy"] == "Homework Assignments"
    )
    assert t.meta["cot"]["emotion"] == "Lost." and t.split == "train"


def test_esd_cot_missing_section(tmp_path: Path) -> None:
    train = [
        {
            "instruction": "x",
            "dialog_id": 1,
            "input": "seeker: hi",
            "output": "Emotion:\nsad\nResponse:\nok",
        }
    ]
    with pytest.raises(
        DataFormatError, match=r"record 0, field 'output': no 'Strategy Reason:' section"
    ):
        list(read_esd_cot(write_json(tmp_path / "train_em_sr_re.json", train)))


# --------------------------------------------------------------------------- media


def test_ravdess_layout_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / "a.flac").write_bytes(b"fLaC")
    header = "path,emotion,actor,gender,intensity,statement,repetition,duration_s\n"
    row = "Actor_01/a.flac,calm,Actor_01,male,strong,Kids are talking by the door,1,3.3\n"
    (tmp_path / "labels.csv").write_text(header + row, encoding="utf-8")
    [sample] = load(f"ravdess:{tmp_path}")
    assert sample.path == (tmp_path / "Actor_01" / "a.flac").resolve()
    assert (sample.emotion, sample.raw_emotion, sample.kind) == ("neutral", "calm", "audio")
    assert sample.meta["intensity"] == "strong" and sample.meta["actor"] == "Actor_01"
    (tmp_path / "labels.csv").write_text(
        header + row + row.replace("a.flac", "gone.flac"), encoding="utf-8"
    )
    with pytest.raises(DataFormatError, match=r"labels\.csv, line 3, field 'path': no file"):
        list(read_ravdess(tmp_path))


# --------------------------------------------------------------------------- registry


def test_detect_format_and_spec_parsing(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.txt", [ESCONV_LINE])
    (tmp_path / "x.tsv").write_text("a\t1\tb\n", encoding="utf-8")
    assert detect_format(tmp_path / "train.txt") == "esconv"
    assert detect_format(tmp_path / "x.tsv") == "goemotions"
    mesc_dir = tmp_path / "m"
    mesc_dir.mkdir()
    make_mesc(mesc_dir)
    assert detect_format(mesc_dir) == "mesc"
    spec = parse_spec(f"mesc:{mesc_dir}#val")
    assert (spec.format, spec.path, spec.split) == ("mesc", mesc_dir, "val")
    assert [d.id for d in load_dialogues(f"{mesc_dir}#val")] == ["mesc-7"]
    assert [d.id for d in load_dialogues(str(mesc_dir), split="train")] == ["mesc-0", "mesc-9"]
    with pytest.raises(HeartlineError, match="unknown dataset format"):
        parse_spec(str(mesc_dir), format="csv")
    unknown = tmp_path / "notes.md"
    unknown.write_text("hi", encoding="utf-8")
    with pytest.raises(HeartlineError, match="cannot tell the dataset format"):
        load(str(unknown))


# --------------------------------------------------------------------------- leakage, SMES


def _dialogue(did: str, *texts: str) -> Dialogue:
    return Dialogue(
        id=did, dataset="t", utterances=[Utterance(speaker="seeker", text=t) for t in texts]
    )


def test_find_leaks_by_normalised_content_not_id() -> None:
    train = [
        _dialogue("a-1", "I'm sad.", "Why?"),
        _dialogue("a-2", "Hello", "there"),
        _dialogue("a-3", "Ok"),
    ]
    test = [
        _dialogue("b-1", "i'm  SAD", "why"),
        _dialogue("b-2", "Hello", "there", "friend"),
        _dialogue("b-3", "ok!"),
    ]
    leaks = find_leaks({"train": train, "test": test})
    assert [(x.id_a, x.id_b, x.single_utterance, x.identical) for x in leaks] == [
        ("a-1", "b-1", False, True),
        ("a-3", "b-3", True, True),
    ]
    assert find_leaks({"train": train, "again": [_dialogue("a-2", "Hello", "friend")]}) == []


def test_find_leaks_partial_overlap_needs_two_shared_substantive_utterances() -> None:
    lines = [f"this is substantive line number {i} of the story" for i in range(4)]
    train = [_dialogue("a-1", *lines, "and the full ending of it all here")]
    truncated = _dialogue("b-1", *lines[:3], "ok")
    chance = _dialogue(
        "b-2", lines[0], "something else entirely different", "another different line here"
    )
    assert find_leaks({"train": train, "test": [truncated, chance]}) == []
    [leak] = find_leaks({"train": train, "test": [truncated, chance]}, min_overlap=0.5)
    assert (leak.id_a, leak.id_b, leak.overlap, leak.identical) == ("a-1", "b-1", 1.0, False)
    assert find_leaks({"train": train, "test": [chance]}, min_overlap=0.3) == []


def test_check_splits_cli_exit_codes(tmp_path: Path) -> None:
    _register()
    write_jsonl(tmp_path / "train.txt", [ESCONV_LINE])
    other = json.loads(json.dumps(ESCONV_LINE))
    other["dialog"][0]["text"] = "Something else entirely."
    write_jsonl(tmp_path / "valid.txt", [other])
    write_jsonl(tmp_path / "test.txt", [other | {"situation": "different metadata"}])
    runner = CliRunner()
    ok = runner.invoke(
        app, ["data", "check-splits", str(tmp_path / "train.txt"), str(tmp_path / "valid.txt")]
    )
    assert ok.exit_code == 0, ok.output
    leak = runner.invoke(
        app,
        [
            "data",
            "check-splits",
            f"{tmp_path}#train",
            f"{tmp_path}#valid",
            f"{tmp_path}#test",
            "--json",
        ],
    )
    assert leak.exit_code == 1
    report = json.loads(leak.output)
    assert [p["leaked_dialogues"] for p in report["pairs"]] == [0, 0, 1]
    assert report["pairs"][2]["examples"] == ["esconv-valid-0000 = esconv-test-0000"]


def test_stats_cli_json(tmp_path: Path) -> None:
    _register()
    write_jsonl(tmp_path / "train.txt", [ESCONV_LINE] * 3)
    result = CliRunner().invoke(app, ["data", "stats", str(tmp_path / "train.txt"), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["counts"]["dialogues"] == 3 and stats["counts"]["supporter turns"] == 6
    assert stats["distributions"]["strategy (supporter turns)"] == {
        "Question": 3,
        "Reflection of feelings": 3,
    }
    assert stats["distributions"]["dialogue emotion (raw)"] == {"anxiety": 3}
    table = CliRunner().invoke(app, ["data", "stats", str(tmp_path), "--split", "train"])
    assert table.exit_code == 0 and "Reflection of feelings" in table.output


def test_smes_samples_follow_the_chain(tmp_path: Path) -> None:
    [dialogue] = read_esconv(write_jsonl(tmp_path / "train.txt", [ESCONV_LINE]))
    samples = to_smes_samples(dialogue)
    assert [s.id for s in samples] == ["esconv-train-0000#1", "esconv-train-0000#3"]
    second = samples[1]
    assert [u.text for u in second.context] == [u.text for u in dialogue.utterances[:3]]
    assert (second.user_emotion, second.strategy, second.system_emotion) == (
        "fear",
        "Reflection of feelings",
        None,
    )
    assert second.response == "That sounds stressful."
    assert len(to_smes_samples(dialogue, max_context=1)[1].context) == 1
    instruction = second.as_instruction()
    assert instruction["input"].splitlines()[-1] == "seeker: My boss is angry."
    assert instruction["output"].endswith(
        "Strategy: Reflection of feelings\nSystem emotion: unknown\nResponse: That sounds stressful."
    )


def test_smes_uses_utterance_emotions_and_cues_when_present() -> None:
    dialogue = Dialogue(
        id="m",
        dataset="mesc",
        taxonomy="mesc",
        utterances=[
            Utterance(
                speaker="seeker", text="I hate it.", emotion="anger", cues="The speaker frowns."
            ),
            Utterance(
                speaker="supporter", text="Why?", emotion="neutral", strategy="Open question"
            ),
        ],
    )
    [sample] = to_smes_samples(dialogue)
    assert (sample.user_emotion, sample.system_emotion, sample.user_cues) == (
        "anger",
        "neutral",
        "The speaker frowns.",
    )
    assert "seeker: I hate it. (The speaker frowns.)" in sample.as_instruction()["input"]

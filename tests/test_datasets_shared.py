"""Every reader on the research data in ../shared/data: exact counts, label sets, split leakage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from heartline.datasets import (
    detect_format,
    find_leaks,
    fingerprint,
    load,
    load_dialogues,
    to_smes_samples,
)
from heartline.datasets.goemotions import LABELS
from heartline.datasets.records import MediaSample, RoleCard
from heartline.labels import EMOTIONS, ESCONV_STRATEGIES, MESC_STRATEGIES
from heartline.schema import Dialogue

pytestmark = pytest.mark.data

ESCONV_RAW_EMOTIONS = {
    "anxiety",
    "depression",
    "sadness",
    "anger",
    "fear",
    "disgust",
    "shame",
    "nervousness",
}
MESC_RAW_EMOTIONS = {"neutral", "depression", "anger", "disgust", "joy", "sadness", "fear"}


@pytest.fixture(scope="module")
def dialogues(shared_data: Path) -> Callable[[str], list[Dialogue]]:
    """Load a spec relative to the shared data folder once per module."""
    return cache(lambda spec: load_dialogues(str(shared_data / spec)))


def speaker_counts(ds: list[Dialogue]) -> tuple[int, int, int, int]:
    turns = Counter(u.speaker for d in ds for u in d.utterances)
    return len(ds), turns.total(), turns["seeker"], turns["supporter"]


def strategies(ds: list[Dialogue]) -> dict[str, int]:
    return dict(Counter(u.strategy for d in ds for u in d.utterances if u.speaker == "supporter"))


# --------------------------------------------------------------------------- ESConv


def test_esconv_train_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    ds = dialogues("esconv/train.txt")
    assert speaker_counts(ds) == (910, 26648, 13889, 12759)
    assert strategies(ds) == {
        "Question": 2622,
        "Others": 2354,
        "Affirmation and Reassurance": 1988,
        "Providing Suggestions": 1987,
        "Self-disclosure": 1185,
        "Reflection of feelings": 990,
        "Information": 835,
        "Restatement or Paraphrasing": 798,
    }
    assert all(u.strategy is None for d in ds for u in d.utterances if u.speaker == "seeker")
    assert {d.raw_emotion for d in ds} == ESCONV_RAW_EMOTIONS | {"guilt", "jealousy", "pain"}
    assert Counter(d.emotion for d in ds) == {
        "sadness": 479,
        "fear": 327,
        "anger": 75,
        "disgust": 29,
    }
    assert ds[0].id == "esconv-train-0000" and ds[-1].id == "esconv-train-0909"
    assert {d.taxonomy for d in ds} == {"esconv"} and all(d.problem and d.situation for d in ds)


def test_esconv_valid_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    ds = dialogues("esconv#valid")
    assert speaker_counts(ds) == (195, 5678, 2956, 2722)
    assert strategies(ds) == {
        "Question": 549,
        "Others": 505,
        "Providing Suggestions": 459,
        "Affirmation and Reassurance": 402,
        "Self-disclosure": 264,
        "Reflection of feelings": 211,
        "Information": 194,
        "Restatement or Paraphrasing": 138,
    }
    assert {d.raw_emotion for d in ds} == ESCONV_RAW_EMOTIONS


def test_failed_esconv_original_layout_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    ds = dialogues("esconv/FailedESConv.json")
    assert speaker_counts(ds) == (196, 5230, 2853, 2377)
    assert set(strategies(ds)) == set(ESCONV_STRATEGIES)
    assert strategies(ds)["Question"] == 528 and strategies(ds)["Others"] == 400
    respelled = Counter(
        u.meta["raw_strategy"] for d in ds for u in d.utterances if "raw_strategy" in u.meta
    )
    assert respelled == {
        "Questions": 520,
        "Other": 400,
        "Direct Guidance": 11,
        "Approval and Reassurance": 7,
        "Restatement": 3,
    }
    assert {d.raw_emotion for d in ds} == ESCONV_RAW_EMOTIONS
    assert ds[0].id == "esconv-failed-0000"


def test_ids_are_deterministic(shared_data: Path) -> None:
    first = load_dialogues(str(shared_data / "esconv/valid.txt"))
    again = load_dialogues(f"esconv:{shared_data / 'esconv'}#valid")
    assert [(d.id, fingerprint(d)) for d in first] == [(d.id, fingerprint(d)) for d in again]
    assert len({d.id for d in first}) == len(first)


# --------------------------------------------------------------------------- MESC


def test_mesc_csv_splits_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    train, val = dialogues("mesc#train"), dialogues("mesc#val")
    assert speaker_counts(train) == (815, 23126, 14874, 8252)
    assert speaker_counts(val) == (102, 2714, 1713, 1001)
    assert set(strategies(train)) == set(MESC_STRATEGIES)
    assert strategies(train)["Open question"] == 1892  # includes 3 rows spelled 'open question'
    assert set(strategies(val)) == set(MESC_STRATEGIES) - {"Others"}
    assert {u.raw_emotion for d in train for u in d.utterances} == MESC_RAW_EMOTIONS
    assert Counter(u.emotion for d in train for u in d.utterances) == {
        "neutral": 13762,
        "sadness": 4630,
        "anger": 1964,
        "disgust": 1406,
        "joy": 1150,
        "fear": 214,
    }
    assert all(u.strategy is None for d in train for u in d.utterances if u.speaker == "seeker")


def test_mesc_two_layouts_of_val_agree(dialogues: Callable[[str], list[Dialogue]]) -> None:
    """MESC.csv#val and val.json: 102 dialogues, 2,714 utterances each, same order; the JSON text
    is the CSV text plus a cue description, which the reader splits off exactly."""
    csv_val, json_val = dialogues("mesc#val"), dialogues("mesc/val.json")
    assert speaker_counts(json_val) == speaker_counts(csv_val) == (102, 2714, 1713, 1001)
    pairs = [(a, b) for x, y in zip(csv_val, json_val) for a, b in zip(x.utterances, y.utterances)]
    assert len(pairs) == 2714
    assert all(
        (a.text, a.speaker, a.raw_emotion, a.strategy)
        == (b.text, b.speaker, b.raw_emotion, b.strategy)
        for a, b in pairs
    )
    assert all(b.cues and b.cues.startswith("The ") for _, b in pairs)
    assert all(d.problem and d.situation for d in json_val)
    leaks = find_leaks({"csv": csv_val, "json": json_val})
    assert len(leaks) == 102 and leaks[0].id_a == "mesc-3" and leaks[0].id_b == "mesc-val-0000"


# --------------------------------------------------------------------------- MELD, GoEmotions


def test_meld_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    train, dev = dialogues("meld/train_sent_emo.csv"), dialogues("meld#dev")
    assert speaker_counts(train) == (1038, 9989, 9989, 0)
    assert speaker_counts(dev) == (114, 1109, 1109, 0)
    assert Counter(u.emotion for d in dev for u in d.utterances) == {
        "neutral": 470,
        "joy": 163,
        "anger": 153,
        "surprise": 150,
        "sadness": 111,
        "fear": 40,
        "disgust": 22,
    }
    assert Counter(u.meta["sentiment"] for d in train for u in d.utterances) == {
        "neutral": 4710,
        "negative": 2945,
        "positive": 2334,
    }
    assert {u.emotion for d in train for u in d.utterances} == set(EMOTIONS)
    assert len({u.meta["speaker"] for d in train for u in d.utterances}) == 260
    texts = [u.text for d in train + dev for u in d.utterances]
    assert not [
        t
        for t in texts
        if "\u00e2\u20ac" in t or "\u00c3" in t or any("\x80" <= c <= "\x9f" for c in t)
    ]
    assert (
        train[0].utterances[0].text.startswith("also I was the point person on my company\u2019s")
    )


def test_goemotions_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    train, dev = dialogues("goemotions/train.tsv"), dialogues("goemotions#dev")
    assert (len(train), len(dev)) == (43410, 5426)
    assert _goemotions_labels(train) == set(LABELS) and len(LABELS) == 28
    assert Counter(d.emotion for d in dev) == {
        "joy": 1941,
        "neutral": 1592,
        "anger": 555,
        None: 480,
        "surprise": 459,
        "sadness": 266,
        "fear": 72,
        "disgust": 61,
    }
    assert sum(d.emotion is None for d in train) == 3855
    assert all(d.emotion is None or d.emotion == d.utterances[0].meta["emotions"][0] for d in train)


def _goemotions_labels(ds: list[Dialogue]) -> set[str]:
    return {label for d in ds for label in d.utterances[0].meta["labels"]}


# --------------------------------------------------------------------------- ESC-Eval, ESD-CoT, media


def test_role_cards_exact(shared_data: Path) -> None:
    en = load(str(shared_data / "esc-eval/card_high_en.json"))
    zh = load(f"esc-eval:{shared_data / 'esc-eval/card_high_zh.json'}")
    assert (len(en), len(zh)) == (331, 324)
    assert all(isinstance(c, RoleCard) and c.problem for c in en + zh)
    assert Counter(c.source for c in en) == {
        "ESconv": 158,
        "MHP": 73,
        "ExTES": 70,
        "Psych": 25,
        "EPITOME": 5,
    }
    assert sum(c.gender is None for c in en) == 196 and sum(c.gender is None for c in zh) == 149
    assert {c.language for c in zh} == {"chinese"} and len({c.id for c in en}) == 331


def test_esd_cot_exact(dialogues: Callable[[str], list[Dialogue]]) -> None:
    val, train = dialogues("esd-cot/val.json"), dialogues("esd-cot/train_em_sr_re.json")
    assert speaker_counts(val) == (172, 4166, 1997, 2169)
    assert speaker_counts(train) == (1195, 29147, 14049, 15098)
    assert all(
        d.utterances[-1].meta["target"] and d.utterances[-1].speaker == "supporter"
        for d in val + train
    )
    assert set(val[0].meta["cot"]) == {
        "emotion",
        "emotion_stimuli",
        "individual_appraisal",
        "recognized_strategy",
        "strategy_reason",
    }
    recognised = Counter(d.meta["cot"]["recognized_strategy"] for d in train)
    assert (
        len(recognised) == 14 and recognised[None] == 17
    )  # 13 strategies + 17 reasons naming none
    assert Counter(d.meta["cot"]["recognized_strategy"] for d in val)["Specify"] == 21


def test_media_layouts_exact(shared_data: Path) -> None:
    voices = load(str(shared_data / "ravdess"))
    faces = load(f"fer2013:{shared_data / 'fer2013'}")
    assert len(voices) == 1200 and all(
        isinstance(v, MediaSample) and v.path.is_file() for v in voices[:20]
    )
    assert Counter(v.raw_emotion for v in voices) == {
        "neutral": 80,
        "calm": 160,
        "happy": 160,
        "sad": 160,
        "angry": 160,
        "fearful": 160,
        "disgust": 160,
        "surprised": 160,
    }
    assert Counter(v.emotion for v in voices)["neutral"] == 240
    assert len({v.meta["actor"] for v in voices}) == 20 and {
        v.meta["intensity"] for v in voices
    } == {"normal", "strong"}
    assert len(faces) == 3589 and {f.meta["fer_usage"] for f in faces} == {"PublicTest"}
    assert Counter(f.emotion for f in faces) == {
        "joy": 895,
        "sadness": 653,
        "neutral": 607,
        "fear": 496,
        "anger": 467,
        "surprise": 415,
        "disgust": 56,
    }


# --------------------------------------------------------------------------- registry, SMES, leakage


@pytest.mark.parametrize(
    "folder", ["esconv", "mesc", "meld", "goemotions", "esc-eval", "esd-cot", "ravdess", "fer2013"]
)
def test_format_detection_on_every_folder(shared_data: Path, folder: str) -> None:
    assert detect_format(shared_data / folder) == folder


def test_smes_samples_on_real_data(dialogues: Callable[[str], list[Dialogue]]) -> None:
    esconv = [s for d in dialogues("esconv/train.txt") for s in to_smes_samples(d)]
    assert len(esconv) == 12759 - 488  # every supporter turn but the 488 that open a dialogue
    assert all(s.strategy in ESCONV_STRATEGIES and s.user_emotion in EMOTIONS for s in esconv)
    mesc = [s for d in dialogues("mesc/val.json") for s in to_smes_samples(d)]
    assert len(mesc) == 994 and sum(s.user_cues is not None for s in mesc) == 990
    assert Counter(s.system_emotion for s in mesc)["neutral"] == 978


LEAKAGE_PAIRS = [
    ("esconv/train.txt", "esconv/valid.txt"),
    ("esconv/train.txt", "esconv/FailedESConv.json"),
    ("esconv/valid.txt", "esconv/FailedESConv.json"),
    ("mesc#train", "mesc#val"),
    ("mesc#train", "mesc/val.json"),
    ("meld#train", "meld#dev"),
    ("esd-cot/train_em_sr_re.json", "esd-cot/val.json"),
]


@pytest.mark.parametrize(("a", "b"), LEAKAGE_PAIRS)
def test_no_dialogue_leaks_between_splits(
    dialogues: Callable[[str], list[Dialogue]], a: str, b: str
) -> None:
    """Neither whole copies nor dialogues sharing half their substantive utterances."""
    assert find_leaks({a: dialogues(a), b: dialogues(b)}, min_overlap=0.5) == []


def test_goemotions_duplicate_texts_across_train_and_dev(
    dialogues: Callable[[str], list[Dialogue]],
) -> None:
    """No multi-utterance leak is possible; 113 dev comments repeat a train text once normalised
    (43 verbatim), e.g. 'I like it!': reported as duplicates, not failures."""
    leaks = find_leaks(
        {"train": dialogues("goemotions/train.tsv"), "dev": dialogues("goemotions#dev")}
    )
    assert all(leak.single_utterance for leak in leaks)
    assert (len(leaks), len({leak.id_b for leak in leaks})) == (541, 113)

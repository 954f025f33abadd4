from heartline.labels import (
    EMOTIONS, ESCONV_STRATEGIES, MESC_STRATEGIES, normalize_strategy, to_canonical_emotion,
    normalize_emotion,
)


def test_taxonomy_sizes():
    assert len(EMOTIONS) == 7
    assert len(ESCONV_STRATEGIES) == 8
    assert len(MESC_STRATEGIES) == 10


def test_stray_strategy_spellings_normalise():
    assert normalize_strategy("Questions") == "Question"
    assert normalize_strategy("Other") == "Others"
    assert normalize_strategy("[Reflection of feelings]") == "Reflection of feelings"
    assert normalize_strategy("open question", "mesc") == "Open question"
    assert normalize_strategy("Question", "mesc") is None
    assert normalize_strategy("nonsense") is None


def test_dataset_emotions_map_to_canonical():
    assert to_canonical_emotion("anxiety", "esconv") == "fear"
    assert to_canonical_emotion("depression", "mesc") == "sadness"
    assert to_canonical_emotion("gratitude", "goemotions") == "joy"
    assert to_canonical_emotion("calm", "ravdess") == "neutral"
    assert to_canonical_emotion("happy", "fer2013") == "joy"
    assert normalize_emotion("Worried.") == "fear"
    assert normalize_emotion("banana") is None

"""The turn benchmark's summary: percentiles, token rates, fallbacks, regenerated replies."""

from __future__ import annotations

from heartline.benchmarks.turn import percentile, summarize


def _record(turn: int, latency: float, *, regenerated: bool = False) -> dict:
    return {"turn": turn, "latency_s": latency, "first_token_s": latency / 4, "completion_tokens": 40,
            "prompt_tokens_per_s": 150.0, "decode_tokens_per_s": 60.0, "fallback": False,
            "regenerated": regenerated}


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == 4.6
    assert percentile([7.0], 90) == 7.0


def test_summary_reports_latency_spread_and_what_was_generated_twice() -> None:
    records = [_record(t, 1.0 + 0.1 * t, regenerated=t % 10 == 0) for t in range(1, 31)]
    summary = summarize(records)
    assert summary["turns"] == 30
    assert summary["latency_p50_s"] == percentile([r["latency_s"] for r in records], 50)
    assert summary["first_token_p50_s"] == summary["latency_p50_s"] / 4
    assert summary["regenerated"] == 3 and summary["fallbacks"] == 0
    assert summary["turn30_over_turn3"] == round(4.0 / 1.3, 3)

"""Turn benchmark: a scripted conversation through the whole pipeline, timed per turn."""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.progress import Progress

from heartline.config import Settings
from heartline.schema import Observation, new_id

SCRIPT: tuple[str, ...] = (
    "Hi. I don't really know where to start.",
    "I lost my job last week and I feel like such a failure.",
    "My manager said it was budget cuts, but I keep thinking it was because of me.",
    "I haven't told my parents yet. They were so proud when I got that job.",
    "I've been sleeping badly and I just sit at home all day.",
    "My girlfriend tries to help but I snap at her and then feel worse.",
    "I guess I'm scared I won't find anything else.",
    "I applied to two places but haven't heard back.",
    "Maybe I should call an old colleague, she knows people in the industry.",
    "It does help a bit to talk about it. Thanks for listening.",
    "Honestly I'm also angry. I gave them three years.",
    "Do you think it's normal to feel this ashamed?",
    "My dad lost his job once too, when I was a kid. I remember how quiet the house got.",
    "I don't want my girlfriend to see me like that.",
    "Yesterday I didn't even get out of bed until two in the afternoon.",
    "I keep scrolling job sites but nothing fits what I know.",
    "A friend said I should take a course and change careers. That scares me.",
    "I used to love my work. Now I can't even remember why.",
    "Money is fine for three months, after that I really don't know.",
    "I finally told my mum today. She was kinder than I expected.",
    "She said she was proud of me anyway, and I cried a bit.",
    "I think I've been much harder on myself than anyone else was.",
    "I made a list of things I'm actually good at. It was longer than I thought.",
    "The old colleague called back. There might be an opening at her company.",
    "I'm nervous about the interview, it's been years since my last one.",
    "Could you help me think about what to say when they ask why I left?",
    "That makes sense. I can be honest that it was budget cuts.",
    "I went for a run this morning for the first time in weeks.",
    "I feel a bit more like myself today.",
    "Thank you for staying with me through all of this.",
    "I'll let you know how the interview goes.",
)
"""A warm-up and thirty messages of one conversation that moves on (job loss, shame, family, a new start): no
message repeats, so the replies are not expected to repeat either."""


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_turn_benchmark(settings: Settings, turns: int = 12, warmup: int = 1) -> dict:
    """Run `warmup + turns` scripted turns in one session; return per-turn records and a summary."""
    from heartline.components import build_supporter

    with tempfile.TemporaryDirectory() as scratch:
        settings = settings.model_copy(update={"store_url": f"sqlite:///{Path(scratch) / 'bench.db'}"})
        supporter = build_supporter(settings)
        session_id = new_id()
        records: list[dict] = []
        with Progress(transient=True) as progress:
            task = progress.add_task(f"turns on {supporter.backend.model}", total=warmup + turns)
            for index in range(warmup + turns):
                first_token: list[float] = []
                start = time.perf_counter()

                def on_token(delta: str, _first: list[float] = first_token, _start: float = start) -> None:
                    if not _first and delta.strip():
                        _first.append(time.perf_counter() - _start)

                message = SCRIPT[index % len(SCRIPT)]
                turn = supporter.respond(Observation(session_id=session_id, text=message), on_token=on_token)
                latency = time.perf_counter() - start
                timings = turn.reply.timings
                records.append({
                    "turn": index + 1 - warmup,
                    "warmup": index < warmup,
                    "latency_s": round(latency, 4),
                    "first_token_s": round(first_token[0], 4) if first_token else None,
                    "prompt_tokens": timings.prompt_tokens,
                    "cached_tokens": timings.cached_tokens,
                    "completion_tokens": timings.completion_tokens,
                    "prompt_tokens_per_s": timings.prompt_tokens_per_s,
                    "decode_tokens_per_s": timings.decode_tokens_per_s,
                    "stage_seconds": turn.stage_seconds,
                    "fallback": turn.reply.fallback,
                    "regenerated": turn.reply.regenerated,
                })
                progress.advance(task)
        supporter.backend.close()
    measured = [r for r in records if not r["warmup"]]
    return {
        "model": settings.llm.model,
        "backend": settings.llm.backend,
        "planner": settings.planner.method,
        "turns": measured,
        "summary": summarize(measured),
    }


def summarize(records: list[dict]) -> dict:
    """Percentiles and medians over the measured turns."""
    def column(name: str) -> list[float]:
        return [r[name] for r in records if r.get(name) is not None]

    latencies, firsts = column("latency_s"), column("first_token_s")
    by_turn = {r["turn"]: r["latency_s"] for r in records}
    summary = {
        "turns": len(records),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p90_s": percentile(latencies, 90),
        "first_token_p50_s": percentile(firsts, 50) if firsts else None,
        "first_token_p90_s": percentile(firsts, 90) if firsts else None,
        "prompt_tokens_per_s": statistics.median(column("prompt_tokens_per_s") or [0.0]),
        "decode_tokens_per_s": statistics.median(column("decode_tokens_per_s") or [0.0]),
        "completion_tokens_mean": statistics.fmean(column("completion_tokens") or [0.0]),
        "fallbacks": sum(r["fallback"] for r in records),
        "regenerated": sum(r["regenerated"] for r in records),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if 3 in by_turn and 30 in by_turn:
        summary["turn3_latency_s"] = by_turn[3]
        summary["turn30_latency_s"] = by_turn[30]
        summary["turn30_over_turn3"] = round(by_turn[30] / by_turn[3], 3)
    return summary

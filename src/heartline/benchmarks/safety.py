"""`heartline bench safety`: the safety gate (with context) and the reply screen, per message.

Every seeker message of the dialogues is checked as a live turn is: with the conversation
before it (the person's messages and the supporter's replies). Every supporter utterance is
screened as a model reply would be (sentence by sentence). Times are wall-clock per call,
after a warm-up that loads the models.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence

from heartline.benchmarks.machine import machine_info
from heartline.benchmarks.turn import percentile
from heartline.safety import Said, SafetyGate
from heartline.schema import Dialogue


def _summary(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "median": statistics.median(ms), "p90": percentile(list(ms), 90), "max": max(ms)}


def run(dialogues: Sequence[Dialogue], gate: SafetyGate, advance: Callable[[], None] | None = None) -> dict:
    """Per-call latency of `gate.check` (with context) and `gate.screen.check_text`, in ms."""
    gate.check("warming up the crisis classifier before timing")
    gate.screen.check_text("Warming up the reply screen.")
    check_ms: list[float] = []
    screen_ms: list[float] = []
    levels: dict[str, int] = {}
    blocked = 0
    for dialogue in dialogues:
        said: list[Said] = []
        for u in dialogue.utterances:
            if not u.text.strip():
                continue
            if u.speaker == "seeker":
                start = time.perf_counter()
                check = gate.check(u.text, said)
                check_ms.append(1000 * (time.perf_counter() - start))
                levels[check.level.value] = levels.get(check.level.value, 0) + 1
                said.append(Said("person", u.text, check.level.value))  # as a live turn stores it
            else:
                start = time.perf_counter()
                blocked += gate.screen.check_text(u.text).blocked
                screen_ms.append(1000 * (time.perf_counter() - start))
                said.append(Said("supporter", u.text))
        if advance:
            advance()
    return {
        "gate_ms": _summary(check_ms),
        "screen_ms": _summary(screen_ms),
        "levels": levels,
        "replies_blocked": blocked,
        "machine": {**machine_info(), "load_average_1m": os.getloadavg()[0]},
        "degraded": gate.degraded,
    }

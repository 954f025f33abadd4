"""Run the safety gate over a dataset's seeker messages: counts and flagged messages for auditing.

Real conversations show where the rules over- or under-fire. Each seeker message is checked
as a live turn would be: with the person's earlier messages of the same dialogue as history
(or alone, to see what the message itself triggers).
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from heartline.benchmarks.turn import percentile
from heartline.safety.gate import SafetyGate
from heartline.schema import Dialogue, RiskLevel, SafetyCheck


@dataclass(frozen=True)
class Flagged:
    """One seeker message the gate raised above none."""

    dialogue_id: str
    index: int
    """Position of the message among the dialogue's utterances."""
    text: str
    check: SafetyCheck


@dataclass
class ScanReport:
    """What the gate made of a dataset's seeker messages."""

    dialogues: int = 0
    messages: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    categories: dict[str, Counter[str]] = field(default_factory=dict)
    """Level -> category -> messages at that level naming the category."""
    carried: Counter[str] = field(default_factory=Counter)
    """Level -> messages whose level came from earlier messages only."""
    flagged: list[Flagged] = field(default_factory=list)
    check_ms: list[float] = field(default_factory=list)
    """Wall time of each message's check, in milliseconds."""

    def latency(self) -> dict[str, float]:
        """Median, 90th percentile and maximum of `check_ms` (empty when nothing was checked)."""
        if not self.check_ms:
            return {}
        return {"median": statistics.median(self.check_ms), "p90": percentile(self.check_ms, 90),
                "max": max(self.check_ms)}

    def sample(self, n: int, level: RiskLevel | None = None, seed: int = 0) -> list[Flagged]:
        """Up to `n` flagged messages (of one level if given), drawn reproducibly."""
        pool = [f for f in self.flagged if level is None or f.check.level == level]
        return sorted(random.Random(seed).sample(pool, min(n, len(pool))), key=lambda f: (f.dialogue_id, f.index))


def scan_dialogues(
    dialogues: Iterable[Dialogue],
    gate: SafetyGate,
    *,
    history: bool = True,
    limit: int | None = None,
    advance: Callable[[], None] | None = None,
) -> ScanReport:
    """Check every seeker message of `dialogues` (the first `limit` dialogues if given)."""
    report = ScanReport()
    for dialogue in dialogues:
        if limit is not None and report.dialogues >= limit:
            break
        report.dialogues += 1
        earlier: list[str] = []
        for index, utterance in enumerate(dialogue.utterances):
            if utterance.speaker != "seeker" or not utterance.text.strip():
                continue
            start = time.perf_counter()
            check = gate.check(utterance.text, history=earlier if history else None)
            report.check_ms.append(1000 * (time.perf_counter() - start))
            earlier.append(utterance.text)
            report.messages += 1
            report.levels[check.level.value] += 1
            if check.level == RiskLevel.NONE:
                continue
            per_level = report.categories.setdefault(check.level.value, Counter())
            per_level.update(check.categories)
            if check.from_history and not [e for e in check.evidence if not e.startswith("earlier: ")]:
                report.carried[check.level.value] += 1
            report.flagged.append(Flagged(dialogue.id, index, utterance.text, check))
        if advance:
            advance()
    return report

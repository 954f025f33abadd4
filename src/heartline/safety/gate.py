"""The safety gate: assess a message (with recent history) and say what to do about it.

`check` runs before any generation. On crisis the pipeline sends `protocol_reply` verbatim,
never model text; on elevated risk the reply is generated but `guidance` tells the model to
check in gently. A crisis carries over: for the next few messages after explicit crisis
language ("yes", "I have them right here") the person is still in crisis, unless they say
they are safe or have reached help, which lowers it to elevated, never to none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from heartline.config import SafetySettings
from heartline.safety.resources import ResourceTable, load_resources
from heartline.safety.rules import CATEGORIES, Detector, Finding, RuleSet
from heartline.safety.semantic import RiskHead, SemanticDetector, shared_embedder
from heartline.schema import RiskLevel, SafetyCheck

log = logging.getLogger(__name__)

CARRY_MESSAGES = 3
"""A crisis stays a crisis for this many following messages (without a safe statement)."""
FLOOR_MESSAGES = 6
"""...and at least elevated for this many."""

_RANK = {RiskLevel.NONE: 0, RiskLevel.ELEVATED: 1, RiskLevel.CRISIS: 2}


class SafetyGate:
    """Crisis detection and the response protocol for one locale.

    `detectors` default to the built-in rules and, unless `semantic` is False, the semantic
    detector (exemplar similarity and the trained safety head; its embedder loads on the first
    check, and without it the gate runs on rules alone). Findings are merged, the highest level
    wins, except that a crisis from the semantic detector is lowered to elevated where the rules
    lowered their own finding in the same words (negated, past, told of someone else).
    """

    def __init__(self, settings: SafetySettings | None = None,
                 detectors: Sequence[Detector] | None = None, semantic: bool = True) -> None:
        self.settings = settings or SafetySettings()
        self.rules = RuleSet.builtin()
        if detectors is None:
            semantic_detectors = [SemanticDetector(shared_embedder, head=RiskHead.builtin())] if semantic else []
            detectors = [self.rules, *semantic_detectors]
        self.detectors: list[Detector] = list(detectors)
        self.resources: ResourceTable = load_resources(self.settings.resources_file)
        self.locale_key, self.locale = self.resources.resolve(self.settings.locale)
        if self.locale_key != self.settings.locale:
            log.info("crisis resources for locale %r: using %r", self.settings.locale, self.locale_key)
        self._findings = lru_cache(maxsize=1024)(self._detect)

    # ------------------------------------------------------------------ assessment

    def check(self, text: str, history: list[str] | None = None) -> SafetyCheck:
        """Assess `text`, the person's latest message; `history` is their earlier messages, oldest first."""
        findings = self._findings(text)
        level = _max_level(findings)
        anchor, safe_since = self._last_crisis(history or [])
        distance = len(history or []) - anchor if anchor is not None else None
        carried: tuple[Finding, ...] = ()
        if distance is not None and level != RiskLevel.CRISIS and distance <= FLOOR_MESSAGES:
            carried = self._findings((history or [])[anchor])
            safe_now = safe_since or self.rules.is_safe_statement(text)
            floor = RiskLevel.CRISIS if distance <= CARRY_MESSAGES and not safe_now else RiskLevel.ELEVATED
            if _RANK[floor] > _RANK[level]:
                level = floor
            else:
                carried = ()
        if level == RiskLevel.NONE:
            return SafetyCheck()
        used = list(findings) + list(carried)
        return SafetyCheck(
            level=level,
            categories=_categories(used),
            evidence=_evidence(findings) + [f"earlier: {p}" for p in _evidence(carried)],
            protocol=f"{'crisis' if level == RiskLevel.CRISIS else 'check-in'}/{self.locale_key}",
            from_history=bool(carried),
        )

    def _detect(self, text: str) -> tuple[Finding, ...]:
        found = [f for detector in self.detectors for f in detector.detect(text)]
        lowered = [f for f in found if f.lowered_by]
        return tuple(_lower_where_rules_lowered(f, lowered) for f in found)

    def _last_crisis(self, history: list[str]) -> tuple[int | None, bool]:
        """Index of the last message that anchors a crisis, and whether a safe statement followed."""
        anchor: int | None = None
        safe_since = False
        for i, message in enumerate(history):
            level = _max_level(self._findings(message))
            carrying = anchor is not None and i - anchor <= CARRY_MESSAGES and not safe_since
            safe = self.rules.is_safe_statement(message)
            if level == RiskLevel.CRISIS or (carrying and level == RiskLevel.ELEVATED and not safe):
                anchor, safe_since = i, False
            elif safe and anchor is not None:
                safe_since = True
        return anchor, safe_since

    # ------------------------------------------------------------------ responses

    def protocol_reply(self, check: SafetyCheck) -> str:
        """The crisis reply: acknowledge, say their safety matters, ask if safe, give help lines."""
        m = self.resources.messages
        categories = [c for c in check.categories if c in CATEGORIES] or ["suicide"]
        lines = [m.follow_up if check.from_history else m.opening]
        lines += [m.acknowledge[c] for c in categories[:2] if c in m.acknowledge]
        lines.append(m.safety)
        lines.append(m.emergency_known.format(emergency=self.locale.emergency) if self.locale.emergency
                     else m.emergency_unknown)
        lines += [m.advice[c] for c in categories if c in m.advice]
        text = " ".join(lines) + "\n\n" + m.resources_intro + "\n"
        offered = list(self.locale.crisis)
        for category in categories:
            offered += [r for r in self.locale.categories.get(category, []) if r not in offered]
        text += "\n".join(f"- {r.line()}" for r in offered)
        return text + "\n\n" + m.closing

    def guidance(self, check: SafetyCheck) -> str | None:
        """One instruction for the reply prompt on elevated risk; None when there is no risk."""
        if check.level == RiskLevel.NONE:
            return None
        topics = ", ".join(c.replace("_", " ") for c in check.categories) or "their safety"
        if check.level == RiskLevel.CRISIS:
            return f"Safety: crisis ({topics}); the crisis protocol reply must be used, not generated text."
        said = "; ".join(f'"{e}"' for e in check.evidence[:2])
        when = "Earlier in this conversation the person" if check.from_history else "The person"
        return (f"Safety: {when} said things that may signal risk ({topics}: {said}). Stay warm and calm, "
                "acknowledge it, and gently ask how they are coping and whether they are safe right now; "
                "do not lecture, diagnose or promise secrecy.")


def _is_semantic(finding: Finding) -> bool:
    return finding.rule.startswith(SemanticDetector.rule)


def _lower_where_rules_lowered(finding: Finding, lowered: Sequence[Finding]) -> Finding:
    """A non-rule crisis over words whose rule finding was lowered (e.g. 'my friend wants to die') is elevated."""
    if finding.level != RiskLevel.CRISIS or finding.lowered_by or not _is_semantic(finding):
        return finding
    for rule in lowered:
        if rule.start < finding.end and finding.start < rule.end:
            return replace(finding, level=RiskLevel.ELEVATED, lowered_by=rule.lowered_by)
    return finding


def _max_level(findings: Sequence[Finding]) -> RiskLevel:
    return max((f.level for f in findings), key=_RANK.__getitem__, default=RiskLevel.NONE)


def _categories(findings: Sequence[Finding]) -> list[str]:
    """Categories present, the crisis-level ones first, then by urgency."""
    ordered = sorted(findings, key=lambda f: (-_RANK[f.level], CATEGORIES.index(f.category)))
    return list(dict.fromkeys(f.category for f in ordered))


def _evidence(findings: Sequence[Finding]) -> list[str]:
    """The person's words that triggered, overlapping matches joined into one phrase; a semantic
    finding (a whole sentence) that overlaps a rule's match gives way to the rule's words."""
    rules = [f for f in findings if not _is_semantic(f)]
    findings = rules + [f for f in findings if f not in rules
                        and not any(r.start < f.end and f.start < r.end for r in rules)]
    merged: list[tuple[int, int, str]] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1][1]:
            start, end, phrase = merged[-1]
            if f.end > end:
                merged[-1] = (start, f.end, phrase + f.phrase[end - f.start:])
        else:
            merged.append((f.start, f.end, f.phrase))
    return list(dict.fromkeys(phrase.strip() for _, _, phrase in merged if phrase.strip()))

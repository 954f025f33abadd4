"""The safety gate: assess a message in its conversation and say what to do about it.

`check` runs before any generation. Two layers decide:

1. **Rules** (`rules.toml`), a floor for the unambiguous cases: a rule's crisis is a crisis.
2. **The crisis classifier** (`classifier.py`), a fine-tuned encoder that reads the message
   with the recent conversation and decides the rest at a recall-first operating point. It
   also says whose risk it is (the writer, someone else, a child).

The higher level wins. A crisis carries over: the classifier reads the crisis message in its
context, so a follow-up ("yes", "I have them right here") is judged as the crisis it continues,
and for the next six messages the level stays at least elevated (a check-in), never none. When
the classifier is unavailable the rules carry the crisis itself for three messages unless the
person says they are safe or have reached help. On crisis the pipeline sends `protocol_reply` verbatim, worded for
whose risk it is, in the person's language, with the locale's emergency number and help lines;
no model writes or edits it. If the classifier cannot load, every check says so (`degraded`)
and anything the rules found but lowered (negated, past, someone else) stays elevated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

from heartline.config import SafetySettings
from heartline.errors import HeartlineError
from heartline.safety.classifier import Assessment, CrisisClassifier, shared_classifier
from heartline.safety.corpus import CATEGORIES, Said
from heartline.safety.language import detect_language
from heartline.safety.resources import DEFAULT_KEY, ResourceTable, load_resources
from heartline.safety.rules import Finding, RuleSet
from heartline.safety.screen import ReplyScreen
from heartline.schema import RiskLevel, SafetyCheck, valid_unicode

log = logging.getLogger(__name__)

CARRY_MESSAGES = 3
"""Without the classifier, a crisis stays a crisis for this many following messages (without a
safe statement)."""
FLOOR_MESSAGES = 6
"""...and at least elevated for this many."""
HISTORY_TURNS = 12
"""Earlier turns the gate looks at (for the classifier's context and for carried crises)."""
MAX_CHARS = 100_000
"""Characters of a message the gate reads (the first ones; the rest of a huge paste is cut)."""

_RANK = {RiskLevel.NONE: 0, RiskLevel.ELEVATED: 1, RiskLevel.CRISIS: 2}

History = Sequence[Said | str]
"""Earlier turns, oldest first: `Said(role, text)`, or plain strings for the person's messages."""


def clean_text(text: str) -> str:
    """`text` with lone surrogates (undecodable input bytes) replaced, cut to MAX_CHARS."""
    return valid_unicode(text[:MAX_CHARS])


class SafetyGate:
    """Crisis detection and the response protocol for one locale.

    `classifier`: True loads the built-in crisis classifier on the first check (its base
    encoder is fetched once); False runs the rules alone (the gate then says it is degraded);
    or a `CrisisClassifier` to use.
    """

    def __init__(self, settings: SafetySettings | None = None,
                 classifier: bool | CrisisClassifier = True, rules: RuleSet | None = None) -> None:
        self.settings = settings or SafetySettings()
        self.rules = rules or RuleSet.builtin()
        self._classifier: CrisisClassifier | None = classifier if isinstance(classifier, CrisisClassifier) else None
        self._load_classifier = classifier is True
        self.degraded: str | None = None if classifier is not False else "rules only: the crisis classifier is off"
        self.resources: ResourceTable = load_resources(self.settings.resources_file)
        self.locale_key, self.locale = self.resources.resolve(self.settings.locale)
        if self.locale_key != self.settings.locale:
            log.info("crisis resources for locale %r: using %r", self.settings.locale, self.locale_key)
        self.screen = ReplyScreen(lambda: self.classifier)
        """Screens model replies with the same classifier."""
        self._rule_findings = lru_cache(maxsize=1024)(self._rules)
        self._assess = lru_cache(maxsize=1024)(self._classify)

    @property
    def classifier(self) -> CrisisClassifier | None:
        """The crisis classifier, loaded on first use; None (and `degraded` set) when it cannot load."""
        if self._classifier is None and self._load_classifier:
            self._load_classifier = False
            try:
                self._classifier = shared_classifier()
            except (HeartlineError, OSError, ValueError, KeyError) as exc:
                self.degraded = f"rules only: the crisis classifier could not load ({exc})"
                log.warning("safety gate degraded: %s", self.degraded)
        return self._classifier

    # ------------------------------------------------------------------ assessment

    def check(self, text: str, history: History | None = None) -> SafetyCheck:
        """Assess `text`, the person's latest message, after `history` (oldest first)."""
        text = clean_text(text)
        turns = _turns(history or ())[-HISTORY_TURNS:]
        findings = self._rule_findings(text)
        assessment = self._assess(text, turns)
        level = self._level(findings, assessment)
        if level == RiskLevel.CRISIS and turns and self._safe_after_crisis(text, findings):
            level = RiskLevel.ELEVATED  # "I called 988 and I'm safe now": a check-in, not the protocol again
        carried: tuple[Finding, ...] = ()
        carried_category: str | None = None
        anchor, safe_since = self._last_crisis(turns)
        since = None if anchor is None else 1 + sum(t.role == "person" for t in turns[anchor + 1 :])
        if since is not None and level != RiskLevel.CRISIS and since <= FLOOR_MESSAGES:
            safe_now = safe_since or self.rules.is_safe_statement(text)
            # The classifier reads the crisis in its context and judges the follow-up itself; the
            # rules cannot, so without it the crisis is carried for CARRY_MESSAGES as it stands.
            carry = assessment is None and since <= CARRY_MESSAGES and not safe_now
            floor = RiskLevel.CRISIS if carry else RiskLevel.ELEVATED
            if _RANK[floor] > _RANK[level]:
                level = floor
                carried = self._rule_findings(turns[anchor].text)
                before = self._assess(turns[anchor].text, ())
                carried_category = before.category if before else None
        language = detect_language(text)
        if level == RiskLevel.NONE:
            return SafetyCheck(degraded=self.degraded, language=language,
                               score=assessment.crisis if assessment else None)
        categories = _categories(findings, carried, assessment, level, carried_category)
        return SafetyCheck(
            level=level,
            categories=categories,
            evidence=_evidence(findings) + [f"earlier: {p}" for p in _evidence(carried)],
            protocol=f"{'crisis' if level == RiskLevel.CRISIS else 'check-in'}/{self.locale_key}",
            from_history=_RANK[level] > _RANK[self._level(findings, assessment)],
            whose=_whose(findings, assessment),
            language=language,
            score=assessment.crisis if assessment else None,
            degraded=self.degraded,
        )

    def _safe_after_crisis(self, text: str, findings: Sequence[Finding]) -> bool:
        """The person says they are safe, and nothing in the message itself (read without the
        conversation) is a crisis: the crisis the classifier sees is the earlier one."""
        if _max_level(findings) == RiskLevel.CRISIS or not self.rules.is_safe_statement(text):
            return False
        alone = self._assess(text, ())
        return alone is not None and self.classifier is not None and alone.crisis < self.classifier.crisis_at

    def _rules(self, text: str) -> tuple[Finding, ...]:
        return tuple(self.rules.detect(text))

    def _classify(self, text: str, turns: tuple[Said, ...]) -> Assessment | None:
        classifier = self.classifier
        return classifier.assess(text, turns) if classifier else None

    def _level(self, findings: Sequence[Finding], assessment: Assessment | None) -> RiskLevel:
        level = _max_level(findings)
        if assessment is None:
            if any(f.lowered_by for f in findings) and level == RiskLevel.NONE:
                return RiskLevel.ELEVATED  # degraded: lean to elevated on what the rules found ambiguous
            return level
        classifier = self.classifier
        assert classifier is not None
        if assessment.crisis >= classifier.crisis_at:
            return RiskLevel.CRISIS
        if assessment.crisis + assessment.elevated >= classifier.elevated_at and level == RiskLevel.NONE:
            return RiskLevel.ELEVATED
        return level

    def _last_crisis(self, turns: tuple[Said, ...]) -> tuple[int | None, bool]:
        """Index of the last person turn that anchors a crisis, and whether a safe statement followed.

        An earlier message counts at the level the gate gave it then (`Said.level`, from the
        stored turn) or, when that is unknown, at the level it has read alone.
        """
        anchor: int | None = None
        safe_since = False
        seen = 0
        for i, said in enumerate(turns):
            if said.role != "person":
                continue
            level = RiskLevel(said.level) if said.level else self._level(self._rule_findings(said.text),
                                                                         self._assess(said.text, ()))
            carrying = anchor is not None and seen <= CARRY_MESSAGES and not safe_since
            safe = self.rules.is_safe_statement(said.text)
            if level == RiskLevel.CRISIS or (carrying and level == RiskLevel.ELEVATED and not safe):
                anchor, safe_since, seen = i, False, 0
            elif safe and anchor is not None:
                safe_since = True
            seen += 1
        return anchor, safe_since

    # ------------------------------------------------------------------ responses

    def protocol_reply(self, check: SafetyCheck) -> str:
        """The crisis reply, for whose risk it is, in the person's language: acknowledge, their (or
        the other person's) safety, the emergency number, advice, help lines, an invitation."""
        language, m = self.resources.wording(check.language)
        voice = m.voices[check.whose or "self"]
        categories = [c for c in check.categories if c in CATEGORIES] or ["suicide"]
        lines = [m.follow_up if check.from_history else m.opening]
        lines += [voice.acknowledge[c] for c in categories[:2] if c in voice.acknowledge]
        lines.append(voice.safety)
        lines.append(voice.emergency_known.format(emergency=self.locale.emergency) if self.locale.emergency
                     else voice.emergency_unknown)
        lines += [voice.advice[c] for c in categories if c in voice.advice]
        text = " ".join(lines) + "\n\n" + m.resources_intro + "\n"
        offered = list(self.locale.crisis)
        if check.whose == "child":
            offered = [r for r in self.locale.child if r not in offered] + offered
        for category in categories:
            offered += [r for r in self.locale.categories.get(category, []) if r not in offered]
        if language != "en" and self.locale_key != DEFAULT_KEY and not self.locale_key.startswith(language):
            offered += [r for r in self.resources.default.crisis if r not in offered]
        text += "\n".join(f"- {r.line()}" for r in offered)
        return text + "\n\n" + voice.closing

    def guidance(self, check: SafetyCheck) -> str | None:
        """One instruction for the reply prompt on elevated risk; None when there is no risk."""
        if check.level == RiskLevel.NONE:
            return None
        topics = ", ".join(c.replace("_", " ") for c in check.categories) or "their safety"
        if check.level == RiskLevel.CRISIS:
            return f"Safety: crisis ({topics}); the crisis protocol reply must be used, not generated text."
        said = "; ".join(f'"{e}"' for e in check.evidence[:2])
        when = "Earlier in this conversation the person" if check.from_history else "The person"
        about = f" ({topics}: {said})" if said else f" ({topics})"
        return (f"Safety: {when} said things that may signal risk{about}. Stay warm and calm, "
                "acknowledge it, and gently ask how they are coping and whether they are safe right now; "
                "do not lecture, diagnose or promise secrecy.")


def _turns(history: History) -> tuple[Said, ...]:
    return tuple(h if isinstance(h, Said) else Said("person", clean_text(h)) for h in history)


def _max_level(findings: Sequence[Finding]) -> RiskLevel:
    return max((f.level for f in findings), key=_RANK.__getitem__, default=RiskLevel.NONE)


def _categories(findings: Sequence[Finding], carried: Sequence[Finding], assessment: Assessment | None,
                level: RiskLevel, carried_category: str | None) -> list[str]:
    """Categories present: the rules' crisis ones, the classifier's, then the rest by urgency."""
    ordered = sorted(findings, key=lambda f: (-_RANK[f.level], CATEGORIES.index(f.category)))
    found = [f.category for f in ordered if f.level == RiskLevel.CRISIS]
    if assessment is not None and (assessment.crisis >= 0.05 or not found):
        found.append(assessment.category)
    found += [f.category for f in ordered] + [f.category for f in carried]
    if carried_category:
        found.append(carried_category)
    return list(dict.fromkeys(found))


def _whose(findings: Sequence[Finding], assessment: Assessment | None) -> str:
    if assessment is not None:
        return assessment.whose
    told = [f for f in findings if f.lowered_by == "third_person" or f.rule == "danger.emergency"]
    return "other" if told and len(told) == len(findings) else "self"


def _evidence(findings: Sequence[Finding]) -> list[str]:
    """The person's words that triggered, overlapping matches joined into one phrase."""
    merged: list[tuple[int, int, str]] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1][1]:
            start, end, phrase = merged[-1]
            if f.end > end:
                merged[-1] = (start, f.end, phrase + f.phrase[end - f.start:])
        else:
            merged.append((f.start, f.end, f.phrase))
    return list(dict.fromkeys(phrase.strip() for _, _, phrase in merged if phrase.strip()))

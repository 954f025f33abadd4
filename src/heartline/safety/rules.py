"""The data-driven risk detector: rules, idiom exclusions and safe statements from `rules.toml`.

A rule is a category, a level and a list of patterns. A match that overlaps an idiom span is
discarded; a match negated in its clause, placed in the past by its clause, or told of
someone else (the nearest subject before it in its clause is "he", "my friend", ...) is lowered
one level when its rule allows. See the comments at the top of `rules.toml` for the pattern
language.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from heartline.safety.corpus import CATEGORIES
from heartline.errors import HeartlineError
from heartline.safety.normalize import Normalised, normalise, readable
from heartline.schema import RiskLevel

log = logging.getLogger(__name__)


_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_LOWER = {RiskLevel.CRISIS: RiskLevel.ELEVATED, RiskLevel.ELEVATED: RiskLevel.NONE}


@dataclass(frozen=True)
class Finding:
    """One piece of evidence: which rule matched what the person wrote, and at what level."""

    rule: str
    category: str
    level: RiskLevel
    phrase: str
    """The words as the person wrote them."""
    start: int
    end: int
    lowered_by: str | None = None
    """'negation', 'past' or 'third_person' when the rule's level was lowered for that reason."""


class Detector(Protocol):
    """Anything that finds risk evidence in a message: the rules, or a trained classifier."""

    def detect(self, text: str) -> list[Finding]: ...


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    level: RiskLevel
    patterns: tuple[re.Pattern[str], ...]
    negatable: bool = True
    historical: bool = False
    third_person: bool = False


class RuleSet:
    """Compiled rules, idioms and safe statements; `detect(text)` returns the findings."""

    def __init__(
        self,
        rules: list[Rule],
        idioms: list[re.Pattern[str]],
        safe: list[re.Pattern[str]],
        negation: re.Pattern[str],
        historical: re.Pattern[str],
        clause_break: re.Pattern[str],
        confusables: dict[str, str],
        first_person: re.Pattern[str] | None = None,
        third_person: re.Pattern[str] | None = None,
    ) -> None:
        self.rules = rules
        self.idioms = idioms
        self.safe = safe
        self.negation = negation
        self.historical = historical
        self.clause_break = clause_break
        self.confusables = confusables
        self.first_person = first_person or re.compile(r"(?!x)x")
        self.third_person = third_person or re.compile(r"(?!x)x")

    @classmethod
    def builtin(cls) -> RuleSet:
        """The rules shipped with heartline, compiled once per process."""
        return _builtin()

    @classmethod
    def load(cls, path: Path | None = None) -> RuleSet:
        """Load the built-in rules, or a rules file of the same shape."""
        source = str(path) if path else "heartline/safety/rules.toml"
        try:
            raw = (path.read_bytes() if path else resources.files(__package__).joinpath("rules.toml").read_bytes())
            data = tomllib.loads(raw.decode("utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise HeartlineError(f"cannot read safety rules {source}: {exc}",
                                 hint="fix the file or remove it to use the built-in rules") from exc
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<rules>") -> RuleSet:
        macros = _expand_macros(data.get("macros", {}), source)
        context = data.get("context", {})

        def compile_all(entry: dict[str, Any], kind: str) -> tuple[re.Pattern[str], ...]:
            name = f"{kind} '{entry.get('id', '?')}'"
            return tuple(_compile(p, macros, f"{source}: {name}") for p in entry.get("patterns", []))

        rules = []
        for entry in data.get("rule", []):
            category, level = entry.get("category"), entry.get("level")
            if category not in CATEGORIES or level not in ("crisis", "elevated"):
                raise HeartlineError(
                    f"{source}: rule '{entry.get('id')}' has category {category!r} and level {level!r}",
                    hint=f"category is one of {', '.join(CATEGORIES)}; level is crisis or elevated",
                )
            rules.append(Rule(entry["id"], category, RiskLevel(level), compile_all(entry, "rule"),
                              entry.get("negatable", True), entry.get("historical", False),
                              entry.get("third_person", False)))
        return cls(
            rules=rules,
            idioms=[p for entry in data.get("idiom", []) for p in compile_all(entry, "idiom")],
            safe=[p for entry in data.get("safe", []) for p in compile_all(entry, "safe")],
            negation=_compile_raw(context.get("negation", r"(?!x)x"), f"{source}: context.negation"),
            historical=_compile_raw(context.get("historical", r"(?!x)x"), f"{source}: context.historical"),
            clause_break=_compile_raw(context.get("clause_break", r"[.!?;\n]"), f"{source}: context.clause_break"),
            confusables=dict(data.get("confusables", {})),
            first_person=_compile_raw(context.get("first_person", r"(?!x)x"), f"{source}: context.first_person"),
            third_person=_compile_raw(context.get("third_person", r"(?!x)x"), f"{source}: context.third_person"),
        )

    # ------------------------------------------------------------------ matching

    def detect(self, text: str) -> list[Finding]:
        """All findings in `text`, one per rule and span, ordered by position."""
        found: dict[tuple[str, int, int], Finding] = {}
        for norm in normalise(text, self.confusables):
            for finding in self._detect_in(norm, text):
                key = (finding.rule, finding.start, finding.end)
                if key not in found or _rank(finding.level) > _rank(found[key].level):
                    found[key] = finding
        return sorted(found.values(), key=lambda f: (f.start, f.end, f.rule))

    def readable(self, text: str) -> str:
        """`text` with unicode tricks and look-alike letters undone (what the crisis classifier reads)."""
        return readable(text, self.confusables)

    def is_safe_statement(self, text: str) -> bool:
        """True when the person says they are safe, or have reached help."""
        return any(p.search(norm.text) for norm in normalise(text, self.confusables) for p in self.safe)

    def _detect_in(self, norm: Normalised, original: str) -> list[Finding]:
        t = norm.text
        idiom_spans = [m.span() for p in self.idioms for m in p.finditer(t)]
        findings = []
        for rule in self.rules:
            for pattern in rule.patterns:
                for m in pattern.finditer(t):
                    s, e = m.span()
                    if s == e or any(s < ie and is_ < e for is_, ie in idiom_spans):
                        continue
                    level, lowered_by = rule.level, None
                    clause = t[self._clause_start(t, s):s]
                    if rule.negatable and self.negation.search(clause):
                        level, lowered_by = _LOWER[level], "negation"
                    elif rule.historical and self.historical.search(self._clause(t, s, e)):
                        level, lowered_by = _LOWER[level], "past"
                    elif rule.third_person and self._about_someone_else(clause, t[s:e]):
                        level, lowered_by = _LOWER[level], "third_person"
                    if level == RiskLevel.NONE:
                        continue
                    os, oe = norm.source_span(s, e)
                    findings.append(Finding(rule.id, rule.category, level, original[os:oe], os, oe, lowered_by))
        return findings

    def _about_someone_else(self, clause: str, matched: str) -> bool:
        """True when the nearest subject in `clause` (the text before a match) is someone else
        and the match itself does not speak of the person ("... if I died")."""
        if self.first_person.search(matched):
            return False
        third = max((m.end() for m in self.third_person.finditer(clause)), default=-1)
        return third >= 0 and third > max((m.end() for m in self.first_person.finditer(clause)), default=-1)

    def _clause(self, text: str, start: int, end: int) -> str:
        """The clause around text[start:end] ("I used to be happy but now I want to die": the second)."""
        right = self.clause_break.search(text, end)
        return text[self._clause_start(text, start):right.start() if right else len(text)]

    def _clause_start(self, text: str, position: int) -> int:
        start = 0
        for m in self.clause_break.finditer(text, 0, position):
            start = m.end()
        return start


@lru_cache(maxsize=1)
def _builtin() -> RuleSet:
    return RuleSet.load()


def _rank(level: RiskLevel) -> int:
    return {RiskLevel.NONE: 0, RiskLevel.ELEVATED: 1, RiskLevel.CRISIS: 2}[level]


def _expand_macros(raw: dict[str, str], source: str) -> dict[str, str]:
    macros: dict[str, str] = {}
    for name, value in raw.items():  # a macro may use the ones defined before it
        macros[name] = _substitute(value, macros, f"{source}: macro {name}")
    return macros


def _substitute(pattern: str, macros: dict[str, str], where: str) -> str:
    def expand(m: re.Match[str]) -> str:
        if m.group(1) not in macros:
            raise HeartlineError(f"{where}: unknown macro {{{m.group(1)}}}",
                                 hint="define it under [macros] before it is used")
        return macros[m.group(1)]

    return _MACRO.sub(expand, pattern)


def _compile(pattern: str, macros: dict[str, str], where: str) -> re.Pattern[str]:
    body = _substitute(pattern, macros, where).replace(" ", r"[\W_]*")
    return _compile_raw(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])", where, shown=pattern)


def _compile_raw(pattern: str, where: str, shown: str | None = None) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise HeartlineError(f"{where}: bad pattern {shown or pattern!r}: {exc}",
                             hint="fix the regular expression in the rules file") from exc

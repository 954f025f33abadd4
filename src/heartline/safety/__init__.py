"""Crisis detection and the response protocol.

`SafetyGate(settings).check(text, history)` assesses a message; on crisis the pipeline sends
`protocol_reply(check)` verbatim. Detection is a data-driven rule set (`rules.toml`) with
idiom exclusions; help lines per locale live in `resources.toml`.
"""

from heartline.safety.gate import SafetyGate
from heartline.safety.rules import CATEGORIES, Detector, Finding, RuleSet

__all__ = ["CATEGORIES", "Detector", "Finding", "RuleSet", "SafetyGate"]

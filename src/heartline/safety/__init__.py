"""Crisis detection and the response protocol.

`SafetyGate(settings).check(text, history)` assesses a message; on crisis the pipeline sends
`protocol_reply(check)` verbatim. Detection is a data-driven rule set (`rules.toml`) with
idiom exclusions, plus a semantic detector that compares each sentence (and pair of sentences)
with an exemplar bank (`exemplars.json` + `phrasings.json`, thresholds in `semantic.json`) and
reads it with the trained safety head to catch paraphrases (docs/safety.md); help lines per
locale live in `resources.toml`.
"""

from heartline.safety.gate import SafetyGate
from heartline.safety.rules import CATEGORIES, Detector, Finding, RuleSet
from heartline.safety.semantic import SemanticDetector

__all__ = ["CATEGORIES", "Detector", "Finding", "RuleSet", "SafetyGate", "SemanticDetector"]

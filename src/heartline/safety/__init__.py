"""Crisis detection, the response protocol and the reply screen.

`SafetyGate(settings).check(text, history)` assesses a message in its conversation: a rule
floor (`rules.toml`) and a fine-tuned crisis classifier (`classifier.py`) that also says whose
risk it is. On crisis the pipeline sends `protocol_reply(check)` verbatim, in the person's
language with the locale's help lines (`resources.toml`). `ReplyScreen` checks every sentence
a model writes before anyone sees it (`screen.py`).
"""

from heartline.safety.corpus import CATEGORIES, Said
from heartline.safety.gate import SafetyGate
from heartline.safety.rules import Detector, Finding, RuleSet

__all__ = ["CATEGORIES", "Detector", "Finding", "RuleSet", "SafetyGate", "Said"]

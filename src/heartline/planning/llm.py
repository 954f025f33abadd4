"""The LLM-only planner: the language model reasons through the SMES chain in one call.

Its JSON answer is validated against the taxonomies; anything malformed falls back step by
step (perceived emotion, then a position-based strategy, then a tone that mirrors gently), so
the conversation never stops on a bad parse.
"""

from __future__ import annotations

import json
import logging
import re

from heartline.errors import BackendError
from heartline.labels import STRATEGIES, normalize_emotion, normalize_strategy
from heartline.llm.base import GenerationParams, LLMBackend
from heartline.llm.prompts import planner_messages, planner_schema
from heartline.schema import Plan, PlanContext

log = logging.getLogger(__name__)

_MIRRORED_TONE = {"sadness": "sadness", "fear": "fear", "joy": "joy", "anger": "neutral",
                  "disgust": "neutral", "surprise": "surprise", "neutral": "neutral"}
"""The supporter's default tone for each user emotion: mirror softly, never anger back."""


def default_strategy(context: PlanContext) -> str:
    """Position-based strategy when nothing better is known: explore first, then reflect."""
    taxonomy = context.taxonomy
    supporter_turns = sum(1 for u in context.utterances if u.speaker == "supporter")
    if supporter_turns < 2:
        return "Question" if taxonomy == "esconv" else "Open question"
    return "Reflection of feelings" if taxonomy == "esconv" else "Restatement"


def parse_plan_json(text: str, context: PlanContext) -> Plan:
    """Turn the model's answer into a valid Plan, repairing what can be repaired."""
    fields = _extract_json(text)
    perceived = context.perception.user_emotion if context.perception else None
    user_emotion = normalize_emotion(str(fields.get("user_emotion", ""))) or perceived or "neutral"
    strategy = normalize_strategy(str(fields.get("strategy", "")), context.taxonomy)
    system_emotion = normalize_emotion(str(fields.get("system_emotion", "")))
    repaired = [name for name, value in (("strategy", strategy), ("system_emotion", system_emotion)) if value is None]
    strategy = strategy or default_strategy(context)
    system_emotion = system_emotion or _MIRRORED_TONE[user_emotion]
    cause = re.sub(r"\s+", " ", str(fields.get("cause", ""))).strip()[:200]
    return Plan(
        user_emotion=user_emotion,
        strategy=strategy,
        strategy_distribution={s: float(s == strategy) for s in STRATEGIES[context.taxonomy]},
        system_emotion=system_emotion,
        reason=cause,
        taxonomy=context.taxonomy,
        source=_source(fields, repaired),
    )


def _source(fields: dict, repaired: list[str]) -> str:
    if not fields:
        return "fallback"
    return f"llm (repaired: {', '.join(repaired)})" if repaired else "llm"


_FIELD = re.compile(r'"(user_emotion|cause|strategy|system_emotion)"\s*:\s*"([^"]*)"')


def _extract_json(text: str) -> dict:
    """The first JSON object in `text`; failing that, the complete fields of a cut-off one."""
    return _first_object(text) or {key: value for key, value in _FIELD.findall(text)}


def _first_object(text: str) -> dict:
    start = text.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                try:
                    value = json.loads(text[start : end + 1])
                except json.JSONDecodeError:
                    break
                return value if isinstance(value, dict) else {}
        start = text.find("{", start + 1)
    return {}


class LLMPlanner:
    """Asks the LLM for user emotion, cause, strategy and system emotion in one structured call."""

    def __init__(self, backend: LLMBackend, max_tokens: int = 80, timeout_s: float = 30.0) -> None:
        self.backend = backend
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s

    def plan(self, context: PlanContext) -> Plan:
        cues = context.perception.cues if context.perception else None
        messages = planner_messages(context.utterances, context.taxonomy, cues=cues)
        params = GenerationParams(
            max_tokens=self.max_tokens, temperature=0.0, json_schema=planner_schema(context.taxonomy),
            timeout_s=self.timeout_s,
        )
        try:
            text = self.backend.generate(messages, params).text
        except BackendError as exc:
            log.warning("planner backend failed, using the fallback plan: %s", exc)
            text = ""
        return parse_plan_json(text, context)

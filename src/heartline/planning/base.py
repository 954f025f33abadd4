"""The planning seams: user emotion -> strategy -> system emotion, each replaceable.

A `Planner` produces the whole `Plan`. `StepwisePlanner` composes three separately trained
or rule-based steps in SMES order; an LLM planner may do all three in one call.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from heartline.schema import EmotionEstimate, Plan, PlanContext


@runtime_checkable
class Planner(Protocol):
    """Decides how to answer the seeker's latest message."""

    def plan(self, context: PlanContext) -> Plan: ...


@runtime_checkable
class UserEmotionStep(Protocol):
    """Step 1: the seeker's emotion from the text and the dialogue so far."""

    def recognize(self, context: PlanContext) -> EmotionEstimate: ...


@runtime_checkable
class StrategyStep(Protocol):
    """Step 2: a distribution over the taxonomy's strategies."""

    def predict(self, context: PlanContext, user_emotion: str) -> dict[str, float]: ...


@runtime_checkable
class SystemEmotionStep(Protocol):
    """Step 3: a distribution over canonical emotions for the supporter's own tone."""

    def predict(self, context: PlanContext, user_emotion: str, strategy: str) -> dict[str, float]: ...

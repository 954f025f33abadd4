"""An LLM judge that scores a dialogue on ESC-Eval's seven dimensions (0-4) with a written rubric.

The rubric ships as `rubric.toml` (also printed in docs/evaluation.md). The judge is asked
for JSON constrained by a schema where the backend supports it; its answer is parsed
leniently (code fences, prose around the object, numbers as strings, "3/4"). A malformed
answer is retried once with another seed; a second failure marks the dialogue unscored,
never raising.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from heartline.errors import BackendError
from heartline.llm.base import ChatMessage, GenerationParams, LLMBackend

log = logging.getLogger(__name__)

SCORE_MIN, SCORE_MAX = 0, 4


@dataclass(frozen=True)
class Dimension:
    key: str
    title: str
    question: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Rubric:
    version: int
    dimensions: tuple[Dimension, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.dimensions)

    def text(self) -> str:
        """The rubric as the judge reads it (and docs/evaluation.md prints it)."""
        blocks = []
        for d in self.dimensions:
            blocks.append(f"{d.key}: {d.question}\n" + "\n".join(f"  {level}" for level in d.levels))
        return "\n".join(blocks)


def load_rubric() -> Rubric:
    """The rubric that ships with heartline."""
    data = tomllib.loads(resources.files("heartline.evaluation").joinpath("rubric.toml").read_text("utf-8"))
    dimensions = tuple(Dimension(d["key"], d["title"], d["question"], tuple(d["levels"])) for d in data["dimension"])
    return Rubric(int(data["version"]), dimensions)


JUDGE_SYSTEM_PROMPT = (
    "You are an expert rater of emotional-support conversations between a person seeking help "
    "and an AI assistant. Rate ONLY the AI assistant, strictly by the rubric. Answer with one "
    "JSON object giving an integer from 0 to 4 for every dimension, and nothing else."
)


def score_schema(rubric: Rubric) -> dict[str, Any]:
    score = {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX}
    return {"type": "object", "properties": {k: score for k in rubric.keys},
            "required": list(rubric.keys), "additionalProperties": False}


def format_transcript(turns: list[tuple[str, str]]) -> str:
    """(seeker, assistant) pairs as 'Person: ... / AI assistant: ...' lines."""
    lines = []
    for seeker, reply in turns:
        lines.append(f"Person: {seeker}")
        lines.append(f"AI assistant: {reply}")
    return "\n".join(lines)


def judge_messages(transcript: str, rubric: Rubric) -> list[ChatMessage]:
    example = ", ".join(f'"{k}": <0-4>' for k in rubric.keys)
    return [
        {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
        {"role": "user", "content": f"Rubric:\n{rubric.text()}\n\nConversation:\n{transcript}\n\n"
                                    f"Answer with JSON only: {{{example}}}"},
    ]


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _to_score(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = re.match(r"\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*4)?\s*$", value)
        if not match:
            return None
        number = float(match.group(1))
    else:
        return None
    if number != int(number) or not SCORE_MIN <= number <= SCORE_MAX:
        return None
    return int(number)


def parse_scores(text: str, keys: tuple[str, ...]) -> dict[str, int] | None:
    """All scores from a judge's answer, or None when any is missing or out of 0-4."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    found = _OBJECT.search(text)
    if found:
        candidates.append(found.group(0))
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):  # a JSON answer is judged on its own: all valid or nothing
            lowered = {str(k).strip().lower(): v for k, v in data.items()}
            scores = {k: _to_score(lowered.get(k)) for k in keys}
            return scores if all(v is not None for v in scores.values()) else None  # type: ignore[return-value]
    # Not JSON: accept "fluency: 3" style lines when every dimension is there exactly once.
    scores = {}
    for key in keys:
        hits = re.findall(rf'"?{key}"?\s*[:=]\s*"?(\d+)(?![\d.])', text, flags=re.IGNORECASE)
        if len(hits) != 1 or (score := _to_score(hits[0])) is None:
            return None
        scores[key] = score
    return scores


@dataclass
class Judgement:
    """One judge's verdict on one dialogue; `scores` is None when it stayed unparseable."""

    judge: str
    seed: int
    scores: dict[str, int] | None
    attempts: int
    raw: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"judge": self.judge, "seed": self.seed, "scores": self.scores, "attempts": self.attempts,
                "raw": self.raw, "error": self.error}


class Judge:
    """Scores transcripts with `backend` (temperature > 0 so that repeated runs are independent)."""

    def __init__(self, backend: LLMBackend, rubric: Rubric | None = None, temperature: float = 0.7,
                 max_tokens: int = 120, timeout_s: float = 300.0) -> None:
        self.backend = backend
        self.rubric = rubric or load_rubric()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s

    @property
    def name(self) -> str:
        return f"{self.backend.name}:{self.backend.model}"

    def judge(self, turns: list[tuple[str, str]], seed: int = 0) -> Judgement:
        """Score one dialogue; one retry (next seed) on a malformed answer, then unscored."""
        messages = judge_messages(format_transcript(turns), self.rubric)
        verdict = Judgement(self.name, seed, None, 0)
        for attempt in range(2):
            params = GenerationParams(max_tokens=self.max_tokens, temperature=self.temperature, top_p=0.95,
                                      seed=seed + 1000 * attempt, json_schema=score_schema(self.rubric),
                                      timeout_s=self.timeout_s)
            verdict.attempts += 1
            try:
                text = self.backend.generate(messages, params).text
            except BackendError as exc:
                verdict.error = str(exc)
                log.warning("judge call failed (attempt %d): %s", attempt + 1, exc)
                continue
            verdict.raw.append(text)
            scores = parse_scores(text, self.rubric.keys)
            if scores is not None:
                verdict.scores, verdict.error = scores, None
                return verdict
            verdict.error = "malformed judge output"
            log.info("judge output malformed (attempt %d): %r", attempt + 1, text[:120])
        return verdict

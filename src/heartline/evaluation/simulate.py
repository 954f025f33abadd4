"""Simulated seekers (ESC-Eval style): a role card drives a role-playing seeker LLM through N
turns against the real `Supporter`; a judge LLM then scores each dialogue with the rubric.

Phase 1 writes ``transcripts.jsonl`` (one dialogue a line, keyed by card id); phase 2 writes
``scores.jsonl`` (one judgement a line, keyed by card id, judge and repeat). Both are
journals: a rerun into the same directory resumes where it stopped. ``summary.json`` and
``report.html`` aggregate the scores and state how far the judge can be trusted.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heartline.config import LLMSettings, Settings
from heartline.datasets import RoleCard, load
from heartline.errors import BackendError, HeartlineError
from heartline.evaluation.journal import Journal, read_journal
from heartline.llm.base import ChatMessage, GenerationParams, LLMBackend
from heartline.llm.output import clean_reply, is_garbled
from heartline.schema import Observation

log = logging.getLogger(__name__)

TRANSCRIPTS_FILE = "transcripts.jsonl"
SCORES_FILE = "scores.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"

GREETING = "Hello, I'm here to listen. Is anything on your mind that you would like to talk about?"
"""The assistant's opening line the seeker answers first (as in ESC-Eval)."""

SEEKER_SYSTEM_PROMPT = (
    "Role-play a real person who is going through a hard time and talks to an AI assistant "
    "for support. Your character card:\n{card}\n\n"
    "Speak only as this person, in the first person, in one to three short, casual sentences. "
    "Share your worries bit by bit over the conversation and react to what the assistant just "
    "said. Never give advice, never act as a counsellor, never say you are an AI."
)
SEEKER_FALLBACK = "I'm not sure how to put it into words."
"""Used when the seeker model's output is unusable twice; marked in the transcript."""


@dataclass
class SimulationConfig:
    n: int = 20
    turns: int = 8
    seeker: LLMSettings = field(default_factory=lambda: LLMSettings(model="smollm2-135m", max_tokens=80,
                                                                     temperature=0.8))
    judges: list[LLMSettings] = field(default_factory=lambda: [LLMSettings(model="qwen2.5-coder-1.5b", max_tokens=120)])
    judge_repeats: int = 2
    """Independent judgements per dialogue and judge (different seeds): their agreement is the
    judge's self-consistency, reported with the scores."""
    seed: int = 0


_ASSISTANT_TALK = re.compile(
    r"\b(as an ai|language model|i'?m an ai|how can i (help|assist)|i'?m here to (listen|help)|"
    r"i can(not|'t) assist|feel free to|let me know if)\b", re.IGNORECASE)
"""Phrases of an assistant, not of a person seeking help: the seeker model fell out of role."""


def off_role(text: str) -> bool:
    """True when the seeker's line sounds like the assistant (small models often drift)."""
    return bool(_ASSISTANT_TALK.search(text))


def _role_prefix_free(text: str) -> str:
    for prefix in ("person:", "seeker:", "me:", "user:", "human:"):
        if text.lower().startswith(prefix):
            return text[len(prefix):].strip()
    return text.strip().strip('"').strip()


class SimulatedSeeker:
    """A role-playing seeker: the role card as system prompt, the dialogue from its side."""

    def __init__(self, backend: LLMBackend, card: RoleCard, settings: LLMSettings, seed: int = 0) -> None:
        self.backend = backend
        self.settings = settings
        self.seed = seed
        self.messages: list[ChatMessage] = [
            {"role": "system", "content": SEEKER_SYSTEM_PROMPT.format(card=card.text.strip())},
            {"role": "user", "content": GREETING},
        ]

    def speak(self) -> tuple[str, bool, bool]:
        """(message, fallback used, off role). One retry when the output is unusable or sounds
        like an assistant; a second off-role line is kept and flagged, a second unusable one
        becomes the fallback line."""
        kept: str | None = None
        for attempt in range(2):
            params = GenerationParams(max_tokens=self.settings.max_tokens, temperature=self.settings.temperature,
                                      top_p=self.settings.top_p, seed=self.seed + 1000 * attempt,
                                      timeout_s=self.settings.timeout_s)
            self.seed += 1
            try:
                text = _role_prefix_free(clean_reply(self.backend.generate(self.messages, params).text))
            except BackendError as exc:
                log.warning("seeker model failed: %s", exc)
                continue
            if is_garbled(text):
                continue
            if not off_role(text):
                self.messages.append({"role": "assistant", "content": text})
                return text, False, False
            kept = text
        if kept is not None:
            self.messages.append({"role": "assistant", "content": kept})
            return kept, False, True
        self.messages.append({"role": "assistant", "content": SEEKER_FALLBACK})
        return SEEKER_FALLBACK, True, False

    def hear(self, reply: str) -> None:
        self.messages.append({"role": "user", "content": reply})


def read_cards(spec: str, n: int) -> list[RoleCard]:
    cards = [c for c in load(spec if ":" in spec.split("/")[0] else f"esc-eval:{spec}") if isinstance(c, RoleCard)]
    if not cards:
        raise HeartlineError(f"no role cards in {spec}", hint="pass ESC-Eval's card_high_en.json")
    return cards[:n]


def simulate_dialogue(card: RoleCard, seeker_backend: LLMBackend, supporter: Any, config: SimulationConfig) -> dict[str, Any]:
    """One simulated conversation of `config.turns` exchanges against the real pipeline."""
    seeker = SimulatedSeeker(seeker_backend, card, config.seeker, seed=config.seed)
    session = f"sim-{card.id}"
    turns = []
    started = time.perf_counter()
    for _ in range(config.turns):
        t0 = time.perf_counter()
        text, seeker_fallback, seeker_off_role = seeker.speak()
        t1 = time.perf_counter()
        turn = supporter.respond(Observation(session_id=session, text=text))
        plan = turn.plan
        turns.append({
            "seeker": text, "seeker_fallback": seeker_fallback, "seeker_off_role": seeker_off_role,
            "reply": turn.reply.text,
            "risk": turn.safety.level.value, "reply_fallback": turn.reply.fallback,
            "strategy": plan.strategy if plan else None, "system_emotion": plan.system_emotion if plan else None,
            "user_emotion": plan.user_emotion if plan else None,
            "seeker_seconds": round(t1 - t0, 3), "system_seconds": round(time.perf_counter() - t1, 3),
        })
        seeker.hear(turn.reply.text)
    return {"dialogue_id": card.id, "turn": 0, "card": card.text, "source": card.source,
            "language": card.language, "turns": turns, "seconds": round(time.perf_counter() - started, 2)}


@contextmanager
def _backend(llm: LLMSettings, settings: Settings) -> Iterator[LLMBackend]:
    from heartline.llm.factory import make_backend

    backend = make_backend(llm, settings)
    try:
        yield backend
    finally:
        backend.close()


@contextmanager
def _supporter(settings: Settings) -> Iterator[Any]:
    """The real pipeline (crisis protocol included) with a throw-away session store."""
    from heartline.components import build_supporter

    with tempfile.TemporaryDirectory(prefix="heartline-sim-") as tmp:
        local = settings.model_copy(update={"store_url": f"sqlite:///{Path(tmp) / 'sessions.db'}"})
        with build_supporter(local) as supporter:
            yield supporter


Progress = Callable[[str, int], Callable[[int], Any]]


def run_dialogues(cards: Sequence[RoleCard], out: Path, config: SimulationConfig, settings: Settings,
                  progress: Progress) -> int:
    """Phase 1: the transcripts not yet in out/transcripts.jsonl."""
    with Journal(out / TRANSCRIPTS_FILE) as journal:
        todo = [c for c in cards if (c.id, 0) not in journal.done]
        if not todo:
            return 0
        with _supporter(settings) as supporter, _backend(config.seeker, settings) as seeker_backend:
            advance = progress(f"simulating {config.turns}-turn dialogues", len(todo))
            for card in todo:
                journal.append(simulate_dialogue(card, seeker_backend, supporter, config))
                journal.sync()
                advance(1)
    return len(todo)


def run_judges(out: Path, config: SimulationConfig, settings: Settings, progress: Progress) -> int:
    """Phase 2: every transcript scored by every judge, `judge_repeats` times each."""
    from heartline.evaluation.judge import Judge

    transcripts = read_journal(out / TRANSCRIPTS_FILE)
    written = 0
    with Journal(out / SCORES_FILE) as journal:
        for llm in config.judges:
            jobs = [(t, r) for t in transcripts for r in range(config.judge_repeats)
                    if (f"{t['dialogue_id']}|{llm.model}", r) not in journal.done]
            if not jobs:
                continue
            with _backend(llm, settings) as backend:
                judge = Judge(backend, temperature=llm.temperature, max_tokens=llm.max_tokens,
                              timeout_s=max(llm.timeout_s, 300.0))
                advance = progress(f"judging with {llm.model}", len(jobs))
                for transcript, repeat in jobs:
                    pairs = [(t["seeker"], t["reply"]) for t in transcript["turns"]]
                    started = time.perf_counter()
                    verdict = judge.judge(pairs, seed=config.seed + 7919 * repeat)
                    journal.append({"dialogue_id": f"{transcript['dialogue_id']}|{llm.model}", "turn": repeat,
                                    "card_id": transcript["dialogue_id"], "judge_model": llm.model,
                                    "repeat": repeat, **verdict.to_json(),
                                    "seconds": round(time.perf_counter() - started, 2)})
                    journal.sync()
                    written += 1
                    advance(1)
    return written


def run_simulation(cards_spec: str, out: Path, config: SimulationConfig, settings: Settings | None = None,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Both phases (each resumable), then summary.json and report.html."""
    from heartline.evaluation.simulate_report import write_simulation_outputs

    settings = settings or Settings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda description, total: (lambda n: None))
    cards = read_cards(cards_spec, config.n)
    run_dialogues(cards, out, config, settings, progress)
    run_judges(out, config, settings, progress)
    return write_simulation_outputs(out, config, settings, cards_spec)

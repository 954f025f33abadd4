"""The semantic detector: sentences compared with an exemplar bank in embedding space.

Rules miss paraphrases ("I bought a rope today"); sentence embeddings generalise to them. A
message is split into sentences; each is embedded once (MiniLM) and compared with the bank:
`exemplars.json` plus the labelled test phrasings of `phrasings.json` (crisis exemplars by
category, elevated ones: softer, negated, past or told of someone else, and hard negatives:
idioms, gaming, fiction, news, medical talk). A sentence is crisis when its best crisis
similarity reaches `crisis_at` AND beats its best elevated and negative similarities by
`margin`; elevated when its best crisis-or-elevated similarity reaches `elevated_at` and
beats the negatives by `margin`. Thresholds live in `semantic.json` (see `docs` there).

The trained safety head (`resources/heads/safety`, `heartline train safety`) reads the same
embeddings: a sentence is also crisis when the head's crisis probability reaches its
`crisis_at` and no negative or elevated exemplar is as close as its `veto_similarity` (so a
known figure of speech stays quiet). The head generalises along directions of meaning that
no single exemplar is near.

The embedder loads on first use; if it cannot (model not fetched, no network) the detector
logs one warning and finds nothing, so the gate runs on rules alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from heartline.config import Settings
from heartline.embeddings import Embedder, load_embedder
from heartline.errors import HeartlineError
from heartline.heads import Head, check_head, resolve_head
from heartline.safety.rules import CATEGORIES, Finding
from heartline.schema import RiskLevel

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"[^.!?\n;]+[.!?;]*")
_WORD = re.compile(r"[^\W\d_]{2,}")
MAX_SENTENCES = 24
"""Sentences embedded per message (the rest of a very long message is left to the rules)."""
MAX_SENTENCE_CHARS = 400
HEAD_FEATURES = "sentence-embedding-v1"
HEAD_LABELS: tuple[str, ...] = ("none", "elevated", *CATEGORIES)
"""The safety head's classes: no risk, elevated risk, and a crisis of each category."""


@cache
def shared_embedder() -> Embedder:
    """The live pipeline's sentence embedder, loaded once per process."""
    return load_embedder()


@dataclass(frozen=True)
class Thresholds:
    """Similarity cut-offs (cosine) of the semantic detector."""

    crisis_at: float
    elevated_at: float
    margin: float

    @classmethod
    def builtin(cls) -> Thresholds:
        data = _read_json("semantic.json")
        return cls(float(data["crisis_at"]), float(data["elevated_at"]), float(data["margin"]))


@dataclass(frozen=True)
class RiskHead:
    """The trained safety head over sentence embeddings, with its decision thresholds."""

    head: Head
    crisis_at: float
    """Crisis when the summed probability of the crisis classes reaches this..."""
    veto_similarity: float
    """...unless a negative or elevated exemplar is at least this similar to the sentence."""

    @classmethod
    def load(cls, name_or_dir: str = "safety") -> RiskHead:
        head = check_head(Head.load(resolve_head(name_or_dir)), HEAD_FEATURES, HEAD_LABELS)
        thresholds = head.config["thresholds"]
        return cls(head, float(thresholds["crisis_at"]), float(thresholds["veto_similarity"]))

    @classmethod
    def builtin(cls) -> RiskHead | None:
        """The shipped head; None (with a warning) if it cannot be read, leaving the exemplars."""
        try:
            return cls.load()
        except (HeartlineError, OSError, KeyError, ValueError) as exc:
            log.warning("safety head unavailable, the semantic detector uses the exemplars alone: %s", exc)
            return None

    def crisis(self, vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Per row: the crisis probability and the most likely crisis category."""
        risk, category = crisis_risk(self.head.proba(vectors))
        return risk, [CATEGORIES[i] for i in category]


def crisis_risk(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the safety head's probabilities: the summed probability of the crisis classes and
    the index (into CATEGORIES) of the likeliest one."""
    crisis = proba[:, len(HEAD_LABELS) - len(CATEGORIES):]
    return crisis.sum(axis=1), crisis.argmax(axis=1)


@dataclass(frozen=True)
class ExemplarBank:
    """The exemplar texts: crisis ones with their category, elevated ones, negatives."""

    crisis: tuple[tuple[str, str], ...]
    """(text, category) pairs."""
    elevated: tuple[str, ...]
    negative: tuple[str, ...]

    @classmethod
    def builtin(cls) -> ExemplarBank:
        """`exemplars.json` with every set of `phrasings.json` merged in."""
        bank = _read_json("exemplars.json")
        crisis = {c: list(texts) for c, texts in bank.get("crisis", {}).items()}
        elevated, negative = list(bank.get("elevated", [])), list(bank.get("negative", []))
        for group in load_phrasings().values():
            for text, category in group["crisis"]:
                crisis.setdefault(category, []).append(text)
            elevated += group["elevated"]
            negative += group["none"]
        return cls.from_dict({"crisis": crisis, "elevated": elevated, "negative": negative})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExemplarBank:
        crisis = data.get("crisis", {})
        unknown = set(crisis) - set(CATEGORIES)
        if unknown or not crisis or not data.get("negative"):
            raise HeartlineError(f"exemplar bank: bad crisis categories {sorted(unknown)} or no negatives",
                                 hint=f"crisis keys are among {', '.join(CATEGORIES)}; give negatives")
        pairs = tuple((text, category) for category, texts in crisis.items() for text in texts)
        return cls(pairs, tuple(data.get("elevated", [])), tuple(data["negative"]))


def load_phrasings() -> dict[str, dict[str, list[Any]]]:
    """The labelled phrasings by set ('core', 'round1', ...): crisis [text, category], none, elevated."""
    return _read_json("phrasings.json")["sets"]


def _read_json(name: str) -> dict[str, Any]:
    try:
        return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise HeartlineError(f"cannot read heartline/safety/{name}: {exc}",
                             hint="reinstall heartline; the file ships with the package") from exc


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of `text` that have at least two words (at most MAX_SENTENCES)."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if len(_WORD.findall(text[start:end])) >= 2:
            spans.append((start, min(end, start + MAX_SENTENCE_CHARS)))
        if len(spans) >= MAX_SENTENCES:
            break
    return spans


def windows(text: str) -> list[tuple[int, int]]:
    """The sentences of `text` and each pair of neighbouring ones ("tonight is the night. I have
    the rope." says together what neither says alone)."""
    spans = sentences(text)
    return spans + [(a, d) for (a, _), (_, d) in zip(spans, spans[1:])]


@dataclass(frozen=True)
class Scores:
    """One sentence's best similarities, the category of its nearest crisis exemplar, and the
    safety head's crisis probability and category (0 and "" without a head)."""

    crisis: float
    elevated: float
    negative: float
    category: str
    nearest: str
    risk: float = 0.0
    risk_category: str = ""


class SemanticDetector:
    """A `Detector` for `SafetyGate`: exemplar-bank similarity per sentence.

    `load` returns the embedder; it is called on first use, and its failure disables the
    detector with one warning. `head` is the trained safety head (None: exemplars only).
    """

    rule = "semantic"

    def __init__(self, load: Callable[[], Embedder], bank: ExemplarBank | None = None,
                 thresholds: Thresholds | None = None, head: RiskHead | None = None) -> None:
        self.bank = bank or ExemplarBank.builtin()
        self.thresholds = thresholds or Thresholds.builtin()
        self.head = head
        self._load = load
        self._embedder: Embedder | None = None
        self._failed = False
        self._lock = threading.Lock()
        self._crisis: np.ndarray | None = None
        self._elevated: np.ndarray | None = None
        self._negative: np.ndarray | None = None

    @property
    def available(self) -> bool:
        """True once the embedder and the bank's vectors are ready (loading them if needed)."""
        return self._ready()

    def _ready(self) -> bool:
        if self._negative is not None:
            return True
        if self._failed:
            return False
        with self._lock:
            if self._negative is not None:
                return True
            try:
                embedder = self._embedder = self._load()
                if self.head and self.head.head.config.get("embedder") != embedder.name:
                    log.warning("safety head trained on %s embeddings, not %s: exemplars alone",
                                self.head.head.config.get("embedder"), embedder.name)
                    self.head = None
                self._crisis, self._elevated, self._negative = self._bank_vectors(embedder)
            except Exception as exc:  # noqa: BLE001 — any failure must leave the gate on rules alone
                self._failed = True
                log.warning("semantic safety detector unavailable, the gate runs on rules alone: %s", exc)
                return False
        return True

    def _bank_vectors(self, embedder: Embedder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The bank's embeddings, cached under HEARTLINE_HOME/embeddings per bank and model."""
        groups = ([t for t, _ in self.bank.crisis], list(self.bank.elevated), list(self.bank.negative))
        digest = hashlib.sha1(json.dumps([embedder.name, *groups]).encode("utf-8")).hexdigest()[:16]
        path = Settings().home / "embeddings" / f"safety-bank-{digest}.npz"
        if path.is_file():
            try:
                with np.load(path) as data:
                    return data["crisis"], data["elevated"], data["negative"]
            except (OSError, ValueError, KeyError) as exc:
                log.info("re-embedding the safety exemplars: %s is unreadable (%s)", path, exc)
        crisis, elevated, negative = (embedder.encode(g) for g in groups)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, crisis=crisis, elevated=elevated, negative=negative)
            tmp.replace(path)
        except OSError as exc:
            log.info("cannot cache the safety exemplar vectors at %s: %s", path, exc)
        return crisis, elevated, negative

    def score(self, texts: Sequence[str]) -> list[Scores]:
        """Best similarities of each text (one sentence each) to the bank; [] when unavailable."""
        if not texts or not self._ready():
            return []
        assert self._embedder is not None and self._crisis is not None
        assert self._elevated is not None and self._negative is not None
        try:
            vectors = self._embedder.encode(list(texts))
        except Exception as exc:  # noqa: BLE001 — a failing embedder must not stop the rules' verdict
            log.warning("semantic safety detector failed on a message, rules only for it: %s", exc)
            return []
        crisis = vectors @ self._crisis.T
        best = crisis.argmax(axis=1)
        elevated = (vectors @ self._elevated.T).max(axis=1) if len(self._elevated) else np.zeros(len(texts))
        negative = (vectors @ self._negative.T).max(axis=1)
        risk, risk_category = self.head.crisis(vectors) if self.head else (np.zeros(len(texts)), [""] * len(texts))
        return [Scores(float(crisis[i, j]), float(elevated[i]), float(negative[i]),
                       self.bank.crisis[j][1], self.bank.crisis[j][0], float(risk[i]), risk_category[i])
                for i, j in enumerate(best)]

    def judge(self, s: Scores) -> tuple[RiskLevel, str, str]:
        """(level, category, what decided it) for one sentence's scores."""
        t = self.thresholds
        if s.crisis >= t.crisis_at and s.crisis - max(s.elevated, s.negative) >= t.margin:
            return RiskLevel.CRISIS, s.category, s.nearest
        h = self.head
        if h and s.risk >= h.crisis_at and max(s.elevated, s.negative) < h.veto_similarity:
            return RiskLevel.CRISIS, s.risk_category, f"head p={s.risk:.2f}"
        top = max(s.crisis, s.elevated)
        if top >= t.elevated_at and top - s.negative >= t.margin:
            return RiskLevel.ELEVATED, s.category, s.nearest
        return RiskLevel.NONE, s.category, s.nearest

    def detect(self, text: str) -> list[Finding]:
        """One finding per sentence (or pair of neighbouring sentences) that reaches elevated or
        crisis, with those words as evidence."""
        spans = windows(text)
        findings = []
        for (start, end), s in zip(spans, self.score([text[a:b] for a, b in spans])):
            level, category, reason = self.judge(s)
            if level != RiskLevel.NONE:
                findings.append(Finding(f"{self.rule}:{reason}", category, level, text[start:end], start, end))
        return findings

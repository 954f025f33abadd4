"""`heartline eval run`: per-turn evaluation on GOLD history, batched and resumable.

For every turn the context is the dataset's own dialogue before it, never the system's
earlier outputs (teacher forcing), as in the ESConv/MESC papers; reports say so.

- seeker turns (task ``emotion``): the text emotion model on each seeker utterance, its
  context ending with that utterance, against the utterance's gold emotion where labelled;
- supporter turns (tasks ``strategy``, ``response``): every supporter utterance (``--targets
  every``, the published ESConv protocol, as the strategy head is trained and benchmarked) or
  the first supporter utterance after each seeker message (``replies``); see
  `training.examples.supporter_examples`. The planner's strategy against the gold one, and on
  first replies (what the pipeline answers) the reply generated from the plan against the gold
  utterance;
- media samples (``voice-emotion``, ``face-emotion``): see `evaluation.media_tasks`.

Work goes in batches: the texts of a batch of contexts are embedded in one call before the
trained heads run, so each text is embedded once. Each finished item is appended to
``predictions.jsonl`` and flushed; a rerun into the same directory skips the keys already
there. ``metrics.json`` and ``report.html`` are rewritten from the whole file at the end.
"""

from __future__ import annotations

import json
import logging
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from heartline.config import Settings
from heartline.datasets import MediaSample, parse_spec, read_spec
from heartline.errors import HeartlineError
from heartline.evaluation.journal import Journal, Key, read_journal
from heartline.safety.screen import ReplyScreen
from heartline.schema import Dialogue, Plan, PlanContext, Utterance
from heartline.training.examples import Targets, is_first_reply

if TYPE_CHECKING:
    from heartline.embeddings import CachedEmbedder
    from heartline.llm.base import LLMBackend
    from heartline.perception.text_emotion import TextEmotionRecognizer
    from heartline.planning.base import Planner

log = logging.getLogger(__name__)

DIALOGUE_TASKS = ("emotion", "strategy", "response")
MEDIA_TASKS = ("voice-emotion", "face-emotion")
TASKS = (*DIALOGUE_TASKS, *MEDIA_TASKS)
MEDIA_FORMATS = {"voice-emotion": "ravdess", "face-emotion": "fer2013"}

PREDICTIONS_FILE = "predictions.jsonl"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
GOLD_HISTORY_NOTE = (
    "Per-turn evaluation on gold history: every prediction sees the dataset's own dialogue "
    "before the turn (teacher forcing), never the system's earlier outputs.")
MEDIA_NOTE = "Per-sample evaluation of labelled media: each clip or image on its own, predicted vs gold emotion."


@dataclass
class RunOptions:
    """What to evaluate; stored in run.json so that a resumed run cannot silently change it."""

    data: str
    tasks: list[str]
    planner: str = "trained"
    limit: int | None = None
    """First N dialogues (or media samples) of the dataset, in file order."""
    batch_size: int = 256
    seed: int = 0
    system: str | None = None
    """The --system TOML file the settings came from, if any."""
    targets: Targets = "every"
    """Supporter turns planned: 'every' supporter utterance or first 'replies' (responses: first replies only)."""
    heads: str | None = None
    """A directory of trained heads named as the shipped ones (text-emotion, strategy-esconv,
    strategy-mesc, system-emotion); missing ones fall back to the shipped heads."""

    def head(self, name: str) -> str:
        """The head to load for a shipped head name: the --heads copy when there is one."""
        if self.heads and (Path(self.heads) / name).is_dir():
            return str(Path(self.heads) / name)
        return name

    def identity(self) -> dict[str, Any]:
        """The fields a resumed run must share with the original."""
        return {"data": self.data, "tasks": sorted(self.tasks), "planner": self.planner, "heads": self.heads,
                "targets": self.targets}


def expand_tasks(tasks: Sequence[str], data_format: str) -> list[str]:
    """`all` -> every task the dataset supports; otherwise the tasks checked against TASKS."""
    if "all" in tasks:
        media = [t for t, f in MEDIA_FORMATS.items() if f == data_format]
        return media or list(DIALOGUE_TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise HeartlineError(f"unknown task(s) {unknown}", hint=f"use {', '.join(TASKS)} or all")
    for task in tasks:
        if task in MEDIA_TASKS and data_format != MEDIA_FORMATS[task]:
            raise HeartlineError(f"--task {task} needs {MEDIA_FORMATS[task]} data, got {data_format}",
                                 hint=f"pass --data {MEDIA_FORMATS[task]}:DIR")
        if task in DIALOGUE_TASKS and data_format in MEDIA_FORMATS.values():
            raise HeartlineError(f"--task {task} needs dialogues, {data_format} holds media samples",
                                 hint=f"use --task {', '.join(t for t, f in MEDIA_FORMATS.items() if f == data_format)}")
    return list(dict.fromkeys(tasks))


def _overrides(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HeartlineError(f"cannot read system config {path}: {exc}",
                             hint="a TOML file of settings, e.g. [llm] model = \"smollm2-135m\"") from exc


def load_system(path: Path | None) -> Settings:
    """Settings with the overrides of a TOML file (same layout as heartline's config file)."""
    return Settings(**_overrides(path)) if path is not None else Settings()


def planner_method(explicit: str | None, system: Path | None) -> str:
    """--planner, else the --system file's [planner] method, else the trained heads."""
    if explicit:
        return explicit
    if system is not None:
        method = _overrides(system).get("planner", {}).get("method")
        if method:
            return str(method)
    return "trained"


# --------------------------------------------------------------------------- items


@dataclass(frozen=True)
class SeekerItem:
    key: Key
    context: PlanContext
    gold: str | None


@dataclass(frozen=True)
class SupporterItem:
    key: Key
    context: PlanContext
    target: Utterance


def seeker_items(dialogues: Sequence[Dialogue]) -> list[SeekerItem]:
    """Every seeker utterance, its context ending with it (gold emotion where labelled)."""
    items = []
    for dialogue in dialogues:
        for i, utterance in enumerate(dialogue.utterances):
            if utterance.speaker == "seeker" and utterance.text.strip():
                context = PlanContext(utterances=dialogue.utterances[: i + 1],
                                      taxonomy=dialogue.taxonomy or "esconv")
                items.append(SeekerItem((dialogue.id, i), context, utterance.emotion))
    return items


def supporter_items(dialogues: Sequence[Dialogue], targets: Targets = "every") -> list[SupporterItem]:
    """The supporter utterances of `targets` (as training and `bench plan`)."""
    from heartline.training.examples import supporter_examples

    items = []
    for dialogue in dialogues:
        for example in supporter_examples([dialogue], targets):
            index = len(example.context.utterances)
            items.append(SupporterItem((dialogue.id, index), example.context, example.target))
    return items


# --------------------------------------------------------------------------- progress


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not enabled) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    out: Path
    new: int
    skipped: int
    metrics: dict[str, Any] = field(default_factory=dict)


class Evaluation:
    """Models and settings of one run; `run(out)` evaluates what is not done yet."""

    def __init__(self, options: RunOptions, settings: Settings | None = None, progress: bool = True) -> None:
        self.options = options
        self.settings = settings or Settings()
        self.progress = progress
        self.spec = parse_spec(options.data)
        self.tasks = expand_tasks(options.tasks, self.spec.format)
        self.options.tasks = self.tasks
        if options.planner not in ("trained", "llm"):
            raise HeartlineError(f"unknown planner {options.planner!r}", hint="use trained or llm")
        self._embedder: CachedEmbedder | None = None
        self._planner: Planner | None = None
        self._recognizer: TextEmotionRecognizer | None = None
        self._backend: LLMBackend | None = None
        self._screen: ReplyScreen | None = None
        self.models: dict[str, Any] = {}

    # ---------------------------------------------------------------- models, loaded on demand

    @property
    def embedder(self) -> CachedEmbedder:
        if self._embedder is None:
            from heartline.embeddings import load_embedder
            from heartline.evaluation.provenance import catalogue_model

            self._embedder = load_embedder(memory_entries=None)  # type: ignore[arg-type]  # unbounded memo
            self.models["embedder"] = catalogue_model(self._embedder.name)
        return self._embedder

    def recognizer(self, taxonomy: str) -> TextEmotionRecognizer:
        if self._recognizer is None:
            from heartline.evaluation.provenance import head_info
            from heartline.heads import Head, resolve_head
            from heartline.perception.text_emotion import DEFAULT_HEAD, TextEmotionRecognizer

            shares_planner = self.options.planner == "trained" and self._plans()
            head = self.options.head(DEFAULT_HEAD)
            self._recognizer = (self.planner(taxonomy).emotion if shares_planner
                                else TextEmotionRecognizer(Head.load(resolve_head(head)), self.embedder))
            self.models["text_emotion_head"] = head_info(head)
        return self._recognizer

    @property
    def backend(self) -> LLMBackend:
        if self._backend is None:
            from heartline.components import build_backend
            from heartline.evaluation.provenance import catalogue_model

            self._backend = build_backend(self.settings)
            self.models["llm"] = {**catalogue_model(self.settings.llm.model), "backend": self.settings.llm.backend}
        return self._backend

    def planner(self, taxonomy: str) -> Planner:
        if self._planner is None:
            if self.options.planner == "trained":
                from heartline.evaluation.provenance import head_info
                from heartline.heads import Head, resolve_head
                from heartline.perception.text_emotion import DEFAULT_HEAD as EMOTION_HEAD
                from heartline.perception.text_emotion import TextEmotionRecognizer
                from heartline.planning.strategy import DEFAULT_HEADS, StrategyPredictor
                from heartline.planning.system_emotion import DEFAULT_HEAD as SYSTEM_HEAD
                from heartline.planning.system_emotion import SystemEmotionPredictor
                from heartline.planning.trained import TrainedPlanner

                heads = {"text_emotion_head": self.options.head(EMOTION_HEAD),
                         "strategy_head": self.options.head(DEFAULT_HEADS[taxonomy]),
                         "system_emotion_head": self.options.head(SYSTEM_HEAD)}
                loaded = {name: Head.load(resolve_head(head)) for name, head in heads.items()}
                # Built from the constructors so that all three share this run's one memo.
                self._planner = TrainedPlanner(
                    TextEmotionRecognizer(loaded["text_emotion_head"], self.embedder),
                    StrategyPredictor(loaded["strategy_head"], self.embedder),
                    SystemEmotionPredictor(loaded["system_emotion_head"], self.embedder))
                self.models.update({name: head_info(head) for name, head in heads.items()})
            else:
                from heartline.planning.llm import LLMPlanner

                self._planner = LLMPlanner(self.backend)
        return self._planner

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    # ---------------------------------------------------------------- running

    def _check_run_file(self, out: Path) -> None:
        path = out / RUN_FILE
        identity = self.options.identity()
        if path.exists():
            previous = json.loads(path.read_text(encoding="utf-8"))
            if previous.get("identity") != identity:
                raise HeartlineError(
                    f"{out} holds a run of {previous.get('identity')}, not {identity}",
                    hint="resume with the same --data/--task/--planner, or pass a new --out")
            return
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"identity": identity, "options": asdict(self.options)}, indent=2) + "\n")

    def run(self, out: Path) -> RunResult:
        out = Path(out)
        self._check_run_file(out)
        records = read_spec(self.spec)
        if self.options.limit is not None:
            records = records[: self.options.limit]
        started = time.perf_counter()
        with Journal(out / PREDICTIONS_FILE) as journal:
            already = len(journal.done)
            if self.spec.format in MEDIA_FORMATS.values():
                samples = [r for r in records if isinstance(r, MediaSample)]
                new = self._run_media(samples, journal)
            else:
                dialogues = [r for r in records if isinstance(r, Dialogue)]
                new = self._run_dialogues(dialogues, journal)
        log.info("evaluated %d new items in %.1f s (%d were done)", new, time.perf_counter() - started, already)
        from heartline.evaluation.summary import write_outputs

        metrics = write_outputs(out, self)
        return RunResult(out, new, already, metrics)

    def _run_dialogues(self, dialogues: list[Dialogue], journal: Journal) -> int:
        if not dialogues:
            raise HeartlineError(f"{self.options.data} holds no dialogues", hint="check --data")
        taxonomy = next((d.taxonomy for d in dialogues if d.taxonomy), "esconv")
        new = 0
        if "emotion" in self.tasks:
            todo = [i for i in seeker_items(dialogues) if i.key not in journal.done]
            new += self._run_batches("emotion (seeker turns)", todo, journal, self._emotion_batch, taxonomy)
        if self._plans():
            todo = [i for i in supporter_items(dialogues, self.options.targets) if i.key not in journal.done]
            if "response" not in self.tasks:
                todo = [i for i in todo if i.target.strategy]
            new += self._run_batches("supporter turns", todo, journal, self._supporter_batch, taxonomy)
        return new

    def _run_batches(self, description: str, todo: list[Any], journal: Journal,
                     step: Callable[[Sequence[Any], str, Callable[[dict[str, Any]], None]], None],
                     taxonomy: str) -> int:
        if not todo:
            return 0
        written = 0

        with progress_bar(description, len(todo), self.progress) as advance:
            def emit(record: dict[str, Any]) -> None:
                nonlocal written
                journal.append(record)
                written += 1
                advance(1)

            size = 1 if self._sequential() else self.options.batch_size
            for batch in _chunks(todo, size):
                step(batch, taxonomy, emit)
                journal.sync()
        return written

    def _plans(self) -> bool:
        return "strategy" in self.tasks or "response" in self.tasks

    def _sequential(self) -> bool:
        """LLM work goes one item at a time (nothing to batch, and each item is saved at once)."""
        return self.options.planner == "llm" or "response" in self.tasks

    def _prefetch(self, texts: list[str | None]) -> None:
        """Embed the batch's distinct texts in one call; the heads then hit the memo."""
        unique = list(dict.fromkeys(t for t in texts if t is not None))
        if unique:
            self.embedder.encode(unique, batch_size=64)

    def _emotion_batch(self, batch: Sequence[SeekerItem], taxonomy: str, emit: Callable[[dict[str, Any]], None]) -> None:
        from heartline.perception.text_emotion import emotion_texts

        recognizer = self.recognizer(taxonomy)
        start = time.perf_counter()
        self._prefetch([t for item in batch for t in emotion_texts(item.context)])
        estimates = [recognizer.recognize(item.context) for item in batch]
        seconds = (time.perf_counter() - start) / len(batch)
        for item, estimate in zip(batch, estimates):
            emit({"dialogue_id": item.key[0], "turn": item.key[1], "kind": "seeker",
                  "text": item.context.utterances[-1].text, "emotion": estimate.label,
                  "emotion_confidence": round(estimate.confidence, 4), "gold_emotion": item.gold,
                  "seconds": round(seconds, 5)})

    def _supporter_batch(self, batch: Sequence[SupporterItem], taxonomy: str,
                         emit: Callable[[dict[str, Any]], None]) -> None:
        planner = self.planner(taxonomy)
        start = time.perf_counter()
        if self.options.planner == "trained":
            from heartline.planning.trained import planner_texts

            self._prefetch([t for item in batch for t in planner_texts(item.context)])
        plans = []
        for item in batch:
            plans.append(planner.plan(item.context))
        plan_seconds = (time.perf_counter() - start) / len(batch)
        for item, plan in zip(batch, plans):
            record: dict[str, Any] = {
                "dialogue_id": item.key[0], "turn": item.key[1], "kind": "supporter",
                "message": item.context.answered.message, "user_emotion": plan.user_emotion,
                "strategy": plan.strategy, "gold_strategy": item.target.strategy,
                "strategy_confidence": round(plan.strategy_distribution.get(plan.strategy, 0.0), 4),
                "system_emotion": plan.system_emotion, "plan_source": plan.source,
                "seconds": round(plan_seconds, 5),
            }
            if "response" in self.tasks and is_first_reply(item.context):
                record.update(self._respond(item, plan))
            emit(record)

    def _respond(self, item: SupporterItem, plan: Plan) -> dict[str, Any]:
        from heartline.evaluation.replies import generate_gold_reply

        if self._screen is None:
            from heartline.safety import SafetyGate

            self._screen = SafetyGate(self.settings.safety).screen
        reply = generate_gold_reply(item.context, plan, self.backend, self.settings, self._screen)
        emotion = self.recognizer(plan.taxonomy).recognize(
            PlanContext(utterances=[Utterance(speaker="supporter", text=reply.text)]))
        return {"response": reply.text, "reference": item.target.text, "reply_emotion": emotion.label,
                "fallback": reply.fallback, "error": reply.error,
                "generation_seconds": round(reply.seconds, 4),
                "completion_tokens": reply.completion_tokens, "prompt_tokens": reply.prompt_tokens}

    def _run_media(self, samples: list[MediaSample], journal: Journal) -> int:
        from heartline.evaluation.media_tasks import media_classifier

        todo = [s for s in samples if (s.id, 0) not in journal.done]
        if not todo:
            return 0
        task = self.tasks[0]
        classify = media_classifier(task)
        self.models[task] = classify.info
        written = 0
        with progress_bar(task, len(todo), self.progress) as advance:
            for batch in _chunks(todo, self.options.batch_size):
                start = time.perf_counter()
                results = classify(batch)
                seconds = (time.perf_counter() - start) / len(batch)
                for sample, result in zip(batch, results):
                    journal.append({"dialogue_id": sample.id, "turn": 0, "kind": "media",
                                    "path": str(sample.path), "emotion": result.label,
                                    "emotion_confidence": round(result.confidence, 4),
                                    "gold_emotion": result.gold(sample), "note": result.note,
                                    "raw_emotion": result.raw, "gold_raw_emotion": sample.raw_emotion,
                                    "seconds": round(seconds, 5)})
                    written += 1
                    advance(1)
                journal.sync()
        return written


def run_evaluation(options: RunOptions, out: Path, settings: Settings | None = None,
                   progress: bool = True) -> RunResult:
    """Evaluate (or resume) into `out`: predictions.jsonl, metrics.json, report.html."""
    evaluation = Evaluation(options, settings, progress)
    try:
        return evaluation.run(out)
    finally:
        evaluation.close()


def read_predictions(out: Path) -> list[dict[str, Any]]:
    path = Path(out) / PREDICTIONS_FILE
    if not path.is_file():
        raise HeartlineError(f"{out} has no {PREDICTIONS_FILE}", hint="run `heartline eval run --out DIR` first")
    return read_journal(path)

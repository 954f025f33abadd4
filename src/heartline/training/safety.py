"""Train the crisis classifier: all-MiniLM-L6-v2 fine-tuned with LoRA on messages in context.

Training data (docs/safety.md):
- the built-in corpus (`heartline/safety/corpus`): earlier rounds' phrasings, sets written by
  independent authors for every category, style and whose-risk, in six languages, with
  conversations where the context decides; and labelled model replies for the reply head;
- ordinary messages mined from the datasets' train splits (ESConv and MESC seekers,
  GoEmotions, MELD): the ones with risk-adjacent words first (hard negatives), minus any the
  rules flag at any level (those may be real crises), labelled none; ESConv supporter
  utterances as safe replies;
- augmentation: each crisis and elevated message once more with typos and no capitals, and a
  share of context-free messages paired with an ordinary conversation (the message decides).

A stratified tenth of the corpus (and of the mined texts) is held out for early stopping and
for choosing the operating points, recall first within a false-alarm budget: `crisis_at` is the
lowest threshold at which at most 2% of the held-out ordinary messages reach crisis, and
`harmful_at` the lowest at which at most 1% of the held-out safe replies are blocked.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from heartline.evaluation.safety_eval import pct
from heartline.safety.classifier import FEATURES, HEADS, RISK_LABELS, context_text, crisis_probability
from heartline.safety.corpus import CATEGORIES, WHOSE, Corpus, LabelledMessage, LabelledReply, Said, builtin_corpus
from heartline.safety.rules import RuleSet
from heartline.schema import RiskLevel
from heartline.training.common import licences, progress_bar, read_dialogues, seed_everything, write_json
from heartline.training.finetune import Example, FineTuneConfig, fine_tune, predict

log = logging.getLogger(__name__)

BASE_MODEL = "multilingual-e5-small"
"""The encoder fine-tuned (from the model catalogue): multilingual, so a crisis in Spanish,
French, German, Portuguese or Italian is read as one."""
MAX_TOKENS = 128
FIRST_TOKENS = 96
VALID_SHARE = 0.1
ORDINARY_BUDGET = 0.02
"""Share of ordinary messages (mined from real conversations, held out) allowed at crisis."""
SAFE_REPLY_BUDGET = 0.01
"""Share of safe replies (held out) the screen may block."""
ELEVATED_AT = 0.5
RISK_WORDS = re.compile(
    r"\b(kill|die|dying|dead|death|suicid|hurt|cut|pills?|overdos|hang|jump|gun|knife|blood|end it|"
    r"poison|hit|beat|abuse|alone|hopeless|worthless|can'?t go on|tired of|give up|harm|weapon|drown|bridge)",
    re.IGNORECASE,
)


@dataclass
class SafetyData:
    """Training and held-out examples, with what they are for the figures."""

    train: list[Example]
    valid: list[Example]
    valid_kind: list[str]
    """Per valid example: 'message', 'ordinary' or 'reply'."""
    counts: dict[str, int]


def risk_target(message: LabelledMessage) -> int:
    if message.level == "crisis":
        return RISK_LABELS.index(message.category or "suicide")
    return RISK_LABELS.index(message.level or "none")


class Encoder:
    """Turns labelled texts into model inputs the way `FineTunedEncoder` does at run time."""

    def __init__(self, model_dir: Path, prepare: Callable[[str], str]) -> None:
        from heartline.embeddings import MiniLMEmbedder

        self.tokenizer = MiniLMEmbedder(model_dir, max_tokens=MAX_TOKENS)
        self.prepare = prepare

    def example(self, text: str, history: Sequence[Said], targets: dict[str, int], weight: float = 1.0) -> Example:
        """The input of the first window of `text` (a longer message is trained on its start)."""
        from heartline.finetuned import pair_inputs

        context = context_text(history)
        ids, types = pair_inputs(self.tokenizer, self.prepare(text), self.prepare(context) if context else None,
                                 MAX_TOKENS, FIRST_TOKENS)[0]
        return Example(ids, types, targets, weight)


def message_targets(m: LabelledMessage) -> dict[str, int]:
    targets = {"risk": risk_target(m)}
    if m.whose and m.level != "none":
        targets["whose"] = WHOSE.index(m.whose)
    return targets


def typos(text: str, rng: random.Random) -> str:
    """Lowercase, no final punctuation, and one or two dropped or swapped letters."""
    chars = list(text.lower().rstrip(".!"))
    for _ in range(rng.randint(1, 2)):
        if len(chars) < 6:
            break
        i = rng.randrange(1, len(chars) - 1)
        if rng.random() < 0.5:
            del chars[i]
        else:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def mined_texts(specs: Sequence[str], limit: int, seed: int, rules: RuleSet) -> tuple[list[str], list[list[Said]], list[str]]:
    """Ordinary messages (with their context) and supporter replies from dataset train splits.

    Per spec up to `limit` seeker (or speaker) messages, those with risk-adjacent words first,
    minus any the rules flag at any level; and up to `limit` supporter utterances.
    """
    rng = random.Random(seed)
    messages: list[str] = []
    contexts: list[list[Said]] = []
    replies: list[str] = []
    for spec in specs:
        candidates: list[tuple[str, list[Said]]] = []
        supporter: list[str] = []
        for dialogue in read_dialogues([spec]):
            said: list[Said] = []
            for u in dialogue.utterances:
                role = "supporter" if u.speaker == "supporter" else "person"
                if role == "person" and u.text.strip():
                    candidates.append((u.text, list(said[-6:])))
                elif u.text.strip():
                    supporter.append(u.text)
                said.append(Said(role, u.text))
        rng.shuffle(candidates)
        candidates.sort(key=lambda c: not RISK_WORDS.search(c[0]))  # hard ones first, order kept within
        kept = 0
        for text, context in candidates:
            if kept >= limit:
                break
            if any(f.level != RiskLevel.NONE for f in rules.detect(text)):
                continue
            messages.append(text)
            contexts.append(context)
            kept += 1
        rng.shuffle(supporter)
        replies += supporter[:limit]
        log.info("%s: %d ordinary messages, %d supporter replies", spec, kept, min(limit, len(supporter)))
    return messages, contexts, replies


def _split(n: int, keys: Sequence[str], seed: int) -> np.ndarray:
    """A boolean mask of held-out rows: about VALID_SHARE of each key (stratified)."""
    rng = np.random.default_rng(seed)
    held = np.zeros(n, dtype=bool)
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for rows in groups.values():
        rows = rng.permutation(rows)
        held[rows[: int(round(VALID_SHARE * len(rows)))]] = True
    return held


def build_data(corpus: Corpus, encoder: Encoder, mined: tuple[list[str], list[list[Said]], list[str]],
               seed: int) -> tuple[SafetyData, list[LabelledMessage], list[str], list[LabelledReply]]:
    """Examples for training and validation; also the held-out messages, ordinary texts and replies."""
    rng = random.Random(seed)
    messages = [m for m in corpus.messages if m.level]
    held = _split(len(messages), [f"{m.source.split(':')[0]}/{m.level}/{m.lang}" for m in messages], seed)
    ordinary, ordinary_context, supporter = mined
    held_ordinary = _split(len(ordinary), ["ordinary"] * len(ordinary), seed + 1)
    replies = list(corpus.replies) + [LabelledReply(t, False, None, "dataset-supporter") for t in supporter]
    held_replies = _split(len(replies), [f"{r.source}/{r.harmful}" for r in replies], seed + 2)

    train: list[Example] = []
    valid: list[Example] = []
    kinds: list[str] = []
    contexts = [c for c in ordinary_context if c]
    with progress_bar("tokenising", len(messages) + len(ordinary) + len(replies)) as advance:
        for m, is_held in zip(messages, held):
            example = encoder.example(m.text, m.history, message_targets(m))
            if is_held:
                valid.append(example)
                kinds.append("message")
            else:
                train.append(example)
                if m.level in ("crisis", "elevated"):
                    train.append(encoder.example(typos(m.text, rng), m.history, message_targets(m)))
                if not m.history and contexts and rng.random() < 0.3 and m.level != "elevated":
                    train.append(encoder.example(m.text, rng.choice(contexts), message_targets(m)))
            advance(1)
        for text, context, is_held in zip(ordinary, ordinary_context, held_ordinary):
            (valid if is_held else train).append(encoder.example(text, context, {"risk": 0}))
            if is_held:
                kinds.append("ordinary")
            advance(1)
        for reply, is_held in zip(replies, held_replies):
            (valid if is_held else train).append(encoder.example(reply.text, (), {"reply": int(reply.harmful)}))
            if is_held:
                kinds.append("reply")
            advance(1)
    counts = {
        "messages": len(messages), "messages_valid": int(held.sum()),
        "ordinary": len(ordinary), "ordinary_valid": int(held_ordinary.sum()),
        "replies": len(replies), "replies_valid": int(held_replies.sum()),
        "train_examples": len(train),
    }
    data = SafetyData(train, valid, kinds, counts)
    return (data, [m for m, h in zip(messages, held) if h], [t for t, h in zip(ordinary, held_ordinary) if h],
            [r for r, h in zip(replies, held_replies) if h])


def valid_figures(probs: dict[str, np.ndarray], data: SafetyData, held: list[LabelledMessage],
                  held_replies: list[LabelledReply], crisis_at: float, harmful_at: float) -> dict[str, Any]:
    """Figures on the held-out tenth at the given thresholds."""
    kinds = np.array(data.valid_kind)
    msg, ordinary, reply = kinds == "message", kinds == "ordinary", kinds == "reply"
    crisis_p = crisis_probability(probs["risk"])
    levels = np.array([m.level for m in held])
    is_crisis = levels == "crisis"
    hit = crisis_p[msg] >= crisis_at
    category = np.array([CATEGORIES[i] for i in probs["risk"][msg][:, 2:].argmax(1)])
    gold_category = np.array([m.category or "" for m in held])
    whose = np.array([WHOSE[i] for i in probs["whose"][msg].argmax(1)])
    gold_whose = np.array([m.whose or "" for m in held])
    with_whose = is_crisis & hit & (gold_whose != "")
    harmful = np.array([r.harmful for r in held_replies])
    blocked = probs["reply"][reply][:, 1] >= harmful_at
    langs = np.array([m.lang for m in held])
    return {
        "crisis_recall": _rate(hit[is_crisis]),
        "crisis_recall_by_lang": {str(lang): _rate(hit[is_crisis & (langs == lang)]) for lang in sorted(set(langs[is_crisis]))},
        "none_at_crisis": _rate(hit[levels == "none"]),
        "elevated_at_crisis": _rate(hit[levels == "elevated"]),
        "ordinary_at_crisis": _rate(crisis_p[ordinary] >= crisis_at),
        "category_right": _rate(category[is_crisis & hit] == gold_category[is_crisis & hit]),
        "whose_right": _rate(whose[with_whose] == gold_whose[with_whose]),
        "harmful_blocked": _rate(blocked[harmful]),
        "safe_blocked": _rate(blocked[~harmful]),
        "n": {"crisis": int(is_crisis.sum()), "none": int((levels == "none").sum()),
              "elevated": int((levels == "elevated").sum()), "ordinary": int(ordinary.sum()),
              "harmful": int(harmful.sum()), "safe_replies": int((~harmful).sum())},
    }


def operating_point(scores: np.ndarray, negative: np.ndarray, budget: float) -> float:
    """The lowest threshold (0.01 steps) at which at most `budget` of the `negative` rows score
    at or above it: recall first, within a false-alarm budget."""
    for t in np.arange(0.01, 1.0, 0.01):
        if (scores[negative] >= t).mean() <= budget:
            return round(float(t), 2)
    return 0.99


def _rate(hits: np.ndarray) -> float | None:
    """Share of True in `hits`; None when it is empty."""
    return float(hits.mean()) if hits.size else None


def _mean(hits: Sequence[np.ndarray]) -> float:
    """Mean over the groups that have any rows of each group's hit rate (0 when none has)."""
    rates = [float(h.mean()) for h in hits if h.size]
    return float(np.mean(rates)) if rates else 0.0


def choose_thresholds(probs: dict[str, np.ndarray], data: SafetyData,
                      held_replies: list[LabelledReply]) -> tuple[float, float]:
    """`crisis_at` within the ordinary-message budget, `harmful_at` within the safe-reply budget."""
    kinds = np.array(data.valid_kind)
    crisis = crisis_probability(probs["risk"])
    crisis_at = operating_point(crisis, kinds == "ordinary", ORDINARY_BUDGET)
    harmful = np.array([r.harmful for r in held_replies])
    harmful_at = operating_point(probs["reply"][kinds == "reply"][:, 1], ~harmful, SAFE_REPLY_BUDGET)
    return crisis_at, harmful_at


def selection_score(data: SafetyData, held: list[LabelledMessage]) -> Callable[[dict[str, np.ndarray]], float]:
    """Early-stopping score: mean recall of none / elevated / crisis, whose accuracy and reply accuracy."""
    kinds = np.array(data.valid_kind)
    levels = np.array([m.level for m in held])
    whose = np.array([m.whose or "" for m in held])
    gold_reply = np.array([e.targets["reply"] for e, k in zip(data.valid, kinds) if k == "reply"])

    def score(probs: dict[str, np.ndarray]) -> float:
        risk = probs["risk"][kinds == "message"]
        level = np.where(crisis_probability(risk) >= 0.5, "crisis", np.where(risk[:, 1] >= risk[:, 0], "elevated", "none"))
        level_recall = _mean([(level[levels == name] == name) for name in ("none", "elevated", "crisis")])
        has = whose != ""
        whose_right = _mean([np.array(WHOSE)[probs["whose"][kinds == "message"].argmax(1)][has] == whose[has]])
        reply = probs["reply"][kinds == "reply"].argmax(1)
        reply_right = _mean([(reply[gold_reply == c] == c) for c in (0, 1)])
        return 0.5 * level_recall + 0.25 * whose_right + 0.25 * reply_right

    return score


def train_safety(specs: Sequence[str], out: Path, *, config: FineTuneConfig | None = None, limit: int = 1000,
                 corpus: Corpus | None = None, base_model: str = BASE_MODEL, command: str = "") -> dict[str, Any]:
    """Fine-tune the crisis classifier; write the adapter, thresholds, metrics and model card to `out`."""
    from heartline.models import ensure

    config = config or FineTuneConfig()
    seed_everything(config.seed)
    rules = RuleSet.builtin()
    base_dir = ensure(base_model)
    encoder = Encoder(base_dir, rules.readable)
    mined = mined_texts(specs, limit, config.seed, rules)
    data, held, _, held_replies = build_data(corpus or builtin_corpus(), encoder, mined, config.seed)
    log.info("safety data: %s", data.counts)
    steps = -(-len(data.train) // config.batch_size) * config.epochs
    with progress_bar("fine-tuning the crisis classifier (steps)", steps) as advance:
        model, result = fine_tune(base_dir, HEADS, data.train, data.valid, selection_score(data, held), out, config,
                                  base_model=base_model, max_tokens=MAX_TOKENS, first_tokens=FIRST_TOKENS,
                                  progress=lambda done, total, status: advance(1))
    probs = predict(model, data.valid, next(model.parameters()).device, config)
    crisis_at, harmful_at = choose_thresholds(probs, data, held_replies)
    figures = valid_figures(probs, data, held, held_replies, crisis_at, harmful_at)
    config_path = out / "config.json"
    adapter_config = json.loads(config_path.read_text())
    adapter_config.update({
        "features": FEATURES,
        "thresholds": {"crisis_at": crisis_at, "elevated_at": ELEVATED_AT, "harmful_at": harmful_at},
        "data": {**data.counts, "mined_from": list(specs), "limit_per_spec": limit},
        "best_epoch": result.best_epoch,
    })
    config_path.write_text(json.dumps(adapter_config, indent=2) + "\n")
    metrics = {"valid": figures, "history": result.history, "seconds": round(result.seconds, 1),
               "thresholds": adapter_config["thresholds"], "counts": data.counts, "config": asdict(config)}
    write_json(out / "metrics.json", metrics)
    (out / "MODEL_CARD.md").write_text(_card(metrics, specs, command, base_model), encoding="utf-8")
    log.info("wrote %s", out)
    return metrics


def _card(metrics: dict[str, Any], specs: Sequence[str], command: str, base_model: str) -> str:
    v, t, n = metrics["valid"], metrics["thresholds"], metrics["counts"]
    datasets = sorted({s.split(":", 1)[0] for s in specs})
    from heartline.models.catalogue import get_spec

    base = get_spec(base_model)
    return "\n".join([
        "# heartline crisis classifier", "",
        f"{base.title} ({base.licence}) fine-tuned end to end with LoRA (rank {metrics['config']['lora_r']} on the "
        "query, key, value, attention-output, up and down projections of every block) and three heads on its "
        "mean-pooled output: risk (none, elevated, or a crisis of suicide, "
        "self-harm, overdose, harm to others, abuse, danger), whose risk (self, other, child), and whether a "
        "model's sentence is harmful (the reply screen). It reads the person's message with the recent "
        "conversation (their last three messages and the supporter's last reply) as a second segment. Runs "
        "in NumPy (`heartline.finetuned`): the adapter is merged into the catalogue's base model at load.", "",
        "## Intended use", "",
        "The safety gate of a supportive chatbot, behind a rule floor; not a clinical instrument. It misses "
        "crises and raises false alarms: see the figures here and the held-out rounds in docs/safety.md.", "",
        "## Operating point", "",
        f"- crisis when the summed crisis probability reaches {t['crisis_at']}: the lowest threshold at which at "
        f"most {ORDINARY_BUDGET:.0%} of held-out ordinary messages (from real conversations) reach crisis; "
        f"elevated at {t['elevated_at']}",
        f"- a reply sentence is blocked at {t['harmful_at']}: the lowest threshold at which at most "
        f"{SAFE_REPLY_BUDGET:.0%} of held-out safe replies are blocked", "",
        "## Training data", "",
        f"- heartline's safety corpus ({n['messages']} labelled messages: earlier rounds' phrasings and sets written "
        "by independent authors in English, Spanish, French, German, Portuguese and Italian; labelled model replies); "
        "written for the project, Apache-2.0",
        *[f"- `{s}`: ordinary messages (risk-adjacent words first, minus any the rules flag) and supporter "
          "utterances as safe replies where it has them" for s in specs],
        "- augmentation: typos and no capitals on crisis and elevated messages; context-free messages paired with "
        "an ordinary conversation", "",
        "## Licences", "", f"- base model {base_model}: {base.licence} ({base.licence_note})",
        "- heartline's corpus: Apache-2.0",
        *[f"- {e}" for e in licences(datasets)],
        *(["", "Trained partly on ESConv/MESC text: research use only."] if {"esconv", "mesc"} & set(datasets) else []),
        "", "## Held-out tenth (%)", "",
        "| crisis recall | none at crisis | elevated at crisis | ordinary at crisis | category right | whose right | "
        "harmful replies blocked | safe replies blocked |",
        "|---|---|---|---|---|---|---|---|",
        "| " + " | ".join(pct(v[k], 2 if k in ("ordinary_at_crisis", "safe_blocked") else 1) for k in (
            "crisis_recall", "none_at_crisis", "elevated_at_crisis", "ordinary_at_crisis", "category_right",
            "whose_right", "harmful_blocked", "safe_blocked")) + " |", "",
        "Crisis recall by language: " + ", ".join(f"{k} {pct(x)}" for k, x in v["crisis_recall_by_lang"].items()),
        "", "## Reproduce", "", "```", command, "```", "",
    ])

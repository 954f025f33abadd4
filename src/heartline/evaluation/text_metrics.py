"""Response-text metrics, each matching the reference implementation it names.

Every function takes parallel lists of hypothesis and reference strings (one reference per
hypothesis, as in ESConv) and returns a corpus-level score. Scales follow the papers: BLEU,
ROUGE, Distinct and unigram F1 on 0-100; length in tokens. ``docs/metrics.md`` gives the
formulas, the tokenisation and every deviation.

References matched:
- ``bleu``, ``rouge_l_esconv``, ``distinct_esconv``, ``unigram_f1``, ``mean_length``:
  ESConv's ``codes_zcj/metric/myMetrics.py`` (thu-coai/Emotional-Support-Conversation),
  through NLTK's ``corpus_bleu`` for BLEU.
- ``sacrebleu``: sacreBLEU's corpus BLEU with its defaults (13a tokenizer, exp smoothing).
- ``rouge_l``: Google's ``rouge-score`` ``rougeL`` F-measure, without stemming.
- ``distinct``: distinct n-grams over all n-grams of the corpus (the count ESConv meant).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Sequence

from heartline.errors import HeartlineError
from heartline.evaluation.tokenize import EVAL_EXTRA_HINT, esconv_tokenize

log = logging.getLogger(__name__)

MAX_ORDER = 4


def _check_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise HeartlineError(
            f"{len(hypotheses)} hypotheses but {len(references)} references",
            hint="pass one reference per hypothesis, in the same order",
        )
    if not hypotheses:
        raise HeartlineError("no hypotheses to score", hint="pass at least one response")


def _check_order(n: int) -> None:
    if not 1 <= n <= MAX_ORDER:
        raise ValueError(f"n-gram order must be 1..{MAX_ORDER}, got {n}")


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


# --- BLEU ---------------------------------------------------------------------------------


def bleu_weights(n: int, individual: bool = False) -> tuple[float, ...]:
    """NLTK weights for BLEU-n: cumulative ``(1/n,)*n`` (ESConv) or one-hot on order n."""
    _check_order(n)
    if individual:
        return tuple(1.0 if i == n - 1 else 0.0 for i in range(MAX_ORDER))
    return (1.0 / n,) * n + (0.0,) * (MAX_ORDER - n)


def bleu(hypotheses: Sequence[str], references: Sequence[str], n: int = 4,
         individual: bool = False) -> float:
    """Corpus BLEU-n as ESConv's script computes it, 0-100.

    ``nltk.translate.bleu_score.corpus_bleu`` over ESConv tokens (lower-cased
    ``nltk.word_tokenize``), weights ``(1/n,)*n`` padded with zeros to 4, smoothing
    ``SmoothingFunction().method3``; a ``ZeroDivisionError`` scores 0 as in the script.
    ``individual=True`` instead weighs only the n-gram precision of order n (what some
    scripts mislabel as BLEU-n); it is reported separately, never as BLEU-n.
    """
    _check_pairs(hypotheses, references)
    try:
        from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu
    except ImportError as exc:
        raise HeartlineError(f"BLEU needs nltk ({exc})", hint=EVAL_EXTRA_HINT) from exc
    hyps = [esconv_tokenize(h) for h in hypotheses]
    refs = [[esconv_tokenize(r)] for r in references]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NLTK warns on zero counts; smoothing handles them
            score = corpus_bleu(refs, hyps, weights=bleu_weights(n, individual),
                                smoothing_function=SmoothingFunction().method3)
    except ZeroDivisionError:
        log.warning("BLEU-%d is undefined on this corpus (no hypothesis n-grams); scoring 0", n)
        score = 0.0
    return 100.0 * float(score)


def sacrebleu(hypotheses: Sequence[str], references: Sequence[str],
              n: int = 4) -> tuple[float, str]:
    """sacreBLEU corpus BLEU with n-gram orders 1..n (default 4 = standard BLEU).

    sacreBLEU's defaults: its own 13a tokenizer on the raw, case-kept text; exp smoothing.
    Returns the score (0-100) and sacreBLEU's signature, which pins tokenizer, case,
    smoothing and version: report it next to the number.
    """
    _check_pairs(hypotheses, references)
    _check_order(n)
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as exc:
        raise HeartlineError(f"sacreBLEU is not installed ({exc})", hint=EVAL_EXTRA_HINT) from exc
    metric = BLEU(max_ngram_order=n)
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return float(result.score), str(metric.get_signature())


# --- ROUGE-L ------------------------------------------------------------------------------

_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def rouge_tokenize(text: str) -> list[str]:
    """``rouge-score``'s default tokenizer without stemming: lower-case a-z0-9 runs only."""
    return _NON_ALPHANUMERIC.sub(" ", text.lower()).split()


def rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Mean ``rouge-score`` rougeL F1 (``use_stemmer=False``) over pairs, 0-100.

    P = LCS/|hyp|, R = LCS/|ref|, F = 2PR/(P+R); a pair with an empty side scores 0.
    Note: rouge-score's tokenizer drops every character outside a-z0-9, so non-Latin
    text scores 0 (as it does in rouge-score).
    """
    _check_pairs(hypotheses, references)
    total = 0.0
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = rouge_tokenize(hypothesis), rouge_tokenize(reference)
        if not hyp or not ref:
            continue
        lcs = _lcs_length(ref, hyp)
        precision, recall = lcs / len(hyp), lcs / len(ref)
        if precision + recall > 0:
            total += 2 * precision * recall / (precision + recall)
    return 100.0 * total / len(hypotheses)


def rouge_l_esconv(hypotheses: Sequence[str], references: Sequence[str],
                   beta: float = 1.2) -> float:
    """Mean ROUGE-L F_beta (beta 1.2) over pairs as ESConv's script computes it, 0-100.

    On ESConv tokens: P = LCS/|hyp|, R = LCS/|ref|, F = (1+b^2)PR / (R + b^2 P), 0 when P
    or R is 0 (the pycocoevalcap formula, which weighs recall more than F1 does).
    """
    _check_pairs(hypotheses, references)
    total = 0.0
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = esconv_tokenize(hypothesis), esconv_tokenize(reference)
        lcs = _lcs_length(ref, hyp)
        precision, recall = lcs / max(len(hyp), 1e-10), lcs / max(len(ref), 1e-10)
        if precision != 0 and recall != 0:
            total += (1 + beta**2) * precision * recall / (recall + beta**2 * precision)
    return 100.0 * total / len(hypotheses)


# --- diversity, length, overlap -------------------------------------------------------------


def _distinct(token_lists: Sequence[Sequence[str]], n: int, skip_last: bool) -> float:
    _check_order(n)
    seen: set[tuple[str, ...]] = set()
    total = 0
    for tokens in token_lists:
        stop = len(tokens) - n + (0 if skip_last else 1)
        for i in range(max(stop, 0)):
            seen.add(tuple(tokens[i : i + n]))
            total += 1
    if total == 0:
        log.warning("distinct-%d is undefined (no %d-grams in the responses); scoring 0", n, n)
        return 0.0
    return 100.0 * len(seen) / total


def distinct(hypotheses: Sequence[str], n: int) -> float:
    """Corpus distinct-n: distinct n-grams / all n-grams over every response, 0-100."""
    return _distinct([esconv_tokenize(h) for h in hypotheses], n, skip_last=False)


def distinct_esconv(hypotheses: Sequence[str], n: int) -> float:
    """ESConv's ``dist-n``, 0-100: as ``distinct`` but, like the script's
    ``range(0, len(sen) - k)``, it skips the last n-gram of every response."""
    return _distinct([esconv_tokenize(h) for h in hypotheses], n, skip_last=True)


def mean_length(hypotheses: Sequence[str]) -> float:
    """Mean response length in ESConv tokens (ESConv's ``length``)."""
    if not hypotheses:
        raise HeartlineError("no hypotheses to measure", hint="pass at least one response")
    return sum(len(esconv_tokenize(h)) for h in hypotheses) / len(hypotheses)


def unigram_f1(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Mean unigram-overlap F1 over pairs on ESConv tokens (ESConv's ``f1``), 0-100."""
    _check_pairs(hypotheses, references)
    total = 0.0
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = esconv_tokenize(hypothesis), esconv_tokenize(reference)
        overlap = sum((Counter(hyp) & Counter(ref)).values())
        precision, recall = overlap / max(len(hyp), 1e-10), overlap / max(len(ref), 1e-10)
        total += 2 * precision * recall / max(precision + recall, 1e-10)
    return 100.0 * total / len(hypotheses)


def response_metrics(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Every reference-based text metric above under its report name (see docs/metrics.md)."""
    _check_pairs(hypotheses, references)
    scores: dict[str, float] = {}
    for n in range(1, MAX_ORDER + 1):
        scores[f"bleu-{n}"] = bleu(hypotheses, references, n)
    for n in range(2, MAX_ORDER + 1):
        scores[f"bleu-{n}-individual"] = bleu(hypotheses, references, n, individual=True)
    for n in range(1, MAX_ORDER + 1):
        scores[f"sacrebleu-{n}"] = sacrebleu(hypotheses, references, n)[0]
    scores["rouge-l"] = rouge_l_esconv(hypotheses, references)
    scores["rougeL-f1"] = rouge_l(hypotheses, references)
    scores["unigram-f1"] = unigram_f1(hypotheses, references)
    scores.update(diversity_metrics(hypotheses))
    return scores


def diversity_metrics(hypotheses: Sequence[str]) -> dict[str, float]:
    """Reference-free text metrics: distinct-1..3 (both countings) and mean length."""
    scores: dict[str, float] = {}
    for n in range(1, 4):
        scores[f"distinct-{n}"] = distinct(hypotheses, n)
    for n in range(1, 4):
        scores[f"dist-{n}-esconv"] = distinct_esconv(hypotheses, n)
    scores["length"] = mean_length(hypotheses)
    return scores

"""Corpus perplexity from the per-token log-probabilities a backend reports."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from heartline.errors import HeartlineError


def corpus_perplexity(token_logprobs: Iterable[Sequence[float]]) -> float:
    """``exp(-sum of all token log-probs / number of tokens)`` over the whole corpus.

    Log-probabilities are natural logs of the probability of each reference (or generated)
    token given its prefix, one list per response. Every token weighs the same, as in
    ESConv's ``exp(total loss / total tokens)``. Averaging per-response perplexities instead
    (a known bug) over-weighs short responses and is not what this computes.
    """
    total = 0.0
    count = 0
    for response in token_logprobs:
        for logprob in response:
            if not math.isfinite(logprob) or logprob > 0:
                raise HeartlineError(f"invalid token log-probability {logprob!r}",
                                     hint="log-probabilities must be finite natural logs <= 0")
            total += logprob
            count += 1
    if count == 0:
        raise HeartlineError("no token log-probabilities to compute perplexity from",
                             hint="the backend must report per-token log-probabilities")
    return math.exp(-total / count)

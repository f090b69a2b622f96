"""Evaluation on BEIR-layout data sets: what `lore eval retrieval` and `lore eval answers` run.

    datasets    a set's corpus, its judged queries with their gold documents and answers
    metrics     pure scoring: nDCG, recall, MRR, latency percentiles, shares, answer matching
    retrieval   every judged query searched, and the figures `lore eval retrieval` prints
    answers     every judged query answered through the real answer path, and `lore eval answers`' figures
    abstention  the extractive provider's calibration figures (`python -m lore.evaluation.abstention`)

Nothing is imported here: `datasets` and `metrics` stay cheap for benchmarks that need no service.
"""

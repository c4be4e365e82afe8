"""Measurement: the sample, one recorded pass of the network over it, and the Hellinger tables.

    names.py       the analysis's vocabulary: errors, file names, defaults, the (x, y) `Pair`
    sample.py      held-out Armenian sentences (UD *-test.conllu + ARPA test.tsv), seeded order
    recording.py   the model's hooked pass over the sample: per position x, y, prediction, h and c
    stats.py       histograms, Hellinger distances and permutation nulls, vectorized
    tables.py      H for every unit x every (x, y) pair with enough positions, with its null

This layer imports nothing else of `analysis`: the methods, the store and the pipeline build on it.
"""

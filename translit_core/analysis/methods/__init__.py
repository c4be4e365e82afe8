"""Methods: what the lab asks of the recorded units, causal and descriptive.

    scoring.py       the decision x -> y scored with some units replaced (ablation, rankings, breaking)
    ablation.py      the causal check: silence the most selective units against random ones, a verdict
    intervene.py     interventions and steering on the user's own text
    attribution.py   integrated gradients (Captum) for one output character: inputs and units
    ranking.py       six rankings of a layer's units for a pair, judged by ablating their top k
    hypothesis.py    LSTMVis-style matching: units "on in a span, off around it", and where else
    tracks.py        annotation tracks (letter classes, word position) and the units that follow them
    uncertainty.py   bootstrap intervals on the direction claims, selection / scoring splits
    saturation.py    how often each gate unit sits near 0 or 1 (Karpathy et al.'s gate figure)
    clusters.py      correlation clusters of units and their redundancy (NeuroX)

Methods import `measurement` only; the store and the pipeline import them.
"""

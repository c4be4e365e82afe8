"""Comparisons: one model against another, and one model against its own training run.

    models.py      two models unit by unit on the same sample and statistics (base, twin, control)
    dynamics.py    how the key units form during training, from the snapshots a run keeps
"""

"""Training: examples (romanized afresh every epoch, augmented) and the training loop.

    data.py          examples: alphabets, code-switching, chunking and batching
    train.py         `TrainConfig`, `train` -> `TrainResult`: the loop, single process or torchrun
    state.py         the state `train --resume` continues from (weights, AdamW's moments, counters)
    regularizers.py  DeCov and friends: a loss on the activations for an easier-to-read twin
    snapshots.py     weights kept during a run, for the training-dynamics view
"""

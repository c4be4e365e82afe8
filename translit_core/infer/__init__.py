"""Inference: the Transliterator, the known-word rule on top of it, evaluation, and the dtype
the hardware runs the network's head fastest in (`device`)."""

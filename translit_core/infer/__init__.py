"""Inference: the Transliterator, the known-word rule on top of it, and evaluation."""

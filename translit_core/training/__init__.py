"""Training: examples (romanized afresh every epoch, augmented) and the training loop."""

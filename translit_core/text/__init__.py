"""Text: the romanization rules, sampled typed spellings, the training corpus, words and chunks."""

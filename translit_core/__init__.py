"""translit_core: Latin-typed Armenian -> Armenian script with a character-level biLSTM, and the
tools to look inside it. Pure Python/PyTorch; the dashboard (the `dashboard` package, `app.py`)
lives outside it.

The folders follow the pipeline:

    text/       rules (the romanization rules file), romanize (sampling typed spellings),
                corpus (`prepare`: the training text), words (chunks, word counts)
    model/      alphabets, names (the neuron naming scheme), net (the network, once, with hook
                points), checkpoint (safetensors + JSON)
    training/   data (augmentation, batches), train (the training loop), regularizers (DeCov),
                snapshots (weights kept during a run)
    infer/      transliterator (`Transliterator`), lexicon (the known-word rule), evaluate
    analysis/   measurement/ (sample -> recording -> tables), methods/ (ablation, interventions,
                attribution, ...), comparison/ (model against model), store, queries, pipeline
    reports/    docs/FINDINGS.md, written from the analyses
    cli/        `python -m translit_core` and `translit`, one module per group of commands
    settings.py paths and environment variables

    from translit_core import Transliterator
    Transliterator.load().transliterate("barev dzez")   # -> "բարև ձեզ"
"""
from .infer.transliterator import Transliterator

__all__ = ["Transliterator"]

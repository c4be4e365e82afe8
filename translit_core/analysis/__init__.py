"""Neuron analysis: YerevaNN's "Interpreting neurons in an LSTM network" on our model.

The pipeline (`python -m translit_core analyze`, pipeline.py), one module a step:

    sample.py      held-out Armenian sentences (UD *-test.conllu + ARPA test.tsv), seeded order
    recording.py   the model's hooked pass over them; per position x, y, prediction, h and c;
                   every other layer derived on demand through the model's own pieces
    stats.py       histograms and Hellinger distances, vectorized
    tables.py      H for every neuron x every (x, y) pair with enough positions, and the means
    ablation.py    the causal check: interventions on the most selective neurons
    store.py       the analysis file next to the checkpoint, and `Analysis`, its query object
    queries.py     on demand: one histogram, top contexts, neurons for a substring
    findings.py    docs/FINDINGS.md from all of the above
    cli.py         the analysis commands of `python -m translit_core`

Names (neurons, layers) come from `translit_core.model.names`; pairs are `names.Pair`.
"""
from ..model.names import LAYERS, NeuronId, UnknownName
from .ablation import ABLATABLE_LAYERS, AblationResult, ablate, ablate_recording, pairs_to_ablate
from .names import (ANALYSIS_FILES, ANALYSIS_META, ANALYSIS_WEIGHTS, DEFAULT_BINS, DEFAULT_MIN_COUNT, POST_PAIRS,
                    AnalysisError, AnalysisMissing, Pair, SampleMissing, analyze_command)
from .pipeline import run_analysis
from .queries import Context, Histogram, histogram, span_mask, substring_selectivity, top_contexts
from .recording import Recording, pair_activations, pair_counts, record_activations, resolve_pair
from .sample import sample_sentences, text_sentences
from .stats import bin_index, hellinger, hellinger_from_counts, ranked_units, slot_histograms
from .store import Analysis, load_or_record
from .tables import HellingerTables, NeuronScore, PairScore, hellinger_tables

__all__ = [
    "AnalysisError", "AnalysisMissing", "SampleMissing", "UnknownName", "NeuronId", "LAYERS", "Pair",
    "sample_sentences", "text_sentences", "Recording", "record_activations", "pair_counts", "resolve_pair",
    "pair_activations", "hellinger", "hellinger_from_counts", "bin_index", "slot_histograms", "ranked_units",
    "hellinger_tables", "HellingerTables", "NeuronScore", "PairScore", "Analysis", "load_or_record",
    "Histogram", "histogram", "substring_selectivity", "span_mask", "top_contexts", "Context",
    "ablate", "ablate_recording", "AblationResult", "ABLATABLE_LAYERS", "pairs_to_ablate", "POST_PAIRS",
    "run_analysis", "analyze_command", "ANALYSIS_FILES", "ANALYSIS_META", "ANALYSIS_WEIGHTS",
    "DEFAULT_BINS", "DEFAULT_MIN_COUNT",
]

"""Neuron analysis: YerevaNN's "Interpreting neurons in an LSTM network" on our model.

Layers, each importing only those listed before it (tests/unit/test_layout.py checks):

    measurement/   the sample, the recorded pass, histograms and the Hellinger tables
    methods/       ablation, interventions, attribution, rankings, hypotheses, tracks,
                   uncertainty, gate saturation, clusters
    graph.py       the neuron graph's edges: weight x mean activation
    store.py       the analysis file next to a checkpoint, and `Analysis`, its query object
    queries.py     on demand: one histogram, top contexts, units for a substring
    pipeline.py    `python -m translit_core analyze`: record, tabulate, ablate, compare methods, save
    comparison/    one model against another (base, twin, control), and against its training run

The report writers are in `translit_core.reports`, the commands in `translit_core.cli`. Names
(units, layers) come from `translit_core.model.names`; pairs are `measurement.names.Pair`.
"""
from ..model.names import LAYERS, NeuronId, UnknownName
from .methods.ablation import ABLATABLE_LAYERS, AblationResult, ablate, ablate_recording, pairs_to_ablate
from .measurement.names import (ANALYSIS_FILES, ANALYSIS_META, ANALYSIS_WEIGHTS, DEFAULT_BINS, DEFAULT_MIN_COUNT,
                                POST_PAIRS, AnalysisError, AnalysisMeta, AnalysisMissing, CheckpointRef, Pair,
                                SampleMissing, analyze_command)
from .pipeline import AnalysisRun, run_analysis
from .queries import Context, Histogram, histogram, span_mask, substring_selectivity, top_contexts
from .measurement.recording import Recording, pair_activations, pair_counts, record_activations, resolve_pair
from .measurement.sample import sample_sentences, text_sentences
from .measurement.stats import bin_index, hellinger, hellinger_from_counts, ranked_units, slot_histograms
from .store import Analysis, load_or_record
from .measurement.tables import HellingerTables, NeuronScore, PairScore, hellinger_tables

__all__ = [
    "AnalysisError", "AnalysisMissing", "SampleMissing", "UnknownName", "NeuronId", "LAYERS", "Pair",
    "sample_sentences", "text_sentences", "Recording", "record_activations", "pair_counts", "resolve_pair",
    "pair_activations", "hellinger", "hellinger_from_counts", "bin_index", "slot_histograms", "ranked_units",
    "hellinger_tables", "HellingerTables", "NeuronScore", "PairScore", "Analysis", "load_or_record",
    "Histogram", "histogram", "substring_selectivity", "span_mask", "top_contexts", "Context",
    "ablate", "ablate_recording", "AblationResult", "ABLATABLE_LAYERS", "pairs_to_ablate", "POST_PAIRS",
    "run_analysis", "AnalysisRun", "AnalysisMeta", "CheckpointRef",
    "analyze_command", "ANALYSIS_FILES", "ANALYSIS_META", "ANALYSIS_WEIGHTS",
    "DEFAULT_BINS", "DEFAULT_MIN_COUNT",
]

"""Which ranking finds the neurons the model uses? Six ways to rank the units of a layer for a
pair x:y, judged by what ablating their top k does to the decision on data none of them saw.

    hellinger   H between the activations where the target is y and where it is not (the post)
    excess      H minus its label-permutation null (tables.py)
    probeless   |mean on y - mean elsewhere| x the norm of the unit's outgoing weights
                (Antverg & Belinkov 2022: no probe, and weighted by what the next layer reads)
    probe       |coefficient| of an elastic-net logistic regression y vs not-y on the layer's
                standardised activations (NeuroX's linguistic correlation analysis; scikit-learn)
    gradient    integrated gradients of log p(y) with respect to the layer, from the ablation's
                own baseline (the units' means), mean over the positions of y (Captum): by
                completeness it estimates what replacing each unit alone costs
    greedy      causal selection: the unit whose replacement costs the most log p(y) given the
                ones already chosen (GREEDY_STEPS steps among the PRESCREEN units the gradient
                ranks first; after that by their cost alone, then by the gradient)

Every ranking is computed on one seeded random half of the sentences (the probe, the gradients
and the greedy search on a seeded subset of at most MAX_FIT of its positions of x); the curves
(target accuracy and mean delta log p(y) on the positions of y, for k = 1, 2, 5, 10, 20, 50) on
the other half (at most PER_OUTPUT seeded positions of y), head-only (the layers above the biLSTM, as
the stored ablations), with a band of random k-unit draws. `rank_methods` returns one MethodCurve per
method plus "random".

Each curve's area (its mean delta log p(y) over the ks) comes with a 95% bootstrap interval over the
scoring half's sentences (AREA_RESAMPLES resamples; the positions of a sentence go together, and every
method is scored on the same positions, so differences between methods are paired: the same resamples
for all). The best ranking is named only when its area beats the runner-up's with a paired interval
that excludes 0, and never the greedy search: it optimises the very measure on the other half, so it
is the upper reference the cheap rankings are held against.
"""
from __future__ import annotations

import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from ...model.names import READOUT_LAYERS, UnknownName, parse_layer
from .ablation import PER_OUTPUT
from .scoring import DecisionScorer
from .uncertainty import draw_sentences
from ..measurement.names import DEFAULT_BINS, DEFAULT_SHUFFLES, Pair
from ..measurement.recording import Recording, resolve_pair
from ..measurement.stats import percentile_interval, ranked_units
from ..measurement.tables import hellinger_tables

METHODS = ("hellinger", "excess", "probeless", "probe", "gradient", "greedy")
KS = (1, 2, 5, 10, 20, 50)
RANDOM_DRAWS = 30           # random k-unit draws per k for the band
MAX_FIT = 6000              # positions the probe and the greedy search use (a seeded subset of the half)
AREA_RESAMPLES = 1000       # bootstrap resamples of the scoring half's sentences behind each area's interval
UPPER_REFERENCE = "greedy"  # optimises the measure itself: shown as the ceiling, never called the best
GREEDY_STEPS, PRESCREEN = 10, 20
IG_STEPS, IG_POSITIONS = 16, 1500
# saga's epochs for the probe. On the post's rarest pairs (o:օ, t:ծ) it needs ~2,000 to converge
# (50-60 s each); after 100 its top 10 units agree 8-10 of 10 with the converged probe's (after
# 300: 9-10 of 10), at a third of 300's time: the probe was 35 of analyze's 54 s of method curves.
PROBE_EPOCHS = 100


@dataclass(frozen=True)
class CurvePoint:
    k: int
    target_accuracy: float           # accuracy on the positions of y (held-out half)
    delta_logp: float                # mean change of log p(y) there
    target_accuracy_std: float | None = None   # (random band only) over the draws
    delta_logp_std: float | None = None

    def to_dict(self) -> dict:
        d = {"k": self.k, "target_accuracy": round(self.target_accuracy, 6), "delta_logp": round(self.delta_logp, 6)}
        if self.target_accuracy_std is not None:
            d.update(target_accuracy_std=round(self.target_accuracy_std, 6),
                     delta_logp_std=round(self.delta_logp_std, 6))
        return d


@dataclass
class MethodCurve:
    method: str
    curve: list[CurvePoint]
    top_units: list[int] = field(default_factory=list)    # the method's first 20 units
    seconds: float = 0.0                                  # ranking time
    area_interval: tuple[float, float] | None = None      # 95% bootstrap interval of the area (sentences)

    def to_dict(self) -> dict:
        d = {"method": self.method, "curve": [p.to_dict() for p in self.curve], "top_units": self.top_units,
             "seconds": round(self.seconds, 2)}
        if self.area_interval is not None:
            d["area_interval"] = [round(v, 6) for v in self.area_interval]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MethodCurve":
        interval = d.get("area_interval")
        return cls(d["method"], [CurvePoint(**p) for p in d["curve"]], list(d.get("top_units", [])),
                   float(d.get("seconds", 0.0)), tuple(interval) if interval else None)


@dataclass
class MethodComparison:
    pair: str
    layer: str
    curves: list[MethodCurve]
    n_pos_select: int              # positions of y in the half the rankings saw
    n_pos_score: int               # ... in the half the curves are measured on
    seed: int = 0
    n_sentences_score: int = 0     # sentences of the scoring half behind the curves (the bootstrap's units)
    resamples: int = 0             # bootstrap resamples behind the intervals (0: none, an older analysis)
    best: str | None = None        # the lowest area but greedy's, when it beats the runner-up beyond the noise
    runner_up: str | None = None
    best_margin: tuple[float, float, float] | None = None      # area(best) - area(runner-up): estimate, 95% interval
    excess_vs_hellinger: tuple[float, float, float] | None = None   # area(excess) - area(hellinger), paired

    def to_dict(self) -> dict:
        d = {"pair": self.pair, "layer": self.layer, "seed": self.seed, "n_pos_select": self.n_pos_select,
             "n_pos_score": self.n_pos_score, "methods": [c.to_dict() for c in self.curves]}
        if self.resamples:
            d.update(n_sentences_score=self.n_sentences_score, resamples=self.resamples, best=self.best,
                     runner_up=self.runner_up,
                     best_margin=[round(v, 6) for v in self.best_margin] if self.best_margin else None,
                     excess_vs_hellinger=[round(v, 6) for v in self.excess_vs_hellinger]
                     if self.excess_vs_hellinger else None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MethodComparison":
        def triple(key):
            return tuple(d[key]) if d.get(key) else None
        return cls(d["pair"], d["layer"], [MethodCurve.from_dict(c) for c in d["methods"]], d["n_pos_select"],
                   d["n_pos_score"], d.get("seed", 0), d.get("n_sentences_score", 0), d.get("resamples", 0),
                   d.get("best"), d.get("runner_up"), triple("best_margin"), triple("excess_vs_hellinger"))

    def curve(self, method: str) -> MethodCurve:
        return next(c for c in self.curves if c.method == method)

    def area(self, method: str) -> float:
        """Mean delta log p(y) over the ks: one number per method (more negative = finds units
        the model uses)."""
        pts = self.curve(method).curve
        return sum(p.delta_logp for p in pts) / len(pts)


def _outgoing_norm(recording: Recording, layer: str) -> torch.Tensor:
    """(units,) norm of each unit's weights into the next layer."""
    m, H = recording.model, recording.H
    if layer == "concat.fwd":
        return m.dense.weight[:, :H].norm(dim=0)
    if layer == "concat.bwd":
        return m.dense.weight[:, H:].norm(dim=0)
    return m.out.weight[:, : m.config.hidden].norm(dim=0)


def _subset(n: int, size: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:size].sort().values


def _probe_ranking(acts: torch.Tensor, is_pos: torch.Tensor, seed: int) -> torch.Tensor:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    X = StandardScaler().fit_transform(acts.double().numpy())
    probe = LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=0.5, C=0.1, class_weight="balanced",
                               max_iter=PROBE_EPOCHS, tol=1e-3, random_state=seed)
    with warnings.catch_warnings():
        # saga may stop at max_iter short of tol: the ranking by |coefficient| has settled long
        # before (the curves are what judge it), so the warning says nothing useful here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(X, is_pos.numpy())
    return torch.from_numpy(abs(probe.coef_[0])).float()


def _gradient_ranking(sc: DecisionScorer, rows: torch.Tensor) -> torch.Tensor:
    """Mean integrated gradients of log p(y) over `rows` (indices into the scorer's scored
    positions), from the units' replacement values."""
    from captum.attr import IntegratedGradients
    concat, x, _, hidden = sc.ctx
    model, H, layer, yk = sc.recording.model, sc.recording.H, sc.layer, sc.yk
    c, xs = concat[rows], x[rows]

    def log_p(acts: torch.Tensor) -> torch.Tensor:      # acts (m, units) -> (m,) log p(y)
        n_rep = acts.shape[0] // xs.shape[0]
        xr = xs.repeat(n_rep)
        if layer == "hidden":
            logits = model.output_layer(acts, model.direct_term(xr))[1]
        else:
            cc = c.repeat(n_rep, 1)
            cc = torch.cat([acts, cc[:, H:]], 1) if layer == "concat.fwd" else torch.cat([cc[:, :H], acts], 1)
            logits = model.head(cc, xr)[1]
        return torch.log_softmax(logits, -1)[:, yk]

    acts = (c[:, :H] if layer == "concat.fwd" else c[:, H:] if layer == "concat.bwd" else hidden[rows]).clone()
    base = sc.value.unsqueeze(0).expand_as(acts)

    def total_log_p(acts: torch.Tensor) -> torch.Tensor:
        # The rows are independent, so the gradient of the sum is every row's own gradient; one
        # output instead of one per row spares Captum a backward seed per row (20x faster here).
        return log_p(acts).sum().unsqueeze(0)

    with torch.enable_grad():
        attr = IntegratedGradients(total_log_p).attribute(acts, baselines=base, n_steps=IG_STEPS,
                                                          internal_batch_size=4096)
    return attr.mean(0).detach()


def _greedy_ranking(sc: DecisionScorer, first_order: torch.Tensor) -> torch.Tensor:
    """Greedy causal order. Candidates: the PRESCREEN units with the largest first-order estimate
    of their own cost (`first_order`, the integrated gradients: replacing every unit alone would
    be `units` more passes). Among them, step by step, the unit whose replacement together with
    those chosen costs the most log p(y); after GREEDY_STEPS, the candidates by their cost alone;
    then the rest by the first-order estimate."""
    order = ranked_units(first_order).tolist()
    pool = order[:PRESCREEN]
    alone = {u: sc.metrics(torch.tensor([u]))[2] for u in pool}
    chosen: list[int] = []
    for _ in range(min(GREEDY_STEPS, len(pool))):
        costs = [(sc.metrics(torch.tensor(chosen + [u]))[2], u) for u in pool if u not in chosen]
        chosen.append(min(costs)[1])
    chosen += sorted((u for u in pool if u not in chosen), key=lambda u: alone[u])
    return torch.tensor(chosen + [u for u in order if u not in chosen])


def _check_request(layer: str, methods) -> str:
    """The layer's canonical name; unknown methods and layers the head does not read are refused."""
    layer = parse_layer(layer)
    if layer not in READOUT_LAYERS:
        raise UnknownName(f"rank-methods compares rankings of {', '.join(READOUT_LAYERS)} (the layers the head "
                          f"reads), not {layer}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UnknownName(f"unknown method(s) {', '.join(unknown)}; methods: {', '.join(METHODS)}")
    return layer


@dataclass
class _Halves:
    """The sentences split in two: the rankings are made on the first half's positions, the
    curves measured on the second's."""
    first: torch.Tensor              # (positions,) bool: in the first half's sentences
    select: DecisionScorer           # a seeded subset of at most MAX_FIT positions of x in the first half
    select_y: DecisionScorer         # ... those of them with target y
    score: DecisionScorer            # the positions of y in the second half (at most PER_OUTPUT)


def _halves(recording: Recording, p: Pair, xi: int, yk: int, layer: str, seed: int) -> _Halves:
    first, second = recording.sentence_halves(seed)
    at_x = ((recording.x == xi) & first).nonzero().squeeze(1)
    fit_rows = torch.zeros_like(first)
    fit_rows[at_x[_subset(at_x.numel(), MAX_FIT, seed)]] = True
    select = DecisionScorer(recording, p, layer, rows=fit_rows)
    # The greedy search and the curves read only the metrics on the positions of y (their
    # accuracy and log p(y)): scorers of those positions alone give the same numbers, 2-7x faster.
    at_y = recording.y == yk
    select_y = DecisionScorer(recording, p, layer, rows=fit_rows & at_y, per_output=PER_OUTPUT, seed=seed)
    score = DecisionScorer(recording, p, layer, rows=second & at_y, per_output=PER_OUTPUT, seed=seed)
    if not select.is_pos.any() or not score.is_pos.any():
        raise UnknownName(f"{p} needs positions of {p.y} in both halves of the sentences")
    return _Halves(first, select, select_y, score)


def _hellinger_rankings(recording: Recording, p: Pair, layer: str, first: torch.Tensor, bins: int, shuffles: int,
                        seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The units by H and by H excess on the first half's positions of x."""
    tables = hellinger_tables(recording, bins=bins, layers=[layer], shuffles=shuffles, seed=seed, mask=first,
                              inputs={p.x}, min_count=1)       # the pair was chosen already; any count will do
    rows = [str(q) for q in tables.pairs]
    if str(p) not in rows:
        raise UnknownName(f"{p} has too few positions in half of the sentences for a Hellinger ranking")
    row = rows.index(str(p))
    return ranked_units(tables.hellinger[row]), ranked_units(tables.hellinger_excess[row])


def _rankings(recording: Recording, p: Pair, layer: str, methods, halves: _Halves, bins: int, shuffles: int,
              seed: int) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Every method's order of the layer's units -> ({method: order}, {method: seconds})."""
    select = halves.select
    fit_acts, fit_pos = select.acts[select.scored], select.is_pos
    rankings, seconds = {}, {}

    def timed(name, make):
        t = time.perf_counter()
        rankings[name] = make()
        seconds[name] = time.perf_counter() - t

    probe = None
    if "probe" in methods:
        # saga runs on one core and releases the GIL: the probe fits in a second thread while
        # the other rankings are computed (its seconds are then its own wall time beside them)
        pool = ThreadPoolExecutor(1, thread_name_prefix="probe")
        started = time.perf_counter()
        probe = pool.submit(lambda: (ranked_units(_probe_ranking(fit_acts, fit_pos, seed)), time.perf_counter()))
    if {"hellinger", "excess"} & set(methods):
        t = time.perf_counter()
        rankings["hellinger"], rankings["excess"] = _hellinger_rankings(recording, p, layer, halves.first, bins,
                                                                        shuffles, seed)
        seconds["hellinger"] = seconds["excess"] = time.perf_counter() - t
    if "probeless" in methods:
        diff = fit_acts[fit_pos].mean(0) - fit_acts[~fit_pos].mean(0)
        timed("probeless", lambda: ranked_units(diff.abs() * _outgoing_norm(recording, layer)))
    ig = None
    if {"gradient", "greedy"} & set(methods):
        on_y = select.is_pos.nonzero().squeeze(1)                              # rows of the scored positions
        on_y = on_y[_subset(on_y.numel(), IG_POSITIONS, seed)]
        t = time.perf_counter()
        ig = _gradient_ranking(select, on_y)
        rankings["gradient"], seconds["gradient"] = ranked_units(ig), time.perf_counter() - t
    if "greedy" in methods:
        timed("greedy", lambda: _greedy_ranking(halves.select_y, ig))
    if probe is not None:
        rankings["probe"], done = probe.result()
        seconds["probe"] = done - started
        pool.shutdown()
    return rankings, seconds


def _random_band(score: DecisionScorer, units: int, ks: list[int], random_draws: int, seed: int) -> list[CurvePoint]:
    """The curve of k random units: mean and standard deviation over `random_draws` draws per k."""
    gen = torch.Generator().manual_seed(seed)
    band = []
    for k in ks:
        draws = torch.tensor([score.metrics(torch.randperm(units, generator=gen)[:k])[1:3]
                              for _ in range(random_draws)], dtype=torch.float64)   # (draws, 2)
        band.append(CurvePoint(k, float(draws[:, 0].mean()), float(draws[:, 1].mean()),
                               float(draws[:, 0].std()), float(draws[:, 1].std())))
    return band


def rank_methods(recording: Recording, pair: "str | Pair", layer: str, ks=KS, methods=METHODS,
                 random_draws: int = RANDOM_DRAWS, seed: int = 0, bins: int = DEFAULT_BINS,
                 shuffles: int = DEFAULT_SHUFFLES) -> MethodComparison:
    """Rank `layer`'s units for `pair` by every method on one half of the sentences and measure
    the ablation curve of each ranking on the other half (see the module's docstring)."""
    layer = _check_request(layer, methods)
    xi, yk, p = resolve_pair(recording, pair)
    units = recording.sizes[layer]
    ks = [k for k in ks if 0 < k <= units]
    halves = _halves(recording, p, xi, yk, layer, seed)
    rankings, seconds = _rankings(recording, p, layer, methods, halves, bins, shuffles, seed)
    score = halves.score
    curves, areas = [], []
    for name in methods:
        order = rankings[name]
        pts, area = [], 0.0
        for k in ks:
            lp = score.log_probs(order[:k])
            _, on_y, delta, _ = score.metrics_of(lp)
            pts.append(CurvePoint(k, on_y, delta))
            area = area + score.deltas_of(lp).double() / len(ks)          # (n_pos,) this method's area, per position
        curves.append(MethodCurve(name, pts, order[:20].tolist(), seconds[name]))
        areas.append(area)
    scored = score.positions[score.scored][score.is_pos]
    comparison = MethodComparison(str(p), layer, curves, int(halves.select.is_pos.sum()), int(score.is_pos.sum()),
                                  seed)
    comparison.n_sentences_score = int(recording.sentence_of(scored).unique().numel())
    _area_statistics(comparison, torch.stack(areas, 1), recording.group_of(scored), seed)   # (n_pos, methods)
    comparison.curves.append(MethodCurve("random", _random_band(score, units, ks, random_draws, seed)))
    return comparison


def _area_statistics(comparison: MethodComparison, areas: torch.Tensor, unit: torch.Tensor, seed: int,
                     resamples: int = AREA_RESAMPLES) -> None:
    """Each method's area with a 95% interval from a bootstrap over the sentences of the scoring half
    (`unit` (n_pos,): each position's unit of resampling, a sentence or its paraphrase pair),
    the same resamples for every method (a paired design: they are scored on the same positions);
    the best method but the upper reference, named when its paired margin over the runner-up
    excludes 0; and H excess against raw H, paired. `areas` (n_pos, methods): each position's mean
    change of log p(y) over the ks, in comparison.curves' order."""
    _, sent = torch.unique(unit, return_inverse=True)                              # (n_pos,) in 0..S-1
    n_units = int(sent.max()) + 1
    drawn = draw_sentences(n_units, resamples, torch.Generator().manual_seed(seed)).double()       # (R, S)
    weights = drawn[:, sent]                                                       # (R, n_pos)
    boot = (weights @ areas) / weights.sum(1, keepdim=True)                        # (R, methods)
    names = [c.method for c in comparison.curves]

    for j, c in enumerate(comparison.curves):
        c.area_interval = percentile_interval(boot[:, j])

    def paired(a: str, b: str) -> tuple[float, float, float]:
        i, j = names.index(a), names.index(b)
        return (float(areas[:, i].mean() - areas[:, j].mean()), *percentile_interval(boot[:, i] - boot[:, j]))

    candidates = sorted((float(areas[:, j].mean()), m) for j, m in enumerate(names) if m != UPPER_REFERENCE)
    comparison.resamples = resamples
    if len(candidates) > 1:
        (_, first), (_, second) = candidates[:2]
        comparison.runner_up, comparison.best_margin = second, paired(first, second)
        comparison.best = first if comparison.best_margin[2] < 0 else None
    if {"excess", "hellinger"} <= set(names):
        comparison.excess_vs_hellinger = paired("excess", "hellinger")

"""The ranking-methods page's table and verdict: each ranking's area with its interval, and a best
ranking only where the paired interval says so (translit_core's MethodComparison)."""
from __future__ import annotations

from translit_core.analysis.methods.ranking import METHODS, UPPER_REFERENCE, MethodComparison


def method_rows(comparison: MethodComparison) -> list[dict]:
    """One row per ranking, lowest mean Δ log p first: its area, its 95% interval, time and top units."""
    rows = []
    for area, m in sorted((comparison.area(m), m) for m in METHODS if any(c.method == m for c in comparison.curves)):
        c = comparison.curve(m)
        lo_hi = f"[{c.area_interval[0]:+.3f}, {c.area_interval[1]:+.3f}]" if c.area_interval else "—"
        rows.append({"method": m + (" (upper reference)" if m == UPPER_REFERENCE else ""),
                     "mean Δ log p": round(area, 4), "95% interval": lo_hi, "ranking time (s)": round(c.seconds, 2),
                     "its top 10 units": ", ".join(str(u) for u in c.top_units[:10])})
    return rows


def best_sentence(comparison: MethodComparison) -> str | None:
    """Which ranking is best, only where its paired margin over the runner-up excludes 0 (None: an
    analysis stored without intervals)."""
    if not comparison.resamples:
        return None
    d, lo, hi = comparison.best_margin
    claim = (f"Best ranking: **{comparison.best}**, by {-d:.3f} [{-hi:.3f}, {-lo:.3f}] over {comparison.runner_up}"
             if comparison.best else
             f"No clear best: {comparison.runner_up} is within [{lo:+.3f}, {hi:+.3f}] of the lowest")
    return (f"{claim} (paired 95% interval, {comparison.resamples:,} bootstrap resamples of the scoring half's "
            f"{comparison.n_sentences_score:,} sentences). Greedy selection optimises this very measure: it is the "
            "upper reference, never the best.")

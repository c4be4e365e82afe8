"""The FINDINGS section on the post's forward neuron #70: which of our forward units plays its role
(the silent second letter of a digraph: s → _, h → հ, h → _, o → օ)."""
from __future__ import annotations

from ..analysis.measurement.names import Pair
from ..analysis.store import Analysis
from ..model.names import NeuronId
from .pairs import distinct_splits

POST_NEURON_70 = {"s:_": 0.95, "h:հ": 0.83, "h:_": 0.81, "o:օ": 0.61}   # the post's H of its unit #70


def _forward_excess(an: Analysis, present: list[str]):
    """The H excess of every forward unit on each of the `present` pairs: (pairs, units)."""
    cols = slice(an.offsets["concat.fwd"], an.offsets["concat.fwd"] + an.sizes["concat.fwd"])
    return an.tables.hellinger_excess[[an.pair_row(k) for k in present]][:, cols]


def _best_match(an: Analysis, present: list[str]) -> tuple[list[str], str]:
    """(report lines, the summary's clause) for the forward unit whose weakest excess over the
    `present` pairs is strongest."""
    excess = _forward_excess(an, present)                                # (pairs, units)
    rank = excess.argsort(1, descending=True).argsort(1) + 1             # 1 = the best unit of the layer
    match = int(excess.min(0).values.argmax())
    vals = ", ".join(f"{k.replace(':', '→')} excess {float(excess[i, match]):.2f} (H "
                     f"{an.hellinger_of(k, NeuronId('concat.fwd', match)):.2f}, rank {int(rank[i, match])})"
                     for i, k in enumerate(present))
    own = an.score_of("s:_", NeuronId("concat.fwd", 70))
    agree = bool((rank[:, match] <= 10).all())
    lines = [f"- The forward neuron whose *weakest* excess over those pairs is strongest is **concat.fwd:{match}**: "
             f"{vals}. The post's raw values (" + ", ".join(f"{k} {v}" for k, v in POST_NEURON_70.items())
             + ") come from another sample whose noise floor is unknown, so only ranks compare.",
             f"- For the record, our concat.fwd:70 has excess {own.hellinger_excess:.2f} (H {own.hellinger:.2f}) "
             f"on s→_.",
             "- " + ("**Agrees with the post**: a single forward neuron is in the top 10 of its layer for the silent "
                     "s and the silent/voiced h (and o→օ)." if agree else
                     "**Differs from the post**: no single forward neuron of ours is in the top 10 of its layer on "
                     "every one of these pairs (the role is spread over several units, or split between them).")]
    clause = (f"reproduced by concat.fwd:{match}, in the top 10 of its layer on every one ({vals})." if agree else
              f"not reproduced; the closest forward neuron, concat.fwd:{match}, has {vals}.")
    return lines, clause


def post70_unit(an: Analysis) -> NeuronId | None:
    """The forward unit of ours that plays the post's #70 role: the one whose weakest excess over
    the post's pairs (those in the sample, each split counted once) is strongest; else the best
    forward unit on s→_ alone; None when the sample has neither."""
    have = {str(p) for p in an.pairs()}
    present = distinct_splits(an, [k for k in POST_NEURON_70 if k in have])
    if len(present) >= 2:
        return NeuronId("concat.fwd", int(_forward_excess(an, present).min(0).values.argmax()))
    return an.top_neurons("s:_", "concat.fwd", 1)[0].neuron if "s:_" in have else None


def neuron70_section(an: Analysis) -> tuple[list[str], str | None]:
    """(the section, the summary's clause or None when the sample cannot test it)."""
    have = {str(p) for p in an.pairs()}
    lines = ["## The post's forward neuron #70", "",
             "The post's forward-LSTM neuron #70 ranked "
             + ", ".join(f"{k.replace(':', '→')} {v}" for k, v in POST_NEURON_70.items())
             + ": one forward unit that tells the silent second letter of a digraph (the s of ts, the h of th, sh, …) "
             "from the other readings of the letter. Our neuron #70 is an unrelated unit (indices depend on the "
             "training run), so we look for the neuron of ours that plays that role.", ""]
    clause = None
    if "s:_" in have:
        best70 = an.top_neurons("s:_", "concat.fwd", 1)[0]
        tops = an.top_pairs(best70.neuron, 6)
        lines.append(f"- Our forward neuron with the highest H excess on s→_ is **{best70.neuron}** (excess "
                     f"{best70.hellinger_excess:.2f}, H {best70.hellinger:.2f}, null {best70.hellinger_null:.2f}); "
                     f"its best pairs by excess: " + ", ".join(f"{t.pair} {t.hellinger_excess:.2f}" for t in tops)
                     + ".")
        present = distinct_splits(an, [k for k in POST_NEURON_70 if k in have])
        twins = [k for k in POST_NEURON_70 if k in have and k not in present]
        if twins:
            letters = {Pair.parse(t).x for t in twins}
            lines.append(f"- {', '.join(twins)} split the positions of their letter exactly as "
                         f"{', '.join(k for k in present if Pair.parse(k).x in letters)} does (the letter "
                         f"has just those two outputs here), so it is the same test counted once below.")
        if len(present) >= 2:
            more, clause = _best_match(an, present)
            lines += more
    return lines + [""], clause

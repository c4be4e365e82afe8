"""The way in: what the lab is, the post it reproduces, and a glossary of its terms (the Start
page, and the sidebar's Glossary on every page)."""
from __future__ import annotations

POST_URL = "https://yerevann.github.io/2017/06/27/interpreting-neurons-in-an-LSTM-network/"

INTRO = ("A character-level bidirectional LSTM turns Armenian typed in Latin letters into Armenian script "
         "(*barev dzez* → *բարև ձեզ*); this lab shows which of its neurons decide each letter — why **t** "
         "becomes **թ** and not **տ** — how sure they are, and whether changing them changes the decision. "
         f"It redraws the four figures of YerevaNN's post [Interpreting neurons in an LSTM network]({POST_URL}) "
         "with this model's own numbers, then goes further.")

# (term, one line): every term of art the pages use.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("pair x→y", "An input character x and an output y it can become (t→թ, t→տ); the unit of every "
                 "selectivity question."),
    ("H (Hellinger distance)", "How far apart a neuron's activations are where x became y and where x "
                               "became anything else: 0 identical distributions, 1 disjoint."),
    ("null", "The H a neuron gets when the labels y / not y are shuffled among the positions of x: what H "
             "looks like with no relation at all (more positions, lower null)."),
    ("excess", "H minus its null: selectivity beyond what chance gives on this many positions. The graph "
               "and the rankings use it by default."),
    ("p", "How often chance gives a selectivity at least as large: the neuron's H, put on the scale of its "
          "own label shuffles, against the shuffles of every neuron of its layer (20 × 228 of them, so p goes "
          "down to 0.0002). For an ablation: the share of random draws of units that cost at least as much."),
    ("q", "p corrected for testing many things at once (Benjamini–Hochberg): over a layer's neurons × pairs, "
          "or over the stored ablations. Among the results with q ≤ 0.05, at most about 5% are flukes."),
    ("concat.fwd / concat.bwd", "The biLSTM's outputs: the forward LSTM (reads the text left to right) and "
                                "the backward one (right to left), 228 units each; `concat.fwd:159` is "
                                "unit 159 of the forward one."),
    ("hidden", "The dense layer of 228 units between the biLSTM and the output layer."),
    ("cell", "The LSTM's memory (c), which the gates update at every character; the Cell heatmaps page "
             "shows it per character."),
    ("gates i f g o", "Inside each LSTM step: i input gate (how much new is written), f forget gate (how "
                      "much of the cell is kept), g candidate (what would be written), o output gate (how "
                      "much of the cell is shown)."),
    ("ablation", "Setting units to their mean (or zero) and measuring how much the right output loses, "
                 "against as many random units: the test of importance, not just selectivity."),
    ("attribution", "Integrated gradients: how much each input character and unit added to the "
                    "log-probability of one output character."),
    ("DeCov", "A training penalty on the covariance between units; the lab's twin model is trained with "
              "it to make neurons more independent, as the post suggests."),
    ("twin", "The model trained with DeCov, compared with its control trained the same way without it."),
)


def glossary_markdown() -> str:
    """The glossary as a Markdown list."""
    return "\n".join(f"- **{term}** — {line}" for term, line in GLOSSARY)

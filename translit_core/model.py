"""The transliteration network: the architecture of YerevaNN's 2017 post, sizes in a config.

    one-hot Latin characters (B, T, V_in)
      -> bidirectional LSTM, `lstm` units per direction       (B, T, 2*lstm)   "concat"
      -> dense `hidden` units, tanh                           (B, T, hidden)   "hidden"
      -> concatenated with the one-hot input again            (B, T, hidden + V_in)
      -> linear to the output alphabet, softmax               (B, T, V_out)    "output"

The one-hot input is fed to the last layer a second time so that the easy decisions (copy a
Latin letter through, "b" -> "բ") need not be carried through the recurrent state.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    n_in: int = 100      # input alphabet size (Latin side, with padding and unknown)
    n_out: int = 90      # output alphabet size (Armenian side, with placeholder and pass-through)
    lstm: int = 228      # LSTM units per direction
    hidden: int = 228    # dense layer units

    def to_dict(self) -> dict:
        return asdict(self)


class TranslitNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.n_in, config.lstm, batch_first=True, bidirectional=True)
        self.dense = nn.Linear(2 * config.lstm, config.hidden)
        self.out = nn.Linear(config.hidden + config.n_in, config.n_out)

    def _direction(self, onehot: torch.Tensor, reverse: bool) -> torch.Tensor:
        """One direction of self.lstm as a plain left-to-right LSTM over (B, T, V_in)."""
        sfx = "_reverse" if reverse else ""
        params = [getattr(self.lstm, f"{name}_l0{sfx}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h0 = onehot.new_zeros(1, onehot.shape[0], self.config.lstm)
        out, _, _ = torch.lstm(onehot, (h0, h0), params, True, 1, 0.0, False, False, True)
        return out                                                      # (B, T, lstm)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                return_layers: bool = False):
        """x: (B, T) input indices; lengths: (B,) true lengths, or None when all are T.

        Returns logits (B, T, n_out); with return_layers, also {"concat", "hidden"}.
        """
        onehot = F.one_hot(x, self.config.n_in).float()                 # (B, T, V_in)
        if lengths is None or bool((lengths == x.shape[1]).all()):
            concat, _ = self.lstm(onehot)                               # (B, T, 2*lstm)
        else:
            # Right-padded rows of different lengths. The forward direction never sees the padding
            # before a real character; the backward one would, so each row is reversed within its
            # own length, run left to right, and reversed back. Same result as packing, and several
            # times faster on CPU (packed sequences defeat batching there).
            t = torch.arange(x.shape[1], device=x.device)
            lengths = lengths.to(x.device)
            flip = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)   # (B, T)
            fwd = self._direction(onehot, reverse=False)
            bwd = self._direction(F.one_hot(x.gather(1, flip), self.config.n_in).float(), reverse=True)
            bwd = bwd.gather(1, flip[:, :, None].expand_as(bwd))
            concat = torch.cat([fwd, bwd], dim=-1)                       # (B, T, 2*lstm)
        hidden = torch.tanh(self.dense(concat))                         # (B, T, hidden)
        # out([hidden, onehot]) computed as hidden @ W_h + (column of W_x picked by x): the same
        # sum without materialising the concatenation or multiplying by a one-hot matrix.
        w_hidden, w_input = self.out.weight.split([self.config.hidden, self.config.n_in], dim=1)
        logits = F.linear(hidden, w_hidden, self.out.bias) + F.embedding(x, w_input.t())  # (B, T, V_out)
        if return_layers:
            return logits, {"concat": concat, "hidden": hidden}
        return logits

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
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


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

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                return_layers: bool = False):
        """x: (B, T) input indices; lengths: (B,) true lengths, or None when all are T.

        Returns logits (B, T, n_out); with return_layers, also {"concat", "hidden"}.
        """
        onehot = F.one_hot(x, self.config.n_in).float()                 # (B, T, V_in)
        if lengths is None:
            concat, _ = self.lstm(onehot)                               # (B, T, 2*lstm)
        else:
            # Packing keeps the backward direction from reading the padding first.
            packed = pack_padded_sequence(onehot, lengths.cpu(), batch_first=True, enforce_sorted=False)
            concat, _ = self.lstm(packed)
            concat, _ = pad_packed_sequence(concat, batch_first=True, total_length=x.shape[1])
        hidden = torch.tanh(self.dense(concat))                         # (B, T, hidden)
        logits = self.out(torch.cat([hidden, onehot], dim=-1))          # (B, T, V_out)
        if return_layers:
            return logits, {"concat": concat, "hidden": hidden}
        return logits

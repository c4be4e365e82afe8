"""The transliteration network: the architecture of YerevaNN's 2017 post, sizes in a config.

    one-hot Latin characters (B, T, V_in)
      -> bidirectional LSTM, `lstm` units per direction       (B, T, 2*lstm)   "concat"
      -> dense `hidden` units, tanh                           (B, T, hidden)   "hidden"
      -> concatenated with the one-hot input again            (B, T, hidden + V_in)
      -> linear to the output alphabet, softmax               (B, T, V_out)    "output"

The one-hot input is fed to the last layer a second time so that the easy decisions (copy a
Latin letter through, "b" -> "բ") need not be carried through the recurrent state.

Inference may run the dense and output layers in bfloat16 (`head_dtype`): the model was trained
under bf16 autocast, and on CPUs with AVX-512 BF16 those two matmuls are 2-3x faster, a quarter
of the whole forward pass. The LSTM always runs in float32.
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
                return_layers: bool = False, head_dtype: torch.dtype | None = None):
        """x: (B, T) input indices; lengths: (B,) true lengths, or None when all are T;
        head_dtype: the dense and output layers' dtype (None: float32).

        Returns float32 logits (B, T, n_out); with return_layers, also {"concat", "hidden"}.
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
        cast = (lambda t: t.to(head_dtype)) if head_dtype else (lambda t: t)
        hidden = torch.tanh(F.linear(cast(concat), cast(self.dense.weight), cast(self.dense.bias)))  # (B, T, hidden)
        # out([hidden, onehot]) computed as hidden @ W_h + (column of W_x picked by x): the same
        # sum without materialising the concatenation or multiplying by a one-hot matrix.
        w_hidden, w_input = self.out.weight.split([self.config.hidden, self.config.n_in], dim=1)
        logits = F.linear(hidden, cast(w_hidden), cast(self.out.bias)).float() + F.embedding(x, w_input.t())  # (B, T, V_out)
        if return_layers:
            return logits, {"concat": concat, "hidden": hidden}
        return logits


def fast_head_dtype(device: torch.device) -> torch.dtype | None:
    """bfloat16 where its matmuls are native (CUDA; CPUs with AVX-512 BF16 or AMX), else None."""
    if device.type == "cuda":
        return torch.bfloat16
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        pass
    return torch.bfloat16 if {"avx512_bf16", "amx_bf16"} & set(flags.split()) else None

"""Inference: Latin text in, Armenian text out, for any length of text.

Text is cut into lines, and lines into chunks of at most `max_len` characters at spaces, so a
1 MB paste costs a few batched forward passes and each word still sees the words around it.
Chunks are sorted by length before batching so that almost no work is spent on padding.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .data import Alphabets, split_at_spaces
from .model import TranslitNet


@dataclass(frozen=True)
class CharPrediction:
    latin: str                              # the input character
    output: str                             # what it became ("" for a placeholder)
    prob: float                             # the model's probability for that choice
    alternatives: list[tuple[str, float]]   # the next most likely outputs with probabilities


def run_batches(model: TranslitNet, alphabets: Alphabets, chunks: list[str], batch_size: int = 256,
                with_probs: bool = False) -> list:
    """Class indices (or softmax rows) for every character of every chunk, in input order.

    Chunks are sorted by length and batched with their neighbours, so padding is rare; the
    model handles the rest exactly (see TranslitNet.forward).
    """
    results: list = [None] * len(chunks)
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
    device = next(model.parameters()).device
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            lengths = [len(chunks[i]) for i in idx]
            if lengths[-1] == 0:
                for i in idx:
                    results[i] = torch.zeros(0, len(alphabets.outputs)) if with_probs else []
                continue
            x = torch.zeros(len(idx), lengths[-1], dtype=torch.long)                     # (B, T)
            for row, i in enumerate(idx):
                x[row, :lengths[row]] = torch.tensor(alphabets.encode_input(chunks[i]), dtype=torch.long)
            logits = model(x.to(device), torch.tensor(lengths))                          # (B, T, V_out)
            if with_probs:
                probs = logits.float().softmax(-1).cpu()
                for row, i in enumerate(idx):
                    results[i] = probs[row, :lengths[row]]
            else:
                for row, (i, classes) in enumerate(zip(idx, logits.argmax(-1).cpu().tolist())):
                    results[i] = classes[:lengths[row]]
    return results


class Transliterator:
    def __init__(self, model: TranslitNet, alphabets: Alphabets, meta: dict,
                 max_len: int = 200, batch_size: int = 64):
        self.model, self.alphabets, self.meta = model.eval(), alphabets, meta
        self.max_len, self.batch_size = max_len, batch_size

    @classmethod
    def load(cls, path: str | Path | None = None, **kwargs) -> "Transliterator":
        model, alphabets, meta = load_checkpoint(path)
        return cls(model, alphabets, meta, **kwargs)

    def _chunks(self, texts: list[str]) -> tuple[list[str], list[list[list[int]]]]:
        """All chunks of all texts, and for each text, for each line, its chunk ids."""
        chunks, layout = [], []
        for text in texts:
            lines = []
            for line in text.split("\n"):
                ids = []
                for a, b in split_at_spaces(line, self.max_len):
                    ids.append(len(chunks))
                    chunks.append(line[a:b])
                lines.append(ids)
            layout.append(lines)
        return chunks, layout

    def transliterate_batch(self, texts: list[str]) -> list[str]:
        chunks, layout = self._chunks(texts)
        classes = run_batches(self.model, self.alphabets, chunks, self.batch_size)
        decoded = [self.alphabets.decode(c, k) for c, k in zip(chunks, classes)]
        return ["\n".join("".join(decoded[i] for i in ids) for ids in lines) for lines in layout]

    def transliterate(self, text: str) -> str:
        return self.transliterate_batch([text])[0]

    def predict(self, text: str, top: int = 3) -> list[CharPrediction]:
        """Per input character: the output, its probability and the top alternatives."""
        chunks, layout = self._chunks([text])
        probs = run_batches(self.model, self.alphabets, chunks, self.batch_size, with_probs=True)
        out: list[CharPrediction] = []
        for li, ids in enumerate(layout[0]):
            if li:
                out.append(CharPrediction("\n", "\n", 1.0, []))
            for i in ids:
                for c, row in zip(chunks[i], probs[i]):
                    p, k = row.topk(min(top + 1, row.numel()))
                    if self.alphabets.forced_pass(c):
                        out.append(CharPrediction(c, c, 1.0, []))
                        continue
                    names = [self.alphabets.decode(c, [int(j)]) for j in k]
                    alts = [(n if n else "_", float(q)) for n, q in zip(names[1:], p[1:])]
                    out.append(CharPrediction(c, names[0], float(p[0]), alts))
        return out

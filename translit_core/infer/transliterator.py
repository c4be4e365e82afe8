"""Inference: Latin text in, Armenian text out, for any length of text.

Text is cut into lines, and lines into chunks of at most `max_len` characters at spaces, so a
1 MB paste costs a few batched forward passes and each word still sees the words around it.
Chunks are sorted by length before batching so that almost no work is spent on padding.

Two rules sit on top of the network's per-character choices, both picking between readings the
network itself scored: one script per Latin word (`one_script_per_word`), and known words for
unknown ones (`lexicon.correct_words`, when the checkpoint has a lexicon).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..model.alphabets import PASS_CLASS, Alphabets
from ..model.checkpoint import load_checkpoint
from ..model.net import TranslitNet
from ..text.words import split_at_spaces
from .device import fast_head_dtype
from .lexicon import correct_words, load_checkpoint_lexicon


@dataclass(frozen=True)
class CharPrediction:
    latin: str                              # the input character
    output: str                             # what it became ("" for a placeholder)
    prob: float                             # the model's probability for that choice
    alternatives: list[tuple[str, float]]   # the next most likely outputs with probabilities
    network: str | None = None              # the network's own choice where the lexicon overrode it


LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏḀ-ỿ]+")      # with the accented letters (typed for vowels: "tév")


def one_script_per_word(chunks: list[str], scores: torch.Tensor) -> list[list[int]]:
    """Classes for a batch of chunks from their logits or log-probabilities (B, T, V): the most
    likely class per character, except that a run of Latin letters is kept whole or
    transliterated whole.

    Per-character choices can split a word between scripts ("Deep Leաrնing", "մեdիա") when the
    model is unsure whether it is English; no writer mixes scripts inside a word. A mixed run goes
    the way its summed log-probability prefers: every letter passed through, or every letter
    given its best Armenian reading. log p(a) - log p(b) = logit(a) - logit(b) at each position,
    so logits compare as well as log-probabilities and no softmax is needed.
    """
    keep = scores[..., 0]                                   # (B, T) pass the character through
    best, other = scores[..., 1:].max(-1)                   # (B, T) best letter or placeholder
    other = other + 1
    rows = torch.where(keep >= best, 0, other).tolist()
    out = []
    for r, chunk in enumerate(chunks):
        classes = rows[r][:len(chunk)]
        for m in LATIN_WORD.finditer(chunk):
            a, b = m.span()
            run = classes[a:b]
            if 0 in run and run.count(0) < b - a:           # mixed: decide for the whole run
                whole_keep = float(keep[r, a:b].sum()) >= float(best[r, a:b].sum())
                classes[a:b] = [0] * (b - a) if whole_keep else other[r, a:b].tolist()
        out.append(classes)
    return out


NUMBER = re.compile(r"[0-9]+(?:[.,:/-][0-9]+)*")        # 14444, 4.4.4, 10:30, 91-444
SENTENCE = re.compile(r"[^.!?։]*[.!?։]*")                # a sentence and its closing marks
PUNCT = re.compile(r"[^\w\s]")


def keep_numbers(chunk: str, classes: list[int]) -> list[int]:
    """Digits of a number are never letters. A chat writes "4" for չ inside a word ("4em",
    "es 4gitem"), so one digit touching a letter may be a letter; a run of two or more digits,
    with the separators between them (a phone number, a version, a time), or a digit on its own
    is a number and passes through unchanged."""
    for m in NUMBER.finditer(chunk):
        a, b = m.span()
        touches_letter = (a > 0 and chunk[a - 1].isalpha()) or (b < len(chunk) and chunk[b].isalpha())
        if b - a > 1 or not touches_letter:
            classes[a:b] = [PASS_CLASS] * (b - a)
    return classes


def keep_english_punctuation(chunk: str, classes: list[int]) -> list[int]:
    """In a sentence whose Latin words are mostly kept Latin (an English sentence), punctuation
    stays ASCII: `He said "hello", ok.` keeps its quotes and full stop, while an Armenian
    sentence that ends in an English name ("... Machine Learning.") still ends with ։."""
    for m in SENTENCE.finditer(chunk):
        a, b = m.span()
        kept = changed = 0
        for w in LATIN_WORD.finditer(chunk, a, b):
            if all(k == PASS_CLASS for k in classes[w.start():w.end()]):
                kept += 1
            else:
                changed += 1
        if kept > changed:
            for p in PUNCT.finditer(chunk, a, b):
                classes[p.start()] = PASS_CLASS
    return classes


def decide(chunks: list[str], scores: torch.Tensor, alphabets: Alphabets,
           lexicon: frozenset[str] | None = None) -> list[list[int]]:
    """Output classes for a batch of chunks from their logits or log-probabilities (B, T, V):
    one script per Latin word, numbers kept, English sentences' punctuation kept, then (with a
    lexicon) known words for unknown ones."""
    classes = one_script_per_word(chunks, scores)
    classes = [keep_english_punctuation(c, keep_numbers(c, k)) for c, k in zip(chunks, classes)]
    if lexicon:
        classes = [correct_words(c, scores[r], k, lexicon, alphabets) for r, (c, k) in enumerate(zip(chunks, classes))]
    return classes


def run_batches(model: TranslitNet, alphabets: Alphabets, chunks: list[str], batch_size: int = 256,
                with_probs: bool = False, lexicon: frozenset[str] | None = None,
                head_dtype: torch.dtype | None = None) -> list:
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
                x[row, :lengths[row]] = torch.tensor(alphabets.encode_typed(chunks[i]), dtype=torch.long)
            logits = model(x.to(device), torch.tensor(lengths), head_dtype=head_dtype)   # (B, T, V_out)
            if with_probs:
                probs = logits.float().softmax(-1).cpu()
                for row, i in enumerate(idx):
                    results[i] = probs[row, :lengths[row]]
            else:
                for i, classes in zip(idx, decide([chunks[i] for i in idx], logits.float().cpu(), alphabets, lexicon)):
                    results[i] = classes
    return results


class Transliterator:
    def __init__(self, model: TranslitNet, alphabets: Alphabets, meta: dict,
                 max_len: int = 200, batch_size: int = 64, lexicon: frozenset[str] | None = None,
                 head_dtype: torch.dtype | None | str = "auto"):
        self.model, self.alphabets, self.meta = model.eval(), alphabets, meta
        self.max_len, self.batch_size, self.lexicon = max_len, batch_size, lexicon
        # bf16 dense and output layers where the hardware has it (see model/net.py); "auto" decides
        self.head_dtype = fast_head_dtype(next(model.parameters()).device) if head_dtype == "auto" else head_dtype

    @classmethod
    def load(cls, path: str | Path | None = None, lexicon: bool = True, **kwargs) -> "Transliterator":
        """The checkpoint at `path` (default: the shipped one); lexicon=False for the network's
        choices alone, without the known-word rule."""
        model, alphabets, meta = load_checkpoint(path)
        words = load_checkpoint_lexicon(path) if lexicon else None
        return cls(model, alphabets, meta, lexicon=words, **kwargs)

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
        classes = run_batches(self.model, self.alphabets, chunks, self.batch_size, lexicon=self.lexicon,
                              head_dtype=self.head_dtype)
        decoded = [self.alphabets.decode(c, k) for c, k in zip(chunks, classes)]
        return ["\n".join("".join(decoded[i] for i in ids) for ids in lines) for lines in layout]

    def transliterate(self, text: str) -> str:
        return self.transliterate_batch([text])[0]

    def predict(self, text: str, top: int = 3) -> list[CharPrediction]:
        """Per input character: the output (as transliterate() writes it), its probability and
        the next most likely alternatives; `network` says what the network chose where the lexicon
        replaced an unknown word."""
        chunks, layout = self._chunks([text])
        probs = run_batches(self.model, self.alphabets, chunks, self.batch_size, with_probs=True,
                            head_dtype=self.head_dtype)
        out: list[CharPrediction] = []
        for li, ids in enumerate(layout[0]):
            if li:
                out.append(CharPrediction("\n", "\n", 1.0, []))
            for i in ids:
                logp = probs[i].clamp_min(1e-30).log()[None]
                own = one_script_per_word([chunks[i]], logp)[0]
                classes = decide([chunks[i]], logp, self.alphabets, self.lexicon)[0]
                for c, row, k, n in zip(chunks[i], probs[i], classes, own):
                    if self.alphabets.forced_pass(c):
                        out.append(CharPrediction(c, c, 1.0, []))
                        continue
                    p, idx = row.topk(min(top + 1, row.numel()))
                    alts = [(self.alphabets.decode(c, [int(j)]) or "_", float(q))
                            for j, q in zip(idx, p) if int(j) != k][:top]
                    network = None if n == k else self.alphabets.decode(c, [n])
                    out.append(CharPrediction(c, self.alphabets.decode(c, [k]), float(row[k]), alts, network))
        return out

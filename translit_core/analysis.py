"""Neuron analysis: YerevaNN's "Interpreting neurons in an LSTM network" on our model.

The pipeline (`python -m translit_core analyze`):

    held-out Armenian sentences (UD *-test.conllu + ARPA test.tsv, seeded sample)
      -> romanized with the rules (seeded), cut into chunks like the model saw in training
      -> record_activations: one pass of the unrolled biLSTM; keeps per position the input x,
         the target y, the prediction, and the biLSTM state h and c of both directions
      -> every other layer (gates, hidden, output) is a cheap, exact function of (h, c, x),
         so Recording.layer() derives it on demand instead of storing 3,700 floats per position
      -> hellinger_tables: for every input x, every layer: 1000 equal bins per neuron between
         its min and max on x, one bincount for all neurons and all targets y of x at once,
         H = sqrt(1 - sum sqrt(p q)) for every (x, y) with >= min_count positions on each side
      -> Analysis: tables + counts + rankings + mean activations (contributions are weight x
         mean activation) + stored ablations, saved next to the checkpoint as
         analysis.safetensors + analysis.json (a few MB; never pickled)

The recording itself (h and c: ~1 GB per 250k positions) is cached outside the repository
(`$TRANSLIT_CACHE`, default ~/.cache/translit_core) because it holds held-out text; histograms,
top contexts and ablations read it, and rebuild it from the data when it is missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .checkpoint import DEFAULT_CHECKPOINT, WEIGHTS, load_checkpoint
from .data import Alphabets, split_at_spaces
from .model import TranslitNet
from .romanize import Aligned, romanize
from .unrolled import (GATES, LAYERS, NeuronId, UnknownName, direction_params,
                       model_layer_sizes, parse_layer, unrolled_bilstm)

__all__ = [
    "AnalysisError", "AnalysisMissing", "SampleMissing", "UnknownName", "NeuronId", "LAYERS",
    "sample_sentences", "text_sentences", "Recording", "record_activations",
    "hellinger", "hellinger_tables", "HellingerTables", "Pair", "NeuronScore", "PairScore",
    "Analysis", "Histogram", "histogram", "substring_selectivity", "top_contexts", "Context",
    "ablate", "output_symbol",
]

ANALYSIS_WEIGHTS, ANALYSIS_META = "analysis.safetensors", "analysis.json"
FORMAT_VERSION = 1
DEFAULT_BINS, DEFAULT_MIN_COUNT = 1000, 300
PASS_SYMBOL, PLACE_SYMBOL = "=", "_"


class AnalysisError(RuntimeError):
    """Anything the analysis cannot do with what it was given; the message says what to do."""


class AnalysisMissing(AnalysisError):
    """No (or a stale) analysis file next to a checkpoint."""


class SampleMissing(AnalysisError):
    """The held-out sample text cannot be read."""


def analyze_command(checkpoint_dir) -> str:
    return f"python -m translit_core analyze --checkpoint {checkpoint_dir}"


# -----------------------------------------------------------------------------
# the sample: held-out sentences, read at run time (the data may never be copied into the repo)

REPO = Path(__file__).resolve().parent.parent
HELDOUT_GLOBS = ("ud/*/*-test.conllu", "arpa/test.tsv")


def default_data_dir() -> Path:
    return Path(os.environ.get("TRANSLIT_DATA") or REPO.parent / "shared" / "data")


def _clean(lines) -> list[str]:
    from .corpus import keep_line, normalize_line
    seen, out = set(), []
    for line in lines:
        line = normalize_line(line)
        if keep_line(line) and line not in seen:
            seen.add(line)
            out.append(line)
    return out


def sample_sentences(data_dir: str | Path | None = None, n: int = 5000, seed: int = 0) -> list[str]:
    """Up to n held-out sentences the model never trained on, in a seeded random order.

    UD `*-test.conllu` text lines and ARPA `test.tsv` sentences, normalised, filtered with
    corpus.keep_line and de-duplicated. (With the shipped data that is ~4,400 sentences, so
    n=5000 takes them all.)
    """
    from .corpus import iter_arpa_texts, iter_conllu_texts
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    files = sorted(p for g in HELDOUT_GLOBS for p in data_dir.glob(g))
    if not files:
        raise SampleMissing(
            f"no held-out text under {data_dir} (looked for {', '.join(HELDOUT_GLOBS)}); point at the "
            f"shared data with --data DIR or TRANSLIT_DATA=DIR, or give any Armenian text with --text FILE")
    lines = []
    for p in files:
        lines += list(iter_conllu_texts(p) if p.suffix == ".conllu" else iter_arpa_texts(p))
    sentences = _clean(lines)
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


def text_sentences(path: str | Path, n: int = 5000, seed: int = 0) -> list[str]:
    """Up to n non-empty lines of an Armenian text file (or CoNLL-U text lines), seeded order."""
    from .evaluate import read_sentences
    path = Path(path)
    if not path.is_file():
        raise SampleMissing(f"text file not found: {path}")
    try:
        sentences = [s for s in (unicodedata.normalize("NFC", t) for t in read_sentences(path)) if s]
    except UnicodeDecodeError as e:
        raise SampleMissing(f"{path} is not UTF-8 text ({e})") from None
    if not sentences:
        raise SampleMissing(f"{path} holds no text lines")
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


def fingerprint(sentences: list[str]) -> str:
    return hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def output_symbol(alphabets: Alphabets, k: int) -> str:
    """How output class k is written in pairs and URLs: "=" keeps the input, "_" placeholder."""
    return PASS_SYMBOL if k == 0 else PLACE_SYMBOL if k == 1 else alphabets.outputs[k]


def _symbol_index(alphabets: Alphabets, symbol: str) -> int | None:
    if symbol == PASS_SYMBOL:
        return 0
    if symbol == PLACE_SYMBOL:
        return 1
    k = alphabets.out_index.get(symbol)
    return k if k is not None and k >= 2 else None


def _split_pair(name: str) -> tuple[str, str]:
    """"t:թ" -> ("t", "թ"). The input is one character, so "::=" is the pair (":", "=")."""
    name = str(name)
    if len(name) < 3 or name[1] != ":":
        raise UnknownName(f"pair {name!r} is not of the form x:y (one input character, a colon, an output "
                          f"symbol; '_' = placeholder, '=' = keeps the input), e.g. t:թ")
    return name[0], name[2:]


# -----------------------------------------------------------------------------
# recording

@dataclass
class Recording:
    """Every position of the sample, chunk after chunk, with the biLSTM state of both directions.

    P positions; H = LSTM units per direction. h and c are NumPy arrays (in memory, or memory-
    mapped from the cache). Every layer is derived from them exactly, see `layer`.
    """
    model: TranslitNet
    alphabets: Alphabets
    chunks: list[str]              # Latin chunks as fed to the model, in position order
    chunk_start: torch.Tensor      # (n_chunks + 1,) first position of each chunk
    chunk_sentence: torch.Tensor   # (n_chunks,) sentence id of each chunk
    chunk_offset: torch.Tensor     # (n_chunks,) where the chunk starts in its sentence's Latin text
    x: torch.Tensor                # (P,) input class
    y: torch.Tensor                # (P,) target class
    pred: torch.Tensor             # (P,) model's argmax class
    h: np.ndarray                  # (P, 2H) float32: [forward h | backward h] = the concat layer
    c: np.ndarray                  # (P, 2H) float32: [forward c | backward c]
    spec: dict = field(default_factory=dict)   # how the sample was made (source, n, seed, max_len, fingerprint)

    def __post_init__(self):
        starts = torch.zeros(self.n_positions, dtype=torch.bool)
        ends = torch.zeros(self.n_positions, dtype=torch.bool)
        lengths = self.chunk_start[1:] - self.chunk_start[:-1]
        nonempty = lengths > 0
        starts[self.chunk_start[:-1][nonempty]] = True
        ends[self.chunk_start[1:][nonempty] - 1] = True
        self.is_first, self.is_last = starts, ends
        self.sizes = model_layer_sizes(self.model)

    # ---- basic facts
    @property
    def n_positions(self) -> int:
        return int(self.x.numel())

    @property
    def H(self) -> int:
        return self.model.config.lstm

    def chunk_of(self, positions: torch.Tensor) -> torch.Tensor:
        return torch.searchsorted(self.chunk_start, positions, right=True) - 1

    def sentence_of(self, positions: torch.Tensor) -> torch.Tensor:
        return self.chunk_sentence[self.chunk_of(positions)]

    def offset_of(self, positions: torch.Tensor) -> torch.Tensor:
        ch = self.chunk_of(positions)
        return self.chunk_offset[ch] + positions - self.chunk_start[ch]

    def target_tokens(self) -> list[str]:
        """The Armenian token of every position ("" for a placeholder): the aligned target text."""
        outs = self.alphabets.outputs
        text = "".join(self.chunks)
        return [text[p] if k == 0 else "" if k == 1 else outs[k] for p, k in enumerate(self.y.tolist())]

    # ---- layers
    def _rows(self, array: np.ndarray, rows: torch.Tensor, cols: slice) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array[rows.numpy(), cols]))

    def _neighbour(self, array: np.ndarray, positions: torch.Tensor, direction: str) -> torch.Tensor:
        """h or c of the previous position (forward) / next position (backward), 0 at chunk ends:
        the state the LSTM step at each position started from."""
        H, P = self.H, self.n_positions
        if direction == "fwd":
            nb, edge, cols = positions - 1, self.is_first[positions], slice(0, H)
        else:
            nb, edge, cols = positions + 1, self.is_last[positions], slice(H, 2 * H)
        vals = self._rows(array, nb.clamp(0, P - 1), cols)                          # (n, H)
        return vals.masked_fill_(edge.unsqueeze(1), 0.0)

    def _units(self, name: str, units) -> torch.Tensor | None:
        parse_layer(name)
        if units is None:
            return None
        units = torch.as_tensor(units, dtype=torch.long).reshape(-1)
        if units.numel() and not (0 <= int(units.min()) and int(units.max()) < self.sizes[name]):
            raise UnknownName(f"layer {name} has units 0..{self.sizes[name] - 1}")
        return units

    def layer(self, name: str, positions: torch.Tensor | None = None,
              units: torch.Tensor | list[int] | None = None, block: int = 1 << 13) -> torch.Tensor:
        """Activations of layer `name` at `positions` (default all) for `units` (default all):
        (n, len(units)) float32. Computed in blocks of positions to bound memory."""
        units = self._units(name, units)
        if positions is None:
            positions = torch.arange(self.n_positions)
        positions = torch.as_tensor(positions, dtype=torch.long).reshape(-1)
        width = self.sizes[name] if units is None else units.numel()
        out = torch.empty(positions.numel(), width)
        with torch.no_grad():
            for s in range(0, positions.numel(), block):
                out[s:s + block] = self._layer_block(name, positions[s:s + block], units, {})
        return out

    def layers_at(self, names, positions: torch.Tensor):
        """Yield (name, (n, units)) for every layer in `names` at the same positions, gathering
        h and c rows and computing the dense layer once for all of them."""
        positions = torch.as_tensor(positions, dtype=torch.long).reshape(-1)
        memo: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for name in names:
                yield name, self._layer_block(name, positions, self._units(name, None), memo)

    def _layer_block(self, name: str, pos: torch.Tensor, units: torch.Tensor | None,
                     memo: dict) -> torch.Tensor:
        """One layer at positions `pos`; `memo` holds intermediates shared between layers."""
        H, m = self.H, self.model

        def get(key, make):
            if key not in memo:
                memo[key] = make()
            return memo[key]

        def pick(t):   # select units (columns) unless all are wanted
            return t if units is None else t[:, units]

        if name in ("concat.fwd", "concat.bwd", "cell.fwd", "cell.bwd"):
            base = 0 if name.endswith("fwd") else H
            whole = get("h" if name.startswith("concat") else "c",
                        lambda: self._rows(self.h if name.startswith("concat") else self.c, pos, slice(0, 2 * H)))
            return pick(whole[:, base:base + H])
        if name == "cell_prev.fwd":
            return pick(get("c_before.fwd", lambda: self._neighbour(self.c, pos, "fwd")))
        if name == "cell_next.bwd":
            return pick(get("c_before.bwd", lambda: self._neighbour(self.c, pos, "bwd")))
        if name.startswith("gate."):
            _, direction, gate = name.split(".")
            w_ih, w_hh, bias = direction_params(m.lstm, reverse=direction == "bwd")
            rows = GATES.index(gate) * H + (torch.arange(H) if units is None else units)   # (u,)
            h_before = get(f"h_before.{direction}", lambda: self._neighbour(self.h, pos, direction))  # (n, H)
            # The same two steps as the recurrence: x projection + bias, then addmm with h'.
            pre = torch.addmm(F.embedding(self.x[pos], w_ih[rows].t()) + bias[rows],
                              h_before, w_hh[rows].t())                                 # (n, u)
            return pre.tanh_() if gate == "g" else pre.sigmoid_()
        concat = get("h", lambda: self._rows(self.h, pos, slice(0, 2 * H)))            # (n, 2H)
        if name == "hidden" and units is not None:
            return torch.tanh(F.linear(concat, m.dense.weight[units], m.dense.bias[units]))
        hidden = get("hidden", lambda: torch.tanh(m.dense(concat)))                     # (n, hidden)
        if name == "hidden":
            return hidden
        # output: the logits, fed with [hidden, one-hot input] like TranslitNet.forward
        onehot = F.one_hot(self.x[pos], m.config.n_in).to(hidden.dtype)                 # (n, n_in)
        return pick(m.out(torch.cat([hidden, onehot], dim=-1)))                         # (n, n_out)

    # ---- cache (safetensors + .npy + JSON; nothing is unpickled)
    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "h.npy", self.h)
        np.save(tmp / "c.npy", self.c)
        save_file({"x": self.x.to(torch.int32), "y": self.y.to(torch.int32), "pred": self.pred.to(torch.int32),
                   "chunk_start": self.chunk_start, "chunk_sentence": self.chunk_sentence,
                   "chunk_offset": self.chunk_offset}, tmp / "positions.safetensors")
        (tmp / "recording.json").write_text(json.dumps({"spec": self.spec, "chunks": self.chunks},
                                                       ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(directory, ignore_errors=True)
        tmp.replace(directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path, model: TranslitNet, alphabets: Alphabets) -> "Recording":
        directory = Path(directory)
        meta = json.loads((directory / "recording.json").read_text(encoding="utf-8"))
        t = load_file(directory / "positions.safetensors")
        return cls(model=model, alphabets=alphabets, chunks=meta["chunks"],
                   chunk_start=t["chunk_start"].long(), chunk_sentence=t["chunk_sentence"].long(),
                   chunk_offset=t["chunk_offset"].long(), x=t["x"].long(), y=t["y"].long(),
                   pred=t["pred"].long(),
                   h=np.load(directory / "h.npy", mmap_mode="r", allow_pickle=False),
                   c=np.load(directory / "c.npy", mmap_mode="r", allow_pickle=False),
                   spec=meta["spec"])


def record_activations(model: TranslitNet, alphabets: Alphabets, sentences: list[str], rules,
                       seed: int = 0, max_len: int | None = None, batch_positions: int = 1 << 15,
                       spec: dict | None = None) -> Recording:
    """Romanize `sentences` (one seeded rng, in order), cut them into chunks of at most max_len
    characters at spaces (default: the max_len the checkpoint was trained with, else 200), and
    run the unrolled biLSTM over all chunks, batched by length.

    Keeps per position: input class, target class (placeholder = 1), predicted class, and the
    h and c of both directions; everything else is derived by Recording.layer().
    """
    model.eval()
    max_len = max_len or 200
    rng = random.Random(seed)
    chunks: list[tuple[int, int, str, list[str]]] = []          # (sentence, offset, latin, target)
    for si, sentence in enumerate(sentences):
        ex = romanize(sentence, rules, rng)
        for a, b in split_at_spaces(ex.latin, max_len):
            if b > a:
                chunks.append((si, a, ex.latin[a:b], ex.target[a:b]))
    lengths = torch.tensor([len(c[2]) for c in chunks], dtype=torch.long)
    chunk_start = torch.zeros(len(chunks) + 1, dtype=torch.long)
    chunk_start[1:] = torch.cumsum(lengths, 0)
    P, H = int(chunk_start[-1]), model.config.lstm
    x = torch.tensor([i for c in chunks for i in alphabets.encode_input(c[2])], dtype=torch.long)
    y = torch.tensor([k for c in chunks for k in alphabets.encode_target(Aligned(c[2], c[3]))], dtype=torch.long)
    pred = torch.empty(P, dtype=torch.long)
    h = np.empty((P, 2 * H), dtype=np.float32)
    c = np.empty((P, 2 * H), dtype=np.float32)
    # Batches of similar length (sorted), right-padded; the unrolled LSTM handles the padding.
    order = sorted(range(len(chunks)), key=lambda i: (len(chunks[i][2]), i))
    batch: list[int] = []
    with torch.no_grad():
        def run(ids: list[int]):
            L = lengths[ids]                                                            # (B,)
            T = int(L.max())
            xb = torch.zeros(len(ids), T, dtype=torch.long)                             # (B, T), 0 = <pad>
            dest = []
            for r, i in enumerate(ids):
                a, b = int(chunk_start[i]), int(chunk_start[i + 1])
                xb[r, : b - a] = x[a:b]
                dest.append(torch.arange(a, b))
            dest = torch.cat(dest)                                                      # (n,) row-major valid
            res = unrolled_bilstm(model.lstm, xb, L, keep_gates=False)
            valid = torch.arange(T).unsqueeze(0) < L.unsqueeze(1)                       # (B, T)
            concat = torch.cat([res["h.fwd"], res["h.bwd"]], dim=-1)                    # (B, T, 2H)
            cells = torch.cat([res["c.fwd"], res["c.bwd"]], dim=-1)                     # (B, T, 2H)
            hidden = torch.tanh(model.dense(concat))
            onehot = F.one_hot(xb, model.config.n_in).to(concat.dtype)
            logits = model.out(torch.cat([hidden, onehot], dim=-1))                     # (B, T, n_out)
            d = dest.numpy()
            h[d] = concat[valid].numpy()
            c[d] = cells[valid].numpy()
            pred[dest] = logits.argmax(-1)[valid]

        for i in order:
            if batch and (len(batch) + 1) * len(chunks[i][2]) > batch_positions:
                run(batch)
                batch = []
            batch.append(i)
        if batch:
            run(batch)
    spec = dict(spec or {}, seed=seed, max_len=max_len, n_sentences=len(sentences),
                fingerprint=fingerprint(sentences), n_positions=P)
    return Recording(model=model, alphabets=alphabets, chunks=[c[2] for c in chunks], chunk_start=chunk_start,
                     chunk_sentence=torch.tensor([c[0] for c in chunks], dtype=torch.long),
                     chunk_offset=torch.tensor([c[1] for c in chunks], dtype=torch.long),
                     x=x, y=y, pred=pred, h=h, c=c, spec=spec)


# -----------------------------------------------------------------------------
# Hellinger distances

def hellinger(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hellinger distance between histograms along the last dim: sqrt(1 - sum sqrt(p q)).

    p, q: (..., bins) counts or probabilities (each row is normalised to sum 1). In [0, 1]:
    0 for identical distributions, 1 for disjoint ones. Rows that sum to 0 give NaN.
    """
    p = p.double() / p.double().sum(-1, keepdim=True)
    q = q.double() / q.double().sum(-1, keepdim=True)
    bc = (p * q).sqrt().sum(-1)                                          # Bhattacharyya coefficient
    return (1.0 - bc).clamp(min=0.0).sqrt()


def _edges(lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """numpy.histogram's range: float64, an empty range widened by 0.5 on each side."""
    lo, hi = lo.double(), hi.double()
    flat = hi == lo
    return torch.where(flat, lo - 0.5, lo), torch.where(flat, hi + 0.5, hi)


def _bin_block(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    """bin_index for ranges already widened by _edges."""
    f = values.to(torch.float64, copy=True).sub_(lo).div_(hi - lo).mul_(bins)   # (n, u) fractional bin
    idx = f.long().clamp_(0, bins - 1)                                     # values are >= lo
    # The estimate can be off by one only within rounding distance of an edge: fix those few
    # exactly, with numpy's edge comparisons, instead of comparing every value twice.
    near = f.add_(1e-6).frac_() < 2e-6
    if near.any():
        r, col = near.nonzero(as_tuple=True)
        a, k = values[r, col].double(), idx[r, col]
        step, l0 = ((hi - lo) / bins)[col], lo[col]
        k = k - (a < k.double() * step + l0).long()
        k = k + ((a >= (k + 1).double() * step + l0) & (k != bins - 1)).long()
        idx[r, col] = k.clamp_(0, bins - 1)
    return idx


def bin_index(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    """Bin of every value (n, u) among `bins` equal bins per column between lo (u,) and hi (u,).

    Exactly numpy.histogram's rule (last bin closed; an empty range widened by 0.5 each side;
    the float estimate checked against the edges lo + k * (hi - lo) / bins), so a per-neuron
    np.histogram of the same float64 values gives the same counts.
    """
    lo, hi = _edges(lo, hi)
    return _bin_block(values, lo, hi, bins)


def slot_histograms(values: torch.Tensor, slot: torch.Tensor, n_slots: int, bins: int,
                    lo: torch.Tensor | None = None, hi: torch.Tensor | None = None,
                    block: int = 4096) -> torch.Tensor:
    """Histograms of every column of values (n, u), one per slot: (n_slots, u, bins) counts.

    One bincount per block of rows covers all columns and all slots: no loop over neurons or
    pairs. (Blocks keep the float64 temporaries in cache and out of fresh pages.)
    """
    n, u = values.shape
    if lo is None:
        lo, hi = torch.aminmax(values, dim=0)                             # (u,) each
    lo, hi = _edges(lo, hi)
    neuron_offset = (torch.arange(u) * bins).unsqueeze(0)                  # (1, u)
    hist = torch.zeros(n_slots * u * bins, dtype=torch.long)
    for s in range(0, n, block):
        flat = _bin_block(values[s:s + block], lo, hi, bins)               # (b, u)
        flat += (slot[s:s + block] * (u * bins)).unsqueeze(1)              # slot block
        flat += neuron_offset                                              # neuron block
        hist += torch.bincount(flat.view(-1), minlength=n_slots * u * bins)
    return hist.view(n_slots, u, bins)


def hellinger_from_counts(pos: torch.Tensor, total: torch.Tensor, n_pos: torch.Tensor,
                          n_neg: torch.Tensor) -> torch.Tensor:
    """H for histograms given as counts: pos (k, u, bins) of each y, total (u, bins) of x, and
    the row totals n_pos (k,), n_neg (k,). Same value as hellinger(pos, total - pos)."""
    bc = (pos * (total - pos)).double().sqrt_().sum(-1)                   # (k, u)
    bc /= (n_pos.double() * n_neg.double()).sqrt().unsqueeze(1)
    return (1.0 - bc).clamp_(min=0.0).sqrt_()


@dataclass(frozen=True)
class Pair:
    x: str
    y: str
    n_pos: int = 0     # positions with input x and target y
    n_neg: int = 0     # positions with input x and another target

    def __str__(self) -> str:
        return f"{self.x}:{self.y}"


@dataclass(frozen=True)
class NeuronScore:
    neuron: NeuronId
    hellinger: float
    n_pos: int
    n_neg: int

    def to_dict(self) -> dict:
        return {"neuron": str(self.neuron), "layer": self.neuron.layer, "index": self.neuron.index,
                "hellinger": round(self.hellinger, 6), "n_pos": self.n_pos, "n_neg": self.n_neg}


@dataclass(frozen=True)
class PairScore:
    pair: Pair
    hellinger: float
    n_pos: int
    n_neg: int

    def to_dict(self) -> dict:
        return {"pair": str(self.pair), "x": self.pair.x, "y": self.pair.y,
                "hellinger": round(self.hellinger, 6), "n_pos": self.n_pos, "n_neg": self.n_neg}


@dataclass
class HellingerTables:
    """Hellinger distance of every neuron (columns, all layers in LAYERS order) for every pair
    (rows), with the counts behind each value and the per-pair mean activations."""
    layers: list[str]
    sizes: dict[str, int]
    pairs: list[Pair]
    xs: list[str]                      # input characters that have at least one pair
    pair_x: list[int]                  # index into xs of each pair
    hellinger: torch.Tensor            # (n_pairs, N) float32
    mean_pos: torch.Tensor             # (n_pairs, N) mean activation where the target is y
    mean_neg: torch.Tensor             # (n_pairs, N) mean activation where it is not
    x_mean: torch.Tensor               # (n_xs, N) mean activation over all positions with input x
    x_lo: torch.Tensor                 # (n_xs, N) min on input x (the histogram range)
    x_hi: torch.Tensor                 # (n_xs, N) max on input x
    candidates: dict[str, dict[str, int]]   # every input char -> {output symbol: count}
    bins: int
    min_count: int

    @property
    def offsets(self) -> dict[str, int]:
        out, o = {}, 0
        for name in self.layers:
            out[name] = o
            o += self.sizes[name]
        return out


def pair_counts(recording: Recording) -> dict[tuple[int, int], int]:
    """{(x class, y class): positions}."""
    n_out = len(recording.alphabets.outputs)
    keys, counts = torch.unique(recording.x * n_out + recording.y, return_counts=True)
    return {(int(k) // n_out, int(k) % n_out): int(n) for k, n in zip(keys, counts)}


def hellinger_tables(recording: Recording, bins: int = DEFAULT_BINS, min_count: int = DEFAULT_MIN_COUNT,
                     layers: tuple[str, ...] | list[str] = LAYERS, progress=None) -> HellingerTables:
    """Hellinger distances for all neurons of `layers` and all (x, y) pairs with at least
    `min_count` positions where the target is y and `min_count` where it is not.

    Loops over input characters x and layers only: for one x and one layer, one bincount builds
    the histograms of every neuron for every target y of x (plus "any other target"), and the
    distances of all its pairs follow from them at once.
    """
    alph = recording.alphabets
    layers = [parse_layer(l) for l in layers]
    sizes = {l: recording.sizes[l] for l in layers}
    N = sum(sizes.values())
    counts = pair_counts(recording)
    candidates: dict[str, dict[str, int]] = {}
    for (xi, yk), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if xi >= 2:                                                      # not <pad>/<unk>
            candidates.setdefault(alph.inputs[xi], {})[output_symbol(alph, yk)] = n
    n_x = {}
    for (xi, _), n in counts.items():
        n_x[xi] = n_x.get(xi, 0) + n
    valid: dict[int, list[int]] = {}
    for (xi, yk), n in sorted(counts.items()):
        if xi >= 2 and n >= min_count and n_x[xi] - n >= min_count:
            valid.setdefault(xi, []).append(yk)
    xs = sorted(valid, key=lambda xi: alph.inputs[xi])
    pairs, pair_x = [], []
    for j, xi in enumerate(xs):
        for yk in valid[xi]:
            pairs.append(Pair(alph.inputs[xi], output_symbol(alph, yk), counts[(xi, yk)], n_x[xi] - counts[(xi, yk)]))
            pair_x.append(j)
    n_pairs = len(pairs)
    hell = torch.zeros(n_pairs, N)
    mean_pos, mean_neg = torch.zeros(n_pairs, N), torch.zeros(n_pairs, N)
    x_mean, x_lo, x_hi = torch.zeros(len(xs), N), torch.zeros(len(xs), N), torch.zeros(len(xs), N)
    offsets = {l: sum(sizes[m] for m in layers[:i]) for i, l in enumerate(layers)}   # first column of each layer
    row = 0
    with torch.no_grad():
        for j, xi in enumerate(xs):
            positions = (recording.x == xi).nonzero().squeeze(1)                      # (n,)
            ys = valid[xi]
            slot = torch.full((positions.numel(),), len(ys), dtype=torch.long)        # last slot: other targets
            target = recording.y[positions]
            for s, yk in enumerate(ys):
                slot[target == yk] = s
            n_pos = torch.tensor([counts[(xi, yk)] for yk in ys], dtype=torch.float64)  # (k,)
            n_all = positions.numel()
            onehot_slot = F.one_hot(slot, len(ys) + 1).double()                      # (n, k+1)
            rows = slice(row, row + len(ys))
            for l, acts in recording.layers_at(layers, positions):                   # acts (n, u)
                cols = slice(offsets[l], offsets[l] + sizes[l])
                lo, hi = torch.aminmax(acts, dim=0)
                hist = slot_histograms(acts, slot, len(ys) + 1, bins, lo, hi)          # (k+1, u, bins)
                total = hist.sum(0)                                                    # (u, bins)
                hell[rows, cols] = hellinger_from_counts(hist[: len(ys)], total, n_pos, n_all - n_pos).float()
                sums = onehot_slot.t() @ acts.double()                                 # (k+1, u)
                all_sum = sums.sum(0)                                                  # (u,)
                mean_pos[rows, cols] = (sums[: len(ys)] / n_pos.unsqueeze(1)).float()
                mean_neg[rows, cols] = ((all_sum - sums[: len(ys)]) / (n_all - n_pos).unsqueeze(1)).float()
                x_mean[j, cols] = (all_sum / n_all).float()
                x_lo[j, cols], x_hi[j, cols] = lo, hi
                if progress:
                    progress(alph.inputs[xi], l)
            row += len(ys)
    return HellingerTables(layers=layers, sizes=sizes, pairs=pairs, xs=[alph.inputs[xi] for xi in xs],
                           pair_x=pair_x, hellinger=hell, mean_pos=mean_pos, mean_neg=mean_neg,
                           x_mean=x_mean, x_lo=x_lo, x_hi=x_hi, candidates=candidates,
                           bins=bins, min_count=min_count)


# -----------------------------------------------------------------------------
# the analysis file

def cache_root() -> Path:
    return Path(os.environ.get("TRANSLIT_CACHE") or Path.home() / ".cache" / "translit_core")


def save_to_cache(recording: Recording, key: str, keep: int = 3) -> Path:
    """Write the recording under the cache root and keep only the `keep` most recent entries
    (each is ~2 GB for the default sample)."""
    root = cache_root() / "recordings"
    path = recording.save(root / key)
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".tmp")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def recording_key(weights_sha256: str, spec: dict) -> str:
    keep = {k: spec.get(k) for k in ("fingerprint", "seed", "max_len", "rules_sha256")}
    blob = json.dumps({"v": FORMAT_VERSION, "weights": weights_sha256, **keep}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def ranked_units(scores: torch.Tensor) -> torch.Tensor:
    """Indices of scores (…, u) in descending order, ties broken by lower index (stable)."""
    return torch.sort(scores, dim=-1, descending=True, stable=True).indices


class Analysis:
    """What `analyze` writes next to a checkpoint; the dashboard loads it once.

    Tables have one row per pair and one column per neuron of every layer (LAYERS order).
    """

    def __init__(self, tables: HellingerTables, meta: dict, weights: dict[str, torch.Tensor],
                 checkpoint_dir: Path | None = None):
        self.tables, self.meta, self.weights = tables, meta, weights
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.layers, self.sizes = tables.layers, tables.sizes
        self.offsets = tables.offsets
        self._pair_index = {str(p): i for i, p in enumerate(tables.pairs)}
        self._ablations = {(a["pair"], a["layer"]): a for a in meta.get("ablations", [])}
        self._recording: Recording | None = None

    # ---- names
    def pairs(self) -> list[Pair]:
        return list(self.tables.pairs)

    def parse_pair(self, name: "str | Pair") -> Pair:
        key = str(name)
        if key in self._pair_index:
            return self.tables.pairs[self._pair_index[key]]
        x, y = _split_pair(key)
        seen = self.tables.candidates.get(x, {})
        valid = ", ".join(str(p) for p in self.tables.pairs)
        if y in seen:
            raise UnknownName(f"pair {key} has {seen[y]} positions with target {y} and "
                              f"{sum(seen.values()) - seen[y]} without; the analysis keeps pairs with at least "
                              f"{self.tables.min_count} on each side. Valid pairs: {valid}")
        raise UnknownName(f"unknown pair {key!r}; valid pairs: {valid}")

    def parse_neuron(self, name: "str | NeuronId") -> NeuronId:
        neuron = NeuronId.parse(name, self.sizes)
        if neuron.layer not in self.sizes:
            raise UnknownName(f"layer {neuron.layer} is not in this analysis; layers: {', '.join(self.layers)}")
        return neuron

    def candidates(self, x: str) -> list[str]:
        """Output symbols seen for input character x in the sample, most frequent first."""
        seen = self.tables.candidates.get(x, {})
        return sorted(seen, key=lambda y: -seen[y])

    def column(self, neuron: NeuronId) -> int:
        return self.offsets[neuron.layer] + neuron.index

    # ---- rankings
    def hellinger_of(self, pair: "str | Pair", neuron: "str | NeuronId") -> float:
        p, n = self.parse_pair(pair), self.parse_neuron(neuron)
        return float(self.tables.hellinger[self._pair_index[str(p)], self.column(n)])

    def layer_scores(self, pair: "str | Pair", layer: str) -> torch.Tensor:
        """(units,) Hellinger of every neuron of `layer` for `pair`."""
        p = self.parse_pair(pair)
        if layer not in self.sizes:
            raise UnknownName(f"unknown layer {layer!r}; layers: {', '.join(self.layers)}")
        o = self.offsets[layer]
        return self.tables.hellinger[self._pair_index[str(p)], o:o + self.sizes[layer]]

    def top_neurons(self, pair: "str | Pair", layer: str, k: int = 10) -> list[NeuronScore]:
        p = self.parse_pair(pair)
        scores = self.layer_scores(p, layer)
        order = ranked_units(scores)[:k]
        return [NeuronScore(NeuronId(layer, int(i)), float(scores[i]), p.n_pos, p.n_neg) for i in order]

    def top_pairs(self, neuron: "str | NeuronId", k: int = 10) -> list[PairScore]:
        n = self.parse_neuron(neuron)
        col = self.tables.hellinger[:, self.column(n)]
        order = ranked_units(col)[:k]
        return [PairScore(self.tables.pairs[i], float(col[i]), self.tables.pairs[i].n_pos,
                          self.tables.pairs[i].n_neg) for i in order.tolist()]

    def mean_activation(self, pair: "str | Pair", neuron: "str | NeuronId", over: str = "pos") -> float:
        p, n = self.parse_pair(pair), self.parse_neuron(neuron)
        return float(self._means(p, over)[self.column(n)])

    def _means(self, pair: Pair, over: str) -> torch.Tensor:
        i = self._pair_index[str(pair)]
        if over == "pos":
            return self.tables.mean_pos[i]
        if over == "neg":
            return self.tables.mean_neg[i]
        if over == "x":
            return self.tables.x_mean[self.tables.pair_x[i]]
        raise ValueError(f"over must be 'pos', 'neg' or 'x', not {over!r}")

    # ---- contributions: the graph's edges
    def contributions(self, pair: "str | Pair", lower: list, upper: list, over: str = "pos") -> torch.Tensor:
        """(len(lower), len(upper)) mean over the pair's positions of weight x activation of the
        lower neuron into the upper one: concat.* -> hidden (dense weights, before the tanh) and
        hidden -> output (output weights, before the softmax). Signs are kept. Equal to the
        weight times the mean activation, because the contribution is linear in the activation.
        `over`: "pos" (target y, the default), "neg" (other targets) or "x" (all positions of x).
        0 where the two neurons are not directly connected."""
        p = self.parse_pair(pair)
        mean = self._means(p, over)
        lower = [self.parse_neuron(n) for n in lower]
        upper = [self.parse_neuron(n) for n in upper]
        H = self.sizes["concat.fwd"]
        out = torch.zeros(len(lower), len(upper))
        for a, lo in enumerate(lower):
            act = float(mean[self.column(lo)])
            for b, up in enumerate(upper):
                if up.layer == "hidden" and lo.layer in ("concat.fwd", "concat.bwd"):
                    col = lo.index + (H if lo.layer == "concat.bwd" else 0)
                    out[a, b] = self.weights["dense.weight"][up.index, col] * act
                elif up.layer == "output" and lo.layer == "hidden":
                    out[a, b] = self.weights["out.weight"][up.index, lo.index] * act
        return out

    # ---- ablation results stored by analyze
    def ablation(self, pair: "str | Pair", layer: str) -> dict | None:
        return self._ablations.get((str(self.parse_pair(pair)), layer))

    def ablations(self) -> list[dict]:
        return list(self.meta.get("ablations", []))

    # ---- the sample recording (cached outside the repo)
    def recording(self, data_dir: str | Path | None = None) -> Recording:
        """The recording of the sample this analysis was built on (cached; re-made if missing)."""
        if self._recording is None:
            ck = self.checkpoint_dir
            if ck is None or not (ck / WEIGHTS).is_file():      # analysis written with --out elsewhere
                ck = Path(self.meta["checkpoint"]["dir"])
            if (ck / WEIGHTS).is_file() and file_sha256(ck / WEIGHTS) != self.meta["checkpoint"]["weights_sha256"]:
                raise AnalysisMissing(f"the checkpoint in {ck} changed since this analysis was built; rebuild "
                                      f"with `{analyze_command(ck)}`")
            self._recording = load_or_record(ck, spec=self.meta["sample"], data_dir=data_dir)
        return self._recording

    # ---- files
    def save(self, directory: str | Path) -> tuple[Path, Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        t = self.tables
        tensors = {"hellinger": t.hellinger, "mean_pos": t.mean_pos, "mean_neg": t.mean_neg,
                   "x_mean": t.x_mean, "x_lo": t.x_lo, "x_hi": t.x_hi}
        # Rankings: per pair, per layer, neuron indices by descending H (int16).
        for l in t.layers:
            o = self.offsets[l]
            tensors[f"rank.{l}"] = ranked_units(t.hellinger[:, o:o + t.sizes[l]]).to(torch.int16)
        tensors.update({k: v.detach().float().contiguous() for k, v in self.weights.items()})
        meta = dict(self.meta, format_version=FORMAT_VERSION, bins=t.bins, min_count=t.min_count,
                    layers=[{"name": l, "units": t.sizes[l], "offset": self.offsets[l]} for l in t.layers],
                    xs=t.xs, pairs=[{"x": p.x, "y": p.y, "n_pos": p.n_pos, "n_neg": p.n_neg, "x_index": j}
                                    for p, j in zip(t.pairs, t.pair_x)],
                    candidates=t.candidates)
        wpath, mpath = directory / ANALYSIS_WEIGHTS, directory / ANALYSIS_META
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(wpath) + ".tmp")
        Path(str(mpath) + ".tmp").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        Path(str(wpath) + ".tmp").replace(wpath)
        Path(str(mpath) + ".tmp").replace(mpath)
        return wpath, mpath

    @classmethod
    def load(cls, checkpoint_dir: str | Path | None = None, check_weights: bool = True) -> "Analysis":
        """The analysis next to a checkpoint. Raises AnalysisMissing when absent, unreadable, or
        stale (the checkpoint's weights changed since `analyze`); check_weights=False loads a
        stale one anyway (its tables then describe the old weights; recording() still refuses)."""
        directory = Path(checkpoint_dir) if checkpoint_dir else DEFAULT_CHECKPOINT
        wpath, mpath = directory / ANALYSIS_WEIGHTS, directory / ANALYSIS_META
        if not wpath.is_file() or not mpath.is_file():
            raise AnalysisMissing(f"no analysis next to the checkpoint in {directory} (missing "
                                  f"{ANALYSIS_WEIGHTS} / {ANALYSIS_META}); build it with `{analyze_command(directory)}`")
        try:
            meta = json.loads(mpath.read_text(encoding="utf-8"))
            t = load_file(wpath)
            layers = [l["name"] for l in meta["layers"]]
            sizes = {l["name"]: l["units"] for l in meta["layers"]}
            pairs = [Pair(p["x"], p["y"], p["n_pos"], p["n_neg"]) for p in meta["pairs"]]
            tables = HellingerTables(layers=layers, sizes=sizes, pairs=pairs, xs=meta["xs"],
                                     pair_x=[p["x_index"] for p in meta["pairs"]], hellinger=t["hellinger"],
                                     mean_pos=t["mean_pos"], mean_neg=t["mean_neg"], x_mean=t["x_mean"],
                                     x_lo=t["x_lo"], x_hi=t["x_hi"], candidates=meta["candidates"],
                                     bins=meta["bins"], min_count=meta["min_count"])
            weights = {k: t[k] for k in ("dense.weight", "dense.bias", "out.weight", "out.bias")}
            sha_built = meta["checkpoint"]["weights_sha256"]
        except (ValueError, KeyError, TypeError, OSError, SafetensorError) as e:
            raise AnalysisMissing(f"{directory}: unreadable analysis files ({type(e).__name__}: {e}); "
                                  f"rebuild with `{analyze_command(directory)}`") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise AnalysisMissing(f"{mpath}: analysis format {meta.get('format_version')} is not "
                                  f"{FORMAT_VERSION}; rebuild with `{analyze_command(directory)}`")
        if check_weights and (directory / WEIGHTS).is_file():
            sha = file_sha256(directory / WEIGHTS)
            if sha != sha_built:
                raise AnalysisMissing(f"{mpath} was built for other weights than {directory / WEIGHTS} "
                                      f"(the checkpoint changed); rebuild with `{analyze_command(directory)}`")
        return cls(tables, meta, weights, directory)


def load_or_record(checkpoint_dir: str | Path | None, spec: dict, data_dir: str | Path | None = None,
                   use_cache: bool = True) -> Recording:
    """The recording described by `spec` (from an analysis file): from the cache when present,
    else re-made from the sample (needs the data) and cached."""
    from .rules import load_rules
    directory = Path(checkpoint_dir) if checkpoint_dir else DEFAULT_CHECKPOINT
    model, alphabets, meta = load_checkpoint(directory)
    key = recording_key(file_sha256(directory / WEIGHTS), spec)
    cached = cache_root() / "recordings" / key
    if use_cache and (cached / "recording.json").is_file():
        try:
            return Recording.load(cached, model, alphabets)
        except (OSError, ValueError, KeyError, SafetensorError) as e:
            print(f"warning: ignoring unreadable recording cache {cached} ({e})")
    if spec.get("source") == "text":
        sentences = text_sentences(spec["path"], spec["n_requested"], spec["seed"])
    else:
        # The directory given, else the usual place ($TRANSLIT_DATA, ../shared/data), else where the
        # analysis was built: the same files are found on another machine without --data.
        tried = [Path(d) for d in (data_dir, default_data_dir(), spec.get("data_dir")) if d]
        found = next((d for d in tried if any(any(d.glob(g)) for g in HELDOUT_GLOBS)), tried[0])
        sentences = sample_sentences(found, spec["n_requested"], spec["seed"])
    if spec.get("fingerprint") and fingerprint(sentences) != spec["fingerprint"]:
        raise SampleMissing(f"the sample text found ({spec.get('data_dir') or spec.get('path')}) is not the one "
                            f"the analysis was built on; point --data at the same data or rerun analyze")
    rec = record_activations(model, alphabets, sentences, load_rules(), seed=spec["seed"],
                             max_len=spec.get("max_len"), spec=spec)
    if use_cache:
        try:
            save_to_cache(rec, key)
        except OSError as e:
            print(f"warning: could not cache the recording in {cached} ({e})")
    return rec


# -----------------------------------------------------------------------------
# on demand: one histogram, top contexts, substring selectivity

@dataclass
class Histogram:
    pair: str
    neuron: str
    edges: list[float]           # bins + 1 edges
    density_pos: list[float]     # density (integrates to 1) of positions with target y
    density_neg: list[float]     # density of positions with input x and another target
    counts_pos: list[int]
    counts_neg: list[int]
    hellinger: float
    n_pos: int
    n_neg: int

    def to_dict(self) -> dict:
        return asdict(self)


def _resolve_pair(recording: Recording, pair: "str | Pair") -> tuple[int, int, str]:
    x, y = _split_pair(str(pair))
    alph = recording.alphabets
    xi, yk = alph.in_index.get(x), _symbol_index(alph, y)
    counts = pair_counts(recording)
    valid = sorted(f"{alph.inputs[a]}:{output_symbol(alph, b)}" for (a, b) in counts if a >= 2)
    if xi is None or yk is None or (xi, yk) not in counts:
        shown = ", ".join(valid[:400])
        raise UnknownName(f"pair {pair} does not occur in the sample; pairs that do: {shown}")
    return xi, yk, f"{x}:{y}"


def pair_activations(recording: Recording, pair: "str | Pair", neuron: "str | NeuronId"):
    """(values (n,), is_pos (n,) bool, positions (n,)) of a neuron on the positions of x."""
    xi, yk, name = _resolve_pair(recording, pair)
    neuron = NeuronId.parse(neuron, recording.sizes)
    positions = (recording.x == xi).nonzero().squeeze(1)
    values = recording.layer(neuron.layer, positions, units=[neuron.index]).squeeze(1)
    return values, recording.y[positions] == yk, positions


def histogram(source, pair: "str | Pair", neuron: "str | NeuronId", bins: int = DEFAULT_BINS,
              data_dir: str | Path | None = None) -> Histogram:
    """Histograms of one neuron on one pair, recomputed: the neuron's values on the positions of
    input x, split by whether the target is y, in `bins` equal bins between their min and max.

    source: a checkpoint directory (or None for the default; uses its analysis and cached
    recording), an Analysis, or a Recording.
    """
    recording = _recording_from(source, data_dir)
    values, is_pos, _ = pair_activations(recording, pair, neuron)
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise UnknownName(f"pair {pair}: every position with that input has {'that' if n_neg == 0 else 'another'} "
                          f"target, so there is nothing to compare")
    lo, hi = values.min().reshape(1), values.max().reshape(1)
    counts = slot_histograms(values.unsqueeze(1), (~is_pos).long(), 2, bins, lo, hi)[:, 0]   # (2, bins)
    lo_e, hi_e = (float(lo) - 0.5, float(hi) + 0.5) if float(lo) == float(hi) else (float(lo), float(hi))
    edges = np.linspace(lo_e, hi_e, bins + 1)
    width = (hi_e - lo_e) / bins
    return Histogram(pair=str(pair), neuron=str(NeuronId.parse(neuron)), edges=edges.tolist(),
                     density_pos=(counts[0].double() / (n_pos * width)).tolist(),
                     density_neg=(counts[1].double() / (n_neg * width)).tolist(),
                     counts_pos=counts[0].tolist(), counts_neg=counts[1].tolist(),
                     hellinger=float(hellinger(counts[0], counts[1])), n_pos=n_pos, n_neg=n_neg)


def _recording_from(source, data_dir=None) -> Recording:
    if isinstance(source, Recording):
        return source
    if isinstance(source, Analysis):
        return source.recording(data_dir)
    return Analysis.load(source).recording(data_dir)


@dataclass(frozen=True)
class Context:
    """A Latin snippet around a position where a neuron is most active. Unpacks as
    (snippet, activations); `focus` is the index of that position inside the snippet."""
    snippet: str
    activations: list[float]   # one per character of the snippet
    focus: int
    value: float

    def __iter__(self):
        return iter((self.snippet, self.activations))


def top_contexts(neuron: "str | NeuronId", k: int = 10, source=None, window: int = 15,
                 lowest: bool = False) -> list[Context]:
    """The k positions of the sample (at most one per chunk) where the neuron is highest (or
    lowest), each with its surrounding Latin text and the neuron's value on every character."""
    recording = _recording_from(source)
    neuron = NeuronId.parse(neuron, recording.sizes)
    values = recording.layer(neuron.layer, None, units=[neuron.index]).squeeze(1)       # (P,)
    order = torch.argsort(values, descending=not lowest, stable=True)
    chunk = recording.chunk_of(order)
    seen, out = set(), []
    for pos, ch in zip(order.tolist(), chunk.tolist()):
        if ch in seen:
            continue
        seen.add(ch)
        a0, b0 = int(recording.chunk_start[ch]), int(recording.chunk_start[ch + 1])
        a, b = max(a0, pos - window), min(b0, pos + window + 1)
        text = recording.chunks[ch][a - a0:b - a0]
        out.append(Context(text, [round(float(v), 4) for v in values[a:b]], pos - a, float(values[pos])))
        if len(out) >= k:
            break
    return out


def span_mask(recording: Recording, substring: str) -> torch.Tensor:
    """(P,) True at the Latin positions whose aligned Armenian text is part of an occurrence of
    `substring` (matched on the Armenian side, so every typed spelling counts; case-sensitive)."""
    tokens = recording.target_tokens()
    mask = torch.zeros(recording.n_positions, dtype=torch.bool)
    for ch in range(len(recording.chunks)):
        a, b = int(recording.chunk_start[ch]), int(recording.chunk_start[ch + 1])
        toks = tokens[a:b]
        text = "".join(toks)
        owner = [i for i, t in enumerate(toks) for _ in t]          # Armenian char -> Latin position
        start = text.find(substring)
        while start >= 0:
            first, last = owner[start], owner[start + len(substring) - 1]
            while last + 1 < len(toks) and toks[last + 1] == "":       # placeholders that finish the span
                last += 1
            mask[a + first:a + last + 1] = True
            start = text.find(substring, start + 1)
    return mask


def substring_selectivity(text_or_recording, substring: str,
                          layers: tuple[str, ...] = ("concat.fwd", "concat.bwd", "hidden"), top: int = 10,
                          bins: int = 100, control_input: bool = True, checkpoint_dir=None, seed: int = 0
                          ) -> list[NeuronScore]:
    """Neurons whose activation best separates positions inside an occurrence of `substring`
    (Armenian, e.g. "ություն") from positions outside it, by Hellinger distance.

    With control_input (default) "outside" is restricted to positions typed with the same Latin
    characters as the inside ones, so a neuron that merely fires on the letter "y" does not win.
    text_or_recording: a Recording, or Armenian sentences (list or one string, recorded with the
    checkpoint). Returns the `top` neurons of each layer, best first within each layer; n_pos /
    n_neg are the inside / outside counts.
    """
    if isinstance(text_or_recording, Recording):
        recording = text_or_recording
    else:
        from .rules import load_rules
        sentences = [text_or_recording] if isinstance(text_or_recording, str) else list(text_or_recording)
        model, alphabets, _ = load_checkpoint(checkpoint_dir)
        recording = record_activations(model, alphabets, sentences, load_rules(), seed=seed)
    inside = span_mask(recording, substring)
    if not inside.any():
        raise UnknownName(f"{substring!r} does not occur in the sample text")
    outside = ~inside
    if control_input:
        outside &= torch.isin(recording.x, recording.x[inside].unique())
    positions = (inside | outside).nonzero().squeeze(1)
    slot = (~inside[positions]).long()                                        # 0 inside, 1 outside
    n_in, n_out = int(inside.sum()), int(outside.sum())
    out: list[NeuronScore] = []
    for l in layers:
        acts = recording.layer(parse_layer(l), positions)                      # (n, u)
        hist = slot_histograms(acts, slot, 2, bins)                            # (2, u, bins)
        scores = hellinger(hist[0], hist[1]).float()                           # (u,)
        for i in ranked_units(scores)[:top].tolist():
            out.append(NeuronScore(NeuronId(l, i), float(scores[i]), n_in, n_out))
    return out


# -----------------------------------------------------------------------------
# analyze: everything above, written next to the checkpoint

@torch.no_grad()   # a context, not set_grad_enabled: callers (tests, the app) keep their own mode
def run_analysis(checkpoint_dir: str | Path | None = None, n_sentences: int = 5000, seed: int = 0,
                 data_dir: str | Path | None = None, text: str | Path | None = None,
                 bins: int = DEFAULT_BINS, min_count: int = DEFAULT_MIN_COUNT, out_dir: str | Path | None = None,
                 ablation_k: int = 10, ablation_draws: int = 5, use_cache: bool = True,
                 max_len: int | None = None, log=print) -> tuple[Analysis, dict]:
    """Record, tabulate, ablate, save. Returns (analysis, timings/summary)."""
    from .ablation import ABLATABLE_LAYERS, ablate_recording, pairs_to_ablate
    from .rules import load_rules
    t0 = time.perf_counter()
    directory = Path(checkpoint_dir) if checkpoint_dir else DEFAULT_CHECKPOINT
    weights_sha = file_sha256(directory / WEIGHTS) if (directory / WEIGHTS).is_file() else ""
    model, alphabets, ck_meta = load_checkpoint(directory)
    if file_sha256(directory / WEIGHTS) != weights_sha:
        raise AnalysisError(f"{directory / WEIGHTS} changed while it was being loaded; run analyze again")
    rules = load_rules()
    if text:
        sentences = text_sentences(text, n_sentences, seed)
        spec = {"source": "text", "path": str(Path(text).resolve())}
    else:
        dd = Path(data_dir) if data_dir else default_data_dir()
        sentences = sample_sentences(dd, n_sentences, seed)
        spec = {"source": "heldout", "data_dir": str(dd.resolve()), "files": list(HELDOUT_GLOBS)}
    max_len = max_len or ck_meta.get("train_config", {}).get("max_len") or 200
    spec.update(n_requested=n_sentences, rules_sha256=rules.sha256)
    timings = {"load": time.perf_counter() - t0}
    log(f"recording {len(sentences)} sentences (seed {seed}, chunks of at most {max_len} characters)...")
    t = time.perf_counter()
    rec = record_activations(model, alphabets, sentences, rules, seed=seed, max_len=max_len, spec=spec)
    timings["record"] = time.perf_counter() - t
    log(f"  {rec.n_positions:,} positions in {timings['record']:.1f}s")
    if use_cache:
        t = time.perf_counter()
        try:
            save_to_cache(rec, recording_key(weights_sha, rec.spec))
        except OSError as e:
            log(f"  warning: could not cache the recording ({e}); histograms will re-record")
        timings["cache"] = time.perf_counter() - t
    t = time.perf_counter()
    tables = hellinger_tables(rec, bins=bins, min_count=min_count)
    timings["hellinger"] = time.perf_counter() - t
    log(f"  Hellinger tables: {len(tables.pairs)} pairs x {tables.hellinger.shape[1]} neurons "
        f"in {timings['hellinger']:.1f}s")
    weights = {"dense.weight": model.dense.weight, "dense.bias": model.dense.bias,
               "out.weight": model.out.weight, "out.bias": model.out.bias}
    accuracy = float((rec.pred == rec.y).float().mean()) if rec.n_positions else float("nan")
    meta = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checkpoint": {"dir": str(directory), "weights_sha256": weights_sha,
                       "metrics": {k: v for k, v in ck_meta.get("metrics", {}).items() if k != "history"},
                       "config": ck_meta.get("config")},
        "sample": rec.spec,
        "recording_key": recording_key(weights_sha, rec.spec),
        "sample_accuracy": accuracy,
        "ablation_method": {"replace_with": "mean activation over all positions with input x",
                            "accuracy_on": "all positions with input x (prediction == target class)",
                            "random": "k neurons drawn uniformly from the same layer, excluding the top k",
                            "std": "sample standard deviation over the draws"},
    }
    analysis = Analysis(tables, meta, {k: v.detach() for k, v in weights.items()}, directory)
    analysis._recording = rec
    t = time.perf_counter()
    ablations = []
    if ablation_k > 0:
        for pair in sorted(pairs_to_ablate(analysis), key=lambda name: name[0]):   # grouped by x: shared work
            for layer in ABLATABLE_LAYERS:
                ablations.append(ablate_recording(rec, pair, layer, ablation_k, draws=ablation_draws, seed=seed,
                                                  scores=analysis.layer_scores(pair, layer), bins=bins))
    timings["ablation"] = time.perf_counter() - t
    meta["ablations"] = ablations
    analysis = Analysis(tables, meta, analysis.weights, directory)
    analysis._recording = rec
    timings["total"] = time.perf_counter() - t0
    meta["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    out = Path(out_dir) if out_dir else directory
    wpath, mpath = analysis.save(out)
    summary = {"sentences": len(sentences), "positions": rec.n_positions, "pairs": len(tables.pairs),
               "neurons": int(tables.hellinger.shape[1]), "ablations": len(ablations),
               "sample_accuracy": accuracy, "files": {str(wpath): wpath.stat().st_size, str(mpath): mpath.stat().st_size},
               "timings_s": meta["timings_s"]}
    return analysis, summary


from .ablation import ablate  # noqa: E402  (re-exported: the contract names it in this module)

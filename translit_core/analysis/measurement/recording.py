"""Recording: one pass of the network over the sample, keeping what every layer derives from.

    held-out sentences -> romanized with the rules (seeded), cut into chunks like the model saw in
    training -> `record_activations`: the model's hooked pass (`TranslitNet.run_with_cache`),
    keeping per position the input x, the target y, the prediction, and the biLSTM state h and c
    of both directions.

Every other layer (gates, hidden, output) is a cheap function of (h, c, x) computed by the
model's own pieces (`TranslitNet.gate`, `TranslitNet.head`), so `Recording.layer` derives it on
demand instead of storing 3,700 floats per position. The recording (~1 GB per 250k positions)
is cached outside the repository (`settings.cache_root()`) because it holds held-out text.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ... import settings
from ...model.alphabets import FIRST_INPUT_CLASS, Alphabets, class_of_symbol, symbol_of_class
from ...model.names import NeuronId, UnknownName, parse_layer
from ...model.net import TranslitNet
from ...text.romanize import Aligned, romanize
from ...text.words import split_at_spaces
from .names import FORMAT_VERSION, Pair
from .sample import fingerprint
from .staging import RELEASE_BYTES, release_written, state_arrays

RECORDED = ("concat.fwd", "concat.bwd", "cell.fwd", "cell.bwd")   # what a recording stores
# Positions per batch of the step-by-step pass. 4,096 (32 chunks of 128) was faster than 16,384 on
# the 2-core VM (1.6-2.0 s against 2.1-2.7 s per 45k positions): every per-step buffer stays small
# enough to be reused from the heap instead of page-faulted in afresh.
BATCH_POSITIONS = 1 << 12


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
    # (n_sentences,) each sentence's unit of resampling (a paraphrase pair shares one; sample.paraphrase_groups),
    # a list, or a callable that makes it when first needed; None: every sentence is its own unit
    sentence_group: "torch.Tensor | list[int] | Callable[[], list[int]] | None" = None

    def __post_init__(self):
        starts = torch.zeros(self.n_positions, dtype=torch.bool)
        ends = torch.zeros(self.n_positions, dtype=torch.bool)
        lengths = self.chunk_start[1:] - self.chunk_start[:-1]
        nonempty = lengths > 0
        starts[self.chunk_start[:-1][nonempty]] = True
        ends[self.chunk_start[1:][nonempty] - 1] = True
        self.is_first, self.is_last = starts, ends
        self.sizes = self.model.sizes
        self.memo: dict = {}          # intermediates shared by queries on the same recording

    # ---- basic facts
    @property
    def n_positions(self) -> int:
        return int(self.x.numel())

    @property
    def H(self) -> int:
        return self.model.config.lstm

    def groups(self) -> torch.Tensor:
        """(n_sentences,) each sentence's unit of resampling (`sentence_group`, made on first use)."""
        n = int(self.chunk_sentence.max()) + 1 if self.chunk_sentence.numel() else 0
        if callable(self.sentence_group):
            self.sentence_group = self.sentence_group()
        if self.sentence_group is not None and not isinstance(self.sentence_group, torch.Tensor):
            self.sentence_group = torch.as_tensor(self.sentence_group, dtype=torch.long)
        if self.sentence_group is None or self.sentence_group.numel() != n:
            return torch.arange(n)
        return self.sentence_group

    def group_of(self, positions: torch.Tensor) -> torch.Tensor:
        """Each position's unit of resampling: its sentence's group (both sentences of a paraphrase
        pair share one), what every bootstrap draws and every split keeps together."""
        return self.groups()[self.sentence_of(positions)]

    def sentence_halves(self, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Two (P,) bool masks that split the positions by sentence group (a paraphrase pair stays
        on one side), a seeded random half of the groups each: select on one, score on the other."""
        _, group = torch.unique(self.groups(), return_inverse=True)                # (n_sentences,) in 0..G-1
        n = int(group.max()) + 1 if group.numel() else 0
        first = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[: n // 2]
        in_first = torch.zeros(n, dtype=torch.bool)
        in_first[first] = True
        mask = in_first[group][self.sentence_of(torch.arange(self.n_positions))]
        return mask, ~mask

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
        n = rows.numel()
        if n and int(rows[-1]) - int(rows[0]) == n - 1 and bool((rows[1:] > rows[:-1]).all()):
            # a block of consecutive positions (saturation, hypothesis bits): a slice, not a gather;
            # a copy: callers write
            return torch.from_numpy(np.array(array[int(rows[0]):int(rows[0]) + n, cols], order="C"))
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

    def rerun_logits(self, positions: torch.Tensor, interventions, batch_positions: int = BATCH_POSITIONS
                     ) -> torch.Tensor:
        """The model's logits at `positions` from a rerun of the whole network (the hooked pass)
        over every chunk that holds one of them, with `interventions(xb)` (a list of
        Intervention for a batch xb (B, T)) applied: (n, n_out)."""
        positions = torch.as_tensor(positions)
        slot = torch.full((self.n_positions,), -1, dtype=torch.long)
        slot[positions] = torch.arange(positions.numel())
        out = torch.zeros(positions.numel(), len(self.alphabets.outputs))
        chunk_ids = self.chunk_of(positions).unique().tolist()
        with torch.no_grad():
            for xb, L, dest, valid in iter_batches(self.x, self.chunk_start, chunk_ids, batch_positions):
                logits = self.model.run_with_hooks(xb, L, interventions(xb))[valid]   # (b, n_out)
                keep = slot[dest] >= 0
                out[slot[dest][keep]] = logits[keep].float()
        return out

    def rerun_predictions(self, positions: torch.Tensor, interventions, batch_positions: int = BATCH_POSITIONS
                          ) -> torch.Tensor:
        """The argmax of `rerun_logits`: (n,) classes."""
        return self.rerun_logits(positions, interventions, batch_positions).argmax(-1)

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

        if name in RECORDED:
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
            h_before = get(f"h_before.{direction}", lambda: self._neighbour(self.h, pos, direction))  # (n, H)
            return m.gate(direction, gate, self.x[pos], h_before, units)
        concat = get("h", lambda: self._rows(self.h, pos, slice(0, 2 * H)))            # (n, 2H)
        if name == "hidden" and units is not None and "hidden" not in memo:
            # a few units of the dense layer: their rows of its weight only (hypothesis bits)
            return torch.tanh(torch.nn.functional.linear(concat, m.dense.weight[units], m.dense.bias[units]))
        # the dense layer alone for "hidden" (the head would compute the logits too)
        hidden = get("hidden", lambda: torch.tanh(m.dense(concat)))                     # (n, hidden)
        if name == "hidden":
            return pick(hidden)
        return pick(m.output_layer(hidden, m.direct_term(self.x[pos]))[1])             # (n, n_out) logits

    # ---- cache (safetensors + .npy + JSON; nothing is unpickled)
    def staged(self) -> Path | None:
        """The staging directory h and c were recorded into (`record_activations(into=...)`) while
        they are still there, else None."""
        files = [getattr(a, "filename", None) for a in (self.h, self.c)]
        if None in files or Path(files[0]).parent != Path(files[1]).parent:
            return None
        where = Path(files[0]).parent
        return where if where.name.endswith(".tmp") and all(Path(f).is_file() for f in files) else None

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        tmp = self.staged()
        copy = tmp is None                                # else h.npy and c.npy are written already
        if copy:
            tmp = directory.with_name(directory.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        try:
            if copy:
                np.save(tmp / "h.npy", self.h)
                np.save(tmp / "c.npy", self.c)
            save_file({"x": self.x.to(torch.int32), "y": self.y.to(torch.int32), "pred": self.pred.to(torch.int32),
                       "chunk_start": self.chunk_start, "chunk_sentence": self.chunk_sentence,
                       "chunk_offset": self.chunk_offset}, tmp / "positions.safetensors")
            (tmp / "recording.json").write_text(json.dumps({"spec": self.spec, "chunks": self.chunks},
                                                           ensure_ascii=False), encoding="utf-8")
        except OSError:
            if copy:                                      # a half copy (a full disk) is not left behind
                shutil.rmtree(tmp, ignore_errors=True)
            raise
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


def iter_batches(x: torch.Tensor, chunk_start: torch.Tensor, chunk_ids, batch_positions: int = BATCH_POSITIONS):
    """Batches of the chunks `chunk_ids` of similar length (sorted), right-padded with <pad>:
    yields (xb (B, T), lengths (B,), dest (n,) the positions of xb[valid] in row-major order,
    valid (B, T))."""
    lengths = chunk_start[1:] - chunk_start[:-1]
    order = sorted(chunk_ids, key=lambda i: (int(lengths[i]), i))
    batch: list[int] = []

    def make(ids: list[int]):
        L = lengths[ids]                                                                # (B,)
        T = int(L.max())
        xb = torch.zeros(len(ids), T, dtype=torch.long)                                 # (B, T), 0 = <pad>
        dest = []
        for r, i in enumerate(ids):
            a, b = int(chunk_start[i]), int(chunk_start[i + 1])
            xb[r, : b - a] = x[a:b]
            dest.append(torch.arange(a, b))
        valid = torch.arange(T).unsqueeze(0) < L.unsqueeze(1)                           # (B, T)
        return xb, L, torch.cat(dest), valid

    for i in order:
        if batch and (len(batch) + 1) * int(lengths[i]) > batch_positions:
            yield make(batch)
            batch = []
        batch.append(i)
    if batch:
        yield make(batch)


def record_activations(model: TranslitNet, alphabets: Alphabets, sentences: list[str], rules,
                       seed: int = 0, max_len: int | None = None, batch_positions: int = BATCH_POSITIONS,
                       spec: dict | None = None, watch: "Mapping[str, Callable[[torch.Tensor], None]] | None" = None,
                       into: str | Path | None = None, log: Callable[[str], None] | None = None,
                       progress: Callable[[float], None] | None = None) -> Recording:
    """Romanize `sentences` (one seeded rng, in order), cut them into chunks of at most max_len
    characters at spaces (default: the max_len the checkpoint was trained with, else 200), and
    run the model's hooked pass over all chunks, batched by length.

    Keeps per position: input class, target class (placeholder = 1), predicted class, and the
    h and c of both directions; everything else is derived by Recording.layer().
    watch: {layer: fn}, each fn called with every batch's (n, units) activations of that layer at
    its real positions: statistics of layers that are not kept (gate saturation) in the same pass.
    into: a directory (`staging_dir()`) to record h and c into, as memory-mapped .npy files, so
    that `save_to_cache` renames it instead of copying them. When the disk has no room for them, the
    staging directory is removed and they are recorded in memory (said through `log`, default stderr).
    progress: called after every batch with the share of positions recorded so far (0 to 1).
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
    h, c = state_arrays((P, 2 * H), into, log)           # in memory when the cache has no room
    done = unreleased = 0
    with torch.no_grad():
        for xb, L, dest, valid in iter_batches(x, chunk_start, range(len(chunks)), batch_positions):
            logits, acts = model.run_with_cache(
                xb, L, names=RECORDED + tuple(n for n in watch or () if n not in RECORDED))
            for name, fn in (watch or {}).items():
                fn(acts[name][valid])                                                   # (n, units)
            concat = torch.cat([acts["concat.fwd"], acts["concat.bwd"]], dim=-1)        # (B, T, 2H)
            cells = torch.cat([acts["cell.fwd"], acts["cell.bwd"]], dim=-1)             # (B, T, 2H)
            d = dest.numpy()
            h[d] = concat[valid].numpy()
            c[d] = cells[valid].numpy()
            pred[dest] = logits.argmax(-1)[valid]
            done += len(d)
            unreleased += 2 * len(d) * h.shape[1] * h.itemsize          # h and c
            if unreleased >= RELEASE_BYTES:
                release_written(h)
                release_written(c)
                unreleased = 0
            if progress is not None:
                progress(done / max(P, 1))
    spec = dict(spec or {}, seed=seed, max_len=max_len, n_sentences=len(sentences),
                fingerprint=fingerprint(sentences), n_positions=P)
    return Recording(model=model, alphabets=alphabets, chunks=[c[2] for c in chunks], chunk_start=chunk_start,
                     chunk_sentence=torch.tensor([c[0] for c in chunks], dtype=torch.long),
                     chunk_offset=torch.tensor([c[1] for c in chunks], dtype=torch.long),
                     x=x, y=y, pred=pred, h=h, c=c, spec=spec)


# -----------------------------------------------------------------------------
# the cache

def save_to_cache(recording: Recording, key: str, keep: int = 3) -> Path:
    """Write the recording under the cache root (a rename, when it was recorded into a staging
    directory) and keep only the `keep` most recent entries (each is ~2 GB for the default sample)."""
    root = settings.cache_root() / "recordings"
    path = recording.save(root / key)
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".tmp")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def recording_key(weights_sha256: str, spec: dict) -> str:
    keep = {k: spec.get(k) for k in ("fingerprint", "seed", "max_len", "rules_sha256", "romanizer_version")}
    blob = json.dumps({"v": FORMAT_VERSION, "weights": weights_sha256, **keep}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]

# -----------------------------------------------------------------------------
# pairs on a recording

def pair_counts(recording: Recording, mask: torch.Tensor | None = None) -> dict[tuple[int, int], int]:
    """{(x class, y class): positions} (only the positions in `mask` (P,) bool, if given)."""
    n_out = len(recording.alphabets.outputs)
    x, y = (recording.x, recording.y) if mask is None else (recording.x[mask], recording.y[mask])
    keys, counts = torch.unique(x * n_out + y, return_counts=True)
    return {(int(k) // n_out, int(k) % n_out): int(n) for k, n in zip(keys, counts)}


def resolve_pair(recording: Recording, pair: "str | Pair") -> tuple[int, int, Pair]:
    """(x class, y class, Pair) of a pair that occurs in the recording; UnknownName otherwise."""
    p = Pair.parse(pair)
    alph = recording.alphabets
    xi, yk = alph.in_index.get(p.x), class_of_symbol(alph, p.y)
    counts = pair_counts(recording)
    if xi is None or yk is None or (xi, yk) not in counts:
        valid = sorted(f"{alph.inputs[a]}:{symbol_of_class(alph, b)}" for (a, b) in counts if a >= FIRST_INPUT_CLASS)
        raise UnknownName(f"pair {p} does not occur in the sample; pairs that do: {', '.join(valid[:400])}")
    n_x = sum(n for (a, _), n in counts.items() if a == xi)
    return xi, yk, Pair(p.x, p.y, counts[(xi, yk)], n_x - counts[(xi, yk)])


def pair_activations(recording: Recording, pair: "str | Pair", neuron: "str | NeuronId", whole_layer: bool = False):
    """(values (n,), is_pos (n,) bool, positions (n,)) of a neuron on the positions of x.
    `whole_layer` derives the whole layer and takes the unit from it: bit-identical to the
    tables' values (a one-unit derivation is cheaper but may differ in the last bits)."""
    xi, yk, _ = resolve_pair(recording, pair)
    neuron = NeuronId.parse(neuron, recording.sizes)
    positions = (recording.x == xi).nonzero().squeeze(1)
    if whole_layer:
        values = dict(recording.layers_at([neuron.layer], positions))[neuron.layer][:, neuron.index]
    else:
        values = recording.layer(neuron.layer, positions, units=[neuron.index]).squeeze(1)
    return values, recording.y[positions] == yk, positions

"""Training: `python -m translit_core train --corpus DIR --out checkpoints/hy`.

Each epoch romanizes the whole corpus afresh (seed + epoch), cuts it into chunks at word
boundaries and trains with AdamW, warmup and cosine decay. Validation character accuracy is
measured on decoded text after every epoch; the best model is kept. A training state
(state.py: weights, optimizer moments, position in the epoch) is written every few minutes, so an
interrupted run continues where it stopped with `--resume`. Runs on CPU or CUDA, and under
`torchrun` with DistributedDataParallel (nccl on GPUs, gloo on CPU): each process takes every
world_size-th batch.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from .. import settings
from ..files import FolderLock
from ..infer.evaluate import char_accuracy
from ..infer.lexicon import LEXICON, save_lexicon
from ..infer.transliterator import Transliterator
from ..model.alphabets import Alphabets, input_alphabet, output_alphabet
from ..model.checkpoint import load_checkpoint, save_checkpoint
from ..model.net import ModelConfig, TranslitNet
from ..text.romanize import romanize
from ..text.rules import Rules, load_rules
from ..text.words import word_counts
from .regularizers import REGULARIZERS, regularization
from .snapshots import parse_snapshot_epochs, snapshot_dir, snapshot_steps
from .state import check_counters, load_state, save_state
from .data import armenian_lookalikes, batches, load_foreign_words, make_examples, mix_lines, parse_mix


@dataclass
class TrainConfig:
    corpus: str                 # directory with train.txt, valid.txt (and summary.json)
    out: str                    # checkpoint directory written
    epochs: int = 10            # passes over the corpus, each with a fresh romanization
    batch_size: int = 256       # chunks per step (per process under torchrun)
    lr: float = 3e-3            # peak learning rate
    min_lr_frac: float = 0.03   # cosine decays to lr * min_lr_frac
    warmup: int = 300           # linear warmup steps
    weight_decay: float = 0.01
    max_len: int = 128          # chunk length in Latin characters
    seed: int = 0
    device: str = "auto"        # auto | cpu | cuda
    precision: str = "bf16"     # bf16 autocast (fast on CPUs with AVX-512 BF16 and on GPUs) or fp32
    valid_lines: int = 2000     # validation lines decoded after each epoch
    max_steps: int = 0          # stop after this many steps (0: no limit); for smoke tests
    save_every: float = 300.0   # seconds between training-state saves
    resume: bool = False
    init: str = ""              # start from this checkpoint's weights (fine-tuning): fresh optimizer and schedule
    mix: str = ""               # per-source weights per epoch, e.g. "wikipedia=0.5,ud=4" (needs summary.json)
    rules: str = ""             # rules file ("" = the packaged Armenian rules)
    lstm: int = 228
    hidden: int = 228
    reg: str = ""               # interpretability regularizer on concat and hidden: "" | decov | l1 (regularizers.py)
    reg_weight: float = 0.0     # its weight in the loss (cross-entropy + reg_weight * term)
    snapshots: str = ""         # keep the weights after these epochs, e.g. "0.125,0.25,0.5,1,2,4,8" (snapshots.py)

    DEVICES = ("auto", "cpu", "cuda")
    PRECISIONS = ("bf16", "fp32")

    def validate(self) -> "TrainConfig":
        """Refuse settings that cannot train (or would run forever, or report nonsense) with a
        message naming the flag: ValueError."""
        def need(ok: bool, flag: str, what: str):
            if not ok:
                raise ValueError(f"--{flag.replace('_', '-')} {getattr(self, flag)!r}: {what}")
        for flag in ("epochs", "batch_size", "max_len", "valid_lines", "lstm", "hidden"):
            need(isinstance(getattr(self, flag), int) and getattr(self, flag) >= 1, flag, "must be a whole number >= 1")
        need(self.max_len <= 10_000, "max_len", "must be at most 10000 characters")
        need(self.warmup >= 0 and self.max_steps >= 0, "warmup" if self.warmup < 0 else "max_steps", "must be >= 0")
        need(math.isfinite(self.lr) and self.lr > 0, "lr", "must be a positive number")
        need(math.isfinite(self.min_lr_frac) and 0 <= self.min_lr_frac <= 1, "min_lr_frac", "must be between 0 and 1")
        need(math.isfinite(self.weight_decay) and self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(math.isfinite(self.save_every) and self.save_every > 0, "save_every",
             "must be a positive number of seconds")
        need(self.device in self.DEVICES, "device", f"must be one of {', '.join(self.DEVICES)}")
        need(self.precision in self.PRECISIONS, "precision", f"must be one of {', '.join(self.PRECISIONS)}")
        need(self.reg in REGULARIZERS, "reg", f"must be one of {', '.join(r or '(empty)' for r in REGULARIZERS)}")
        need(math.isfinite(self.reg_weight) and self.reg_weight >= 0, "reg_weight", "must be >= 0")
        need(not self.reg_weight or self.reg, "reg_weight", "needs --reg (which regularizer it weighs)")
        parse_snapshot_epochs(self.snapshots)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
        return self


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def line_kinds(summary: dict, n_lines: int) -> list[str]:
    """The source kind of every train.txt line. `prepare` writes the sources one after the
    other in summary order, so the per-source line counts are enough."""
    kinds = [s["kind"] for s in summary.get("sources", {}).values() for _ in range(s["train_lines"])]
    if len(kinds) != n_lines:
        raise ValueError(f"summary.json lists {len(kinds)} train lines, train.txt has {n_lines}: "
                         "re-run `prepare` to use --mix")
    return kinds


def _lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, total - cfg.warmup))
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def _snapshot(out: Path, epoch: float, model, alphabets, meta_base: dict, st: dict, loss: float) -> None:
    """The weights after `epoch` epochs, for the training-dynamics view (snapshots.py)."""
    save_checkpoint(snapshot_dir(out, epoch), model, alphabets, dict(
        meta_base, snapshot={"epoch": epoch, "step": st["step"], "train_chars_seen": st["chars"], "loss": loss}))


def validate(model: TranslitNet, alphabets: Alphabets, latin: list[str], reference: list[str]) -> float:
    model.eval()
    hyp = Transliterator(model, alphabets, {}).transliterate_batch(latin)
    model.train()
    return char_accuracy(hyp, reference)


@dataclass
class TrainResult:
    """What `train` returns, and the CLI prints as JSON (`to_dict`, in this order)."""
    best_valid_char_accuracy: float | None   # the best epoch's (None on a torchrun process but rank 0's)
    steps: int                               # optimizer steps taken, a resumed run's earlier ones included
    seconds: float                           # training time, a resumed run's earlier time included
    chars_per_s: float                       # input characters trained on per second, over all processes

    def to_dict(self) -> dict:
        return {"best_valid_char_accuracy": self.best_valid_char_accuracy, "steps": self.steps,
                "seconds": self.seconds, "chars_per_s": self.chars_per_s}


@dataclass
class _Process:
    """This process's place in a torchrun job (rank 0 of 1 for a plain run) and its device."""
    rank: int
    world: int
    device: torch.device
    distributed: bool

    @property
    def main(self) -> bool:
        """The process that validates, saves and prints."""
        return self.rank == 0


def _start_process(cfg: TrainConfig) -> _Process:
    """Resolve --device auto and, under torchrun, join the process group."""
    world_size, local_rank = settings.torchrun_env()
    distributed = world_size > 1
    if cfg.device == "auto":
        cfg.device = "cuda" if torch.cuda.is_available() else "cpu"
    rank, world = 0, 1
    if distributed:
        dist.init_process_group("nccl" if cfg.device == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if cfg.device == "cuda":
            torch.cuda.set_device(local_rank)
    device = torch.device(cfg.device, local_rank) if cfg.device == "cuda" else torch.device("cpu")
    return _Process(rank, world, device, distributed)


@dataclass
class _Corpus:
    """The training text, the validation lines, and what each epoch's romanization draws on."""
    directory: Path
    train_lines: list[str]
    valid_lines: list[str]
    summary: dict                # summary.json (the sources and their kinds), {} without one
    foreign: list[str]           # English words and brands mixed in, kept Latin
    mix: dict                    # --mix: per-kind weights ({}: every line once)
    kinds: list[str]             # the kind of every train line (only with --mix)

    def epoch_lines(self, epoch: int, seed: int) -> list[str]:
        if not self.mix:
            return self.train_lines
        return mix_lines(self.train_lines, self.kinds, self.mix, random.Random(seed + epoch))


def _read_corpus(cfg: TrainConfig, rules: Rules) -> _Corpus:
    corpus = Path(cfg.corpus)
    train_lines = _read_lines(corpus / "train.txt")
    valid_lines = _read_lines(corpus / "valid.txt")[: cfg.valid_lines]
    summary_path = corpus / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    foreign = load_foreign_words(exclude=armenian_lookalikes(train_lines, rules))
    mix = parse_mix(cfg.mix)
    kinds = line_kinds(summary, len(train_lines)) if mix else []
    return _Corpus(corpus, train_lines, valid_lines, summary, foreign, mix, kinds)


def _load_init(cfg: TrainConfig, rules: Rules):
    """--init's (model, alphabets, meta), or None; its sizes replace --lstm and --hidden. A bad
    --init fails here, before the first epoch's examples are built."""
    init = load_checkpoint(cfg.init) if cfg.init else None
    if init:
        cfg.lstm, cfg.hidden = init[0].config.lstm, init[0].config.hidden
        if init[1].outputs != output_alphabet(rules):
            raise ValueError(f"{cfg.init}: its output alphabet does not match the rules; train from scratch")
    return init


def _choose_alphabets(out: Path, saved: dict, init, first: list, rules: Rules) -> Alphabets:
    """Alphabets are fixed before training: outputs from the rules, inputs from one romanization.
    A resumed run takes them from its saved state, whatever the data code does now."""
    if "alphabets" in saved:
        return Alphabets(saved["alphabets"]["inputs"], saved["alphabets"]["outputs"])
    if saved and (out / "model.json").exists():
        old = json.loads((out / "model.json").read_text())["alphabets"]
        return Alphabets(old["inputs"], old["outputs"])
    if init:
        return init[1]
    return Alphabets(input_alphabet([e.latin for e in first]), output_alphabet(rules))


def _steps_per_epoch(first: list, batch_size: int, world: int) -> int:
    """= len(batches(first)) // world, from the chunk lengths alone."""
    by_len: dict[int, int] = {}
    for e in first:
        by_len[len(e.latin)] = by_len.get(len(e.latin), 0) + 1
    return sum(math.ceil(n / batch_size) for n in by_len.values()) // world


def _meta_base(cfg: TrainConfig, rules: Rules, corpus: _Corpus, model: TranslitNet, init) -> dict:
    """What every checkpoint and snapshot of the run says about how it was trained."""
    meta = {"train_config": asdict(cfg), "rules_sha256": rules.sha256, "corpus": corpus.summary,
            "regularizer": {"kind": cfg.reg, "weight": cfg.reg_weight, "layers": ["concat", "hidden"]}
            if cfg.reg else None,
            "parameters": sum(p.numel() for p in model.parameters())}
    if init:   # a fine-tuned model's history includes its parent's
        meta["init_from"] = {k: init[2].get(k) for k in
                             ("metrics", "training_seconds", "train_config", "device", "init_from")}
    return meta


@dataclass
class _Run:
    """A training run under way: what the loop reads, and `st`, the counters saved for --resume."""
    cfg: TrainConfig
    proc: _Process
    out: Path
    rules: Rules
    corpus: _Corpus
    first: list                  # epoch 0's examples (they also fixed the alphabets)
    alphabets: Alphabets
    model: TranslitNet
    ddp: torch.nn.Module         # the model, or its DistributedDataParallel wrapper
    opt: torch.optim.Optimizer
    valid_latin: list[str]
    valid_ref: list[str]
    steps_per_epoch: int
    total: int                   # steps of the whole run (the learning-rate schedule's length)
    st: dict
    meta_base: dict
    snaps: dict                  # {step: epoch} of the snapshots at a fraction of an epoch
    whole: set                   # the whole epochs after which a snapshot is kept
    autocast: dict = field(default_factory=dict)   # torch.autocast's arguments (bf16, or disabled)
    t_start: float = 0.0
    last_save: float = 0.0

    @property
    def state_dir(self) -> Path:
        return self.out / "train_state"


def _prepare(cfg: TrainConfig, proc: _Process) -> _Run:
    """Everything before the first step: data, alphabets, model, optimizer, resumed state."""
    out = Path(cfg.out)
    rules = load_rules(cfg.rules or None)
    corpus = _read_corpus(cfg, rules)
    init = _load_init(cfg, rules)
    first = make_examples(corpus.epoch_lines(0, cfg.seed), rules, cfg.seed, corpus.foreign, cfg.max_len)
    state_file = out / "train_state" / "state.json"
    saved = check_counters(json.loads(state_file.read_text()), state_file) if cfg.resume and state_file.exists() else {}
    alphabets = _choose_alphabets(out, saved, init, first, rules)
    mcfg = ModelConfig(n_in=len(alphabets.inputs), n_out=len(alphabets.outputs), lstm=cfg.lstm, hidden=cfg.hidden)
    model = TranslitNet(mcfg)
    if init and not saved:
        model.load_state_dict(init[0].state_dict())
    model = model.to(proc.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if proc.distributed else model

    vrng = random.Random(12345)   # validation spelling is fixed across epochs and runs
    valid = [romanize(line, rules, vrng) for line in corpus.valid_lines]
    steps_per_epoch = _steps_per_epoch(first, cfg.batch_size, proc.world)
    total = cfg.epochs * steps_per_epoch if not cfg.max_steps else min(cfg.max_steps, cfg.epochs * steps_per_epoch)
    st = {"epoch": 0, "batch": 0, "step": 0, "best": None, "elapsed": 0.0, "history": [], "chars": 0,
          "alphabets": {"inputs": alphabets.inputs, "outputs": alphabets.outputs}}
    if cfg.resume and state_file.exists():
        st = dict(load_state(state_file.parent, model, opt), alphabets=st["alphabets"])
        if proc.main:
            print(f"resumed at epoch {st['epoch']} batch {st['batch']} (step {st['step']})")
    # Fractions of an epoch are kept at their step; whole epochs at the end of that epoch (exact:
    # the number of batches varies a little from epoch to epoch, as every epoch is romanized anew).
    snap_epochs = parse_snapshot_epochs(cfg.snapshots)
    return _Run(cfg, proc, out, rules, corpus, first, alphabets, model, ddp, opt,
                [v.latin for v in valid], [v.armenian() for v in valid], steps_per_epoch, total, st,
                _meta_base(cfg, rules, corpus, model, init),
                snapshot_steps([e for e in snap_epochs if e != int(e)], steps_per_epoch),
                {int(e) for e in snap_epochs if e == int(e)},
                dict(device_type=proc.device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"))


@dataclass
class _Epoch:
    """One epoch's running numbers, for the progress bar and its row of the history."""
    t_start: float
    chars: int = 0
    last_loss: float = float("nan")     # the cross-entropy alone: comparable with and without a regularizer
    last_reg: float = float("nan")


def _step(run: _Run, x: torch.Tensor, y: torch.Tensor, ep: _Epoch) -> float:
    """One optimizer step on a batch -> its learning rate."""
    cfg, st = run.cfg, run.st
    x, y = x.to(run.proc.device), y.to(run.proc.device)
    for g in run.opt.param_groups:
        g["lr"] = _lr_at(st["step"], run.total, cfg)
    with torch.autocast(**run.autocast):
        logits, acts = run.ddp(x, return_acts=True) if cfg.reg else (run.ddp(x), None)
    loss = ce = F.cross_entropy(logits.float().reshape(-1, run.model.config.n_out), y.reshape(-1), )
    if cfg.reg:
        reg_term = regularization(cfg.reg, acts)
        ep.last_reg = reg_term.item()
        loss = loss + cfg.reg_weight * reg_term
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), 1.0)
    run.opt.step()
    ep.last_loss = ce.item()
    n = x.numel() * run.proc.world
    st["step"] += 1
    st["chars"] += n
    ep.chars += n
    return g["lr"]


def _train_epoch(run: _Run, epoch: int) -> tuple[_Epoch, bool]:
    """The epoch's batches from where the state stands -> (its numbers, whether --max-steps ended the run)."""
    cfg, st, proc = run.cfg, run.st, run.proc
    examples = run.first if epoch == 0 else make_examples(run.corpus.epoch_lines(epoch, cfg.seed), run.rules,
                                                          cfg.seed + epoch, run.corpus.foreign, cfg.max_len)
    all_batches = list(batches(examples, run.alphabets, cfg.batch_size, seed=cfg.seed + epoch))
    # Every process must take the same number of steps (DDP's collectives hang otherwise),
    # and augmentation changes the batch count from epoch to epoch.
    mine = all_batches[proc.rank::proc.world][:min(run.steps_per_epoch, len(all_batches) // proc.world)]
    bar = tqdm(total=len(mine), initial=st["batch"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
               disable=not proc.main, unit="batch", dynamic_ncols=True, mininterval=2.0)
    ep, done = _Epoch(time.time()), False
    for bi in range(st["batch"], len(mine)):
        lr = _step(run, *mine[bi], ep)
        st["batch"] = bi + 1
        rate = ep.chars / max(1e-9, time.time() - ep.t_start)
        bar.set_postfix(loss=f"{ep.last_loss:.4f}", chars_s=f"{rate:,.0f}", lr=f"{lr:.2e}", refresh=False)
        bar.update(1)
        if proc.main and st["step"] in run.snaps:
            _snapshot(run.out, run.snaps[st["step"]], run.model, run.alphabets, run.meta_base, st, ep.last_loss)
        if proc.main and time.time() - run.last_save > cfg.save_every:
            st["elapsed"] = time.time() - run.t_start
            save_state(run.state_dir, run.model, run.opt, st)
            run.last_save = time.time()
        if cfg.max_steps and st["step"] >= cfg.max_steps:
            done = True
            break
    bar.close()
    return ep, done


def _end_epoch(run: _Run, epoch: int, ep: _Epoch, done: bool) -> None:
    """After an epoch (or the steps --max-steps allowed of it): its snapshot, and on the main
    process validation, its history row, the best checkpoint and the training state."""
    cfg, st, proc = run.cfg, run.st, run.proc
    epoch_complete = not done
    st["epoch"], st["batch"] = (epoch + 1, 0) if epoch_complete else (epoch, st["batch"])
    if proc.main and epoch_complete and epoch + 1 in run.whole:
        _snapshot(run.out, float(epoch + 1), run.model, run.alphabets, run.meta_base, st, ep.last_loss)
    if not proc.main:
        return
    acc = validate(run.model, run.alphabets, run.valid_latin, run.valid_ref)
    seconds = time.time() - ep.t_start
    row = {"epoch": epoch + 1, "valid_char_accuracy": acc, "loss": ep.last_loss,
           **({"reg_term": ep.last_reg} if cfg.reg else {}),
           "chars_per_s": ep.chars / max(1e-9, seconds), "seconds": seconds}
    st["history"].append(row)
    print(json.dumps(row), flush=True)
    st["elapsed"] = time.time() - run.t_start
    if st["best"] is None or acc > st["best"]:
        st["best"] = acc
        save_checkpoint(run.out, run.model, run.alphabets, dict(run.meta_base, metrics={
            "valid_char_accuracy": acc, "epoch": epoch + 1, "step": st["step"],
            "train_chars_seen": st["chars"], "history": st["history"]},
            training_seconds=st["elapsed"], device=str(proc.device), world_size=proc.world))
    save_state(run.state_dir, run.model, run.opt, st)
    run.last_save = time.time()


@torch.enable_grad()   # whatever mode the caller left torch in
def train(cfg: TrainConfig) -> TrainResult:
    cfg.validate()
    proc = _start_process(cfg)
    # One writer per --out for the whole run (the main process: the others write nothing there).
    lock = FolderLock(cfg.out, hint="wait for it or choose another --out").acquire() if proc.main else None
    try:
        return _train(cfg, proc)
    finally:
        if lock is not None:
            lock.release()


def _train(cfg: TrainConfig, proc: _Process) -> TrainResult:
    torch.manual_seed(cfg.seed)
    run = _prepare(cfg, proc)
    if proc.main:   # the words the model saw, for inference's known-word rule (lexicon.py)
        run.out.mkdir(parents=True, exist_ok=True)
        save_lexicon(run.out / LEXICON, word_counts(run.corpus.train_lines),
                     source=f"{run.corpus.directory / 'train.txt'}")
    run.t_start, run.last_save = time.time() - run.st["elapsed"], time.time()
    run.model.train()
    for epoch in range(run.st["epoch"], cfg.epochs):
        ep, done = _train_epoch(run, epoch)
        _end_epoch(run, epoch, ep, done)
        if done:
            break
    if proc.distributed:
        dist.barrier()
        dist.destroy_process_group()
    seconds = time.time() - run.t_start
    return TrainResult(run.st["best"], run.st["step"], seconds, run.st["chars"] / max(1e-9, seconds))

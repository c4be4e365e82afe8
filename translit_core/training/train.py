"""Training: `python -m translit_core train --corpus DIR --out checkpoints/hy`.

Each epoch romanizes the whole corpus afresh (seed + epoch), cuts it into chunks at word
boundaries and trains with AdamW, warmup and cosine decay. Validation character accuracy is
measured on decoded text after every epoch; the best model is kept. A training state
(weights, optimizer moments, position in the epoch) is written every few minutes, so an
interrupted run continues where it stopped with `--resume`. Runs on CPU or CUDA, and under
`torchrun` with DistributedDataParallel (nccl on GPUs, gloo on CPU): each process takes every
world_size-th batch.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from .. import settings
from ..infer.evaluate import char_accuracy
from ..infer.lexicon import LEXICON, save_lexicon
from ..infer.transliterator import Transliterator
from ..model.alphabets import Alphabets, input_alphabet, output_alphabet
from ..model.checkpoint import load_checkpoint, save_checkpoint
from ..model.net import ModelConfig, TranslitNet
from ..text.romanize import romanize
from ..text.rules import load_rules
from ..text.words import word_counts
from .regularizers import REGULARIZERS, regularization
from .snapshots import parse_snapshot_epochs, snapshot_dir, snapshot_steps
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
        need(math.isfinite(self.save_every) and self.save_every > 0, "save_every", "must be a positive number of seconds")
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
    return [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


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


def _save_state(path: Path, model: TranslitNet, opt: torch.optim.Optimizer, scalars: dict) -> None:
    """Weights and AdamW moments as safetensors, counters as JSON: resumable without pickle."""
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        st = opt.state.get(p, {})
        for k in ("exp_avg", "exp_avg_sq"):
            if k in st:
                tensors[f"opt.{i}.{k}"] = st[k].detach().cpu().contiguous()
        if "step" in st:
            scalars.setdefault("opt_steps", {})[str(i)] = float(st["step"])
    save_file(tensors, path / "state.safetensors.tmp")
    (path / "state.json.tmp").write_text(json.dumps(scalars, indent=1))
    (path / "state.safetensors.tmp").replace(path / "state.safetensors")
    (path / "state.json.tmp").replace(path / "state.json")


def _load_state(path: Path, model: TranslitNet, opt: torch.optim.Optimizer) -> dict:
    tensors = load_file(path / "state.safetensors")
    scalars = json.loads((path / "state.json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    device = next(model.parameters()).device
    for i, p in enumerate(opt.param_groups[0]["params"]):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {"step": torch.tensor(scalars["opt_steps"][str(i)]),
                            "exp_avg": tensors[f"opt.{i}.exp_avg"].to(device),
                            "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(device)}
    return scalars


def validate(model: TranslitNet, alphabets: Alphabets, latin: list[str], reference: list[str]) -> float:
    model.eval()
    hyp = Transliterator(model, alphabets, {}).transliterate_batch(latin)
    model.train()
    return char_accuracy(hyp, reference)


@torch.enable_grad()   # whatever mode the caller left torch in
def train(cfg: TrainConfig) -> dict:
    cfg.validate()
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
    main = rank == 0
    torch.manual_seed(cfg.seed)

    corpus, out = Path(cfg.corpus), Path(cfg.out)
    rules = load_rules(cfg.rules or None)
    train_lines = _read_lines(corpus / "train.txt")
    valid_lines = _read_lines(corpus / "valid.txt")[: cfg.valid_lines]
    summary_path = corpus / "summary.json"
    corpus_summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    foreign = load_foreign_words(exclude=armenian_lookalikes(train_lines, rules))
    mix = parse_mix(cfg.mix)
    kinds = line_kinds(corpus_summary, len(train_lines)) if mix else []

    def epoch_lines(epoch: int) -> list[str]:
        return mix_lines(train_lines, kinds, mix, random.Random(cfg.seed + epoch)) if mix else train_lines

    # A bad --init fails here, before the first epoch's examples are built.
    init = load_checkpoint(cfg.init) if cfg.init else None
    if init:
        cfg.lstm, cfg.hidden = init[0].config.lstm, init[0].config.hidden
        if init[1].outputs != output_alphabet(rules):
            raise ValueError(f"{cfg.init}: its output alphabet does not match the rules; train from scratch")

    # Alphabets are fixed before training: outputs from the rules, inputs from one romanization.
    # A resumed run takes them from its saved state, whatever the data code does now.
    first = make_examples(epoch_lines(0), rules, cfg.seed, foreign, cfg.max_len)
    state_dir = out / "train_state"
    saved = json.loads((state_dir / "state.json").read_text()) if cfg.resume and (state_dir / "state.json").exists() else {}
    if "alphabets" in saved:
        alphabets = Alphabets(saved["alphabets"]["inputs"], saved["alphabets"]["outputs"])
    elif saved and (out / "model.json").exists():
        old = json.loads((out / "model.json").read_text())["alphabets"]
        alphabets = Alphabets(old["inputs"], old["outputs"])
    elif init:
        alphabets = init[1]
    else:
        alphabets = Alphabets(input_alphabet([e.latin for e in first]), output_alphabet(rules))
    mcfg = ModelConfig(n_in=len(alphabets.inputs), n_out=len(alphabets.outputs), lstm=cfg.lstm, hidden=cfg.hidden)
    model = TranslitNet(mcfg)
    if init and not saved:
        model.load_state_dict(init[0].state_dict())
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model

    vrng = random.Random(12345)   # validation spelling is fixed across epochs and runs
    valid = [romanize(l, rules, vrng) for l in valid_lines]
    valid_latin, valid_ref = [v.latin for v in valid], [v.armenian() for v in valid]

    by_len: dict[int, int] = {}
    for e in first:
        by_len[len(e.latin)] = by_len.get(len(e.latin), 0) + 1
    steps_per_epoch = sum(math.ceil(n / cfg.batch_size) for n in by_len.values()) // world  # = len(batches(first))
    total = cfg.epochs * steps_per_epoch if not cfg.max_steps else min(cfg.max_steps, cfg.epochs * steps_per_epoch)
    st = {"epoch": 0, "batch": 0, "step": 0, "best": None, "elapsed": 0.0, "history": [], "chars": 0,
          "alphabets": {"inputs": alphabets.inputs, "outputs": alphabets.outputs}}
    if cfg.resume and (state_dir / "state.json").exists():
        st = dict(_load_state(state_dir, model, opt), alphabets=st["alphabets"])
        if main:
            print(f"resumed at epoch {st['epoch']} batch {st['batch']} (step {st['step']})")
    autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")
    meta_base = {"train_config": asdict(cfg), "rules_sha256": rules.sha256, "corpus": corpus_summary,
                 "regularizer": {"kind": cfg.reg, "weight": cfg.reg_weight, "layers": ["concat", "hidden"]}
                 if cfg.reg else None,
                 "parameters": sum(p.numel() for p in model.parameters())}
    if init:   # a fine-tuned model's history includes its parent's
        meta_base["init_from"] = {k: init[2].get(k) for k in
                                  ("metrics", "training_seconds", "train_config", "device", "init_from")}

    if main:   # the words the model saw, for inference's known-word rule (lexicon.py)
        out.mkdir(parents=True, exist_ok=True)
        save_lexicon(out / LEXICON, word_counts(train_lines), source=f"{corpus / 'train.txt'}")
    # Fractions of an epoch are kept at their step; whole epochs at the end of that epoch (exact:
    # the number of batches varies a little from epoch to epoch, as every epoch is romanized anew).
    snap_epochs = parse_snapshot_epochs(cfg.snapshots)
    snaps = snapshot_steps([e for e in snap_epochs if e != int(e)], steps_per_epoch)   # {step: epoch}
    whole = {int(e) for e in snap_epochs if e == int(e)}
    t_start, last_save = time.time() - st["elapsed"], time.time()
    model.train()
    done = False
    for epoch in range(st["epoch"], cfg.epochs):
        examples = first if epoch == 0 else make_examples(epoch_lines(epoch), rules, cfg.seed + epoch, foreign, cfg.max_len)
        all_batches = list(batches(examples, alphabets, cfg.batch_size, seed=cfg.seed + epoch))
        # Every process must take the same number of steps (DDP's collectives hang otherwise),
        # and augmentation changes the batch count from epoch to epoch.
        mine = all_batches[rank::world][:min(steps_per_epoch, len(all_batches) // world)]
        bar = tqdm(total=len(mine), initial=st["batch"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not main, unit="batch", dynamic_ncols=True, mininterval=2.0)
        t_epoch, chars_epoch, last_loss, last_reg = time.time(), 0, float("nan"), float("nan")
        for bi in range(st["batch"], len(mine)):
            x, y = mine[bi]
            x, y = x.to(device), y.to(device)
            for g in opt.param_groups:
                g["lr"] = _lr_at(st["step"], total, cfg)
            acts: dict[str, torch.Tensor] | None = {} if cfg.reg else None
            with torch.autocast(**autocast):
                logits = ddp(x, acts=acts)
            loss = ce = F.cross_entropy(logits.float().reshape(-1, mcfg.n_out), y.reshape(-1), )
            if cfg.reg:
                reg_term = regularization(cfg.reg, acts)
                last_reg = reg_term.item()
                loss = loss + cfg.reg_weight * reg_term
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            last_loss = ce.item()         # the cross-entropy alone: comparable with and without a regularizer
            n = x.numel() * world
            st["step"] += 1
            st["batch"] = bi + 1
            st["chars"] += n
            chars_epoch += n
            rate = chars_epoch / max(1e-9, time.time() - t_epoch)
            bar.set_postfix(loss=f"{last_loss:.4f}", chars_s=f"{rate:,.0f}", lr=f"{g['lr']:.2e}", refresh=False)
            bar.update(1)
            if main and st["step"] in snaps:
                _snapshot(out, snaps[st["step"]], model, alphabets, meta_base, st, last_loss)
            if main and time.time() - last_save > cfg.save_every:
                st["elapsed"] = time.time() - t_start
                _save_state(state_dir, model, opt, st)
                last_save = time.time()
            if cfg.max_steps and st["step"] >= cfg.max_steps:
                done = True
                break
        bar.close()
        epoch_complete = not done
        st["epoch"], st["batch"] = (epoch + 1, 0) if epoch_complete else (epoch, st["batch"])
        if main and epoch_complete and epoch + 1 in whole:
            _snapshot(out, float(epoch + 1), model, alphabets, meta_base, st, last_loss)
        if main:
            acc = validate(model, alphabets, valid_latin, valid_ref)
            seconds = time.time() - t_epoch
            row = {"epoch": epoch + 1, "valid_char_accuracy": acc, "loss": last_loss,
                   **({"reg_term": last_reg} if cfg.reg else {}),
                   "chars_per_s": chars_epoch / max(1e-9, seconds), "seconds": seconds}
            st["history"].append(row)
            print(json.dumps(row), flush=True)
            st["elapsed"] = time.time() - t_start
            if st["best"] is None or acc > st["best"]:
                st["best"] = acc
                save_checkpoint(out, model, alphabets, dict(meta_base, metrics={
                    "valid_char_accuracy": acc, "epoch": epoch + 1, "step": st["step"],
                    "train_chars_seen": st["chars"], "history": st["history"]},
                    training_seconds=st["elapsed"], device=str(device), world_size=world))
            _save_state(state_dir, model, opt, st)
            last_save = time.time()
        if done:
            break
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return {"best_valid_char_accuracy": st["best"], "steps": st["step"], "seconds": time.time() - t_start,
            "chars_per_s": st["chars"] / max(1e-9, time.time() - t_start)}

"""How decorrelated checkpoints' activations are (the DeCov twin and its control): DeCov (the regularizer's own
term) and the mean |Pearson r| between units of the concat and hidden layers, over the first 300
validation lines romanized with a fixed seed, with each checkpoint's validation accuracy.

    .venv/bin/python benchmarks/decorrelation.py --valid CORPUS/valid.txt CHECKPOINT [CHECKPOINT ...]
"""
from __future__ import annotations

import argparse
import random

import torch

from translit_core.model.checkpoint import load_checkpoint
from translit_core.text.romanize import romanize
from translit_core.text.rules import load_rules
from translit_core.training.regularizers import decov


def activations(model, alphabets, latin: list[str]) -> dict[str, torch.Tensor]:
    acts: dict[str, list[torch.Tensor]] = {"concat": [], "hidden": []}
    with torch.no_grad():
        for text in latin:
            _, got = model(torch.tensor([alphabets.encode_input(text)]), return_acts=True)
            for k in acts:
                acts[k].append(got[k][0])
    return {k: torch.cat(v) for k, v in acts.items()}                  # (positions, units)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--valid", required=True)
    ap.add_argument("--lines", type=int, default=300)
    ap.add_argument("checkpoints", nargs="+")
    a = ap.parse_args()
    rules, rng = load_rules(), random.Random(0)
    lines = [line for line in open(a.valid, encoding="utf-8").read().splitlines() if line.strip()][:a.lines]
    latin = [romanize(line, rules, rng).latin[:128] for line in lines]
    for ck in a.checkpoints:
        model, alphabets, meta = load_checkpoint(ck)
        cols = []
        for name, v in activations(model, alphabets, latin).items():
            r = torch.corrcoef(v.t()).nan_to_num()
            off = r[~torch.eye(r.shape[0], dtype=torch.bool)].abs().mean().item()
            cols.append(f"{name}: DeCov {decov(v).item():8.3f}  mean |r| {off:.3f}")
        print(f"{ck}: valid {meta['metrics']['valid_char_accuracy']:.2f}%  " + "  ".join(cols))


if __name__ == "__main__":
    main()

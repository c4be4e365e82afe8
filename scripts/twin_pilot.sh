#!/bin/bash
# The pilot behind the DeCov twin's regularizer weight (docs/TWIN.md): the base's stage-1 recipe (15 epochs,
# batch 128, peak lr 3e-3), stopped after 400 steps (the cosine schedule then runs over those 400),
# without a regularizer and with DeCov at 1e-4 and 1e-3; then how decorrelated each came out.
#   bash scripts/twin_pilot.sh CORPUS_DIR RUNS_DIR     (CORPUS_DIR from `python -m translit_core prepare`)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?corpus directory}; runs=${2:?output directory}
for w in 0 1e-4 1e-3; do
  reg=(); [ "$w" != "0" ] && reg=(--reg decov --reg-weight "$w")
  .venv/bin/python -m translit_core train --corpus "$corpus" --out "$runs/pilot-$w" --epochs 15 --batch-size 128 \
     --max-steps 400 --valid-lines 1000 --precision fp32 "${reg[@]}" > "$runs/pilot-$w.log" 2>&1
done
.venv/bin/python benchmarks/decorrelation.py --valid "$corpus/valid.txt" "$runs"/pilot-0 "$runs"/pilot-1e-4 "$runs"/pilot-1e-3

#!/bin/bash
# The interpretable twin (issue 15): the base's stage-1 recipe from scratch (15 epochs of the
# whole corpus, batch 128, peak lr 3e-3, cosine), with DeCov at the pilot's weight (README), fp32
# (no AVX-512 BF16 here), keeping snapshots for the dynamics view. Resumable: run it again (it adds
# --resume once a training state exists) until its 15 epochs are done; then the fine-tuning stages
# as for the base (README), each with the same --reg flags.
#   bash scripts/train_twin.sh CORPUS_DIR OUT_DIR [--device cuda]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?corpus directory (python -m translit_core prepare)}; out=${2:?output directory}; shift 2
resume=(); [ -f "$out/train_state/state.json" ] && resume=(--resume)
exec .venv/bin/python -m translit_core train --corpus "$corpus" --out "$out" --epochs 15 --batch-size 128 \
    --reg decov --reg-weight 1e-3 --precision fp32 --snapshots 0.125,0.25,0.5,1,2,4,8 "${resume[@]}" "$@"

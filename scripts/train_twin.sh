#!/bin/bash
# The DeCov twin and its control (docs/TWIN.md), as shipped in checkpoints/hy-twin and
# checkpoints/hy-short: the base's stage-1 recipe (batch 128, peak lr 3e-3, cosine) cut to 2 epochs,
# from scratch, fp32 (no AVX-512 BF16 on the machine they were trained on), with snapshots for the
# dynamics view; the twin with DeCov 1e-3, the control without (scripts/train_pair.sh trains them side
# by side, analyses them and makes the two directories). Resumable: run it again.
#   bash scripts/train_twin.sh CORPUS_DIR RUNS_DIR [--device cuda]
set -euo pipefail
corpus=${1:?corpus directory (python -m translit_core prepare)}; runs=${2:?directory for the two runs}; shift 2
exec bash "$(dirname "$0")/train_pair.sh" "$runs" hy-twin hy-short --corpus "$corpus" --epochs 2 --batch-size 128 \
    --precision fp32 --snapshots 0.125,0.25,0.5,1,2 "$@"

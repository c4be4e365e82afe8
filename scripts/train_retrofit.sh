#!/bin/bash
# The retrofitted twin and its control (docs/TWIN.md), as shipped in checkpoints/hy-retrofit and
# checkpoints/hy-finetune: the shipped base (checkpoints/hy) fine-tuned for 2 more epochs with its
# last stages' data mix (news and treebank weighted up), peak lr 4e-4, fresh spellings (--seed 1500),
# fp32; the retrofit with DeCov 1e-3, the control without (scripts/train_pair.sh trains them side by
# side, analyses them and makes the two directories). The question: does the regularizer reorganise a
# trained network's units, at what cost, when the from-scratch recipe is out of reach on a CPU?
# Resumable: run it again.
#   bash scripts/train_retrofit.sh CORPUS_DIR RUNS_DIR [--device cuda]
set -euo pipefail
corpus=${1:?corpus directory (python -m translit_core prepare)}; runs=${2:?directory for the two runs}; shift 2
exec bash "$(dirname "$0")/train_pair.sh" "$runs" hy-retrofit hy-finetune --corpus "$corpus" --init checkpoints/hy \
    --mix wikipedia=0.6,arpa=1,ud=4 --epochs 2 --lr 4e-4 --warmup 100 --seed 1500 --batch-size 128 \
    --precision fp32 --snapshots 0.25,1,2 "$@"

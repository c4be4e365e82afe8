#!/bin/bash
# The shipped base model's recipe (checkpoints/hy; docs/TRAINING.md): seven `train` runs, each after
# the first fine-tuning the one before it (--init). Stage 1 trains from scratch on the whole corpus
# (15 epochs, peak lr 3e-3, the default); stages 2-7 weight the news and treebank text up (--mix)
# with a smaller peak learning rate each time and fresh spellings (--seed). Batch 128 throughout,
# bf16 autocast (train's default: fast on CPUs with AVX-512 BF16 and on GPUs; add --precision fp32
# on a CPU without it). About 3 h 45 min on 2 CPU cores with AVX-512 BF16.
# Resumable: run it again (a stage whose training state exists goes on with --resume; a finished
# stage is left as it is). The model is RUNS_DIR/stage7 (weights, model.json, lexicon.txt); analyse
# it with `python -m translit_core analyze --checkpoint RUNS_DIR/stage7` to open it in the lab.
# Flags after the two directories go to every stage, after the recipe's own (so they win).
#   bash scripts/train_base.sh CORPUS_DIR RUNS_DIR [--device cuda] [--precision fp32]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?corpus directory (python -m translit_core prepare)}; runs=${2:?directory for the seven runs}; shift 2
more=("$@")
py=.venv/bin/python
mkdir -p "$runs"

stage() {   # stage N TRAIN_FLAGS...: trains RUNS_DIR/stageN, from stage N-1's weights when N > 1
    local n=$1; shift
    local out="$runs/stage$n" extra=()
    [ "$n" -gt 1 ] && extra+=(--init "$runs/stage$((n - 1))")
    [ -f "$out/train_state/state.json" ] && extra+=(--resume)
    echo "stage $n: $out" >&2
    $py -m translit_core train --corpus "$corpus" --out "$out" --batch-size 128 "$@" "${extra[@]}" "${more[@]}"
}

mix=(--mix wikipedia=0.6,arpa=1,ud=4)     # the Wikipedia extract is 82% of the corpus; the test text is news and prose
stage 1 --epochs 15
stage 2 "${mix[@]}" --epochs 12 --lr 1e-3 --warmup 200
stage 3 "${mix[@]}" --epochs 7 --lr 4e-4 --warmup 100 --seed 100
stage 4 "${mix[@]}" --epochs 4 --lr 2e-4 --warmup 50 --seed 200
stage 5 "${mix[@]}" --epochs 5 --lr 2e-4 --warmup 50 --seed 300
stage 6 "${mix[@]}" --epochs 4 --lr 2e-4 --warmup 50 --seed 500
stage 7 "${mix[@]}" --epochs 4 --lr 2e-4 --warmup 50 --seed 1100
echo "the model: $runs/stage7" >&2

#!/bin/bash
# The retrofitted twin and its control (issue 15): the shipped base (checkpoints/hy) fine-tuned for
# 2 more epochs with its last stages' data mix (news and treebank weighted up), peak lr 4e-4,
# fresh spellings (--seed 1500), fp32, one thread each, side by side: checkpoints/hy-retrofit
# with DeCov at the twin's weight (1e-3) on the concat and hidden activations, checkpoints/hy-finetune
# without. The question: does the regularizer reorganise a trained network's units, at what cost,
# when the from-scratch recipe is out of a CPU session's reach? Resumable: run it again.
# Then each is analysed, its dynamics measured and kept, and the two checkpoint directories made.
#   bash scripts/train_retrofit.sh CORPUS_DIR RUNS_DIR [--device cuda]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?corpus directory (python -m translit_core prepare)}; runs=${2:?directory for the two runs}; shift 2
py=.venv/bin/python
declare -A reg=([hy-retrofit]="--reg decov --reg-weight 1e-3" [hy-finetune]="")
for name in hy-retrofit hy-finetune; do
    out="$runs/$name"; resume=(); [ -f "$out/train_state/state.json" ] && resume=(--resume)
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 $py -m translit_core train --corpus "$corpus" --out "$out" --init checkpoints/hy \
        --mix wikipedia=0.6,arpa=1,ud=4 --epochs 2 --lr 4e-4 --warmup 100 --seed 1500 --batch-size 128 \
        ${reg[$name]} --precision fp32 --snapshots 0.25,1,2 "${resume[@]}" "$@" > "$runs/$name.log" 2>&1 &
done
wait
for name in hy-retrofit hy-finetune; do
    out="$runs/$name"
    $py -m translit_core analyze --checkpoint "$out"
    $py -m translit_core dynamics --run "$out" --save > /dev/null
    mkdir -p "checkpoints/$name" "runs/$name"
    cp "$out"/{model.json,model.safetensors,analysis.json,analysis.safetensors} "checkpoints/$name/"
    gzip -9n -c "$out/lexicon.txt" > "checkpoints/$name/lexicon.txt.gz"
    cp "$out/dynamics.json" "runs/$name/"
done
du -sh checkpoints/hy-retrofit checkpoints/hy-finetune

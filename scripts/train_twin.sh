#!/bin/bash
# The interpretable twin and its control (issue 15), as shipped in checkpoints/hy-twin and
# checkpoints/hy-short: the base's stage-1 recipe (batch 128, peak lr 3e-3, cosine) cut to 2 epochs,
# from scratch, fp32 (no AVX-512 BF16 on the machine they were trained on), one thread each, side by
# side; the twin with DeCov at the pilot's weight (README), the control without. Both keep snapshots
# for the dynamics view. Resumable: run it again (each run adds --resume once its state exists).
# Then each is analysed, its dynamics measured and kept, and the two checkpoint directories made.
#   bash scripts/train_twin.sh CORPUS_DIR RUNS_DIR [--device cuda]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?corpus directory (python -m translit_core prepare)}; runs=${2:?directory for the two runs}; shift 2
py=.venv/bin/python
declare -A reg=([hy-twin]="--reg decov --reg-weight 1e-3" [hy-short]="")
for name in hy-twin hy-short; do
    out="$runs/$name"; resume=(); [ -f "$out/train_state/state.json" ] && resume=(--resume)
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 $py -m translit_core train --corpus "$corpus" --out "$out" --epochs 2 --batch-size 128 \
        ${reg[$name]} --precision fp32 --snapshots 0.125,0.25,0.5,1,2 "${resume[@]}" "$@" > "$runs/$name.log" 2>&1 &
done
wait
for name in hy-twin hy-short; do
    out="$runs/$name"
    $py -m translit_core analyze --checkpoint "$out" --threads 1
    $py -m translit_core dynamics --run "$out" --save > /dev/null
    mkdir -p "checkpoints/$name" "runs/$name"
    cp "$out"/{model.json,model.safetensors,analysis.json,analysis.safetensors} "checkpoints/$name/"
    gzip -9n -c "$out/lexicon.txt" > "checkpoints/$name/lexicon.txt.gz"      # the same words as hy's, in 0.3 MB
    cp "$out/dynamics.json" "runs/$name/"
done
du -sh checkpoints/hy-twin checkpoints/hy-short

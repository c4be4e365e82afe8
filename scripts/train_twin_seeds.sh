#!/bin/bash
# More training seeds of the DeCov twin and its control, so that the twin's verdict can include the
# spread between training runs (docs/TWIN.md): the shipped pair's recipe (scripts/train_twin.sh) with
# --seed N, each pair side by side, one thread each, into runs/hy-twin-sN and runs/hy-short-sN. The
# weights and the training state stay out of git (.gitignore keeps only runs/*/dynamics.json); each
# run is analysed in place (tables only: --ablation-k 0) and its dynamics measured.
# Resumable in pieces: stop it at any time and run it again (a run whose state exists goes on with
# --resume; a finished one is skipped).
#   bash scripts/train_twin_seeds.sh CORPUS_DIR SEED [SEED ...]      # e.g. data/corpus 1 2
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?corpus directory (python -m translit_core prepare --out data/corpus)}; shift
[ $# -gt 0 ] || { echo "give at least one seed (the shipped pair is seed 0)" >&2; exit 2; }
py=.venv/bin/python
for seed in "$@"; do
    pids=()
    for name in hy-twin hy-short; do
        out="runs/$name-s$seed"
        [ -f "$out/trained" ] && continue                                    # finished in an earlier piece
        extra=()
        [ -f "$out/train_state/state.json" ] && extra+=(--resume)
        [ "$name" = hy-twin ] && extra+=(--reg decov --reg-weight 1e-3)
        mkdir -p "$out"
        OMP_NUM_THREADS=1 $py -m translit_core train --corpus "$corpus" --out "$out" --epochs 2 --batch-size 128 \
            --precision fp32 --snapshots 0.125,0.25,0.5,1,2 --seed "$seed" "${extra[@]}" >> "$out/train.log" 2>&1 \
            && touch "$out/trained" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || { echo "a training run failed (exit $?): see runs/*-s$seed/train.log" >&2; exit 1; }
    done
    for name in hy-twin hy-short; do
        out="runs/$name-s$seed"
        [ -f "$out/analysis.json" ] || $py -m translit_core analyze --checkpoint "$out" --ablation-k 0
        [ -f "$out/dynamics.json" ] || $py -m translit_core dynamics --run "$out" --save > /dev/null
    done
done

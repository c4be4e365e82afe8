#!/bin/bash
# A regularized model and its control: one recipe trained twice side by side, one thread each, the
# first with DeCov at the pilot's weight (1e-3, docs/TWIN.md) on the concat and hidden activations, the
# second without. Resumable (a run whose state exists goes on with --resume); a failed run stops the
# script before anything is analysed or shipped. Then each is analysed, its dynamics measured and
# kept (runs/NAME/dynamics.json), and its checkpoint directory made (checkpoints/NAME: the weights,
# the analysis and the lexicon gzip-compressed).
#   bash scripts/train_pair.sh RUNS_DIR REGULARIZED_NAME CONTROL_NAME TRAIN_ARGS...
# Used by scripts/train_twin.sh and scripts/train_retrofit.sh, which hold the two recipes.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:?directory for the two runs}; regularized=${2:?name of the regularized model}; control=${3:?name of its control}
shift 3
py=.venv/bin/python
mkdir -p "$runs"
pids=()
for name in "$regularized" "$control"; do
    out="$runs/$name"; extra=()
    [ -f "$out/train_state/state.json" ] && extra+=(--resume)
    [ "$name" = "$regularized" ] && extra+=(--reg decov --reg-weight 1e-3)
    OMP_NUM_THREADS=1 $py -m translit_core train --out "$out" "$@" "${extra[@]}" > "$runs/$name.log" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || { echo "a training run failed (exit $?): see $runs/$regularized.log and $runs/$control.log" >&2; exit 1; }
done
for name in "$regularized" "$control"; do
    out="$runs/$name"
    $py -m translit_core analyze --checkpoint "$out"
    $py -m translit_core dynamics --run "$out" --save > /dev/null
    mkdir -p "checkpoints/$name" "runs/$name"
    cp "$out"/{model.json,model.safetensors,analysis.json,analysis.safetensors} "checkpoints/$name/"
    gzip -9n -c "$out/lexicon.txt" > "checkpoints/$name/lexicon.txt.gz"      # the base's words, in 0.3 MB
    cp "$out/dynamics.json" "runs/$name/"
done
du -sh "checkpoints/$regularized" "checkpoints/$control"

#!/usr/bin/env bash
# Runs ON the lent GPU machine, in the copied checkout: the distillation ablation's runs through
# the same runner as on CPU (python -m bench.ablation --run NAME), then the teachers' scores,
# then tools/device/ablation.py pack: results + fp16 weights in $OUT (docs/distillation.md).
#   bash tools/device/ablation.sh                       # the whole plan, in --list order
#   bash tools/device/ablation.sh 1-multitask 1-multitask-s29
# No run starts after ABLATION_DEADLINE_S seconds (default 480), so the command ends inside the
# device's 10 minutes; extra `--set` overrides for every run go in ABLATION_SET.
set -euo pipefail
: "${OUT:?set OUT to the folder the device tool returns}"
root="$(pwd)"
work="${ROAD_DEVICE_WORK:-/tmp/road-device}"
deadline="${ABLATION_DEADLINE_S:-480}"
log="$work/ablation.log"
# shellcheck source=tools/device/env.sh
source tools/device/env.sh
# The runner is bench.ablation, at the checkout's top level.
export PYTHONPATH="$root:$PYTHONPATH"
# The staged teachers stand where bench/ablation/runs.py names them (checkpoints/ is detached).
if [ -d .device/teachers ]; then
    mkdir -p checkpoints
    for teacher in .device/teachers/*/; do
        name="$(basename "$teacher")"
        [ -e "checkpoints/$name" ] || ln -sfn "$root/.device/teachers/$name" "checkpoints/$name"
    done
fi
sets=()
[ -d .device/minilm ] && sets+=(--set init=.device/minilm)
for item in ${ABLATION_SET:-}; do sets+=(--set "$item"); done
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$log"
fi

runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
    mapfile -t runs < <(python3 -c 'from bench.ablation.runs import planned, run_name
from bench.ablation.summary import SUMMARY, load
print("\n".join(run_name(run.name, seed) for run, seed in planned(load(SUMMARY))))')
fi
started=$SECONDS
for name in "${runs[@]}"; do
    if (( SECONDS - started >= deadline )); then
        echo "ablation.sh: ${deadline}s passed; $name and the runs after it are not started" | tee -a "$log"
        break
    fi
    python3 -m bench.ablation --run "$name" --no-teachers "${sets[@]}" >>"$log" 2>&1 \
        || echo "ablation.sh: $name failed (see the log)" | tee -a "$log"
done
python3 -m bench.ablation --teachers "${sets[@]}" >>"$log" 2>&1 \
    || echo "ablation.sh: scoring the teachers failed" | tee -a "$log"
python3 tools/device/ablation.py pack "$OUT" | tee -a "$log"
tail -c 1000000 "$log" >"$OUT/ablation.log"

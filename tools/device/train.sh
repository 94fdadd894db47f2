#!/usr/bin/env bash
# Runs ON the lent GPU machine, in the copied checkout: train each config, compact its final
# weights (fp16, dev-evaluated), and leave them in $OUT as tar pieces of 16 MiB or less (the
# device returns at most 8 files of 16 MiB). Staged here by tools/device/prepare.py.
#   bash tools/device/train.sh training/configs/teacher-qa.yaml training/configs/teacher-nli.yaml
# Extra `--set` overrides for every config go in ROAD_SET, e.g. ROAD_SET="steps=100".
set -euo pipefail
: "${OUT:?set OUT to the folder the device tool returns}"
root="$(pwd)"
work="${ROAD_DEVICE_WORK:-/tmp/road-device}"
log="$OUT/train.log"
mkdir -p "$work/runs"
# shellcheck source=tools/device/env.sh
source tools/device/env.sh
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$log"
fi

for config in "$@"; do
    name="$(basename "$config" .yaml)"
    run="$work/runs/$name"
    # shellcheck disable=SC2086
    python3 - "$config" "$run" ${ROAD_SET:-} <<'EOF' 2>&1 | tee -a "$log"
import json
import sys
from pathlib import Path

from road.training.compact import compact_checkpoint
from road.training.config import load_config
from road.training.loop import train

config_path, run, *extra = sys.argv[1:]
overrides = [f"output_dir={run}", *extra]
if load_config(config_path).init == "minilm":
    overrides.append("init=.device/minilm")
config = load_config(config_path, overrides)
metrics = train(config)
print(json.dumps({"config": config_path, "final_dev": metrics}))
compact_checkpoint(Path(run) / "final", Path(run + "-compact"), dtype="fp16", evaluate_dev=True)
EOF
    cp "$run/log.jsonl" "$run-compact/log.jsonl"
    tar -C "$work/runs" -cf "$work/$name.tar" "$name-compact"
    split -b 16M -d "$work/$name.tar" "$OUT/$name.tar.part"
    (cd "$work" && sha256sum "$name.tar") | tee -a "$OUT/SHA256SUMS"
done

#!/usr/bin/env bash
# Static (batch-invariant) against dynamic INT8 of one checkpoint, in one benchmark run.
#
#   bench/export_int8.sh CHECKPOINT OUT.json [more `road export` flags, e.g. --dev-limit 500]
#
# Both bundles come from `road export` (so each carries its own gate metrics and, for static,
# the calibrator and the MatMuls kept in fp32), then `bench.export_bench` times them
# alternately in one process with one ORT thread. Environment: CPU (core to pin, default 1),
# CALIBRATION (default: ExportOptions' default), ROUNDS (7), ROWS (64), BUNDLES (scratch dir).
set -euo pipefail
checkpoint=$1
out=$2
shift 2
bundles=${BUNDLES:-/tmp/bundles-int8}
pin=(env OMP_NUM_THREADS=1 taskset -c "${CPU:-1}")
calibration=()
if [[ -n "${CALIBRATION:-}" ]]; then calibration=(--calibration "$CALIBRATION"); fi
"${pin[@]}" .venv/bin/road export "$checkpoint" --out "$bundles/static" --precision int8 \
    --quantization static "${calibration[@]}" "$@" > /dev/null
"${pin[@]}" .venv/bin/road export "$checkpoint" --out "$bundles/dynamic" --precision int8 \
    --quantization dynamic "$@" > /dev/null
"${pin[@]}" .venv/bin/python -m bench.export_bench "dynamic=$bundles/dynamic" \
    "static=$bundles/static" --threads 1 --rounds "${ROUNDS:-7}" --rows "${ROWS:-64}" --out "$out"

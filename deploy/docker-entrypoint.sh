#!/bin/sh
# Container entrypoint for the road server image.
#
# `docker run IMAGE [ARGS...]` runs `road serve [ARGS...]`: ARGS are handed to `road serve` unchanged
# (e.g. a bundle directory). Settings come from ROAD_* environment variables; the image binds
# 0.0.0.0 unless ROAD_HOST says otherwise. `exec` replaces this shell, so the server is PID 1 in
# the container and receives SIGTERM itself: it stops taking new requests, drains in-flight ones
# for ROAD_GRACEFUL_TIMEOUT_S seconds and exits 0.
#
# Other commands (e.g. the batch job's `road score ...`) set the container's command instead:
# `docker run --entrypoint road IMAGE score ...`, or `command:` in a Kubernetes pod spec.
set -eu

: "${ROAD_HOST:=0.0.0.0}"
export ROAD_HOST

exec road serve "$@"

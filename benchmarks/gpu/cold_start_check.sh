#!/usr/bin/env bash
# Parakeet's cold start on the lent GPU machine, from the repo root, in about 3 minutes: the carried wheels are
# installed (benchmarks/gpu/install.sh, ~20 s), the full-size Parakeet built on the card, then four loads, each in
# a fresh process: the app's (checkpoint streamed to the card tensor by tensor in bf16) and NeMo's plain
# restore_from(map_location=cuda) + .to(bf16), twice each, alternated. It gives the figures the planning number
# parakeet.LOAD_PEAK_GPU_BYTES waits for. Results: gpu_check.json and gpu_check.md under $OUT.
set -euo pipefail
# shellcheck source=/dev/null
source benchmarks/gpu/install.sh
python3 -m benchmarks.gpu_check --only cold_start --limit 300 --out "${OUT:-benchmarks/results/gpu}"

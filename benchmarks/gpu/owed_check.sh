#!/usr/bin/env bash
# The GPU measurements still owed (issue 9's budgets and decoder figures; issues 13 and 14's option costs),
# as one call on the lent GPU machine, from the repo root, in about 5 minutes: the carried wheels are
# installed (benchmarks/gpu/install.sh, ~20 s), the full-size models built on the card, then both steps
# run. Results: gpu_check.json and gpu_check.md under $OUT (the device tool's output folder).
set -euo pipefail
# shellcheck source=/dev/null
source benchmarks/gpu/install.sh
python3 -m benchmarks.gpu_check --only parakeet --only features --limit 420 --out "${OUT:-benchmarks/results/gpu}"

#!/usr/bin/env bash
# The GPU measurements still owed (issue 9's budgets and decoder figures; issue 22's many files through the
# batched path; issues 13 and 14's option costs), as one call on the lent GPU machine, from the repo root, in
# about 7 minutes (limit 540 s, within the device tool's 600 s a command): the carried wheels are installed
# (benchmarks/gpu/install.sh, ~20 s), the full-size models built on the card, then the three steps run, each
# saving its parts as it goes (a step stopped by the limit keeps what it finished). Results: gpu_check.json and
# gpu_check.md under $OUT (the device tool's output folder).
set -euo pipefail
# shellcheck source=/dev/null
source benchmarks/gpu/install.sh
python3 -m benchmarks.gpu_check --only parakeet --only folder --only features --limit 540 \
    --out "${OUT:-benchmarks/results/gpu}"

#!/usr/bin/env bash
# Issue 24's GPU figures: Parakeet-TDT-0.6B-v3 and Canary-1B-v2 (its CTC timer model beside it) at full size on the
# card, the app against the raw NeMo call, on 10 minutes of speech-like audio, as one call on the lent GPU machine
# from the repo root (about 8 minutes: the wheels installed, both models built, then measured; limit 540 s).
# Results: languages.json and languages.md under $OUT.
set -euo pipefail
# shellcheck source=/dev/null
source benchmarks/gpu/install.sh
timeout 520 python3 -m benchmarks.languages --models /tmp/full-languages --out "${OUT:-benchmarks/results/gpu}" \
    --minutes 10 --device cuda

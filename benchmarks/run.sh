#!/usr/bin/env bash
# One command on a fresh machine: the app's environment (as tests/run.sh builds it, CPU PyTorch),
# matplotlib for the plots, then the benchmark suite. Arguments go to it: --full, --figures 1,2 ...
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -qq "torch==2.13.0"
.venv/bin/python -m pip install -qq -r requirements.txt -r tests/requirements.txt -r benchmarks/requirements.txt
exec .venv/bin/python -m benchmarks "$@"

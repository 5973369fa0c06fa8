#!/usr/bin/env bash
# The test command (README): builds .venv with a CPU PyTorch if needed, installs
# the app's and the tests' requirements, then runs the whole suite.
# No GPU and no network beyond the package registries are needed: the tests
# build tiny real NeMo models and a local Hugging Face cache themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# torch 2.13.0 first: pip then keeps it instead of resolving a newer CUDA build.
.venv/bin/python -m pip install -qq "torch==2.13.0"
.venv/bin/python -m pip install -qq -r requirements.txt -r tests/requirements.txt
exec .venv/bin/python -m pytest tests "$@"

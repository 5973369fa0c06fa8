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
# The browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright
# (never `playwright install`). Install it when missing and we can; otherwise they skip.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing chromium for the browser tests (apt-get)..."
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
               && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
            echo "NOTE: could not install chromium; the browser tests will be skipped." >&2
        fi
    else
        echo "NOTE: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get);" \
             "the browser tests will be skipped." >&2
    fi
fi
# Every temporary file of the run goes under the git-ignored .test-tmp/, never the system temp
# folder: TMPDIR moves tempfile's folder (pytest's, Gradio's, gradio_client's downloads, NeMo's
# unpacking), GRADIO_TEMP_DIR Gradio's uploads, --basetemp pytest's tmp_path. tests/conftest.py
# fails the run if the suite still writes to the system temp folder (STUDIO_SYSTEM_TMPDIR).
export STUDIO_SYSTEM_TMPDIR="${TMPDIR:-/tmp}"
export STUDIO_TEST_TMPDIR="$PWD/.test-tmp/tmp"
rm -rf "$STUDIO_TEST_TMPDIR"
mkdir -p "$STUDIO_TEST_TMPDIR"
export TMPDIR="$STUDIO_TEST_TMPDIR"
export GRADIO_TEMP_DIR="$STUDIO_TEST_TMPDIR/gradio"
exec .venv/bin/python -m pytest tests --basetemp="$PWD/.test-tmp/pytest" "$@"

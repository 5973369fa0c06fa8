# Install the carried wheels on the lent GPU machine. SOURCE it from the repo root:
#
#   source benchmarks/gpu/install.sh && python3 benchmarks/gpu/smoke.py
#
# (run with `bash` it still installs and checks, but the exports below are lost.)
# Installs only .whl/*.whl (no index, no dependencies) into $SITE (default /tmp/site), on top of the
# machine's own site-packages, then puts $SITE and the repo root first on PYTHONPATH. Fails loudly and
# quickly: a missing wheel, a failed pip or a failed `import nemo` stops it; prints the time taken.
_gpu_install() {
    local root site py started pip_s took
    root="$(pwd)"
    site="${SITE:-/tmp/site}"
    py="${PYTHON:-python3}"
    started=$(date +%s%N)
    if [[ ! -f "$root/benchmarks/gpu/wheels.txt" ]]; then
        echo "install.sh: run from the repo root (no benchmarks/gpu/wheels.txt in $root)" >&2; return 1
    fi
    local n_whl n_want
    n_whl=$(ls "$root"/.whl/*.whl 2>/dev/null | wc -l)
    n_want=$(grep -cE '^[^#[:space:]]' "$root/benchmarks/gpu/wheels.txt")
    if [[ "$n_whl" -ne "$n_want" ]]; then
        echo "install.sh: .whl/ has $n_whl wheels, wheels.txt lists $n_want (run benchmarks/gpu/fetch_wheels.sh here)" >&2
        return 1
    fi
    "$py" -c 'import sys; assert sys.version_info[:2] == (3, 12), sys.version' || {
        echo "install.sh: the wheels are for CPython 3.12; $py is not" >&2; return 1; }
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --disable-pip-version-check --target "$site" "$root"/.whl/*.whl || {
        echo "install.sh: pip install into $site failed" >&2; return 1; }
    pip_s=$(( ($(date +%s%N) - started) / 1000000 ))

    export PYTHONPATH="$site:$root${PYTHONPATH:+:$PYTHONPATH}"
    # Offline machine: never try the Hub; quiet the libraries' banners and telemetry.
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
    export HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 DO_NOT_TRACK=1
    export TOKENIZERS_PARALLELISM=false WANDB_MODE=disabled
    # NeMo 3.0 source has invalid escape sequences that Python reports as SyntaxWarning on first compile.
    export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::SyntaxWarning}"

    "$py" -c 'import nemo, lightning, omegaconf, lhotse, silero_vad; print("install.sh: nemo", nemo.__version__, "| lightning", lightning.__version__, "| from", nemo.__file__)' || {
        echo "install.sh: import check failed" >&2; return 1; }
    took=$(( ($(date +%s%N) - started) / 1000000 ))
    printf 'install.sh: %s wheels into %s: pip %d ms, with import check %d ms (PYTHONPATH=%s)\n' \
        "$n_whl" "$site" "$pip_s" "$took" "$PYTHONPATH"
}
_gpu_install || { [[ "${BASH_SOURCE[0]}" == "$0" ]] && exit 1 || return 1; }

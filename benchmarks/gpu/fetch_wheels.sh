#!/usr/bin/env bash
# Recreate .whl/ exactly from benchmarks/gpu/wheels.txt (run here, from the repo root, with PyPI reachable).
#
#   bash benchmarks/gpu/fetch_wheels.sh
#
# * plain lines: `pip download --no-deps --only-binary=:all:` for CPython 3.12 on manylinux x86_64
#   (the device's Python, whatever Python runs this script);
# * [build] lines: `pip wheel --no-deps` from PyPI's sdist (antlr4-python3-runtime has no wheel);
# * [stub] lines: benchmarks/gpu/build_stub_wheel.py (reproducible, no network).
# Wheels already in .whl/ are reused; any wheel in .whl/ that wheels.txt does not list is deleted.
# Idempotent. Ends with the list of wheels, their sizes and the total.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
LIST="$HERE/wheels.txt"
DEST="$ROOT/.whl"
mkdir -p "$DEST"

plain=() build=() stub=()
while IFS= read -r line; do
    spec="${line%%#*}"; spec="$(echo "$spec" | xargs)"
    [[ -z "$spec" ]] && continue
    if [[ "$line" == *"[build]"* ]]; then build+=("$spec")
    elif [[ "$line" == *"[stub]"* ]]; then stub+=("$spec")
    else plain+=("$spec"); fi
done < "$LIST"

echo "fetch_wheels: ${#plain[@]} to download, ${#build[@]} to build from sdist, ${#stub[@]} stub(s)"
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d "$DEST" "${plain[@]}"

for spec in "${build[@]}"; do
    name="${spec%%==*}"; version="${spec##*==}"
    norm="$(echo "$name" | tr 'A-Z.-' 'a-z__')"
    if ! ls "$DEST/${norm}-${version}-"*.whl >/dev/null 2>&1; then
        SOURCE_DATE_EPOCH=315532800 "$PY" -m pip wheel -q --no-cache-dir --disable-pip-version-check --no-deps --no-binary=:all: "$spec" -w "$DEST"
    fi
done
for spec in "${stub[@]}"; do
    [[ "$spec" == nemo-wandb-stub==* ]] || { echo "fetch_wheels: unknown stub $spec" >&2; exit 1; }
    "$PY" "$HERE/build_stub_wheel.py" "$DEST" >/dev/null
done

# Prune what wheels.txt does not list; check one wheel per line; print sizes.
"$PY" - "$LIST" "$DEST" <<'PYEOF'
import re, sys
from pathlib import Path

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

wanted = {}
for line in Path(sys.argv[1]).read_text().splitlines():
    spec = line.split("#", 1)[0].strip()
    if spec:
        name, version = spec.split("==")
        wanted[norm(name)] = version
found = {}
for whl in sorted(Path(sys.argv[2]).glob("*.whl")):
    name, version = whl.name.split("-")[:2]
    key = norm(name)
    if wanted.get(key) != version:
        print(f"fetch_wheels: removing {whl.name} (not in wheels.txt)")
        whl.unlink()
        continue
    found.setdefault(key, []).append(whl)
missing = sorted(set(wanted) - set(found))
dupes = {k: [p.name for p in v] for k, v in found.items() if len(v) > 1}
if missing or dupes:
    sys.exit(f"fetch_wheels: missing {missing} / more than one wheel {dupes}")
for p in Path(sys.argv[2]).iterdir():
    if p.suffix != ".whl":
        print(f"fetch_wheels: note: stray file {p.name} in .whl/")
total = 0
for key in wanted:
    whl = found[key][0]
    size = whl.stat().st_size
    total += size
    print(f"{size / 1024:9.0f} KiB  {whl.name}")
print(f"{total / 1024 / 1024:9.2f} MiB  total, {len(wanted)} wheels")
PYEOF

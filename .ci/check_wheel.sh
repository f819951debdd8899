#!/usr/bin/env bash
# CI: the app as pip, pipx or a package manager installs it. Build a wheel, install it (not
# editable) into a fresh virtual environment outside the checkout, check that it holds every module
# and resource, and run the commands a user runs first. Uses .venv's pip for the build only.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/dscoder-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

.venv/bin/pip wheel -q --no-deps . -w "$work/dist"
wheel=$(ls "$work"/dist/*.whl)
echo "check-wheel: built $(basename "$wheel")"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"

# Every tracked file of app/ and resources/ must be in the wheel (resources/ as app/resources/).
python3 - "$wheel" "$checkout" <<'PY'
import subprocess, sys, zipfile
wheel, checkout = sys.argv[1], sys.argv[2]
tracked = subprocess.run(["git", "-C", checkout, "ls-files", "app", "resources"], capture_output=True, text=True,
                         check=True).stdout.split()
expected = {("app/" + p if p.startswith("resources/") else p) for p in tracked}
missing = sorted(expected - set(zipfile.ZipFile(wheel).namelist()))
if missing:
    sys.exit("check-wheel: the wheel lacks " + ", ".join(missing) + " (add new packages to pyproject.toml)")
print(f"check-wheel: the wheel holds all {len(expected)} files of app/ and resources/")
PY

cd "$work"  # outside the checkout: nothing can be imported from it
export DSCODER_HOME="$work/home"
dscoder=$work/venv/bin/dscoder
"$dscoder" --version
"$dscoder" probe --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print("check-wheel: probe:", d["recommendation"]["variant"] if d["recommendation"] else "no recommendation")'
"$dscoder" models catalog --json | python3 -c 'import json, sys; print("check-wheel: catalog:", len(json.load(sys.stdin)), "entries")'
QT_QPA_PLATFORM=offscreen "$dscoder" --self-test
echo "check-wheel: passed"

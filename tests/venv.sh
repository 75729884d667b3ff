#!/usr/bin/env bash
# Creates (or updates) a Python venv at the crate root with pinned requirements, then runs a check
# in it. Idempotent. What tests/emulator/setup.sh and tests/engines/setup.sh share.
#
#   tests/venv.sh VENV REQUIREMENTS CHECK      # VENV and REQUIREMENTS relative to the crate root
#   PYTHON=python3.12 tests/venv.sh ...         # python3 from PATH by default
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 VENV REQUIREMENTS CHECK" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/$1"
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# Keep the venv out of git without touching the project's .gitignore.
printf '*\n' >"$venv/.gitignore"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/$2"
"$venv/bin/python" -c "$3"

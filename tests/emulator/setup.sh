#!/usr/bin/env bash
# Creates .venv-emulator/ (at the crate root) with the pinned moto server and awscli that
# tests/fetch.rs uses. Idempotent; CI calls it before `cargo test --features fetch`.
#
#   tests/emulator/setup.sh            # python3 from PATH
#   PYTHON=python3.12 tests/emulator/setup.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.venv-emulator"
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# Keep the venv out of git without touching the project's .gitignore.
printf '*\n' >"$venv/.gitignore"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/tests/emulator/requirements.txt"
"$venv/bin/python" -c 'import moto, awscli; print("emulator venv ready: moto", moto.__version__, "awscli", awscli.__version__)'

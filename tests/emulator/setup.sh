#!/usr/bin/env bash
# Creates .venv-emulator/ (at the crate root) with the pinned moto server and awscli that
# tests/fetch.rs uses. Idempotent; CI calls it before `cargo test --features fetch`.
#
#   tests/emulator/setup.sh            # python3 from PATH
#   PYTHON=python3.12 tests/emulator/setup.sh
set -euo pipefail
exec "$(dirname "$0")/../venv.sh" .venv-emulator tests/emulator/requirements.txt \
  'import moto, awscli; print("emulator venv ready: moto", moto.__version__, "awscli", awscli.__version__)'

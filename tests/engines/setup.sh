#!/usr/bin/env bash
# Creates .venv-engines/ (at the crate root) with the pinned DuckDB and polars that tests/engines.rs
# queries the Parquet dataset with. Idempotent; .ci/run calls it before `cargo test`.
#
#   tests/engines/setup.sh            # python3 from PATH
#   PYTHON=python3.12 tests/engines/setup.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.venv-engines"
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# Keep the venv out of git without touching the project's .gitignore.
printf '*\n' >"$venv/.gitignore"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/tests/engines/requirements.txt"
"$venv/bin/python" -c 'import duckdb, polars; print("engines venv ready: duckdb", duckdb.__version__, "polars", polars.__version__)'

#!/usr/bin/env bash
# Creates .venv-engines/ (at the crate root) with the pinned DuckDB and polars that tests/engines.rs
# queries the Parquet dataset with. Idempotent; .ci/run calls it before `cargo test`.
#
#   tests/engines/setup.sh            # python3 from PATH
#   PYTHON=python3.12 tests/engines/setup.sh
set -euo pipefail
exec "$(dirname "$0")/../venv.sh" .venv-engines tests/engines/requirements.txt \
  'import duckdb, openpyxl, polars; print("engines venv ready: duckdb", duckdb.__version__, "polars", polars.__version__, "openpyxl", openpyxl.__version__)'

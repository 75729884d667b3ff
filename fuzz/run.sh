#!/usr/bin/env bash
# Runs fuzz targets one after the other, each for SECONDS (default 600), on a working corpus in
# fuzz/work/<target>/ seeded from the checked-in fuzz/corpus/<target>/. Crashes, timeouts and
# out-of-memory inputs land in fuzz/artifacts/<target>/; logs in fuzz/work/<target>.log.
#
#   fuzz/run.sh                      every target, 10 minutes each
#   SECONDS_PER_TARGET=60 fuzz/run.sh config manifest
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SECONDS_PER_TARGET:-600}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Inputs larger than real files of that kind only slow the search down.
max_len() {
    case "$1" in
        expand_patterns | group_notation) echo 1024 ;;
        policy_document | config | manifest) echo 8192 ;;
        *) echo 16384 ;;
    esac
}

cargo +nightly fuzz build -s none
for t in "${targets[@]}"; do
    mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
    echo "== $t: ${secs}s"
    # -timeout: one input taking 10 s is a hang. -rss_limit_mb: more than 2 GiB is unbounded
    # memory. One fork job at a time (two cores are shared) that goes on after a crash, timeout
    # or OOM, so one finding does not end the run; each is saved under fuzz/artifacts/<target>/.
    cargo +nightly fuzz run -s none "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
        >"fuzz/work/$t.log" 2>&1 || true
    grep -E '^#[0-9]+: cov' "fuzz/work/$t.log" | tail -n 1
    echo "corpus: $(find "fuzz/work/$t" -type f | wc -l) files; artifacts: $(find "fuzz/artifacts/$t" -type f | wc -l)"
done

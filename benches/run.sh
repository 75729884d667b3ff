#!/usr/bin/env bash
# benches/run.sh: the scale benchmark of issues 9, 18 and 20 (see docs/performance.md).
#
#   benches/run.sh                 1,000 and 10,000 roles (10 accounts each), and the side-by-side
#                                  run against Cloudsplaining on one 1,000-role account
#   benches/run.sh --large         also 100,000 roles (10 accounts x 10,000)
#   benches/run.sh --huge          also 1,000,000 roles (1,000 accounts x 1,000): ~14.5 GB of input
#                                  on disk (written account by account) plus the outputs; see --outputs
#   benches/run.sh --sizes "1000 10000 100x1000"   roles (10 accounts), or ACCOUNTSxROLES_PER_ACCOUNT
#   benches/run.sh --keep --seed 7 --managed-policies FILE
#   benches/run.sh --outputs /dev/shm   write the report/diff outputs there (tmpfs, as issue 18
#                                  measures); the inputs stay in $TMPDIR
#   benches/run.sh --no-build      use the binaries already built for --profile
#   benches/run.sh --profile perf  build/use another cargo profile (`perf`: release code generation
#                                  without LTO, rebuilds in about a minute after a change)
#   benches/run.sh --report-args "--recommendations all"   extra arguments for `iam-tighten report`
#   benches/run.sh --diff-args "--include-unchanged"       extra arguments for `iam-tighten diff`
#   benches/run.sh --no-diff       measure `report` only
#   benches/run.sh --no-cloudsplaining   skip the side-by-side run (it needs python3 and PyPI)
#
# It builds the binary and the two examples, generates each organisation with
# `examples/synth-export.rs` into a temporary folder (and, for the diff, the same organisation
# one quarter later with `--evolve 1`), and then measures, in the same run:
#   (a) parse-only baseline: `examples/parse-only.rs` reads + parses every input file with serde_json
#   (b) `iam-tighten report ORG --out OUT` end to end (every output), with IAM_TIGHTEN_TIMINGS=1
#   (c) `iam-tighten diff ORG ORG`: the export against itself (no change)
#   (d) `iam-tighten diff ORG NEXT`: a realistic quarter (a few percent changed)
#   and the peak RSS of each with /usr/bin/time -v, and for (b) when the peak was reached: the
#   process's high-water mark sampled every second, placed in the stage running then
# and prints wall times, the ratios (b)/(a), (c)/(b) and (d)/(b), peak RSS, output sizes and the
# per-stage breakdown, then checks the targets of issue 18 (PASS/FAIL).
# Side by side (first, unless --no-cloudsplaining): one account of 1,000 roles; Cloudsplaining
# 0.9.1 (pinned, from PyPI, in a venv the script makes under the temp folder, or $CS_VENV if set)
# `cloudsplaining scan --input-file ACCOUNT/authorization-details.json` against `iam-tighten report
# ACCOUNT` end to end; both wall times, peak RSS and the ratio; and the report run again on one core
# (taskset) to check that its outputs are byte-identical between 1 and 2+ threads.
# Generated data stays in the temp folder (removed at the end unless --keep). Needs: cargo, GNU
# time (/usr/bin/time; installed via apt-get if missing and running as root), python3 with venv
# for the side-by-side run, taskset (util-linux) for the thread check.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SIZES="1000 10000"
SEED=1
CLOUDSPLAINING=1
OUTPUTS=""
KEEP=0
NO_BUILD=0
PROFILE=release
REPORT_ARGS=()
DIFF_ARGS=()
DIFF=1
MANAGED=()
while [ $# -gt 0 ]; do
    case "$1" in
        --large) SIZES="$SIZES 100000" ;;
        --huge) SIZES="$SIZES 1000x1000" ;;
        --outputs) OUTPUTS="$2"; shift ;;
        --no-cloudsplaining) CLOUDSPLAINING=0 ;;
        --sizes) SIZES="$2"; shift ;;
        --seed) SEED="$2"; shift ;;
        --keep) KEEP=1 ;;
        --no-build) NO_BUILD=1 ;;
        --profile) PROFILE="$2"; shift ;;
        --report-args) read -r -a REPORT_ARGS <<< "$2"; shift ;;
        --diff-args) read -r -a DIFF_ARGS <<< "$2"; shift ;;
        --no-diff) DIFF=0 ;;
        --managed-policies) MANAGED=(--managed-policies "$2"); shift ;;
        -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
    else
        echo "benches/run.sh needs GNU time at /usr/bin/time (apt-get install time)" >&2
        exit 2
    fi
fi

if [ "$NO_BUILD" = 0 ]; then
    echo "== build ($PROFILE)"
    cargo build --profile "$PROFILE" --bin iam-tighten --example synth-export --example parse-only 2>&1 | tail -n 3
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
BIN="$TARGET_DIR/$PROFILE/iam-tighten"
GEN="$TARGET_DIR/$PROFILE/examples/synth-export"
PARSE="$TARGET_DIR/$PROFILE/examples/parse-only"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/iam-tighten-bench.XXXXXX")"
# Where the report and diff outputs go (--outputs: e.g. /dev/shm, a tmpfs).
if [ -n "$OUTPUTS" ]; then
    OUTBASE="$(mktemp -d "$OUTPUTS/iam-tighten-bench-out.XXXXXX")"
else
    OUTBASE="$TMP"
fi
cleanup() {
    if [ "$KEEP" = 0 ]; then
        rm -rf "$TMP"
        [ "$OUTBASE" = "$TMP" ] || rm -rf "$OUTBASE"
    else
        echo "kept $TMP $OUTBASE"
    fi
}
trap cleanup EXIT

echo "== machine"
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*: /cpu: /' || true
free -g | sed -n '1,2p'
echo "iam-tighten: $("$BIN" --version 2>/dev/null || echo '?')   git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

now_ms() { date +%s%3N; }
# time_v FILE: GNU time -v output → "peak_kib"
peak_kib() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
check() { if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a <= b) }'; then echo "   PASS $1 ($2 <= $3)"; else echo "   FAIL $1 ($2 > $3)"; fi; }
# hwm_sampler PID LOG: while process PID (GNU time) runs, its child's high-water mark (VmHWM,
# KiB) every second as "ms-since-start KiB" lines: when the peak was reached, which the peak RSS
# alone does not say (5-second RSS samples missed a 2-second peak for seven passes of issue 18).
hwm_sampler() {
    local start pid hwm
    start=$(now_ms)
    : > "$2"
    command -v pgrep > /dev/null || return 0
    while kill -0 "$1" 2> /dev/null; do
        pid=$(pgrep -P "$1" | head -n 1 || true)
        hwm=""
        [ -n "$pid" ] && hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' \
            "/proc/$pid/status" 2> /dev/null || true)
        [ -n "$hwm" ] && echo "$(( $(now_ms) - start )) $hwm" >> "$2"
        sleep 1
    done
}
# peak_when LOG ERR: "~MS ms, in STAGE": the first sample at the final high-water mark, and the
# stage of `report` (its `timing` lines, added up in order until `outputs`) running then.
peak_when() {
    awk '
        FILENAME == ARGV[1] { t[FNR] = $1; h[FNR] = $2; n = FNR; next }
        /^timing / && !done {
            end += $3; stage[++k] = $2; until[k] = end
            if ($2 == "outputs") done = 1
        }
        END {
            if (n == 0) { print "unknown (no samples)"; exit }
            for (i = 1; i <= n; i++) if (h[i] == h[n]) { at = t[i]; break }
            name = "after the stages"
            for (j = 1; j <= k; j++) if (at <= until[j]) { name = stage[j]; break }
            printf "~%d ms, in %s\n", at, name
        }' "$1" "$2"
}

echo "outputs in: $OUTBASE ($(df --output=fstype "$OUTBASE" | tail -n 1))"

SUMMARY="$TMP/summary.txt"
: > "$SUMMARY"
FAIL=0

# Side by side: Cloudsplaining 0.9.1 and iam-tighten on the same 1,000-role account.
if [ "$CLOUDSPLAINING" = 1 ]; then
    echo
    echo "== side by side: one account of 1,000 roles (seed $SEED), Cloudsplaining 0.9.1"
    VENV="${CS_VENV:-$TMP/venv-cloudsplaining}"
    if [ ! -x "$VENV/bin/cloudsplaining" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check 'cloudsplaining==0.9.1'
    fi
    ACCT_ORG="$TMP/account-1000"
    "$GEN" --accounts 1 --roles-per-account 1000 --seed "$SEED" --out "$ACCT_ORG" "${MANAGED[@]}"
    ACCT="$(find "$ACCT_ORG" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
    AUTHZ="$ACCT/authorization-details.json"
    "$PARSE" "$ACCT" > /dev/null    # warm the page cache for both tools
    CS_OUT="$OUTBASE/cloudsplaining-1000"
    mkdir -p "$CS_OUT"    # cloudsplaining wants an existing folder
    t0=$(now_ms)
    /usr/bin/time -v -o "$TMP/time-cloudsplaining" \
        "$VENV/bin/cloudsplaining" scan --input-file "$AUTHZ" --output "$CS_OUT" --skip-open-report \
        > "$TMP/cloudsplaining.out" 2>&1 || {
        echo "cloudsplaining scan failed:"; tail -n 20 "$TMP/cloudsplaining.out"; exit 1; }
    cs_ms=$(( $(now_ms) - t0 ))
    cs_kib=$(peak_kib "$TMP/time-cloudsplaining")
    IT_OUT="$OUTBASE/account-1000"
    t0=$(now_ms)
    IAM_TIGHTEN_TIMINGS=1 /usr/bin/time -v -o "$TMP/time-account" \
        "$BIN" report "$ACCT" --out "$IT_OUT" "${REPORT_ARGS[@]}" 2> "$TMP/account.err" > /dev/null || {
        echo "iam-tighten report failed:"; tail -n 20 "$TMP/account.err"; exit 1; }
    it_ms=$(( $(now_ms) - t0 ))
    it_kib=$(peak_kib "$TMP/time-account")
    # The same report on one core: outputs must be byte-identical to the multi-threaded run.
    threads_check=""
    if command -v taskset > /dev/null; then
        taskset -c 0 "$BIN" report "$ACCT" --out "$IT_OUT-1cpu" "${REPORT_ARGS[@]}" 2> /dev/null > /dev/null || true
        if diff -r "$IT_OUT" "$IT_OUT-1cpu" > "$TMP/threads.diff" 2>&1; then
            threads_check="identical"
        else
            threads_check="DIFFERENT (see the first lines below)"
        fi
        rm -rf "$IT_OUT-1cpu"
    fi
    cs_ratio=$(ratio "$cs_ms" "$it_ms")
    {
        echo "-- side by side, 1 account x 1,000 roles: $AUTHZ ($(stat -c %s "$AUTHZ") bytes)"
        printf '   cloudsplaining scan %8d ms   peak RSS %6s MiB   (%s bytes written)\n' "$cs_ms" "$(mib "$cs_kib")" "$(du -sb "$CS_OUT" | cut -f1)"
        printf '   iam-tighten report  %8d ms   peak RSS %6s MiB   (%s bytes written)\n' "$it_ms" "$(mib "$it_kib")" "$(du -sb "$IT_OUT" | cut -f1)"
        printf '   ratio cloudsplaining/iam-tighten %s\n' "$cs_ratio"
        echo "   stages (ms):" $(sed -n 's/^timing \([a-z_]*\) \([0-9]*\) ms$/\1=\2/p' "$TMP/account.err")
        [ -z "$threads_check" ] || echo "   outputs with 1 thread vs $(nproc): $threads_check"
        [ "$threads_check" != "DIFFERENT (see the first lines below)" ] || head -n 5 "$TMP/threads.diff" | sed 's/^/     /'
        echo "   targets (issue 18):"
        check ">= 20x faster than Cloudsplaining (iam-tighten ms x 20 vs cloudsplaining ms)" "$(( it_ms * 20 ))" "$cs_ms"
        check "report.html <= 10 MB (bytes)" "$(stat -c %s "$IT_OUT/report.html")" 10000000
        [ "$threads_check" = "DIFFERENT (see the first lines below)" ] && echo "   FAIL outputs byte-identical between 1 and $(nproc) threads" || true
    } | tee -a "$SUMMARY"
    [ "$KEEP" = 1 ] || rm -rf "$CS_OUT" "$IT_OUT" "$ACCT_ORG"
fi

for SIZE in $SIZES; do
    case "$SIZE" in
        *x*) ACCOUNTS="${SIZE%x*}"; PER="${SIZE#*x}" ;;
        *) ACCOUNTS=10; PER=$((SIZE / ACCOUNTS)) ;;
    esac
    ROLES=$((ACCOUNTS * PER))
    ORG="$TMP/org-$ROLES"
    OUT="$OUTBASE/out-$ROLES"
    echo
    echo "== $ROLES roles ($ACCOUNTS accounts x $PER roles, seed $SEED)"
    t0=$(now_ms)
    "$GEN" --accounts "$ACCOUNTS" --roles-per-account "$PER" --seed "$SEED" --out "$ORG" "${MANAGED[@]}"
    gen_ms=$(( $(now_ms) - t0 ))
    in_bytes=$(du -sb "$ORG" | cut -f1)
    in_files=$(find "$ORG" -type f | wc -l)
    echo "generated: $in_files files, $in_bytes bytes in $gen_ms ms"

    # Warm the page cache so (a) and (b) both read from memory.
    "$PARSE" "$ORG" > /dev/null

    # (a) parse-only baseline
    t0=$(now_ms)
    /usr/bin/time -v -o "$TMP/time-parse-$ROLES" "$PARSE" "$ORG" > "$TMP/parse-$ROLES.out"
    parse_ms=$(( $(now_ms) - t0 ))
    parse_kib=$(peak_kib "$TMP/time-parse-$ROLES")
    cat "$TMP/parse-$ROLES.out"

    # (b) end to end, every output
    rm -rf "$OUT"
    t0=$(now_ms)
    IAM_TIGHTEN_TIMINGS=1 /usr/bin/time -v -o "$TMP/time-report-$ROLES" \
        "$BIN" report "$ORG" --out "$OUT" "${REPORT_ARGS[@]}" 2> "$TMP/report-$ROLES.err" > /dev/null &
    report_pid=$!
    hwm_sampler "$report_pid" "$TMP/hwm-report-$ROLES" &
    sampler_pid=$!
    wait "$report_pid" || {
        echo "iam-tighten report failed:"; tail -n 20 "$TMP/report-$ROLES.err"; exit 1; }
    report_ms=$(( $(now_ms) - t0 ))
    wait "$sampler_pid" || true
    report_kib=$(peak_kib "$TMP/time-report-$ROLES")
    grep -E '^iam-tighten: [0-9]+ principals' "$TMP/report-$ROLES.err" || true

    r=$(ratio "$report_ms" "$parse_ms")
    html=$(stat -c %s "$OUT/report.html" 2>/dev/null || echo 0)
    out_total=$(du -sb "$OUT" | cut -f1)
    {
        echo "-- $ROLES roles: input $in_files files / $in_bytes bytes"
        printf '   (a) parse-only     %8d ms   peak RSS %6s MiB\n' "$parse_ms" "$(mib "$parse_kib")"
        printf '   (b) report e2e     %8d ms   peak RSS %6s MiB\n' "$report_ms" "$(mib "$report_kib")"
        echo "   peak reached:      $(peak_when "$TMP/hwm-report-$ROLES" "$TMP/report-$ROLES.err")"
        printf '   ratio (b)/(a)      %8s\n' "$r"
        echo "   stages (ms):" $(sed -n 's/^timing \([a-z_]*\) \([0-9]*\) ms$/\1=\2/p' "$TMP/report-$ROLES.err")
        echo "   allocator:" $(sed -n 's/^allocator //p' "$TMP/report-$ROLES.err")
        echo "   outputs (bytes):"
        for f in report.html report.json review.xlsx findings.csv findings.parquet principals.csv services.csv decisions.csv credentials.csv; do
            [ -e "$OUT/$f" ] && printf '     %-18s %14d\n' "$f" "$(stat -c %s "$OUT/$f")"
        done
        [ -d "$OUT/recommendations" ] && printf '     %-18s %14d\n' "recommendations/" "$(du -sb "$OUT/recommendations" | cut -f1)"
        printf '     %-18s %14d\n' "total" "$out_total"
    } | tee -a "$SUMMARY"

    # Targets of issue 18 (2 cores, outputs on tmpfs).
    case "$ROLES" in
        10000) peak_cap=1048576; peak_label="1 GiB" ;;
        100000) peak_cap=2097152; peak_label="2 GiB" ;;
        1000000) peak_cap=4194304; peak_label="4 GiB" ;;
        *) peak_cap="" ;;
    esac
    {
        echo "   targets (issue 18, $ROLES roles):"
        if [ -n "$peak_cap" ]; then
            [ "$ROLES" = 1000000 ] || check "end to end <= 3x parse-only" "$r" 3
            check "peak RSS <= $peak_label (KiB)" "$report_kib" "$peak_cap"
        fi
        check "report.html <= 10 MB (bytes)" "$html" 10000000
    } | tee -a "$SUMMARY"
    # Outputs can be large: free the disk.
    [ "$KEEP" = 1 ] || rm -rf "$OUT"

    # The diff needs a second organisation on disk: not at 1,000,000 roles (--huge).
    if [ "$DIFF" = 1 ] && [ "$ROLES" -ge 1000000 ]; then
        echo "   (diff not measured at $ROLES roles: it would need a second organisation on disk)"
    elif [ "$DIFF" = 1 ]; then
        NEXT="$TMP/next-$ROLES"
        t0=$(now_ms)
        "$GEN" --accounts "$ACCOUNTS" --roles-per-account "$PER" --seed "$SEED" --evolve 1 --out "$NEXT" "${MANAGED[@]}"
        echo "generated the next quarter (--evolve 1) in $(( $(now_ms) - t0 )) ms"
        "$PARSE" "$NEXT" > /dev/null
        for CASE in self quarter; do
            if [ "$CASE" = self ]; then NEW="$ORG"; else NEW="$NEXT"; fi
            DOUT="$OUTBASE/diff-$CASE-$ROLES"
            rm -rf "$DOUT"
            t0=$(now_ms)
            IAM_TIGHTEN_TIMINGS=1 /usr/bin/time -v -o "$TMP/time-diff-$CASE-$ROLES" \
                "$BIN" diff "$ORG" "$NEW" --out "$DOUT" "${DIFF_ARGS[@]}" 2> "$TMP/diff-$CASE-$ROLES.err" > /dev/null || {
                echo "iam-tighten diff failed:"; tail -n 20 "$TMP/diff-$CASE-$ROLES.err"; exit 1; }
            ms=$(( $(now_ms) - t0 ))
            kib=$(peak_kib "$TMP/time-diff-$CASE-$ROLES")
            eval "diff_${CASE}_ms=$ms; diff_${CASE}_kib=$kib"
            eval "diff_${CASE}_html=$(stat -c %s "$DOUT/diff.html")"
            {
                if [ "$CASE" = self ]; then label="(c) diff self    "; else label="(d) diff quarter "; fi
                printf '   %s  %8d ms   peak RSS %6s MiB   %s x report\n' "$label" "$ms" "$(mib "$kib")" "$(ratio "$ms" "$report_ms")"
                echo "      stages (ms):" $(sed -n 's/^timing \([a-z_]*\) \([0-9]*\) ms$/\1=\2/p' "$TMP/diff-$CASE-$ROLES.err")
                grep -E '^iam-tighten: unused critical' "$TMP/diff-$CASE-$ROLES.err" | sed 's/^/      /'
                for f in diff.csv diff.json diff.html; do
                    printf '      %-16s %14d\n' "$f" "$(stat -c %s "$DOUT/$f")"
                done
            } | tee -a "$SUMMARY"
            [ "$KEEP" = 1 ] || rm -rf "$DOUT"
        done
        if [ "$ROLES" = 10000 ]; then
            {
                echo "   diff targets (10,000 roles):"
                check "self-diff <= one report (ms)" "$diff_self_ms" "$report_ms"
                check "self-diff peak RSS <= 1 GiB (KiB)" "$diff_self_kib" 1048576
                check "quarter diff <= 1.5x one report (ms)" "$diff_quarter_ms" "$(awk -v r="$report_ms" 'BEGIN { printf "%d", r * 1.5 }')"
                check "diff.html <= 10 MB (bytes)" "$diff_quarter_html" 10000000
            } | tee -a "$SUMMARY"
        fi
        if [ "$ROLES" = 100000 ]; then
            {
                echo "   diff targets (100,000 roles):"
                check "self-diff peak RSS <= 2 GiB (KiB)" "$diff_self_kib" 2097152
                check "quarter diff peak RSS <= 2 GiB (KiB)" "$diff_quarter_kib" 2097152
                check "diff.html <= 10 MB (bytes)" "$diff_quarter_html" 10000000
            } | tee -a "$SUMMARY"
        fi
        [ "$KEEP" = 1 ] || rm -rf "$NEXT"
    fi
    grep -q FAIL "$SUMMARY" && FAIL=1
    [ "$KEEP" = 1 ] || rm -rf "$ORG"
done

echo
echo "== summary"
cat "$SUMMARY"
exit "$FAIL"

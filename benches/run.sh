#!/usr/bin/env bash
# benches/run.sh: the scale benchmark of issues 9 and 20 (see docs/performance.md).
#
#   benches/run.sh                 1,000 and 10,000 roles (10 accounts each)
#   benches/run.sh --large         also 100,000 roles (10 accounts x 10,000)
#   benches/run.sh --sizes "1000 10000 30000" --keep --seed 7 --managed-policies FILE
#   benches/run.sh --no-build      use the binaries already in target/release
#   benches/run.sh --report-args "--recommendations all"   extra arguments for `iam-tighten report`
#   benches/run.sh --diff-args "--include-unchanged"       extra arguments for `iam-tighten diff`
#   benches/run.sh --no-diff       measure `report` only
#   benches/run.sh --profile perf  build/use another cargo profile (`perf`: release code generation
#                                  without LTO, rebuilds in about a minute after a change)
#
# It builds the release binary and the two examples, generates each organisation with
# `examples/synth-export.rs` into a temporary folder (and, for the diff, the same organisation
# one quarter later with `--evolve 1`), and then measures, in the same run:
#   (a) parse-only baseline: `examples/parse-only.rs` reads + parses every input file with serde_json
#   (b) `iam-tighten report ORG --out OUT` end to end (every output), with IAM_TIGHTEN_TIMINGS=1
#   (c) `iam-tighten diff ORG ORG`: the export against itself (no change)
#   (d) `iam-tighten diff ORG NEXT`: a realistic quarter (a few percent changed)
#   and the peak RSS of each with /usr/bin/time -v
# and prints wall times, the ratios (b)/(a), (c)/(b) and (d)/(b), peak RSS, output sizes and the
# per-stage breakdown, then checks the targets for 10,000 and 100,000 roles. Generated data stays
# in the temp folder (removed at the end unless --keep). Needs: cargo, GNU time (/usr/bin/time;
# installed via apt-get if missing and running as root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SIZES="1000 10000"
SEED=1
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
        --sizes) SIZES="$2"; shift ;;
        --seed) SEED="$2"; shift ;;
        --keep) KEEP=1 ;;
        --no-build) NO_BUILD=1 ;;
        --profile) PROFILE="$2"; shift ;;
        --report-args) read -r -a REPORT_ARGS <<< "$2"; shift ;;
        --diff-args) read -r -a DIFF_ARGS <<< "$2"; shift ;;
        --no-diff) DIFF=0 ;;
        --managed-policies) MANAGED=(--managed-policies "$2"); shift ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
ACCOUNTS=10

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
cleanup() { if [ "$KEEP" = 0 ]; then rm -rf "$TMP"; else echo "kept $TMP"; fi; }
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

SUMMARY="$TMP/summary.txt"
: > "$SUMMARY"
FAIL=0
for ROLES in $SIZES; do
    PER=$((ROLES / ACCOUNTS))
    ORG="$TMP/org-$ROLES"
    OUT="$TMP/out-$ROLES"
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
        "$BIN" report "$ORG" --out "$OUT" "${REPORT_ARGS[@]}" 2> "$TMP/report-$ROLES.err" > /dev/null || {
        echo "iam-tighten report failed:"; tail -n 20 "$TMP/report-$ROLES.err"; exit 1; }
    report_ms=$(( $(now_ms) - t0 ))
    report_kib=$(peak_kib "$TMP/time-report-$ROLES")
    grep -E '^iam-tighten: [0-9]+ principals' "$TMP/report-$ROLES.err" || true

    r=$(ratio "$report_ms" "$parse_ms")
    html=$(stat -c %s "$OUT/report.html" 2>/dev/null || echo 0)
    out_total=$(du -sb "$OUT" | cut -f1)
    {
        echo "-- $ROLES roles: input $in_files files / $in_bytes bytes"
        printf '   (a) parse-only     %8d ms   peak RSS %6s MiB\n' "$parse_ms" "$(mib "$parse_kib")"
        printf '   (b) report e2e     %8d ms   peak RSS %6s MiB\n' "$report_ms" "$(mib "$report_kib")"
        printf '   ratio (b)/(a)      %8s\n' "$r"
        echo "   stages (ms):" $(sed -n 's/^timing \([a-z_]*\) \([0-9]*\) ms$/\1=\2/p' "$TMP/report-$ROLES.err")
        echo "   outputs (bytes):"
        for f in report.html report.json findings.csv findings.parquet principals.csv services.csv; do
            [ -e "$OUT/$f" ] && printf '     %-18s %14d\n' "$f" "$(stat -c %s "$OUT/$f")"
        done
        [ -d "$OUT/recommendations" ] && printf '     %-18s %14d\n' "recommendations/" "$(du -sb "$OUT/recommendations" | cut -f1)"
        printf '     %-18s %14d\n' "total" "$out_total"
    } | tee -a "$SUMMARY"

    check() { if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a <= b) }'; then echo "   PASS $1 ($2 <= $3)"; else echo "   FAIL $1 ($2 > $3)"; fi; }
    if [ "$ROLES" = 10000 ]; then
        {
            echo "   targets (10,000 roles):"
            check "end to end <= 3x parse-only" "$r" 3
            check "wall <= 15 s (ms)" "$report_ms" 15000
            check "peak RSS <= 2 GiB (KiB)" "$report_kib" 2097152
            check "report.html <= 10 MB (bytes)" "$html" 10000000
        } | tee -a "$SUMMARY"
    fi
    # Outputs can be large: free the disk.
    [ "$KEEP" = 1 ] || rm -rf "$OUT"

    if [ "$DIFF" = 1 ]; then
        NEXT="$TMP/next-$ROLES"
        t0=$(now_ms)
        "$GEN" --accounts "$ACCOUNTS" --roles-per-account "$PER" --seed "$SEED" --evolve 1 --out "$NEXT" "${MANAGED[@]}"
        echo "generated the next quarter (--evolve 1) in $(( $(now_ms) - t0 )) ms"
        "$PARSE" "$NEXT" > /dev/null
        for CASE in self quarter; do
            if [ "$CASE" = self ]; then NEW="$ORG"; else NEW="$NEXT"; fi
            DOUT="$TMP/diff-$CASE-$ROLES"
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

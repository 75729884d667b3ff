#!/usr/bin/env bash
# Export one AWS account for iam-tighten with the plain AWS CLI (v1 or v2) and jq.
#
#   scripts/export-with-aws-cli.sh OUT_DIR [--profile PROFILE]
#
# Writes the layout described in docs/export-format.md:
#   OUT_DIR/authorization-details.json             aws iam get-account-authorization-details
#   OUT_DIR/last-accessed/{roles,users,groups}/<Name>.json
#                                                  ACTION_LEVEL job per principal, all pages merged
#   OUT_DIR/credential-report.csv                  aws iam get-credential-report, base64-decoded
# It writes no manifest.json (that is written by `iam-tighten fetch`).
#
# Every file is written to a temporary file in the same folder and then renamed, so an interrupted run
# never leaves a half-written file. Run it with ONE set of credentials from start to end: a last-accessed
# job can only be read by the user, or the same role session, that generated it. Each job is generated,
# polled and read before the next one starts, so a role session only has to outlive one job.
#
# Needs: iam:GetAccountAuthorizationDetails, iam:GenerateServiceLastAccessedDetails,
#        iam:GetServiceLastAccessedDetails, iam:GenerateCredentialReport, iam:GetCredentialReport.
#
# Environment:
#   IAM_TIGHTEN_JOB_TIMEOUT   seconds to wait for one last-accessed job (default 300)
#   IAM_TIGHTEN_POLL_SECONDS  seconds between polls (default 2)
#   AWS_RETRY_MODE / AWS_MAX_ATTEMPTS  client retries against IAM throttling (default adaptive / 10)
#
# Exit status: 0 complete; 1 a principal's last-accessed data or the credential report could not be
# fetched (everything else is written; the missing names are printed); 2 usage error or a failed
# prerequisite (aws/jq missing, GAAD failed).
set -euo pipefail

usage() {
  echo "usage: $0 OUT_DIR [--profile PROFILE]" >&2
  exit 2
}

out=""
aws_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile)
      [ $# -ge 2 ] || usage
      aws_args+=(--profile "$2")
      shift 2
      ;;
    --profile=*)
      aws_args+=(--profile "${1#--profile=}")
      shift
      ;;
    -h | --help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *)
      [ -z "$out" ] || usage
      out=$1
      shift
      ;;
  esac
done
[ -n "$out" ] || usage

for tool in aws jq base64; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: '$tool' is not on PATH" >&2; exit 2; }
done

# CLI v2 pipes output through a pager unless AWS_PAGER is empty; v1 ignores it. We do not pass
# --no-cli-pager because CLI v1 rejects that flag.
export AWS_PAGER=""
export AWS_RETRY_MODE="${AWS_RETRY_MODE:-adaptive}"
export AWS_MAX_ATTEMPTS="${AWS_MAX_ATTEMPTS:-10}"
job_timeout="${IAM_TIGHTEN_JOB_TIMEOUT:-300}"
poll="${IAM_TIGHTEN_POLL_SECONDS:-2}"

awsiam() {
  aws "${aws_args[@]}" iam "$@"
}

# Temporary files live beside their target (same file system, so mv is an atomic rename).
tmp_files=()
cleanup() {
  if [ ${#tmp_files[@]} -gt 0 ]; then
    rm -f -- "${tmp_files[@]}"
  fi
}
trap cleanup EXIT
tmp=""
new_tmp() { # new_tmp DIR: sets $tmp to a fresh temporary file in DIR (no subshell, so cleanup sees it)
  tmp=$(mktemp "$1/.iam-tighten.XXXXXX")
  tmp_files+=("$tmp")
}

mkdir -p -- "$out/last-accessed/roles" "$out/last-accessed/users" "$out/last-accessed/groups"

caller=$(aws "${aws_args[@]}" sts get-caller-identity --query Arn --output text) || {
  echo "error: no usable AWS credentials (aws sts get-caller-identity failed)" >&2
  exit 2
}
echo "exporting as $caller into $out" >&2

# 1. Authorization details. The CLI follows IsTruncated/Marker itself and merges the four lists.
gaad="$out/authorization-details.json"
new_tmp "$out"
t=$tmp
if ! awsiam get-account-authorization-details --output json >"$t"; then
  echo "error: get-account-authorization-details failed" >&2
  exit 2
fi
jq -e 'has("RoleDetailList") and has("UserDetailList")' "$t" >/dev/null || {
  echo "error: get-account-authorization-details printed something that is not an authorization details document" >&2
  exit 2
}
mv -f -- "$t" "$gaad"

# 2. One ACTION_LEVEL last-accessed job per role, user and group.
missing=()

fetch_last_accessed() { # fetch_last_accessed KIND NAME ARN
  local kind=$1 name=$2 arn=$3 dir="$out/last-accessed/${1}s"
  local job status waited=0 marker="" page=0 pages=() t truncated

  if ! job=$(awsiam generate-service-last-accessed-details --arn "$arn" --granularity ACTION_LEVEL \
    --query JobId --output text); then
    missing+=("$kind/$name: generate-service-last-accessed-details failed")
    return 0
  fi

  while :; do
    if ! status=$(awsiam get-service-last-accessed-details --job-id "$job" --max-items 1 \
      --query JobStatus --output text); then
      missing+=("$kind/$name: get-service-last-accessed-details failed (job $job)")
      return 0
    fi
    [ "$status" = IN_PROGRESS ] || break
    if [ "$waited" -ge "$job_timeout" ]; then
      missing+=("$kind/$name: job $job still IN_PROGRESS after ${job_timeout}s")
      return 0
    fi
    sleep "$poll"
    waited=$((waited + poll))
  done
  if [ "$status" != COMPLETED ]; then
    local why
    why=$(awsiam get-service-last-accessed-details --job-id "$job" --query 'Error.Message' --output text 2>/dev/null || true)
    missing+=("$kind/$name: job $job $status: ${why:-no error message}")
    return 0
  fi

  # No CLI paginator for this call: --max-items is the API's MaxItems (at most 1000) and IAM may
  # still return fewer, so follow IsTruncated/Marker until the last page.
  while :; do
    new_tmp "$dir"
    t=$tmp
    pages+=("$t")
    if [ -z "$marker" ]; then
      awsiam get-service-last-accessed-details --job-id "$job" --max-items 1000 --output json >"$t" || {
        missing+=("$kind/$name: reading job $job failed"); return 0; }
    else
      awsiam get-service-last-accessed-details --job-id "$job" --max-items 1000 --marker "$marker" \
        --output json >"$t" || { missing+=("$kind/$name: reading page $((page + 1)) of job $job failed"); return 0; }
    fi
    page=$((page + 1))
    truncated=$(jq -r '.IsTruncated // false' "$t")
    [ "$truncated" = true ] || break
    marker=$(jq -r '.Marker // empty' "$t")
    if [ -z "$marker" ]; then
      missing+=("$kind/$name: page $page of job $job says IsTruncated but has no Marker")
      return 0
    fi
  done

  # Merge: the first page's fields (keeps the CLI's key order), every page's services, no Marker.
  new_tmp "$dir"
  t=$tmp
  jq -s '.[0] + {ServicesLastAccessed: (map(.ServicesLastAccessed // []) | add),
                 JobCompletionDate: (.[-1].JobCompletionDate // .[0].JobCompletionDate),
                 IsTruncated: false}
         | del(.Marker)' "${pages[@]}" >"$t"
  mv -f -- "$t" "$dir/$name.json"
  rm -f -- "${pages[@]}"
  echo "  $kind/$name: $page page(s)" >&2
}

principals=$(jq -r '
  (.RoleDetailList[]  | ["role",  .RoleName,  .Arn]),
  (.UserDetailList[]  | ["user",  .UserName,  .Arn]),
  (.GroupDetailList[] | ["group", .GroupName, .Arn]) | @tsv' "$gaad")
count=$(printf '%s\n' "$principals" | grep -c . || true)
echo "last-accessed jobs for $count principals" >&2
while IFS=$'\t' read -r kind name arn; do
  [ -n "$kind" ] || continue
  fetch_last_accessed "$kind" "$name" "$arn"
done <<<"$principals"

# 3. Credential report: generate until COMPLETE (AWS reuses a report up to 4 hours old), then decode.
waited=0
while :; do
  state=$(awsiam generate-credential-report --query State --output text) || { state=FAILED; break; }
  [ "$state" = COMPLETE ] && break
  if [ "$waited" -ge "$job_timeout" ]; then
    state=TIMEOUT
    break
  fi
  sleep "$poll"
  waited=$((waited + poll))
done
if [ "$state" = COMPLETE ]; then
  new_tmp "$out"
  t=$tmp
  if awsiam get-credential-report --query Content --output text | base64 --decode >"$t"; then
    mv -f -- "$t" "$out/credential-report.csv"
  else
    missing+=("credential-report.csv: get-credential-report or base64 --decode failed")
  fi
else
  missing+=("credential-report.csv: generate-credential-report ended in state $state")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "incomplete export, not fetched:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "done: $out" >&2

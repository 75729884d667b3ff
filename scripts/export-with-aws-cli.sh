#!/usr/bin/env bash
# Export one AWS account for iam-tighten with the plain AWS CLI (v1 or v2) and jq.
#
#   scripts/export-with-aws-cli.sh OUT_DIR [--profile PROFILE]
#   scripts/export-with-aws-cli.sh --organization ORG_DIR [--profile PROFILE]
#
# Writes the layout described in docs/export-format.md:
#   OUT_DIR/authorization-details.json             aws iam get-account-authorization-details
#   OUT_DIR/last-accessed/{roles,users,groups}/<Name>.json
#                                                  ACTION_LEVEL job per principal, all pages merged
#   OUT_DIR/credential-report.csv                  aws iam get-credential-report, base64-decoded
# It writes no manifest.json (that is written by `iam-tighten fetch`).
#
# With --organization it exports no account but the organisation part, ORG_DIR/organization/
# (docs/export-format.md): the OU tree, the SCPs and RCPs with their targets, and the IAM Identity
# Center permission sets, one file per AWS CLI command. ORG_DIR is the organisation folder whose
# account exports are ORG_DIR/<account-id>/ (one run of this script per account, with that
# account's credentials). Run it with the management account's credentials or a delegated
# administrator's. Identity Center is regional: set AWS_REGION (or the profile's region) to its
# home region. ORG_DIR/organization must not exist yet: the part is built in a temporary folder
# beside it and renamed into place at the end, so it is one snapshot.
#
# Every file is written to a temporary file in the same folder and then renamed, so an interrupted run
# never leaves a half-written file. Run it with ONE set of credentials from start to end: a last-accessed
# job can only be read by the user, or the same role session, that generated it. Each job is generated,
# polled and read before the next one starts, so a role session only has to outlive one job.
#
# Needs: iam:GetAccountAuthorizationDetails, iam:GenerateServiceLastAccessedDetails,
#        iam:GetServiceLastAccessedDetails, iam:GenerateCredentialReport, iam:GetCredentialReport.
# With --organization: the organizations:* and sso:* read actions in docs/fetch-permissions.md.
#
# Environment:
#   IAM_TIGHTEN_JOB_TIMEOUT   seconds to wait for one last-accessed job (default 300)
#   IAM_TIGHTEN_POLL_SECONDS  seconds between polls (default 2)
#   AWS_RETRY_MODE / AWS_MAX_ATTEMPTS  client retries against IAM throttling (default adaptive / 10)
#
# Exit status: 0 complete; 1 a principal's last-accessed data or the credential report could not be
# fetched (everything else is written; the missing names are printed); 2 usage error or a failed
# prerequisite (aws/jq missing, GAAD failed). With --organization: 1 a policy type or Identity
# Center could not be read (the rest is written); 2 the organisation or its tree could not be read.
set -euo pipefail

usage() {
  echo "usage: $0 OUT_DIR [--profile PROFILE]" >&2
  echo "       $0 --organization ORG_DIR [--profile PROFILE]" >&2
  exit 2
}

out=""
organization=false
aws_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --organization)
      organization=true
      shift
      ;;
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
tmp_dirs=()
cleanup() {
  if [ ${#tmp_files[@]} -gt 0 ]; then
    rm -f -- "${tmp_files[@]}"
  fi
  if [ ${#tmp_dirs[@]} -gt 0 ]; then
    rm -rf -- "${tmp_dirs[@]}"
  fi
}
trap cleanup EXIT
tmp=""
new_tmp() { # new_tmp DIR: sets $tmp to a fresh temporary file in DIR (no subshell, so cleanup sees it)
  tmp=$(mktemp "$1/.iam-tighten.XXXXXX")
  tmp_files+=("$tmp")
}

caller=$(aws "${aws_args[@]}" sts get-caller-identity --query Arn --output text) || {
  echo "error: no usable AWS credentials (aws sts get-caller-identity failed)" >&2
  exit 2
}

# --- The organisation part (--organization) --------------------------------------------------

# org_save REL SERVICE COMMAND [ARGS...]: `aws SERVICE COMMAND ARGS --output json` into $org/REL
# (the CLI follows NextToken itself and merges the pages), through a temporary file. Fails when
# the command fails, its error in $org_err (org_said prints it).
org_save() {
  local rel=$1 t
  shift
  mkdir -p -- "$(dirname -- "$org/$rel")"
  new_tmp "$org"
  t=$tmp
  if aws "${aws_args[@]}" "$@" --output json >"$t" 2>"$org_err" </dev/null; then
    mv -f -- "$t" "$org/$rel"
  else
    rm -f -- "$t"
    return 1
  fi
}

org_said() { # the error of the last failed command, on stderr
  sed 's/^/  /' "$org_err" | grep -v '^ *$' >&2 || true
}

# org_list REL SERVICE COMMAND [ARGS...]: like org_save, into a temporary file named in $listing;
# a listing is moved into place (org_place) only after every file it lists is written.
org_list() {
  local rel=$1
  shift
  new_tmp "$org"
  listing=$tmp
  listing_rel=$rel
  if ! aws "${aws_args[@]}" "$@" --output json >"$listing" 2>"$org_err" </dev/null; then
    return 1
  fi
}

org_place() { # org_place TMP REL
  mkdir -p -- "$(dirname -- "$org/$2")"
  mv -f -- "$1" "$org/$2"
}

export_organization() {
  local final="$out/organization" parent child type id ok iarn iid parn pid base complete listed
  local queue=() instances_tmp ps_tmp
  if [ -e "$final" ] && [ -n "$(ls -A -- "$final" 2>/dev/null || echo x)" ]; then
    echo "error: $final exists: move it away (the organisation part is written anew, as one snapshot)" >&2
    exit 2
  fi
  mkdir -p -- "$out"
  org=$(mktemp -d "$out/.organization.XXXXXX")
  tmp_dirs+=("$org")
  org_err="$org/.iam-tighten.stderr"
  echo "exporting the organisation part as $caller into $final" >&2

  # 1–2. The organisation, its roots and accounts, and 3. the tree from the roots: without them
  # the part means nothing, so a failure here stops the script.
  for step in "describe-organization.json organizations describe-organization" \
    "list-roots.json organizations list-roots" "list-accounts.json organizations list-accounts"; do
    # shellcheck disable=SC2086
    org_save $step || { org_said; echo "error: aws ${step#* } failed" >&2; exit 2; }
  done
  while IFS= read -r parent; do
    [ -n "$parent" ] && queue+=("$parent")
  done < <(jq -r '.Roots[]?.Id' "$org/list-roots.json")
  while [ ${#queue[@]} -gt 0 ]; do
    parent=${queue[0]}
    queue=("${queue[@]:1}")
    org_save "ous/$parent.json" organizations list-organizational-units-for-parent --parent-id "$parent" &&
      org_save "accounts/$parent.json" organizations list-accounts-for-parent --parent-id "$parent" || {
      org_said
      echo "error: reading the organisation's tree under $parent failed" >&2
      exit 2
    }
    while IFS= read -r child; do
      [ -n "$child" ] && queue+=("$child")
    done < <(jq -r '.OrganizationalUnits[]?.Id' "$org/ous/$parent.json")
  done
  echo "  tree: $(find "$org/ous" -name '*.json' | wc -l | tr -d ' ') roots and OUs" >&2

  # 4. SCPs and RCPs: only a type ENABLED in the root applies; each listed policy's document and
  # targets, then the list.
  for type in SERVICE_CONTROL_POLICY RESOURCE_CONTROL_POLICY; do
    if ! jq -e --arg t "$type" 'any(.Roots[]?.PolicyTypes[]?; .Type == $t and .Status == "ENABLED")' \
      "$org/list-roots.json" >/dev/null; then
      echo "  note: $type is not enabled in the root: no policies/$type.json" >&2
      continue
    fi
    if ! org_list "policies/$type.json" organizations list-policies --filter "$type"; then
      if grep -q PolicyTypeNotEnabledException "$org_err"; then
        echo "  note: $type is not enabled: no policies/$type.json" >&2
      else
        org_said
        missing+=("organization/policies/$type.json: list-policies failed")
      fi
      continue
    fi
    ok=true
    while IFS= read -r id <&3; do
      [ -n "$id" ] || continue
      org_save "policy/$id.json" organizations describe-policy --policy-id "$id" &&
        org_save "targets/$id.json" organizations list-targets-for-policy --policy-id "$id" || {
        org_said
        missing+=("organization/policies/$type.json: describe-policy or list-targets-for-policy failed for $id")
        ok=false
        break
      }
    done 3< <(jq -r '.Policies[]?.Id' "$listing")
    if $ok; then
      org_place "$listing" "$listing_rel"
      echo "  $type: $(jq '.Policies | length' "$org/$listing_rel") policies" >&2
    fi
  done

  # 5. IAM Identity Center: per instance and permission set its files, then the lists. No
  # instance is not an error; a refused list-instances leaves sso/ out (and exit 1).
  if ! org_list sso/list-instances.json sso-admin list-instances; then
    org_said
    missing+=("organization/sso/list-instances.json: sso-admin list-instances failed (Identity Center permission sets are not in the export)")
    return 0
  fi
  instances_tmp=$listing
  if [ "$(jq '.Instances // [] | length' "$instances_tmp")" -eq 0 ]; then
    echo "  note: no IAM Identity Center instance in this region (Identity Center is regional: set AWS_REGION to its home region if the organisation uses it)" >&2
  fi
  complete=true
  while IFS= read -r iarn <&4; do
    [ -n "$iarn" ] || continue
    iid=${iarn##*/}
    if ! org_list "sso/$iid/list-permission-sets.json" sso-admin list-permission-sets --instance-arn "$iarn"; then
      org_said
      missing+=("organization/sso/$iid/list-permission-sets.json: sso-admin list-permission-sets failed")
      complete=false
      continue
    fi
    ps_tmp=$listing
    listed=0
    ok=true
    while IFS= read -r parn <&5; do
      [ -n "$parn" ] || continue
      pid=${parn##*/}
      base="sso/$iid/$pid"
      set -- --instance-arn "$iarn" --permission-set-arn "$parn"
      org_save "$base/describe-permission-set.json" sso-admin describe-permission-set "$@" &&
        org_save "$base/inline-policy.json" sso-admin get-inline-policy-for-permission-set "$@" &&
        org_save "$base/managed-policies.json" sso-admin list-managed-policies-in-permission-set "$@" &&
        org_save "$base/customer-managed-policies.json" sso-admin list-customer-managed-policy-references-in-permission-set "$@" &&
        org_save "$base/accounts.json" sso-admin list-accounts-for-provisioned-permission-set "$@" || {
        org_said
        ok=false
        break
      }
      # No permissions boundary: the command fails with ResourceNotFoundException, and no file.
      if ! org_save "$base/permissions-boundary.json" sso-admin get-permissions-boundary-for-permission-set "$@"; then
        grep -q ResourceNotFoundException "$org_err" || { org_said; ok=false; break; }
      fi
      listed=$((listed + 1))
    done 5< <(jq -r '.PermissionSets[]?' "$ps_tmp")
    if $ok; then
      org_place "$ps_tmp" "sso/$iid/list-permission-sets.json"
      echo "  Identity Center $iid: $listed permission sets" >&2
    else
      missing+=("organization/sso/$iid/list-permission-sets.json: reading permission set $pid failed")
      complete=false
    fi
  done 4< <(jq -r '.Instances[]?.InstanceArn' "$instances_tmp")
  if $complete; then
    org_place "$instances_tmp" sso/list-instances.json
  fi
}

missing=()
if $organization; then
  export_organization
  # Listings left unplaced (a file they list is missing) and the saved stderr go.
  find "$org" -name '.iam-tighten.*' -type f -delete
  if [ -d "$out/organization" ]; then
    rmdir -- "$out/organization"
  fi
  mv -- "$org" "$out/organization"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "incomplete organisation part, not fetched:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
  fi
  echo "done: $out/organization" >&2
  exit 0
fi

mkdir -p -- "$out/last-accessed/roles" "$out/last-accessed/users" "$out/last-accessed/groups"
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

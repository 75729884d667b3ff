#!/usr/bin/env bash
# Print (default) or run the AWS CLI commands of one iam-tighten recommendation.
#
#   scripts/apply-recommendation.sh [--apply] [--rollback] [--profile PROFILE] RECOMMENDATION_DIR
#
# RECOMMENDATION_DIR is one principal's folder, e.g. out/recommendations/111111111111/role/ExampleCorpQA.
# Its README.md holds the commands in two fenced blocks, ```sh apply and ```sh rollback (one
# `aws iam ...` command a line, or `aws sso-admin ...` for an IAM Identity Center permission set,
# written by `iam-tighten report`); the folder holds the policy documents they send (file://...).
#
#   (no flag)     dry run: print the commands that would run, change nothing
#   --apply       run them, in order, stopping at the first failure; a create-policy-version whose
#                 document is already the policy's default (another folder made it) is skipped
#   --rollback    run the rollback block instead (restores the original policies); combine with --apply
#   --profile P   AWS CLI profile (else the usual AWS_PROFILE / credentials chain)
#
# Read the folder's README.md first: it says what is removed and why, and what needs a human
# (rewritten NotAction statements, policies over IAM's size limit, the 5-version limit).
#
# The block is the lines between its opening line, exactly ```sh apply (or ```sh rollback), and
# the next line that is exactly ```; the README must have one such block of each.
#
# Every command line is checked against the only shapes iam-tighten writes (`aws iam <verb>` or
# `aws sso-admin <verb>` followed by `--option value` pairs whose values are plain words or single-quoted
# strings), so a tampered command file cannot run anything else.
#
# Exit status: 0 done (or dry run); 1 a command failed (the ones before it ran; see the rollback);
# 2 usage error.
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

apply=0
block=apply
# `${profile[@]+"${profile[@]}"}` below: bash before 4.4 (macOS's /bin/bash 3.2) calls an
# empty array unbound under `set -u`.
profile=()
dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --apply) apply=1 ;;
        --rollback) block=rollback ;;
        --profile)
            [ $# -ge 2 ] || usage
            profile=(--profile "$2")
            shift
            ;;
        -h | --help) usage ;;
        -*) echo "apply-recommendation: unknown option $1" >&2; usage ;;
        *)
            [ -z "$dir" ] || usage
            dir=$1
            ;;
    esac
    shift
done
[ -n "$dir" ] || usage
file=README.md
if [ ! -f "$dir/$file" ]; then
    echo "apply-recommendation: $dir/$file not found (is $dir a recommendation folder?)" >&2
    exit 2
fi
if [ "$apply" = 1 ] && ! command -v aws > /dev/null 2>&1; then
    echo "apply-recommendation: the aws CLI is not installed" >&2
    exit 2
fi

word='[A-Za-z0-9+=,.@_/:-]+'
quoted="'[^']*'(\\\\''[^']*')*"
shape="^aws (iam|sso-admin) [a-z-]+( --[a-z-]+( ($word|$quoted))?)*\$"

fence='```'
opening="${fence}sh $block"
cd "$dir"
commands=()
blocks=0
inside=0
while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    if [ "$inside" = 0 ]; then
        if [ "$line" = "$opening" ]; then
            inside=1
            blocks=$((blocks + 1))
        fi
        continue
    fi
    if [ "$line" = "$fence" ]; then
        inside=0
        continue
    fi
    case "$line" in
        '' | '#'*) continue ;;
    esac
    if ! [[ $line =~ $shape ]]; then
        echo "apply-recommendation: refusing a command iam-tighten would not write: $line" >&2
        exit 2
    fi
    commands+=("$line")
done < "$file"

if [ "$blocks" != 1 ] || [ "$inside" != 0 ]; then
    echo "apply-recommendation: $dir/$file must have exactly one $opening block, closed by $fence (it has $blocks$([ "$inside" = 0 ] || echo ', unclosed'))" >&2
    exit 2
fi
if [ ${#commands[@]} -eq 0 ]; then
    echo "apply-recommendation: the $block block of $file has no commands" >&2
    exit 0
fi

if [ "$apply" = 0 ]; then
    echo "# dry run: from $(pwd), these would run (add --apply to run them):"
    for c in "${commands[@]}"; do
        if [ ${#profile[@]} -gt 0 ]; then
            printf '%s %s %q\n' "$c" "${profile[0]}" "${profile[1]}"
        else
            printf '%s\n' "$c"
        fi
    done
    exit 0
fi

# `create-policy-version ... --policy-document file://F` when F is already, byte for byte as the
# AWS CLI prints it, the policy's default version: another folder sharing the policy (every
# principal that tightens it alike has the line) made it. Creating it again would only use up one
# of the policy's 5 versions. Any doubt (a read refused, another format) means "no": it runs.
already_default() {
    local arn='' file='' i version current
    for ((i = 0; i < ${#argv[@]}; i++)); do
        case "${argv[i]}" in
            --policy-arn) arn=${argv[i + 1]:-} ;;
            --policy-document) file=${argv[i + 1]:-} ;;
        esac
    done
    [ "${argv[2]}" = create-policy-version ] && [ -n "$arn" ] && [ "${file#file://}" != "$file" ] ||
        return 1
    file=${file#file://}
    [ -f "$file" ] || return 1
    version=$(aws iam get-policy --policy-arn "$arn" --query Policy.DefaultVersionId \
        --output text ${profile[@]+"${profile[@]}"} 2> /dev/null) || return 1
    current=$(aws iam get-policy-version --policy-arn "$arn" --version-id "$version" \
        --query PolicyVersion.Document --output json ${profile[@]+"${profile[@]}"} 2> /dev/null) || return 1
    [ "$current" = "$(cat "$file")" ]
}

n=0
for c in "${commands[@]}"; do
    # Safe: the line matched $shape, so it holds only plain words and single-quoted strings.
    eval "argv=($c)"
    if already_default; then
        echo "= $c (skipped: its document is already the policy's default version)" >&2
        n=$((n + 1))
        continue
    fi
    echo "+ $c" >&2
    if ! "${argv[@]}" ${profile[@]+"${profile[@]}"}; then
        echo "apply-recommendation: command $((n + 1)) of ${#commands[@]} failed; $n ran before it." >&2
        if [ "$block" = apply ]; then
            echo "apply-recommendation: to undo what ran, see README.md (Roll back) or run: $0 --rollback --apply $dir" >&2
        fi
        exit 1
    fi
    n=$((n + 1))
done
echo "apply-recommendation: $n command(s) ran." >&2

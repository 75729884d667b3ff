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
#   --rollback    run the rollback block instead (restores the original policies); combine with
#                 --apply. A line whose undo already holds (the apply stopped before its line) is
#                 done, said with `=`: only the errors already_so (in this script) names
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
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# The value of option $1 in the command being run (argv), or nothing.
opt() {
    local i
    for ((i = 3; i < ${#argv[@]}; i++)); do
        if [ "${argv[i]}" = "$1" ]; then
            printf '%s' "${argv[i + 1]:-}"
            break
        fi
    done
    return 0
}

# `create-policy-version ... --policy-document file://F` when F is already, byte for byte as the
# AWS CLI prints it, the policy's default version: another folder sharing the policy (every
# principal that tightens it alike has the line) made it. Creating it again would only use up one
# of the policy's 5 versions. Any doubt (a read refused, another format) means "no": it runs.
already_default() {
    local arn file version current
    arn=$(opt --policy-arn)
    file=$(opt --policy-document)
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

# Whether the AWS CLI's error output $2 is error code $1 (`An error occurred (CODE) when calling
# the OPERATION operation: ...`, awscli v1 and v2).
aws_error() {
    case "$2" in
        *"An error occurred ($1) when calling the "*) return 0 ;;
    esac
    return 1
}

# Whether the permission set of the sso-admin command being run has AWS managed policy
# --managed-policy-arn attached, as sso-admin lists it now. Any doubt (a read refused) means "no".
set_has_policy() {
    local want region listed a
    want=$(opt --managed-policy-arn)
    region=$(opt --region)
    listed=$(aws sso-admin list-managed-policies-in-permission-set \
        --instance-arn "$(opt --instance-arn)" --permission-set-arn "$(opt --permission-set-arn)" \
        ${region:+--region "$region"} --query 'AttachedManagedPolicies[].Arn' --output text \
        ${profile[@]+"${profile[@]}"} 2> /dev/null) || return 1
    for a in $listed; do
        [ "$a" = "$want" ] && return 0
    done
    return 1
}

# A rollback line that failed with error output $1 only because what it restores already holds:
# the apply stopped before the line it undoes (a throttle, a quota, a typo in the profile), or an
# earlier rollback undid it. Prints why, for the `=` line. Only in the rollback block, and only
# these errors of these commands (any other error stops the rollback, as in the apply):
#   detach-{role,user,group}-policy  NoSuchEntity: the policy (a copy the apply makes) is not
#                                    attached to the principal, or does not exist
#   delete-policy                    NoSuchEntity: the policy (that copy) does not exist
#   attach-managed-policy-to-permission-set
#                                    ConflictException, and sso-admin lists the policy as attached:
#                                    the code alone is not enough, it also means a write that
#                                    conflicts with another one still propagating
# IAM's attach-*-policy of an attached policy, put-*-policy, set-default-policy-version of the
# default version, sso-admin's put-inline-policy-to-permission-set and
# delete-inline-policy-from-permission-set succeed on their own.
already_so() {
    [ "$block" = rollback ] || return 1
    case "${argv[1]} ${argv[2]}" in
        'iam detach-role-policy' | 'iam detach-user-policy' | 'iam detach-group-policy')
            aws_error NoSuchEntity "$1" && echo 'NoSuchEntity, the policy is not attached'
            ;;
        'iam delete-policy')
            aws_error NoSuchEntity "$1" && echo 'NoSuchEntity, the policy does not exist'
            ;;
        'sso-admin attach-managed-policy-to-permission-set')
            aws_error ConflictException "$1" && set_has_policy &&
                echo 'ConflictException, and the permission set lists the policy'
            ;;
        *) return 1 ;;
    esac
}

exec 3>&1
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
    # Its error output is kept to read the error code (fd 3: the command's own output).
    if err=$("${argv[@]}" ${profile[@]+"${profile[@]}"} 2>&1 1>&3); then
        [ -z "$err" ] || printf '%s\n' "$err" >&2
    elif why=$(already_so "$err"); then
        echo "= $c (already so: $why)" >&2
    else
        printf '%s\n' "$err" >&2
        echo "apply-recommendation: command $((n + 1)) of ${#commands[@]} failed; $n ran before it." >&2
        if [ "$block" = apply ]; then
            echo "apply-recommendation: to undo what ran, see README.md (Roll back) or run: $0 --rollback --apply $dir" >&2
        fi
        exit 1
    fi
    n=$((n + 1))
done
echo "apply-recommendation: $n command(s) ran." >&2

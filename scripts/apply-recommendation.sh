#!/usr/bin/env bash
# Print (default) or run the AWS CLI commands of one iam-tighten recommendation.
#
#   scripts/apply-recommendation.sh [--apply] [--rollback] [--profile PROFILE] [--wait SECONDS] DIR
#
# DIR is one principal's folder, e.g. out/recommendations/111111111111/role/ExampleCorpQA.
# Its README.md holds the commands in two fenced blocks, ```sh apply and ```sh rollback (one
# `aws iam ...` command a line, or `aws sso-admin ...` for an IAM Identity Center permission set,
# written by `iam-tighten report`); the folder holds the policy documents they send (file://...).
#
#   (no flag)     dry run: print the commands that would run, change nothing
#   --apply       run them, in order, stopping at the first failure. A line whose work is already
#                 done (an earlier run stopped later, or another folder did it) is skipped or taken
#                 as done, said with `=`: see already_default and already_so (in this script)
#   --rollback    run the rollback block instead (restores the original policies); combine with
#                 --apply. It detaches and deletes a policy the apply block creates only while that
#                 policy is the folder's copy (its default version is the folder's file for it)
#   --profile P   AWS CLI profile (else the usual AWS_PROFILE / credentials chain)
#   --wait S      after provision-permission-set, wait at most S seconds (default 600) for IAM
#                 Identity Center to finish provisioning; FAILED, or not done by then, is a failure
#
# Read the folder's README.md first: it says what is removed and why, and what needs a human
# (rewritten NotAction statements, policies over IAM's size limit, the 5-version limit).
#
# The block is the lines between its opening line, exactly ```sh apply (or ```sh rollback), and
# the next line that is exactly ```; the README must have exactly one block of the kind run, and
# at most one of the other (the rollback reads the apply block's create-policy lines).
#
# Every command line is checked against the only shapes iam-tighten writes (`aws iam <verb>` or
# `aws sso-admin <verb>` followed by `--option value` pairs whose values are plain words or single-quoted
# strings), so a tampered command file cannot run anything else.
#
# Exit status: 0 done (or dry run); 1 a command failed, or a line was refused (the ones before it
# ran; see the rollback), or a permission set's provisioning FAILED or was not done within --wait;
# 2 usage error.
set -euo pipefail

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

apply=0
block=apply
# `${profile[@]+"${profile[@]}"}` below: bash before 4.4 (macOS's /bin/bash 3.2) calls an
# empty array unbound under `set -u`.
profile=()
wait=600
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
        --wait)
            [ $# -ge 2 ] && [[ $2 =~ ^[0-9]{1,6}$ ]] || usage
            wait=$((10#$2))
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
# An option's value follows a space, or `=` when it starts with `-` (a name IAM allows).
shape="^aws (iam|sso-admin) [a-z-]+( --[a-z-]+([ =]($word|$quoted))?)*\$"

# The value of option $1 in the command parsed last (argv), or nothing.
opt() {
    local i
    for ((i = 3; i < ${#argv[@]}; i++)); do
        if [ "${argv[i]}" = "$1" ]; then
            printf '%s' "${argv[i + 1]:-}"
            break
        elif [[ ${argv[i]} == "$1="* ]]; then
            printf '%s' "${argv[i]#"$1="}"
            break
        fi
    done
    return 0
}

# Whether $1 holds a control character or a format character (Unicode Cf: the bidi embeddings,
# overrides and isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E, U+200F and U+061C,
# zero-width spaces and joiners, the soft hyphen, the BOM, tag characters), by their UTF-8 bytes.
hidden() {
    local LC_ALL=C
    case "$1" in
        *[$'\001'-$'\037'$'\177']* | *$'\302'[$'\200'-$'\237'$'\255']* \
            | *$'\330'[$'\200'-$'\205'$'\234']* | *$'\333\235'* | *$'\334\217'* \
            | *$'\340\242'[$'\220'$'\221']* | *$'\340\243\242'* | *$'\341\240\216'* \
            | *$'\342\200'[$'\213'-$'\217'$'\252'-$'\256']* | *$'\342\201'[$'\240'-$'\257']* \
            | *$'\357\273\277'* | *$'\357\277'[$'\271'-$'\273']* | *$'\363\240'*)
            return 0
            ;;
    esac
    return 1
}

fence='```'
opening="${fence}sh $block"
cd "$dir"
# The chosen block's lines; and, from both blocks, what tells the folder's own policies: the
# name and file of each `create-policy` of the apply block, and every --policy-arn named.
commands=()
copy_names=()
copy_files=()
arns=()
blocks=0
others=0
inside=
while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    if [ -z "$inside" ]; then
        case "$line" in
            "${fence}sh apply" | "${fence}sh rollback") inside=${line#"${fence}sh "} ;;
        esac
        if [ "$line" = "$opening" ]; then
            blocks=$((blocks + 1))
        elif [ -n "$inside" ]; then
            others=$((others + 1))
        fi
        continue
    fi
    if [ "$line" = "$fence" ]; then
        inside=
        continue
    fi
    case "$line" in
        '' | '#'*) continue ;;
    esac
    # A name or path with a control or format character (a bidi override U+202E), which
    # iam-tighten writes as a word `$'...'` (IAM names allow none; valid names and paths hold no
    # space, so the word starts after one).
    if [[ $line =~ \ (--[a-z-]+=)?\$\' ]]; then
        echo "apply-recommendation: refusing a command with a control or format character in a name or path (written \$'...'; IAM allows none in a name, so the export may have been edited): check it, and run it by hand if it is right: $line" >&2
        exit 2
    fi
    # The same characters written as they are: iam-tighten never does, so the README was edited
    # (a bidi override would also show the rest of the line reversed). Quoted in the message.
    if hidden "$line"; then
        echo "apply-recommendation: refusing a command with a control or format character (a bidi override, a zero-width space ...; iam-tighten writes them \$'...', so the README may have been edited): $(LC_ALL=C printf %q "$line")" >&2
        exit 2
    fi
    if ! [[ $line =~ $shape ]]; then
        echo "apply-recommendation: refusing a command iam-tighten would not write: $line" >&2
        exit 2
    fi
    [ "$inside" != "$block" ] || commands+=("$line")
    # Safe: the line matched $shape, so it holds only plain words and single-quoted strings.
    eval "argv=($line)"
    arn=$(opt --policy-arn)
    [ -z "$arn" ] || arns+=("$arn")
    if [ "$inside" = apply ] && [ "${argv[1]} ${argv[2]}" = 'iam create-policy' ]; then
        copy_names+=("$(opt --policy-name)")
        copy_files+=("$(opt --policy-document)")
    fi
done < "$file"

if [ "$blocks" != 1 ] || [ "$others" -gt 1 ] || [ -n "$inside" ]; then
    echo "apply-recommendation: $dir/$file must have exactly one $opening block and at most one of the other, each closed by $fence (it has $blocks$([ "$others" -le 1 ] || echo " and $others of the other")$([ -z "$inside" ] || echo ', unclosed'))" >&2
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

# The document of managed policy $1's default version, as the AWS CLI prints it (JSON, in its
# layout); on failure (status 1), the error output of the read that failed.
default_document() {
    local version
    if ! version=$(aws iam get-policy --policy-arn "$1" --query Policy.DefaultVersionId \
        --output text ${profile[@]+"${profile[@]}"} 2>&1); then
        printf '%s' "$version"
        return 1
    fi
    aws iam get-policy-version --policy-arn "$1" --version-id "$version" \
        --query PolicyVersion.Document --output json ${profile[@]+"${profile[@]}"} 2>&1
}

# `create-policy-version ... --policy-document file://F` when F is already, byte for byte as the
# AWS CLI prints it, the policy's default version: another folder sharing the policy (every
# principal that tightens it alike has the line) made it. Creating it again would only use up one
# of the policy's 5 versions. Any doubt (a read refused, another format) means "no": it runs.
already_default() {
    local arn file current
    arn=$(opt --policy-arn)
    file=$(opt --policy-document)
    [ "${argv[2]}" = create-policy-version ] && [ -n "$arn" ] && [ "${file#file://}" != "$file" ] ||
        return 1
    file=${file#file://}
    [ -f "$file" ] || return 1
    current=$(default_document "$arn") || return 1
    [ "$current" = "$(cat "$file")" ]
}

# The file (file://F) the apply block's `create-policy` of policy ARN $1 sends, when the block
# makes it (`--policy-name N` and no path: the ARN is arn:<partition>:iam::<account>:policy/N).
copy_file() {
    local i
    for ((i = 0; i < ${#copy_names[@]}; i++)); do
        if [[ $1 == arn:*:iam::*:policy/"${copy_names[i]}" ]]; then
            printf '%s' "${copy_files[i]}"
            return 0
        fi
    done
    return 1
}

# The ARN the folder's lines give policy name $1 (the attach, detach and delete of the copy
# `create-policy --policy-name $1` makes).
copy_arn() {
    local a
    for a in ${arns[@]+"${arns[@]}"}; do
        if [[ $a == arn:*:iam::*:policy/"$1" ]]; then
            printf '%s' "$a"
            return 0
        fi
    done
    return 1
}

# Whether managed policy $1 is the copy the apply block makes from $2 (file://F): its default
# version's document is F, byte for byte as the AWS CLI prints it (as already_default compares;
# a layout that differs can only say "not the copy", the safe answer). Status 0 it is; 2 it
# does not exist (NoSuchEntity); 1 anything else, with why on stdout.
copy_state() {
    local current file=${2#file://}
    if ! current=$(default_document "$1"); then
        aws_error NoSuchEntity "$current" && return 2
        printf 'it could not be read: %s' "$current"
        return 1
    fi
    if [ "$file" = "$2" ] || [ ! -f "$file" ] || [ "$current" != "$(cat "$file")" ]; then
        printf "its default version is not this folder's %s" "$file"
        return 1
    fi
    return 0
}

# Whether the AWS CLI's error output $2 is error code $1 (`An error occurred (CODE) when calling
# the OPERATION operation: ...`, awscli v1 and v2).
aws_error() {
    case "$2" in
        *"An error occurred ($1) when calling the "*) return 0 ;;
    esac
    return 1
}

# The AWS managed policies of the permission set of the sso-admin command being run, as
# sso-admin lists them now (one line each); status 1 when the read is refused.
set_policies() {
    local region listed
    region=$(opt --region)
    listed=$(aws sso-admin list-managed-policies-in-permission-set \
        --instance-arn "$(opt --instance-arn)" --permission-set-arn "$(opt --permission-set-arn)" \
        ${region:+--region "$region"} --query 'AttachedManagedPolicies[].Arn' --output text \
        ${profile[@]+"${profile[@]}"} 2> /dev/null) || return 1
    printf '%s\n' $listed
}

# Whether the permission set lists --managed-policy-arn: `set_lists yes` that it does, `set_lists
# no` that it does not. Any doubt (a read refused) means neither.
set_lists() {
    local listed want
    listed=$(set_policies) || return 1
    want=$(opt --managed-policy-arn)
    case $'\n'"$listed"$'\n' in
        *$'\n'"$want"$'\n'*) [ "$1" = yes ] ;;
        *) [ "$1" = no ] ;;
    esac
}

# A line that failed with error output $1 only because what it does already holds: an earlier
# run stopped after it (a throttle, a quota, a typo in the profile) and this one runs it again,
# or, in the rollback, the apply stopped before the line it undoes. Prints why, for the `=`
# line. Only these errors of these commands (any other error stops the run):
# In the apply block:
#   create-policy                    EntityAlreadyExists, and the policy (the ARN the folder's
#                                    other lines give it) is the folder's copy (copy_state)
#   detach-{role,user,group}-policy  NoSuchEntity: the policy is not attached
#   delete-{role,user,group}-policy  NoSuchEntity: the inline policy does not exist
#   detach-managed-policy-from-permission-set
#                                    ResourceNotFoundException, and sso-admin lists the set
#                                    without the policy (the code also means no such set)
# In the rollback block:
#   detach-{role,user,group}-policy  NoSuchEntity: the policy (a copy the apply makes, checked
#                                    first by guard_copy) is not attached to the principal
#   delete-policy                    NoSuchEntity: the policy (that copy) does not exist
#   attach-managed-policy-to-permission-set
#                                    ConflictException, and sso-admin lists the policy as attached:
#                                    the code alone is not enough, it also means a write that
#                                    conflicts with another one still propagating
# IAM's attach-*-policy of an attached policy, put-*-policy, set-default-policy-version of the
# default version, sso-admin's put-inline-policy-to-permission-set and
# delete-inline-policy-from-permission-set succeed on their own.
already_so() {
    local arn
    case "$block ${argv[1]} ${argv[2]}" in
        'apply iam create-policy')
            aws_error EntityAlreadyExists "$1" && arn=$(copy_arn "$(opt --policy-name)") &&
                copy_state "$arn" "$(opt --policy-document)" > /dev/null &&
                echo "EntityAlreadyExists, and its default version is this folder's file"
            ;;
        'apply iam delete-role-policy' | 'apply iam delete-user-policy' | 'apply iam delete-group-policy')
            aws_error NoSuchEntity "$1" && echo 'NoSuchEntity, the inline policy does not exist'
            ;;
        'apply sso-admin detach-managed-policy-from-permission-set')
            aws_error ResourceNotFoundException "$1" && set_lists no &&
                echo 'ResourceNotFoundException, and the permission set does not list the policy'
            ;;
        *' iam detach-role-policy' | *' iam detach-user-policy' | *' iam detach-group-policy')
            aws_error NoSuchEntity "$1" && echo 'NoSuchEntity, the policy is not attached'
            ;;
        'rollback iam delete-policy')
            aws_error NoSuchEntity "$1" && echo 'NoSuchEntity, the policy does not exist'
            ;;
        'rollback sso-admin attach-managed-policy-to-permission-set')
            aws_error ConflictException "$1" && set_lists yes &&
                echo 'ConflictException, and the permission set lists the policy'
            ;;
        *) return 1 ;;
    esac
}

# A rollback line that detaches or deletes a managed policy: only of a copy this folder's apply
# block makes (`create-policy`), and only while that policy is the copy, so that a policy of the
# same name made by someone else (the apply's create-policy failed on it) is never taken away.
# Status 0 run the line; 2 the copy does not exist, the line is done; 1 refused (why on stdout).
guard_copy() {
    local arn file
    case "$block ${argv[1]} ${argv[2]}" in
        'rollback iam detach-role-policy' | 'rollback iam detach-user-policy' | \
            'rollback iam detach-group-policy' | 'rollback iam delete-policy') ;;
        *) return 0 ;;
    esac
    arn=$(opt --policy-arn)
    if ! file=$(copy_file "$arn"); then
        printf '%s is not a policy the apply block creates (create-policy)' "$arn"
        return 1
    fi
    copy_state "$arn" "$file"
}

# The error output of a refused rollback line: what happened and what to do by hand. $1 is why
# guard_copy refused the line, $2 its number (from 1).
refused() {
    local arn i c
    arn=$(opt --policy-arn)
    printf 'apply-recommendation: not running command %s of %s: policy %s is not the copy this folder makes: %s.\n' \
        "$2" "${#commands[@]}" "$arn" "$1"
    printf 'apply-recommendation: it may be a policy of the same name made by someone else (the apply'"'"'s create-policy then failed on it): leave it attached and in place. If it is the copy, changed since the apply, detach and delete it by hand once you have checked it (aws iam get-policy --policy-arn %s).\n' \
        "$arn"
    echo "apply-recommendation: nothing was changed by that line. The lines after it did not run; those that do not name that policy, to run by hand from $(pwd), in order:"
    for ((i = $2; i < ${#commands[@]}; i++)); do
        c=${commands[i]}
        case "$c " in
            *" $arn "*) ;;
            *) printf '  %s\n' "$c" ;;
        esac
    done
}

# After `sso-admin provision-permission-set` printed $1 (its JSON): IAM Identity Center
# provisions asynchronously, so wait (at most $wait seconds) for the request to be SUCCEEDED.
# Status 1, with why on stderr, when it is FAILED, still IN_PROGRESS then, or cannot be followed.
await_provisioning() {
    local status id reason delay=1 start=$SECONDS region follow
    region=$(opt --region)
    [[ $1 =~ \"Status\":\ \"([A-Z_]+)\" ]] && status=${BASH_REMATCH[1]} || status=
    [[ $1 =~ \"RequestId\":\ \"([^\"]+)\" ]] && id=${BASH_REMATCH[1]} || id=
    [[ $1 =~ \"FailureReason\":\ \"([^\"]*)\" ]] && reason=${BASH_REMATCH[1]} || reason=
    follow="aws sso-admin describe-permission-set-provisioning-status --instance-arn $(opt --instance-arn) --provision-permission-set-request-id $id${region:+ --region $region}"
    while [ "$status" = IN_PROGRESS ] && [ -n "$id" ]; do
        if [ $((SECONDS - start)) -ge "$wait" ]; then
            echo "apply-recommendation: provisioning request $id is still IN_PROGRESS after ${wait}s (--wait): follow it with: $follow" >&2
            return 1
        fi
        sleep "$delay"
        [ "$delay" -ge 8 ] || delay=$((delay * 2))
        if ! status=$(aws sso-admin describe-permission-set-provisioning-status \
            --instance-arn "$(opt --instance-arn)" --provision-permission-set-request-id "$id" \
            ${region:+--region "$region"} --output text \
            --query 'PermissionSetProvisioningStatus.[Status,FailureReason]' \
            ${profile[@]+"${profile[@]}"} 2>&1); then
            printf '%s\n' "$status" >&2
            echo "apply-recommendation: could not read provisioning request $id; follow it with: $follow" >&2
            return 1
        fi
        reason=${status#*$'\t'}
        status=${status%%$'\t'*}
    done
    case "$status" in
        SUCCEEDED)
            echo "= provisioning request $id: SUCCEEDED" >&2
            return 0
            ;;
        FAILED)
            echo "apply-recommendation: provisioning request $id FAILED: ${reason:-no reason given}. The permission set holds this block's changes, but its roles in some accounts may not: fix the cause and run the block again (with --apply), or see $follow" >&2
            ;;
        *)
            echo "apply-recommendation: provision-permission-set answered no status to follow (${status:-none}, request ${id:-none}); check the set's provisioning with aws sso-admin list-permission-set-provisioning-status" >&2
            ;;
    esac
    return 1
}

# Runs the command in argv (with the profile), its output shown; its error output is kept in
# `err` to read the error code. provision-permission-set's JSON is kept too, to follow it.
run_line() {
    local out
    if [ "${argv[1]} ${argv[2]}" = 'sso-admin provision-permission-set' ]; then
        err=
        out=$("${argv[@]}" --output json ${profile[@]+"${profile[@]}"}) || return 1
        printf '%s\n' "$out"
        await_provisioning "$out"
        return
    fi
    # fd 3: the command's own output.
    err=$("${argv[@]}" ${profile[@]+"${profile[@]}"} 2>&1 1>&3) || return 1
    [ -z "$err" ] || printf '%s\n' "$err" >&2
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
    state=0
    why=$(guard_copy) || state=$?
    if [ "$state" = 2 ]; then
        echo "= $c (already so: NoSuchEntity, the policy does not exist)" >&2
        n=$((n + 1))
        continue
    elif [ "$state" != 0 ]; then
        refused "$why" $((n + 1)) >&2
        exit 1
    fi
    echo "+ $c" >&2
    if run_line; then
        :
    elif why=$(already_so "$err"); then
        echo "= $c (already so: $why)" >&2
    else
        [ -z "$err" ] || printf '%s\n' "$err" >&2
        if [ "${argv[2]}" = create-policy ] && aws_error EntityAlreadyExists "$err"; then
            echo "apply-recommendation: a policy named $(opt --policy-name) already exists and is not this folder's copy (its default version is not $(opt --policy-document), or it could not be read): do not apply this folder until that policy is renamed or deleted and the account fetched and reported again. The rollback leaves that policy alone." >&2
        fi
        echo "apply-recommendation: command $((n + 1)) of ${#commands[@]} failed; $n ran before it." >&2
        if [ "$block" = apply ]; then
            echo "apply-recommendation: to undo what ran, see README.md (Roll back) or run: $0 --rollback --apply $dir" >&2
        fi
        exit 1
    fi
    n=$((n + 1))
done
echo "apply-recommendation: $n command(s) ran." >&2

#!/usr/bin/env bash
# Run make targets one after another (the stages of `make test`), timed, and print a table of the stage times
# at the end, also when a stage fails (the run stops there; later stages show "not run"). Each stage's output is
# also kept in .build/stages/<stage>.log; when a stage fails, its failure lines (failed Ansible tasks, pytest
# failures, errors) are printed again after the table, so a CI log that keeps only its tail still names them.
#
#   scripts/stages.sh lint sanity units ...
#   scripts/stages.sh --background images lab-tests lint sanity units lab-tests ...
#
# --background STAGE BEFORE starts STAGE at once, beside the others (its output only in its log, its last lines
# printed when it ends), and stage BEFORE, the first that needs what it makes, waits for it first. `make test`
# builds the lab's node images so while lint, sanity, units and integration run: none of them needs Docker, and
# the image builds wait on the Debian mirror much of the time.
set -uo pipefail

logs=.build/stages
mkdir -p "$logs"
names=() times=() results=()
failed_log=
status=0
start_all=$(date +%s)

bg_stage='' bg_before='' bg_pid=''
if [ "${1:-}" = "--background" ]; then
    bg_stage=$2 bg_before=$3
    shift 3
    echo "=== stage $bg_stage, in the background until $bg_before (output in $logs/$bg_stage.log)"
    rm -f "$logs/$bg_stage.end"
    (
        start=$(date +%s)
        make --no-print-directory "$bg_stage" > "$logs/$bg_stage.log" 2>&1
        echo "$? $(( $(date +%s) - start ))" > "$logs/$bg_stage.end"
    ) &
    bg_pid=$!
fi

wait_background() {
    [ -n "$bg_pid" ] || return 0
    wait "$bg_pid"
    bg_pid=
    local rc seconds
    read -r rc seconds < "$logs/$bg_stage.end" || { rc=1 seconds=0; }
    echo "=== stage $bg_stage (background) ended with rc $rc after ${seconds}s; its last lines:"
    tail -n 20 "$logs/$bg_stage.log"
    names+=("$bg_stage (bg)") times+=("$seconds") results+=("$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (rc $rc)")")
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
        status=$rc failed_log="$logs/$bg_stage.log"
    fi
}

for stage in "$@"; do
    [ "$stage" = "$bg_before" ] && wait_background
    if [ "$status" -ne 0 ]; then
        names+=("$stage") times+=("-") results+=("not run")
        continue
    fi
    echo "=== stage $stage"
    start=$(date +%s)
    make --no-print-directory "$stage" 2>&1 | tee "$logs/$stage.log"
    rc=${PIPESTATUS[0]}
    names+=("$stage") times+=("$(( $(date +%s) - start ))") results+=("$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (rc $rc)")")
    [ "$rc" -eq 0 ] || { status=$rc; failed_log="$logs/$stage.log"; }
done
wait_background
total=$(( $(date +%s) - start_all ))

fmt() { [ "$1" = "-" ] && echo "-" || printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }
echo
echo "=== make test: stage times ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
printf '%-16s %9s  %s\n' STAGE TIME RESULT
for i in "${!names[@]}"; do
    printf '%-16s %9s  %s\n' "${names[$i]}" "$(fmt "${times[$i]}")" "${results[$i]}"
done
printf '%-16s %9s\n' total "$(fmt "$total")"
if [ -n "$failed_log" ]; then
    echo
    echo "=== what failed (from $failed_log; the first 80 matching lines)"
    grep -n -E -A6 '^(fatal|failed): |FAILED!|^(E  |FAILED |ERROR |ERROR: )|^[A-Za-z_.]+Error: |Traceback|^[a-z-]+\[[a-z-]+\]: |^Failed: |^CRITICAL Ansible' "$failed_log" | cut -c1-400 | head -n 80
fi
exit "$status"

#!/usr/bin/env bash
# Run a command with both cores saturated: `scripts/under_load.sh make test`.
#
# CI shares two cores with other jobs; a test that passes only on an idle machine
# is a flaky test. stress-ng keeps STRESS_CPUS workers (default 2) busy for as long
# as the command runs, and is installed with apt-get where it is missing.
set -euo pipefail
cpus="${STRESS_CPUS:-2}"

if ! command -v stress-ng >/dev/null 2>&1; then
    echo "under_load: installing stress-ng" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y -q stress-ng >&2 \
        || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q stress-ng >&2; }
fi

# --timeout: never outlive a runaway command by more than two hours.
stress-ng --cpu "$cpus" --cpu-method all --timeout 7200s --quiet &
stress_pid=$!
trap 'kill -INT "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null || true' EXIT
echo "under_load: stress-ng --cpu $cpus running (pid $stress_pid)" >&2
"$@"

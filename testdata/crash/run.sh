#!/usr/bin/env bash
# make crash: the kill -9 loop against the real binary, then the disk-full case.
# Scale with CRASH_N, CRASH_KILLS, CRASH_SEED (printed by every run) or CRASH_ARGS="-min-delay 1s ...".
set -euo pipefail
bin=${1:?usage: testdata/crash/run.sh path/to/bebpo-gateway}
cd "$(dirname "$0")/../.."
${GO:-go} build -o bin/crashtest ./gateway/internal/crashtest
start=$(date +%s)
# shellcheck disable=SC2086
bin/crashtest crash -bin "$bin" ${CRASH_ARGS:-}
bin/crashtest diskfull -bin "$bin"
echo "crash: total $(( $(date +%s) - start ))s"

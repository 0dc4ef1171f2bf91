#!/bin/bash
# Steps 3-5 of FETCH.md for one fetched batch: build, ledger + delete snapshots, export.
#   datasets/corpus_v2/finish_batch.sh PART K        (from anywhere; log: /work/v2-build/logs/PART-K.finish.log)
# Stops at the first failing step (rerun it: every step is resumable/idempotent). Holds the lock
# /work/v2-build/build.lock, so several can be started (e.g. in the background while the next batch
# is fetched): they run one at a time, as the shared build folder and failures.csv require.
set -euo pipefail
mkdir -p "${V2_BUILD:-/work/v2-build}"
exec 9>"${V2_BUILD:-/work/v2-build}/build.lock"
flock 9
part=$1 k=$2
here=$(cd "$(dirname "$0")" && pwd)
list=${V2_BUILD:-/work/v2-build}/lists/$part-$k.txt
cd "$here/../.."
python3 "$here/build_batch.py" --list "$list"
python3 "$here/after_batch.py" --part "$part" --list "$list"
python3 "$here/export.py" --part "$part"
df -h /work | tail -1

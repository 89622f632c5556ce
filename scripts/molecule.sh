#!/usr/bin/env bash
# molecule test -s SCENARIO on a fresh embedded lab: lab up, its credentials exported, lab down after.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
scenario="${1:-default}"
# A lab of its own (state dir and loopback /16 apart from a `lab up` the user may have running).
export STOREDESK_LAB_STATE="$PWD/lab/.state-molecule"
lab down >/dev/null 2>&1 || true
lab up --time-scale "${TIME_SCALE:-0.01}" --host-offset 240 >/dev/null
trap 'lab down >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$STOREDESK_LAB_STATE/lab.env"
rm -rf "reports/molecule-$scenario"   # reports and audit log of this run only
# Molecule remembers a scenario's prepare in its cache: forget it, every run starts from a fresh lab.
molecule reset -s "$scenario" >/dev/null 2>&1 || true
molecule test -s "$scenario"

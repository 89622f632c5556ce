#!/usr/bin/env bash
# make release-check: `antsibull-changelog release` works on the current fragments, in a throwaway copy
# laid out as ansible_collections/storedesk/vdi (version 9.9.9); the checkout is not touched.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
COPY="$WORK/ansible_collections/storedesk/vdi"
mkdir -p "$COPY"
tar -C "$ROOT" --exclude=./.venv --exclude=./.git --exclude=./reports --exclude=./lab/.state --exclude=./build \
  --exclude=./tests/output -cf - . | tar -C "$COPY" -xf -
cd "$COPY"
unset ANSIBLE_CONFIG
export ANSIBLE_COLLECTIONS_PATH="$WORK" PATH="$ROOT/.venv/bin:$PATH"
antsibull-changelog release --version 9.9.9
grep -q '^v9\.9\.9$' CHANGELOG.rst || { echo "release-check: CHANGELOG.rst has no v9.9.9 section" >&2; exit 1; }
if ls changelogs/fragments/*.yml >/dev/null 2>&1; then
  echo "release-check: fragments left after the release" >&2; exit 1
fi
echo "release-check: antsibull-changelog release --version 9.9.9 ok ($(grep -c '^- ' CHANGELOG.rst) entries)"

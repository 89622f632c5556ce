#!/usr/bin/env bash
# ansible-test sanity on the collection as users get it: the BUILT tarball (galaxy.yml's build_ignore applied)
# unpacked under ansible_collections/storedesk/vdi in a temporary directory, plus tests/sanity/ignore-*.txt.
#   VENV=<venv with the ansible-core to test>  (default .venv)   TARBALL=<built collection> (default: build one)
# Extra arguments go to `ansible-test sanity` (e.g. --test validate-modules).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$(cd "${VENV:-$ROOT/.venv}" && pwd)"
PY="$VENV/bin/python"
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DEST="$WORK/ansible_collections/storedesk/vdi"
mkdir -p "$DEST"

# ansible-test bootstraps pip in its venvs with get-pip-<ver>.py, downloaded unless cached in
# ~/.ansible/test/cache; the version depends on ansible-test (23.1.2, 24.2, 25.2, ...). Where the download is
# unreachable, our stand-in (get_pip_standin.py) is cached under that version's name.
PIP_VER="$("$PY" - "$PYVER" <<'PYEOF'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))['pip'])
PYEOF
)"
CACHE="$HOME/.ansible/test/cache/get_pip_${PIP_VER//./_}.py"
if [ ! -s "$CACHE" ]; then
  mkdir -p "$(dirname "$CACHE")"
  if ! "$PY" - "$PIP_VER" "$CACHE" <<'PYEOF' 2>/dev/null
import sys, urllib.request
data = urllib.request.urlopen('https://ci-files.testing.ansible.com/ansible-test/get-pip-%s.py' % sys.argv[1], timeout=5).read()
open(sys.argv[2], 'wb').write(data)
PYEOF
  then
    cp "$ROOT/tests/sanity/get_pip_standin.py" "$CACHE"
  fi
fi

if [ -z "${TARBALL:-}" ]; then
  "$VENV/bin/ansible-galaxy" collection build --force --output-path "$WORK" "$ROOT" >/dev/null
  TARBALL="$(ls "$WORK"/storedesk-vdi-*.tar.gz)"
fi
tar -xzf "$TARBALL" -C "$DEST"
mkdir -p "$DEST/tests/sanity"
cp "$ROOT"/tests/sanity/ignore-*.txt "$DEST/tests/sanity/" 2>/dev/null || true

cd "$DEST"
git init -q . && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity
"$VENV/bin/ansible-test" sanity --python "$PYVER" --color no "$@"

#!/usr/bin/env bash
# ansible-test sanity on the collection as it is built: the files galaxy.yml does not ignore,
# laid out under ansible_collections/storedesk/vdi in a temporary directory.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DEST="$WORK/ansible_collections/storedesk/vdi"
mkdir -p "$DEST"

# The bootstrap script ansible-test downloads; where the download is unreachable, our stand-in.
PIP_VER="$("$PY" -c 'from ansible_test._internal.python_requirements import PIP_VERSION as v; print(v)' 2>/dev/null \
  || "$PY" -c 'import ansible_test._internal.bootstrap as b; print(b.PIP_VERSION)' 2>/dev/null || echo 24.2)"
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

# Copy what the built artifact holds (build_ignore), plus the sanity ignore files.
"$PY" - "$ROOT" "$DEST" <<'PYEOF'
import fnmatch, os, shutil, sys, yaml
root, dest = sys.argv[1:]
ignore = yaml.safe_load(open(os.path.join(root, 'galaxy.yml')))['build_ignore']
for entry in sorted(os.listdir(root)):
    if entry.startswith('.') or any(fnmatch.fnmatch(entry, pat) for pat in ignore):
        continue
    src = os.path.join(root, entry)
    if os.path.isdir(src):
        shutil.copytree(src, os.path.join(dest, entry), ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    else:
        shutil.copy2(src, dest)
sanity = os.path.join(root, 'tests', 'sanity')
os.makedirs(os.path.join(dest, 'tests', 'sanity'))
for name in os.listdir(sanity):
    if name.startswith('ignore-'):
        shutil.copy2(os.path.join(sanity, name), os.path.join(dest, 'tests', 'sanity', name))
PYEOF

cd "$DEST"
git init -q . && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity
"$VENV/bin/ansible-test" sanity --python 3.11 --color no "$@"

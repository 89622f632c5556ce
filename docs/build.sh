#!/usr/bin/env bash
# HTML documentation of every storedesk.vdi plugin and role, built with antsibull-docs and Sphinx.
# Any warning fails the build: first antsibull-docs' linter (schema and markup of every plugin's docs),
# then Sphinx with -W.
#   bash docs/build.sh [OUTPUT_DIR]       default OUTPUT_DIR: docs/_build; open OUTPUT_DIR/html/index.html
# Needs antsibull-docs and Sphinx (requirements-dev.txt). sphinx-ansible-theme gives the Ansible look;
# without it the build uses Sphinx's own theme and says so.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
OUT="$(mkdir -p "${1:-$ROOT/docs/_build}" && cd "${1:-$ROOT/docs/_build}" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The collection as Ansible finds it, apart from any other copy on the machine.
mkdir -p "$WORK/collections/ansible_collections/storedesk"
ln -s "$ROOT" "$WORK/collections/ansible_collections/storedesk/vdi"
export ANSIBLE_COLLECTIONS_PATH="$WORK/collections:$VENV/collections"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"

echo "== lint: plugin and role documentation"
antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs self "$ROOT"

echo "== rst: antsibull-docs"
SITE="$WORK/site"
mkdir -p "$SITE"
antsibull-docs sphinx-init --use-current --dest-dir "$SITE" --project "storedesk.vdi" \
  --title "storedesk.vdi documentation" --copyright "storedesk.vdi contributors" storedesk.vdi >/dev/null
# Cross-references to the Ansible docsite resolve through its intersphinx inventory when it can be
# fetched; offline they cannot, so only those (Sphinx ref/envvar warnings) are let through. References
# inside this collection are checked by the linter above in any case.
python - "$SITE/conf.py" <<'PYEOF'
import importlib.util, re, sys, urllib.request
path = sys.argv[1]
conf = open(path).read()
url = 'https://docs.ansible.com/projects/ansible/devel/'
try:
    urllib.request.urlopen(url + 'objects.inv', timeout=5).close()
    mapping = "intersphinx_mapping = {'ansible_devel': (%r, None)}" % url
except Exception:  # offline
    print('docs.ansible.com unreachable: references to the Ansible docsite are not checked')
    mapping = "intersphinx_mapping = {}\nsuppress_warnings = ['ref.ref', 'ref.envvar']"
conf = re.sub(r"intersphinx_mapping = \{.*?\n\}", lambda _m: mapping, conf, flags=re.S)
if importlib.util.find_spec('sphinx_ansible_theme') is None:
    print('sphinx-ansible-theme is not installed: using the alabaster theme')
    conf = conf.replace("html_theme = 'sphinx_ansible_theme'", "html_theme = 'alabaster'")
open(path, 'w').write(conf)
PYEOF
mkdir -p "$SITE/rst" && chmod og-w "$SITE/rst"
antsibull-docs --config-file "$SITE/antsibull-docs.cfg" collection --use-current --fail-on-error \
  --cleanup everything --dest-dir "$SITE/rst" storedesk.vdi

echo "== html: sphinx-build -W"
sphinx-build -M html "$SITE/rst" "$OUT" -c "$SITE" -W --keep-going -q
echo "docs: $OUT/html/index.html"

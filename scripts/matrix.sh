#!/usr/bin/env bash
# The built collection on every ansible-core release line we support (make matrix, part of make test).
# First galaxy-importer on the tarball (errors, and warnings not listed in tests/sanity/importer-warnings.txt, fail).
# Then for each line: a venv holding only ansible-core and requirements.txt (cached under ~/.cache/storedesk/matrix/),
# ansible-test sanity on the artifact's files, then a smoke run of the BUILT tarball:
#   installed with `ansible-galaxy collection install` into a directory the running user cannot write
#   (owned by nobody, read-only; the user is root without capabilities, so file modes bind it),
#   run from a directory outside the repository against an embedded lab of its own:
#   cluster_info, a small desktop_pool, `ansible-playbook storedesk.vdi.assess` writing its reports to the
#   user's report dir, syntax-check of every shipped playbook, and `ansible-galaxy collection verify`
#   after each phase.
# Usage: scripts/matrix.sh [LINE ...]   e.g. scripts/matrix.sh 2.21    (default: every line)
#        MATRIX_SKIP_SANITY=1 / MATRIX_SKIP_IMPORTER=1    leave those out (the importer runs only for all lines)
#        MATRIX_TARBALL=<file>    test that tarball instead of building one
# Deprecation warnings during the smoke runs fail it (a removal ahead).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# Nothing of the checkout's settings (make exports ansible.cfg and the collections link of the repository).
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
DEV="$ROOT/.venv/bin"
# Venvs are cached outside the checkout (like pip's cache), so a fresh clone on the same machine reuses them.
CACHE="${STOREDESK_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storedesk/matrix}"
# ansible-core line : the Python it runs on here (2.20 and 2.21 need 3.12+; every Python we support is used).
LINES="2.17:3.11 2.18:3.12 2.19:3.11 2.20:3.12 2.21:3.13"
OFFSET="${MATRIX_LAB_OFFSET:-241}"

want=("$@")
selected() { [ ${#want[@]} -eq 0 ] && return 0; local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

python_for() {   # a real interpreter for 3.X (pyenv's, else the system's)
  local p
  for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python"$1" /usr/bin/python"$1" /usr/local/bin/python"$1"; do
    [ -x "$p" ] && "$p" -c 'import venv' 2>/dev/null && { echo "$p"; return 0; }
  done
  echo "matrix: no Python $1 found (pyenv install $1, or the distribution's python$1)" >&2
  return 1
}

venv_for() {     # <cache>/core-<line>: ansible-core <line>.* + requirements.txt, rebuilt when either changes
  local line="$1" py="$2" dir="$CACHE/core-$1" key
  key="$line $py $(sha256sum "$ROOT/requirements.txt" | cut -c1-16)"
  if [ "$(cat "$dir/.key" 2>/dev/null)" != "$key" ]; then
    rm -rf "$dir"
    "$(python_for "$py")" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$line.*" -r "$ROOT/requirements.txt"
    echo "$key" > "$dir/.key"
  fi
  echo "$dir"
}

if [ "${MATRIX_VENVS_ONLY:-}" = 1 ]; then
  for entry in $LINES; do selected "${entry%%:*}" && venv_for "${entry%%:*}" "${entry##*:}"; done
  exit 0
fi

WORK="$(mktemp -d /tmp/storedesk-matrix.XXXXXX)"
LAB_STATE="$WORK/lab"
cleanup() {
  STOREDESK_LAB_STATE="$LAB_STATE" "$DEV/lab" down >/dev/null 2>&1 || true
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '\n== matrix: %s\n' "$*"; }
t0=$SECONDS

# The artifact users get (MATRIX_TARBALL=<file>: test that one instead).
if [ -n "${MATRIX_TARBALL:-}" ]; then
  TARBALL="$(cd "$(dirname "$MATRIX_TARBALL")" && pwd)/$(basename "$MATRIX_TARBALL")"
else
  "$DEV/ansible-galaxy" collection build --force --output-path "$WORK" "$ROOT" >/dev/null
  TARBALL="$(ls "$WORK"/storedesk-vdi-*.tar.gz)"
fi
say "built $(basename "$TARBALL")"

# One embedded lab for every smoke run (its own state dir and loopback /16).
# Offsets 241-245 (127.251-255.x.x) are outside the 1-239 the test fixtures pick at random.
for off in $OFFSET 242 243 244 245 none; do
  [ "$off" = none ] && { cat "$LAB_STATE/lab.log" >&2; echo "matrix: no lab could start" >&2; exit 1; }
  STOREDESK_LAB_STATE="$LAB_STATE" "$DEV/lab" up --time-scale 0.02 --host-offset "$off" >/dev/null 2>&1 && break
done
set -a; . "$LAB_STATE/lab.env"; set +a

# awx.awx for playbooks/awx_configure.yml (requirements.yml): Galaxy is unreachable here; the `ansible`
# package on PyPI (requirements-dev.txt) carries it.
AWX="$("$DEV/python" -c 'import ansible_collections.awx.awx as m; print(list(m.__path__)[0])')"

# The unprivileged user: root without any capability, so file modes bind it like any user (the installed
# collection is owned by nobody and read-only).
as_user() {
  setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \
    env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH -u VIRTUAL_ENV -u STOREDESK_REPORT_DIR \
    HOME="$RUN/home" PATH="$VENV_DIR/bin:/usr/bin:/bin" ANSIBLE_COLLECTIONS_PATH="$INST" \
    ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false ANSIBLE_NOCOLOR=1 \
    ANSIBLE_DEPRECATION_WARNINGS=true "$@"
}
# A deprecation printed while the collection runs is a removal ahead: fix it now (e.g. `warnings=` in
# exit_json, deprecated in 2.19 and removed in 2.23).
no_deprecation() {
  if grep -h "DEPRECATION" "$1" | sort -u | grep .; then
    echo "matrix: deprecation warnings on $line in $(basename "$1") (above)" >&2; return 1
  fi
}
verify() {       # the installed files are still what the tarball holds
  as_user ansible-galaxy collection verify --offline storedesk.vdi >"$RUN/verify.log" 2>&1 \
    || { cat "$RUN/verify.log"; echo "matrix: ansible-galaxy collection verify failed after $1" >&2; return 1; }
}

smoke() {
  local line="$1"
  RUN="$WORK/smoke-$line"; INST="$RUN/collections"
  mkdir -p "$RUN/home" "$INST"
  (cd "$RUN" && ANSIBLE_COLLECTIONS_PATH="$INST" "$VENV_DIR/bin/ansible-galaxy" collection install --offline --force "$TARBALL" -p "$INST" >/dev/null) || return 1
  mkdir -p "$INST/ansible_collections/awx" && cp -r "$AWX" "$INST/ansible_collections/awx/awx" || return 1
  chown -R 65534:65534 "$INST" && chmod -R a-w "$INST" || return 1
  local coll="$INST/ansible_collections/storedesk/vdi"
  if as_user touch "$coll/written-by-the-user" 2>/dev/null; then
    echo "matrix: the smoke user can write the installed collection" >&2; return 1
  fi
  cp -r "$ROOT/inventories/lab" "$RUN/inventory" || return 1
  cat > "$RUN/smoke.yml" <<'YAML'
- name: Smoke run of the installed collection
  hosts: localhost
  gather_facts: false
  vars:   # a store of each ansible-core line's own (one lab serves every line)
    code: "mx-{{ '%04d' % (line | replace('.', '') | int) }}"
    vlan: "{{ line | replace('.', '') | int - 200 }}"
  module_defaults:
    group/storedesk.vdi.proxmox:
      api_host: "{{ lookup('ansible.builtin.env', 'PROXMOX_HOST_EAST') }}"
      api_port: "{{ lookup('ansible.builtin.env', 'PROXMOX_PORT_EAST') | int }}"
  tasks:
    - name: Read the cluster
      storedesk.vdi.cluster_info:
      register: cluster
    - name: A small pool
      storedesk.vdi.desktop_pool:
        image: {name: store, version: "1.0.0"}
        count: 2
        stores: "{{ [{'code': code, 'city': 'matrix', 'region': 'east', 'subnet': '10.99.%d.0/24' % (vlan | int), 'vlan': 2900 + (vlan | int)}] }}"
      register: pool
    - name: The same pool again changes nothing
      storedesk.vdi.desktop_pool:
        image: {name: store, version: "1.0.0"}
        count: 2
        stores: "{{ [{'code': code, 'city': 'matrix', 'region': 'east', 'subnet': '10.99.%d.0/24' % (vlan | int), 'vlan': 2900 + (vlan | int)}] }}"
      register: again
    - name: What the user sees
      ansible.builtin.assert:
        that:
          - cluster.nodes | length > 0
          - pool is changed
          - again is not changed
        fail_msg: "{{ {'pool': pool.stores | default(pool.msg | default('')), 'again': again.desktops | default(again.msg | default(''))} | to_json }}"
YAML
  ( cd "$RUN"
    books=(); for pb in "$coll"/playbooks/*.yml; do books+=("storedesk.vdi.$(basename "$pb" .yml)"); done
    as_user ansible-playbook --syntax-check -i inventory "${books[@]}" >"$RUN/syntax.log" 2>&1 \
      || { cat "$RUN/syntax.log"; echo "matrix: syntax-check of the shipped playbooks failed on $line" >&2; exit 1; }
    grep -c "^playbook: " "$RUN/syntax.log" | grep -qx "${#books[@]}" \
      || { cat "$RUN/syntax.log"; echo "matrix: not every playbook was syntax-checked" >&2; exit 1; }
    verify "syntax-check" || exit 1
    ANSIBLE_CALLBACKS_ENABLED=storedesk.vdi.audit_log STOREDESK_AUDIT_LOG="$RUN/home/audit/storedesk.jsonl" \
      as_user ansible-playbook smoke.yml -e "line=$line" >"$RUN/smoke.log" 2>&1 || { cat "$RUN/smoke.log"; exit 1; }
    grep -q '"module": "storedesk.vdi.desktop_pool"' "$RUN/home/audit/storedesk.jsonl" \
      || { echo "matrix: the audit log has no line for the pool task" >&2; exit 1; }
    no_deprecation "$RUN/smoke.log" || exit 1
    verify "the smoke playbook" || exit 1
    as_user ansible-playbook -i inventory storedesk.vdi.assess >"$RUN/assess.log" 2>&1 || { cat "$RUN/assess.log"; exit 1; }
    no_deprecation "$RUN/assess.log" || exit 1
    verify "storedesk.vdi.assess" || exit 1
    ls "$RUN/home/.local/share/storedesk/reports"/assessment-*.html >/dev/null \
      || { echo "matrix: no assessment report in the user's report dir" >&2; exit 1; }
  )
}

# Galaxy's own importer on the tarball: no error, and no warning that is not listed (with its reason) in
# tests/sanity/importer-warnings.txt.
if [ "${MATRIX_SKIP_IMPORTER:-}" != 1 ] && [ ${#want[@]} -eq 0 ]; then
  s=$SECONDS
  say "galaxy-importer"
  IMP="$CACHE/importer"
  if [ "$(cat "$IMP/.key" 2>/dev/null)" != "galaxy-importer" ]; then
    rm -rf "$IMP"; "$(python_for 3.11)" -m venv "$IMP"
    "$IMP/bin/python" -m pip install -q --disable-pip-version-check galaxy-importer
    echo galaxy-importer > "$IMP/.key"
  fi
  mkdir -p "$WORK/importer"
  (cd "$WORK/importer" && PATH="$IMP/bin:$PATH" HOME="$WORK/importer" "$IMP/bin/python" -m galaxy_importer.main "$TARBALL") \
    >"$WORK/importer.log" 2>&1 || { cat "$WORK/importer.log"; echo "matrix: galaxy-importer failed" >&2; exit 1; }
  known="$(grep -v '^#' "$ROOT/tests/sanity/importer-warnings.txt" | cut -d'|' -f1 | sed 's/[[:space:]]*$//; /^$/d')"
  bad="$(grep -E '^(ERROR|WARNING)' "$WORK/importer.log" | grep -vF "$known" || true)"
  grep -q "Importer processing completed successfully" "$WORK/importer.log" || bad="$bad (no success line)"
  if [ -n "$bad" ]; then
    echo "$bad"; echo "matrix: galaxy-importer reported the above (fix it, or list it with a reason in tests/sanity/importer-warnings.txt)" >&2; exit 1
  fi
  grep -E '^WARNING' "$WORK/importer.log" | sort -u | sed 's/^/  listed: /'
  echo "galaxy-importer ok ($((SECONDS - s)) s)"
fi

failed=()
for entry in $LINES; do
  line="${entry%%:*}"; py="${entry##*:}"
  selected "$line" || continue
  VENV_DIR="$(venv_for "$line" "$py")"
  core="$("$VENV_DIR/bin/python" -c 'import ansible; print(ansible.__version__)')"
  if [ "${MATRIX_SKIP_SANITY:-}" != 1 ]; then
    s=$SECONDS
    say "ansible-core $core on Python $py: sanity"
    if VENV="$VENV_DIR" TARBALL="$TARBALL" bash "$ROOT/tests/sanity/run_sanity.sh" >"$WORK/sanity-$line.log" 2>&1; then
      echo "sanity ok ($((SECONDS - s)) s)"
    else   # go on with the smoke run; the matrix fails at the end
      grep -E "^(ERROR|FATAL)" "$WORK/sanity-$line.log" | head -40
      echo "sanity FAILED ($((SECONDS - s)) s)"; failed+=("sanity $core")
    fi
  fi
  s=$SECONDS
  say "ansible-core $core on Python $py: smoke run of the installed tarball"
  if smoke "$line"; then echo "smoke ok ($((SECONDS - s)) s)"; else echo "smoke FAILED ($((SECONDS - s)) s)"; failed+=("smoke $core"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED after $((SECONDS - t0)) s: ${failed[*]}"; exit 1
fi
say "all lines passed in $((SECONDS - t0)) s"

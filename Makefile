# storedesk.vdi — the two commands of the README:
#   make demo   set up, start the embedded lab, run the rollout against it, summary + report, lab down
#   make test   everything CI checks
# Needs only python3 (3.11), make and git; everything else is installed into .venv here.

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLL := $(VENV)/collections/ansible_collections/storedesk/vdi
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(VENV)/collections
export PATH := $(BIN):$(PATH)
TIME_SCALE ?= 0.05

.PHONY: browser terminal-tools integration-pve8 docs molecule demo test setup sanity unit integration lint changelog lab-up lab-down clean matrix release release-check acceptance

setup: $(STAMP) $(COLL)

$(STAMP): requirements.txt requirements-dev.txt lab/pyproject.toml
	@command -v krb5-config >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev gcc >/dev/null)   # pywinrm[kerberos] builds pykerberos (bindep.txt)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q -e lab
	touch $(STAMP)

# The repository is the collection: ansible finds it through a link in the venv.
$(COLL):
	mkdir -p $(dir $(COLL))
	ln -sfn $(CURDIR) $(COLL)

# Headless Chromium renders the HTML reports in the tests (Debian's package).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null)

# debootstrap builds the Debian root filesystem the thin_client role converges on (tests/integration).
terminal-tools:
	@command -v debootstrap >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null)

demo: setup
	bash scripts/demo.sh

# `matrix` runs ansible-test sanity on every supported ansible-core line (so `sanity` alone is not repeated here).
test: setup browser terminal-tools matrix release-check unit integration integration-pve8 lint changelog docs molecule
	@echo "make test: all checks passed"

# The built tarball on ansible-core 2.17-2.21: galaxy-importer, sanity, and a smoke run as a user who cannot
# write the installed collection (scripts/matrix.sh; venvs cached in ~/.cache/storedesk/matrix). LINES="2.21" for one line.
matrix: setup
	bash scripts/matrix.sh $(LINES)

# A release (maintainers): version in galaxy.yml, CHANGELOG.rst and changelogs/changelog.yaml from the
# fragments, the tarball in build/. Then commit, tag VERSION and `ansible-galaxy collection publish` it.
release: setup
	@echo "$(VERSION)" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$$' || (echo "usage: make release VERSION=x.y.z" >&2; exit 1)
	sed -i 's/^version: .*/version: $(VERSION)/' galaxy.yml
	$(BIN)/antsibull-changelog lint
	ANSIBLE_COLLECTIONS_PATH= $(BIN)/antsibull-changelog release --version $(VERSION)
	$(BIN)/ansible-galaxy collection build --force --output-path build/ .
	@echo "release $(VERSION): review git diff, then commit, tag $(VERSION) and publish build/storedesk-vdi-$(VERSION).tar.gz"

# The release process works: `make release`'s changelog step in a throwaway copy (version 9.9.9).
release-check: setup
	bash scripts/release_check.sh

sanity: setup
	bash tests/sanity/run_sanity.sh

unit: setup
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/collection tests/windows_reference

integration: setup
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadfile tests/integration lab/tests

# The pool, image, access and USB suites again against a lab serving PVE 8.4 (its /version, privilege set and
# guest-agent checks: lab/storedesk_lab/pve_versions.py).
integration-pve8: setup
	STOREDESK_LAB_PVE_VERSION=8.4 $(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadfile \
	  tests/integration/test_desktop_pool.py tests/integration/test_golden_image.py \
	  tests/integration/test_store_access.py tests/integration/test_usb.py

lint: setup
	$(BIN)/ansible-lint --offline -q

changelog: setup
	$(BIN)/antsibull-changelog lint

# The chain on the embedded lab: default (site.yml), faults mid-rollout, reclaim after an event.
molecule: setup
	bash scripts/molecule.sh default
	bash scripts/molecule.sh faults
	bash scripts/molecule.sh reclaim

# HTML docs of every plugin and role (antsibull-docs + Sphinx); any warning fails.
docs: setup
	bash docs/build.sh

# The smoke flow on a real (or nested) PVE node named by PVE_ACCEPTANCE_* (docs/acceptance.md); without them
# it prints what it needs and exits 0, skipped.
acceptance: setup
	$(BIN)/pytest -p no:cacheprovider -rs tests/acceptance

lab-up: setup
	$(BIN)/lab up --time-scale $(TIME_SCALE)

lab-down:
	-$(BIN)/lab down

clean: lab-down
	rm -rf $(VENV) tests/output reports/*.json reports/*.html

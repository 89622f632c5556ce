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

.PHONY: browser docs molecule demo test setup sanity unit integration lint changelog lab-up lab-down clean

setup: $(STAMP) $(COLL)

$(STAMP): requirements.txt requirements-dev.txt lab/pyproject.toml
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

demo: setup
	bash scripts/demo.sh

test: setup browser sanity unit integration lint changelog docs molecule
	@echo "make test: all checks passed"

sanity: setup
	bash tests/sanity/run_sanity.sh

unit: setup
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/collection

integration: setup
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadfile tests/integration lab/tests

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

lab-up: setup
	$(BIN)/lab up --time-scale $(TIME_SCALE)

lab-down:
	-$(BIN)/lab down

clean: lab-down
	rm -rf $(VENV) tests/output reports/*.json reports/*.html

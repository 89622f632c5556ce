"""make acceptance: the smoke flow against a real (or nested) Proxmox VE node given by PVE_ACCEPTANCE_*.

Without them every test here is skipped and the run says what it needs (exit status 0).
Windows acceptance (WinRM against real desktops) belongs in tests/acceptance/test_windows.py, next to this.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import acceptance_target as target_mod  # noqa: E402


def pytest_report_header(config):
    if target_mod.missing():
        return target_mod.needs_text().splitlines()
    return ['acceptance target: {0} node {1} template {2}'.format(
        os.environ['PVE_ACCEPTANCE_HOST'], os.environ['PVE_ACCEPTANCE_NODE'], os.environ['PVE_ACCEPTANCE_TEMPLATE'])]


@pytest.fixture(scope='session')
def acceptance_target():
    gone = target_mod.missing()
    if gone:
        pytest.skip('no acceptance cluster: set {0} (docs/acceptance.md)'.format(', '.join(gone)))
    return target_mod.Target()

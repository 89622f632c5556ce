"""make acceptance's smoke flow (tests/acceptance) against the strict lab, so make test runs it too: the lab
stands in for the real node, with a privilege-separated token as docs/acceptance.md asks for."""

import os
import sys

import pytest

from conftest import ROOT, start_lab

sys.path.insert(0, os.path.join(ROOT, 'tests', 'acceptance'))

from acceptance_smoke import Smoke  # noqa: E402
from acceptance_target import Target  # noqa: E402


@pytest.fixture
def strict_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory, strict=True)
    yield lab
    lab.stop()


def lab_target(lab):
    pve = lab.regions['east']
    pve.add_user('automation@pve', None, comment='storedesk automation')
    pve.add_token('automation@pve', 'acceptance', 'acceptance-secret', privsep=1)
    pve.set_acl('/', 'Administrator', users=['automation@pve'], tokens=['automation@pve!acceptance'])
    return Target({'PVE_ACCEPTANCE_HOST': '{0}:{1}'.format(pve.host, pve.port),
                   'PVE_ACCEPTANCE_TOKEN_ID': 'automation@pve!acceptance',
                   'PVE_ACCEPTANCE_TOKEN_SECRET': 'acceptance-secret', 'PVE_ACCEPTANCE_NODE': 'pve-e1',
                   'PVE_ACCEPTANCE_TEMPLATE': '9100', 'PVE_ACCEPTANCE_CA_PATH': lab.cafile,
                   'PVE_ACCEPTANCE_USB_ID': '0B00:0084', 'PVE_ACCEPTANCE_REGION': 'east',
                   'ANSIBLE_COLLECTIONS_PATH': os.environ.get('ANSIBLE_COLLECTIONS_PATH') or
                   os.path.join(ROOT, '.venv', 'collections')})


def test_smoke_flow_on_the_strict_lab(strict_lab):
    target = lab_target(strict_lab)
    steps = []
    Smoke(target, log=steps.append).run()
    assert [s.split(':')[0] for s in steps] == ['images', 'pool', 'power', 'sleep', 'usb', 'push', 'clerk',
                                               'reclaim', 'cleanup']
    assert steps[-1] == 'cleanup: done'
    pve = strict_lab.regions['east']
    assert [v.vmid for v in pve.vms] == [9000, 9100]                     # nothing left behind
    assert not pve.usb_mappings and 'store-zz-9001' not in pve.pools

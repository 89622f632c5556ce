"""Fixtures for the WinRM tests: import paths, a fleet of fake desktops on loopback, runner options.

Imported explicitly by test_winrm_fake_desktops.py (pytest does not load it by itself).
"""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402

from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_scripts as ps  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import WinrmOptions  # noqa: E402
from storedesk_lab.windows import contract  # noqa: E402
from storedesk_lab.windows.testing import FleetThread, StubPve, self_signed_cert  # noqa: E402

PASSWORD = 'Pa$$w0rd-"quoted"-secret'
USER = 'storedesk'


# A test-only script in the shipped wrapper (too long for the command line: it goes through stdin), and its
# contract on the fake desktops: echoes its input back.
ECHO = ps._script('test-echo/1', '''
function Invoke-StoredeskMain {
    param($Request)
    return @{ changed = $false; result = $Request }
}
''')


@contract('test-echo/1')
def _echo(desktop, request, ctx):
    return {'changed': False, 'result': request}


def padded(script, size=20000):
    """The same script grown to `size` characters with comment lines (what a big script looks like)."""
    filler = '# ' + 'padding ' * 12 + '\n'
    return script + filler * ((size - len(script)) // len(filler) + 1)


def base_address():
    """A loopback /24 of our own (per process), so parallel test workers never collide."""
    n = os.getpid() % 200 + 20
    return '127.{0}.{1}.'.format(41 + n // 250, n % 250)


VMS = {  # vmid -> (name, usb config)
    201: ('store-001-desk-01', {'usb0': 'host=0a5f:0001', 'usb1': 'mapping=receipt-printer', 'usb2': 'spice'}),
    202: ('store-001-desk-02', {'usb0': 'host=1-2.3'}),
    203: ('store-002-desk-01', {}),
    204: ('store-002-desk-02', {}),
    205: ('store-003-desk-01', {}),
    206: ('store-003-desk-02', {}),
}


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """A running fleet: fleet thread, stub pve, {vmid: address}, CA file."""
    prefix = base_address()
    addresses = dict((vmid, prefix + str(i + 1)) for i, vmid in enumerate(VMS))
    certfile, keyfile = self_signed_cert(str(tmp_path_factory.mktemp('tls')), hosts=list(addresses.values()))
    pve = StubPve(time_scale=0.0)
    for vmid, (name, usb) in VMS.items():
        pve.add(vmid, name, config=usb)
    mappings = {('receipt-printer', 'pve1'): '04B8:0202'}
    fleet = FleetThread(pve, users={USER: PASSWORD}, tls=(certfile, keyfile), boot_secs=100.0,
                        tls_port=5986, usb_mapping_lookup=lambda mid, node: mappings.get((mid, node)))
    for vmid, address in addresses.items():
        fleet.attach(vmid, address)
    yield {'fleet': fleet, 'pve': pve, 'addr': addresses, 'ca': certfile}
    fleet.close()


def options(**overrides):
    kwargs = dict(user=USER, password=PASSWORD, connection_timeout=3, operation_timeout=10, concurrency=8,
                  retries=2, backoff=0.05, backoff_max=0.2)
    kwargs.update(overrides)
    return WinrmOptions(**kwargs).checked()


def serve_fleet(addresses, pipe):
    """Child process (spawn): fake desktops on `addresses` until told to stop. For tests whose client forks:
    a fleet thread in the forking process would be copied into every child mid-flight."""
    pve = StubPve(time_scale=0.0)
    fleet = FleetThread(pve, users={USER: PASSWORD})
    for i, address in enumerate(addresses):
        pve.add(500 + i, 'fanout-{0:02d}'.format(i))
        fleet.attach(500 + i, address)
    pipe.send('ready')
    pipe.recv()
    fleet.close()

"""make acceptance, Windows part: the shipped scripts against a real Windows 11 24H2 desktop over WinRM.

Needs WINRM_ACCEPTANCE_HOST, WINRM_ACCEPTANCE_USER, WINRM_ACCEPTANCE_PASSWORD (a local administrator; NTLM over
http 5985 unless WINRM_ACCEPTANCE_SCHEME=https). Optional, each enabling one more test:
  WINRM_ACCEPTANCE_DRIVER       driver package: a controller path (folder or zip, pushed) or an https URL of a zip
  WINRM_ACCEPTANCE_DRIVER_INF   its INF (e.g. oemsetup.inf); WINRM_ACCEPTANCE_DRIVER_NAME the printer driver name
  WINRM_ACCEPTANCE_SHARE        a UNC folder with WINRM_ACCEPTANCE_MARKER in it, read with WINRM_ACCEPTANCE_SHARE_USER /
                                WINRM_ACCEPTANCE_SHARE_PASSWORD (the second hop)
  WINRM_ACCEPTANCE_USB          a VID:PID that must be present (e.g. 05e0:1200)
Without the host every test is skipped and says what it needs (exit status 0). What a run leaves on the desktop:
the driver in the driver store and HKLM:\\SOFTWARE\\StoredeskAcceptance (the printer and drive are removed).
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _win_devices as wd
from ansible_collections.storedesk.vdi.plugins.module_utils._file_push import run_after_pushes
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_image import IMAGE_REGISTRY
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_sysprep import IMAGE_READY
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_printer import WIN_PRINTER
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_scripts import PROBE
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_user_drive import WIN_USER_DRIVE
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import WinrmOptions, run_on_desktop

NEEDED = ('WINRM_ACCEPTANCE_HOST', 'WINRM_ACCEPTANCE_USER', 'WINRM_ACCEPTANCE_PASSWORD')
PRINTER = 'Storedesk Acceptance'


def env(name):
    return os.environ.get(name) or None


@pytest.fixture(scope='module')
def desktop():
    missing = [n for n in NEEDED if not env(n)]
    if missing:
        pytest.skip('no Windows acceptance desktop: set {0} (a Windows 11 24H2 desktop with WinRM; optional '
                    'WINRM_ACCEPTANCE_DRIVER[_INF,_NAME], WINRM_ACCEPTANCE_SHARE[_USER,_PASSWORD], '
                    'WINRM_ACCEPTANCE_MARKER, WINRM_ACCEPTANCE_USB)'.format(', '.join(missing)))
    options = WinrmOptions(user=env('WINRM_ACCEPTANCE_USER'), password=env('WINRM_ACCEPTANCE_PASSWORD'),
                           scheme=env('WINRM_ACCEPTANCE_SCHEME') or 'http',
                           validate_certs=env('WINRM_ACCEPTANCE_VALIDATE_CERTS') != 'false',
                           operation_timeout=600, retries=1).checked()
    return options, {'name': 'acceptance', 'address': env('WINRM_ACCEPTANCE_HOST')}


def run(desktop, script, payload, idempotent=True):
    options, target = desktop
    record = run_on_desktop(options, target, script, payload, idempotent=idempotent)
    assert record['ok'], '{0}: {1} ({2})'.format(record.get('error_step'), record['error'], record['error_category'])
    return record['result']


def probe(desktop):
    return run(desktop, PROBE, {'backends': []})


def test_probe_reads_a_windows_11_24h2_desktop_and_mounts_no_hive(desktop):
    facts = probe(desktop)
    assert 'Windows 11' in facts['os']['caption'] and int(facts['os']['build']) >= 26100, facts['os']
    assert all(p['source'] in ('loaded', 'not loaded') for p in facts['default_printers'])
    assert isinstance(facts['usb_devices'], list)


def test_usb_device_is_present(desktop):
    wanted = env('WINRM_ACCEPTANCE_USB')
    if not wanted:
        pytest.skip('set WINRM_ACCEPTANCE_USB=VVVV:PPPP to check a device')
    present = [d['vid_pid'].lower() for d in probe(desktop)['usb_devices']]
    assert wanted.lower() in present, present


def test_printer_with_a_real_driver_package(desktop):
    package, inf, name = env('WINRM_ACCEPTANCE_DRIVER'), env('WINRM_ACCEPTANCE_DRIVER_INF'), \
        env('WINRM_ACCEPTANCE_DRIVER_NAME')
    if not (package and inf and name):
        pytest.skip('set WINRM_ACCEPTANCE_DRIVER, WINRM_ACCEPTANCE_DRIVER_INF and WINRM_ACCEPTANCE_DRIVER_NAME')
    options, target = desktop
    printer = {'name': PRINTER, 'driver': name, 'host': '192.0.2.10', 'port': None, 'protocol': 'raw',
               'queue': None, 'shared': False, 'share_name': None, 'comment': None, 'location': None,
               'default': False, 'state': 'present'}
    payload = wd.printer_payload({'printers': [printer], 'drivers': [{'name': name, 'inf': inf, 'package': package}]})
    try:
        records = run_after_pushes(options, [target], WIN_PRINTER, payload, wd.pushes(payload))
        record = wd.desktop_record(records[0])
        assert record['status'] in ('ok', 'changed'), record.get('error')
        facts = probe(desktop)
        assert name in [d['name'] for d in facts['printer_drivers']]
        assert PRINTER in [p['name'] for p in facts['printers']]
    finally:
        run(desktop, WIN_PRINTER, dict(wd.printer_payload({'printers': [dict(printer, state='absent')]}), check=False))


def test_library_drive_for_every_user_with_the_marker_read_through_the_share_account(desktop):
    share, marker = env('WINRM_ACCEPTANCE_SHARE'), env('WINRM_ACCEPTANCE_MARKER')
    user, password = env('WINRM_ACCEPTANCE_SHARE_USER'), env('WINRM_ACCEPTANCE_SHARE_PASSWORD')
    if not (share and marker and user and password):
        pytest.skip('set WINRM_ACCEPTANCE_SHARE, WINRM_ACCEPTANCE_MARKER, WINRM_ACCEPTANCE_SHARE_USER and '
                    'WINRM_ACCEPTANCE_SHARE_PASSWORD')
    params = {'letter': 'Y:', 'unc': share, 'marker': marker, 'share_user': user, 'share_password': password}
    try:
        result = run(desktop, WIN_USER_DRIVE, wd.drive_payload(params))
        assert result['marker']['visible'], result['marker']
        assert all(i['status'] in ('changed', 'ok', 'skipped') for i in result['items']), result['items']
    finally:
        run(desktop, WIN_USER_DRIVE, wd.drive_payload(dict(params, state='absent', marker=None)))


def test_minimal_image_step(desktop):
    ready = run(desktop, IMAGE_READY, {'sysprep': True})
    assert ready['image_state'] and ready['sysprep']['running'] is False
    done = run(desktop, IMAGE_REGISTRY, {'settings': [
        {'path': 'HKLM:\\SOFTWARE\\StoredeskAcceptance', 'name': 'LastRun', 'type': 'String', 'value': 'acceptance'},
        {'path': 'HKDU:\\Software\\StoredeskAcceptance', 'name': 'LastRun', 'type': 'String', 'value': 'acceptance'}]})
    assert [s['name'] for s in done['settings']] == ['LastRun', 'LastRun']
    again = run(desktop, IMAGE_REGISTRY, {'settings': [
        {'path': 'HKLM:\\SOFTWARE\\StoredeskAcceptance', 'name': 'LastRun', 'type': 'String', 'value': 'acceptance'}]})
    assert not again['settings'][0]['changed']

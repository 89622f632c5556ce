"""desktop_printer / desktop_drive input checks and records (pure), and their scripts on a fake desktop model."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from ansible_collections.storedesk.vdi.plugins.module_utils import _win_devices as wd  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_printer import WIN_PRINTER
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_user_drive import WIN_USER_DRIVE  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import with_input  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))), 'lab'))
from storedesk_lab.windows import UserProfile, WindowsDesktop  # noqa: E402
from storedesk_lab.windows.powershell import run_script  # noqa: E402

PKG = '\\\\hq-files\\drivers\\epson'
DRIVERS = [{'name': 'EPSON TM-T88VI Receipt', 'inf': 'oemsetup.inf', 'package': PKG}]
SHARE = {'share_user': 'HQ\\svc-storedesk', 'share_password': 'Sh4re-Secret!'}


def printer(**kw):
    base = {'name': 'Receipt', 'driver': 'EPSON TM-T88VI Receipt', 'host': '10.21.1.50', 'port': None,
            'protocol': 'raw', 'queue': None, 'shared': False, 'share_name': None, 'comment': None,
            'location': None, 'default': True, 'state': 'present'}
    base.update(kw)
    return base


def test_printer_payload():
    payload = wd.printer_payload({'printers': [printer(), printer(name='Old', state='absent'),
                                               printer(name='Labels', host='10.21.1.51', port=9101, default=False),
                                               printer(name='Lpr', protocol='lpr', queue='q1', default=False)],
                                  'drivers': DRIVERS, 'test_page': True, **SHARE})
    assert [p['name'] for p in payload['ports']] == ['IP_10.21.1.50', 'IP_10.21.1.51_9101', 'LPR_10.21.1.50_q1']
    assert payload['ports'][2]['port'] == 515
    assert payload['absent'] == ['Old'] and payload['default_printer'] == 'Receipt'
    assert payload['drivers'] == DRIVERS and payload['test_page'] == ['Receipt', 'Labels', 'Lpr']
    assert payload['credential'] == {'user': 'HQ\\svc-storedesk', 'password': 'Sh4re-Secret!'}
    assert 'Microsoft Print to PDF' in payload['builtin']


@pytest.mark.parametrize('bad,message', [
    (printer(host='10.21.1.300'), "host '10.21.1.300' is not an IP address"),
    (printer(host='printer01'), "host 'printer01' is not an IP address"),
    (printer(port=70000), 'not a TCP port'),
    (printer(protocol='lpr'), 'needs queue'),
    (printer(name='a,b'), 'may not be empty or hold'),
    (printer(driver=None), 'driver and host are required'),
])
def test_printer_input_errors(bad, message):
    with pytest.raises(InputError, match=message):
        wd.printer_payload({'printers': [bad]})


def test_two_defaults_and_bad_packages_are_refused():
    with pytest.raises(InputError, match='more than one printer has default'):
        wd.printer_payload({'printers': [printer(), printer(name='B')]})
    with pytest.raises(InputError, match='nor a UNC folder'):
        wd.printer_payload({'printers': [printer()], 'drivers': [dict(DRIVERS[0], package='C:\\drivers')]})


def test_a_unc_package_without_share_credentials_is_refused_as_a_second_hop():
    """Defect 1 (second hop): a UNC read inside the WinRM session is access denied on Windows; refuse it up front."""
    with pytest.raises(InputError) as err:
        wd.printer_payload({'printers': [printer()], 'drivers': DRIVERS})
    assert 'second hop' in str(err.value) and 'share_user/share_password' in str(err.value)
    with pytest.raises(InputError) as err:
        wd.drive_payload({'letter': 'M:', 'unc': '\\\\hq\\materials', 'marker': 'v.txt'})
    assert 'second hop' in str(err.value)
    pushed = wd.printer_payload({'printers': [printer()], 'drivers': [dict(DRIVERS[0], package='/srv/drivers/epson.zip')]})
    assert pushed['credential'] is None and wd.pushes(pushed) == [('/srv/drivers/epson.zip', '/srv/drivers/epson.zip')]


def test_drive_payload():
    assert wd.drive_payload({'letter': 'm:', 'unc': '\\\\hq\\materials\\', 'marker': 'v.txt', **SHARE}) == {
        'check': False, 'letter': 'M', 'unc': '\\\\hq\\materials', 'state': 'present', 'marker': 'v.txt',
        'credential': {'user': 'HQ\\svc-storedesk', 'password': 'Sh4re-Secret!'}}
    for bad, message in (({'letter': 'C:', 'unc': '\\\\a\\b'}, 'not a drive letter'),
                         ({'letter': 'MM', 'unc': '\\\\a\\b'}, 'not a drive letter'),
                         ({'letter': 'M', 'unc': '/mnt/x'}, 'not a UNC path'),
                         ({'letter': 'M', 'unc': '\\\\a'}, 'not a UNC path'),
                         ({'letter': 'M', 'unc': '\\\\a\\b', 'marker': '..\\x', **SHARE}, 'without a path')):
        with pytest.raises(InputError, match=message):
            wd.drive_payload(bad)


def run(desktop, script, payload):
    execution = run_script(desktop, with_input(script, payload))
    doc = json.loads(execution.stdout.decode('utf-8'))
    assert doc['ok'], doc
    return doc


def a_desktop():
    desktop = WindowsDesktop(vmid=1, computer_name='D1')
    desktop.profiles.append(UserProfile('S-1-5-21-1-2-3-1001', 'li.wei'))
    desktop.unc_files[PKG] = {'oemsetup.inf': {'printer_drivers': ['EPSON TM-T88VI Receipt']}}
    return desktop


def test_printer_script_on_the_fake_then_idempotent_and_check_mode_changes_nothing():
    desktop = a_desktop()
    payload = wd.printer_payload({'printers': [printer()], 'drivers': DRIVERS, **SHARE})
    checked = run(desktop, WIN_PRINTER, dict(payload, check=True))
    assert not checked['changed'] and 'Receipt' not in desktop.printers and not desktop.driver_store
    assert any(i['status'] == 'changed' for i in checked['result']['items'])
    first = run(desktop, WIN_PRINTER, payload)
    assert first['changed'] and desktop.printers['Receipt']['port'] == 'IP_10.21.1.50'
    assert [p.default_printer for p in desktop.profiles + [desktop.default_user]] == ['Receipt', 'Receipt']
    record = wd.desktop_record({'name': 'D1', 'address': 'x', 'ok': True, 'result': first['result'], 'attempts': 1,
                                'elapsed': 0.1})
    assert record['status'] == 'changed'
    again = run(desktop, WIN_PRINTER, payload)
    assert not again['changed'] and all(i['status'] == 'ok' for i in again['result']['items'])


def test_printer_script_reports_an_inf_missing_from_the_package_and_skips_what_depends_on_it():
    desktop = a_desktop()
    payload = wd.printer_payload({'printers': [printer()], 'drivers': [dict(DRIVERS[0], inf='missing.inf')],
                                  **SHARE})
    doc = run(desktop, WIN_PRINTER, payload)
    record = wd.desktop_record({'name': 'D1', 'address': 'x', 'ok': True, 'result': doc['result'], 'attempts': 1,
                                'elapsed': 0.1})
    assert record['status'] == 'failed'
    assert 'driver EPSON TM-T88VI Receipt: pnputil.exe /add-driver ' in record['error']
    assert 'missing.inf /install exited with code ' in record['error'] and '(allowed: 0, 259, 3010)' in record['error']
    assert 'Failed to add driver package' in record['error']
    assert 'add port IP_10.21.1.50' in record['error']          # what was done besides is said
    statuses = dict((i['kind'], i['status']) for i in doc['result']['items'])
    assert statuses == {'driver': 'failed', 'port': 'changed', 'printer': 'skipped', 'default': 'skipped'}


def test_drive_script_on_the_fake():
    desktop = a_desktop()
    desktop.unc_files['\\\\hq\\materials'] = {'promo-version.txt': '2026.11-w48\n'}
    payload = wd.drive_payload({'letter': 'M:', 'unc': '\\\\hq\\materials', 'marker': 'promo-version.txt',
                                **SHARE})
    doc = run(desktop, WIN_USER_DRIVE, payload)
    assert doc['changed'] and doc['result']['marker']['content'] == '2026.11-w48'
    assert desktop.profiles[0].mapped_drives == {'M:': '\\\\hq\\materials'}
    assert desktop.default_user.mapped_drives == {'M:': '\\\\hq\\materials'}
    assert not run(desktop, WIN_USER_DRIVE, payload)['changed']
    missing = run(desktop, WIN_USER_DRIVE, dict(payload, marker='nope.txt'))
    record = wd.desktop_record({'name': 'D1', 'address': 'x', 'ok': True, 'result': missing['result'],
                                'attempts': 1, 'elapsed': 0.1})
    assert record['status'] == 'failed' and 'not visible' in record['error']


# ------------------------------------------------------------------ hives (defect 4) on the lab's PowerShell model

def drive_payload_for(desktop, **over):
    desktop.unc_files['\\\\hq\\materials'] = {'promo-version.txt': '2026.11-w48\n'}
    return dict(wd.drive_payload({'letter': 'M:', 'unc': '\\\\hq\\materials', 'marker': 'promo-version.txt', **SHARE}),
                **over)


def test_stale_and_entra_profiles_are_skipped_with_a_reason_and_the_desktop_is_configured():
    """A profile without NTUSER.DAT used to fail the whole desktop on every run."""
    desktop = a_desktop()
    desktop.profiles.append(UserProfile('S-1-5-21-1-2-3-1002', 'left.store', hive_file=False))
    desktop.profiles.append(UserProfile('S-1-12-1-111-222-333-444', 'entra.user'))
    doc = run(desktop, WIN_USER_DRIVE, drive_payload_for(desktop))
    record = wd.desktop_record({'name': 'D1', 'address': 'x', 'ok': True, 'result': doc['result'], 'attempts': 1,
                                'elapsed': 0.1})
    assert record['status'] == 'changed', record.get('error')
    skipped = dict((i['name'], i['error']) for i in doc['result']['items'] if i['status'] == 'skipped')
    assert skipped == {'left.store (S-1-5-21-1-2-3-1002)': 'stale profile: no NTUSER.DAT in C:\\Users\\left.store',
                       'entra.user (S-1-12-1-111-222-333-444)': 'stale profile: Entra ID profile (managed through Intune)'}
    assert desktop.profiles[0].mapped_drives == {'M:': '\\\\hq\\materials'}
    assert not desktop.mounts


def test_check_mode_and_probes_mount_no_hive():
    from ansible_collections.storedesk.vdi.plugins.module_utils._ps_scripts import PROBE
    desktop = a_desktop()
    doc = run(desktop, WIN_USER_DRIVE, drive_payload_for(desktop, check=True))
    assert desktop.hive_loads == 0 and not doc['changed']
    statuses = [i['status'] for i in doc['result']['items']]
    assert statuses == ['skipped', 'skipped'] and 'not mounted in check mode' in doc['result']['items'][0]['error']
    probe = run(desktop, PROBE, {'backends': []})
    assert desktop.hive_loads == 0
    assert [(d['user'], d['source']) for d in probe['result']['default_printers']] == [('li.wei', 'not loaded')]


def test_a_mount_left_by_a_stopped_run_is_unloaded_before_ours():
    desktop = a_desktop()
    desktop.mounts['StoredeskDevices'] = desktop.profiles[0]            # the fixed name of older versions
    doc = run(desktop, WIN_USER_DRIVE, drive_payload_for(desktop))
    assert all(i['status'] == 'changed' for i in doc['result']['items']), doc['result']['items']
    assert not desktop.mounts


def test_the_module_warns_about_each_skipped_stale_profile():
    class Module(object):
        check_mode, _diff = False, False
        params = dict(desktops=[{'name': 'D1', 'address': '10.0.0.1'}], store=None, winrm_user='u', winrm_password='p',
                      fail_on_unreachable=False, letter='M:', unc='\\\\hq\\materials', marker=None)

        def __init__(self):
            self.warnings, self.exit = [], None

        def warn(self, text):
            self.warnings.append(text)

        def exit_json(self, **result):
            self.exit = result
            raise SystemExit(0)

        fail_json = exit_json

    items = [{'kind': 'drive', 'name': 'left.store (S-1-5-21-1-2-3-1002)', 'status': 'skipped', 'actions': [],
              'error': 'stale profile: no NTUSER.DAT in C:\\Users\\left.store'},
             {'kind': 'drive', 'name': 'li.wei (S-1-5-21-1-2-3-1001)', 'status': 'changed', 'actions': ['present M:'],
              'error': None}]

    def runner(options, desktops, script, payload, idempotent):
        return [{'name': 'D1', 'address': '10.0.0.1', 'ok': True, 'changed': True, 'attempts': 1, 'elapsed': 0.1,
                 'result': {'items': items, 'marker': None}, 'error': None, 'error_category': None}]
    module = Module()
    result = wd.execute(module, None, WIN_USER_DRIVE, wd.drive_payload, runner=runner)
    assert result['desktops'][0]['status'] == 'changed'
    assert module.warnings == ['D1: drive left.store (S-1-5-21-1-2-3-1002) skipped - stale profile: no NTUSER.DAT in '
                               'C:\\Users\\left.store']

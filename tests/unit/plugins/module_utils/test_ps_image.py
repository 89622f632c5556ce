"""The golden image's step scripts run on the lab's PowerShell model of a Windows 11 desktop: pnputil's exit codes,
the Default User hive mounted safely, sysprep's checks, constrained language mode."""

from __future__ import annotations

import json
import os
import sys

from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_image as pi
from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_sysprep as ps_sysprep
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import with_input

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), 'lab'))
from storedesk_lab.windows import UserProfile, WindowsDesktop  # noqa: E402
from storedesk_lab.windows.powershell import run_script  # noqa: E402

PKG = '\\\\hq-files\\drivers\\zebra-zd421'
CREDENTIAL = {'user': 'HQ\\svc-storedesk', 'password': 'Sh4re-Secret!'}


def run(desktop, script, payload):
    execution = run_script(desktop, with_input(script, payload))
    assert execution.stdout, execution.stderr
    return json.loads(execution.stdout.decode('utf-8'))


def a_desktop():
    desktop = WindowsDesktop(vmid=1, computer_name='BUILD')
    desktop.profiles.append(UserProfile('S-1-5-21-1-2-3-1001', 'storedesk'))
    return desktop


def test_a_printer_driver_staged_before_its_printer_is_success():
    """Defect 2 (pnputil 259): no present device matches a printer INF on a build VM; pnputil says 259, not failure."""
    desktop = a_desktop()
    desktop.files['C:\\Staged\\zebra\\ZDesigner.inf'] = {'bytes': 10, 'source': None,
                                                          'content': {'printer_drivers': ['ZDesigner ZD421-203dpi ZPL']}}
    doc = run(desktop, pi.IMAGE_DRIVER, {'name': 'Zebra ZD421', 'source': 'C:\\Staged\\zebra', 'inf': 'ZDesigner.inf'})
    assert doc['ok'], doc
    result = doc['result']
    assert result['exit_code'] == 259 and result['device_matched'] is False and not result['reboot_required']
    assert desktop.driver_store[result['published_name']]['original'].lower() == 'zdesigner.inf'


def test_a_driver_package_on_a_share_is_read_with_its_own_credentials_not_the_sessions():
    """Defect 1 (second hop): the WinRM session holds no credentials for the file server."""
    desktop = a_desktop()
    desktop.unc_files[PKG] = {'ZDesigner.inf': {'printer_drivers': ['ZDesigner ZD421-203dpi ZPL']}}
    payload = {'name': 'Zebra ZD421', 'source': PKG, 'inf': 'ZDesigner.inf'}
    refused = run(desktop, pi.IMAGE_DRIVER, payload)
    assert not refused['ok'] and refused['error']['step'] == 'copy' and 'second hop' in refused['error']['message']
    doc = run(desktop, pi.IMAGE_DRIVER, dict(payload, credential=CREDENTIAL))
    assert doc['ok'], doc
    assert doc['result']['published_name'] in desktop.driver_store


def test_a_missing_inf_is_pnputils_own_error_with_the_allowed_codes():
    desktop = a_desktop()
    desktop.unc_files[PKG] = {'ZDesigner.inf': {'printer_drivers': ['ZDesigner ZD421-203dpi ZPL']}}
    doc = run(desktop, pi.IMAGE_DRIVER, {'name': 'Zebra ZD421', 'source': PKG, 'inf': 'missing.inf',
                                         'credential': CREDENTIAL})
    assert not doc['ok'] and doc['error']['step'] == 'pnputil'
    assert 'exited with code 2 (allowed: 0, 259, 3010)' in doc['error']['message']
    assert 'Failed to add driver package' in doc['error']['message']
    assert not desktop.driver_store


def test_a_hive_left_mounted_by_a_stopped_run_is_unloaded_first():
    """Defect 4 (hives): a run stopped by a time-out left the Default User hive mounted under our old fixed name."""
    desktop = a_desktop()
    desktop.mounts['StoredeskDefault'] = desktop.default_user
    doc = run(desktop, pi.IMAGE_REGISTRY, {'settings': [
        {'path': 'HKDU:\\Software\\Policies\\Microsoft\\Edge', 'name': 'HideFirstRunExperience', 'type': 'DWord',
         'value': 1}]})
    assert doc['ok'], doc
    assert not desktop.mounts
    values = desktop.default_user.hive['Software\\Policies\\Microsoft\\Edge']
    assert values['HideFirstRunExperience']['value'] == 1


def test_each_run_mounts_under_a_name_of_its_own_and_unloads_it():
    desktop = a_desktop()
    payload = {'drive': 'M:', 'unc': '\\\\hq-files\\materials', 'label': 'Materials'}
    for _ in range(2):
        assert run(desktop, pi.IMAGE_LIBRARY, payload)['ok']
    loads = [e for e in desktop.events if str(e).startswith('reg load ')]
    assert len(loads) == 2 and len(set(loads)) == 2 and all(e.startswith('reg load Storedesk_') for e in loads)
    assert not desktop.mounts


def test_sysprep_is_not_started_while_a_reboot_is_pending():
    desktop = a_desktop()
    desktop.reboot_pending = True
    doc = run(desktop, ps_sysprep.IMAGE_SYSPREP, {'mode_vm': True})
    assert not doc['ok'] and doc['error']['step'] == 'reboot-pending'
    assert 'a reboot is pending' in doc['error']['message']
    assert 'sysprep' not in desktop.processes


def test_constrained_language_mode_is_named():
    desktop = a_desktop()
    desktop.language_mode = 'ConstrainedLanguage'
    doc = run(desktop, ps_sysprep.IMAGE_READY, {})
    assert not doc['ok'] and doc['error']['step'] == 'language-mode'
    assert 'ConstrainedLanguage' in doc['error']['message'] and 'FullLanguage' in doc['error']['message']

"""Every phase refuses bad input before its first write: the play fails naming the store, the field and the fix,
and the lab's request log shows no write in any region (checked through the lab, not through our output)."""

import os
import shutil

import pytest
import yaml

from conftest import ROOT, run_playbook

WRITES = ('POST', 'PUT', 'DELETE')


def writes(lab):
    """Writes each region's API has seen (logins are not writes)."""
    return dict((name, [(m, p) for m, p, _b in pve.requests if m in WRITES and not p.endswith('/access/ticket')])
                for name, pve in lab.regions.items())


def inventory(tmp_path, host_vars=None, group_vars=None):
    """The lab inventory with some host / group vars replaced."""
    path = tmp_path / 'inventory'
    shutil.copytree(os.path.join(ROOT, 'inventories', 'lab'), str(path))
    for host, data in (host_vars or {}).items():
        file = path / 'host_vars' / (host + '.yml')
        current = yaml.safe_load(file.read_text()) if file.exists() else {}
        current.update(data)
        file.write_text(yaml.safe_dump(current))
    for name, data in (group_vars or {}).items():
        (path / 'group_vars' / 'all' / (name + '.yml')).write_text(yaml.safe_dump(data))
    return str(path)


CASES = [
    # a host's store_desktops replaces the group's whole mapping: baseline and spares are gone
    ('scale_event.yml', {'stores': 'sh-0002'}, {'sh-0002': {'store_desktops': {'event': 12}}}, None,
     ['store sh-0002: store_desktops.baseline: None is not a count', 'give baseline, event and spares together']),
    ('reclaim.yml', {'stores': 'sh-0002', 'reclaim_backup': 'none'},
     {'sh-0002': {'store_desktops': {'baseline': 'four', 'event': 8, 'spares': 1}}}, None,
     ["store sh-0002: store_desktops.baseline: 'four' is not a count"]),
    ('reclaim.yml', {'stores': 'sh-0002', 'reclaim_to': 'half'}, None, None,
     ["reclaim_to: 'half' is not a choice (one of baseline, zero)"]),
    ('accounts.yml', {'access_stores': 'sh-0001', 'access_action': 'onboard'},
     {'sh-0001': {'store_staff': [{'user': 'ms.clerk@pve', 'role': 'store_clerk', 'expires': 1798675200000},
                                  {'user': 'li.wei@pve', 'role': 'store_manager'}]}}, None,
     ["store sh-0001: store_staff: expires 1798675200000 is after the year 2100: epoch milliseconds? of "
      "'ms.clerk@pve' (give epoch seconds (1798675200)"]),
    # the pilot looks at its gate's thresholds before it deploys anything
    ('pilot.yml', {}, None, {'zz_kpi': {'storedesk_kpi_thresholds': {'ready_seconds': 'fast', 'print_success_pct': 150}}},
     ["storedesk_kpi_thresholds.ready_seconds: 'fast' is not a number >= 0",
      'storedesk_kpi_thresholds.print_success_pct: 150 is above 100 %']),
    # multi-region: a problem in the second region (west) stops the run before the first (east) is touched
    ('rollout.yml', {'wave': 'wave1'}, {'cd-0201': {'store_subnet': '10.21.2.0/24'}}, None,
     ['store sh-0002: store_subnet: 10.21.2.0/24 overlaps 10.21.2.0/24 of store cd-0201']),
    ('rollout.yml', {'wave': 'wave9'}, None, None, ["wave: 'wave9' is not a wave of the inventory"]),
    # rollout_wave.yml run alone (not through rollout.yml) validates the whole estate and its request first
    ('rollout_wave.yml', {'rollout_wave': 'wave1'}, {'cd-0201': {'store_subnet': '10.21.2.0/24'}}, None,
     ['store sh-0002: store_subnet: 10.21.2.0/24 overlaps 10.21.2.0/24 of store cd-0201']),
    ('rollout_wave.yml', {'rollout_wave': 'wave7'}, None, None,
     ["rollout_wave: 'wave7' is not a wave of the inventory"]),
    ('assess.yml', {}, {'cd-0204': {'store_devices': {'printers': [
        {'name': 'Receipt', 'driver': 'EPSON TM-T88VI Receipt', 'host': '10.31.1.50', 'port': 9100}]}}}, None,
     ["store cd-0204: store_devices.printers: 10.31.1.50 of printer 'Receipt' is not a host of the store subnet "
      "10.31.4.0/24"]),
    ('power.yml', {'power_action': 'sleep'}, None, None, ["power_action: 'sleep' is not a choice"]),
    ('build_image.yml', {'build_image_only': ['north']}, None, None, ["build_image_only: unknown regions ['north']"]),
]


@pytest.mark.parametrize('playbook,extra,host_vars,group_vars,expect', CASES,
                         ids=['{0}-{1}'.format(c[0], i) for i, c in enumerate(CASES)])
def test_phase_refuses_bad_input_before_its_first_write(lab, tmp_path, playbook, extra, host_vars, group_vars,
                                                         expect):
    inv = inventory(tmp_path, host_vars, group_vars)
    before = writes(lab)
    proc = run_playbook(lab, 'playbooks/' + playbook, dict(extra, report_dir=str(tmp_path / 'reports')),
                        args=['-i', inv])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    for text in expect:
        assert text in out, out[-3000:]
    assert 'nothing was changed' in out
    assert writes(lab) == before, 'the run wrote to the API before failing'


def test_missing_credentials_are_refused_before_any_call(lab, tmp_path):
    before = dict((name, len(pve.requests)) for name, pve in lab.regions.items())
    proc = run_playbook(lab, 'playbooks/assess.yml', {'report_dir': str(tmp_path / 'reports')},
                        env={'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': '', 'PROXMOX_PASSWORD': ''})
    assert proc.returncode != 0
    assert 'PROXMOX credentials: neither an API token nor a password is set' in proc.stdout, proc.stdout[-2000:]
    assert dict((name, len(pve.requests)) for name, pve in lab.regions.items()) == before


def test_a_secret_file_that_is_not_there_is_refused_before_any_call(lab, tmp_path):
    """A credential given as a file (AWX file injector, <NAME>_FILE) that does not exist: named, nothing called."""
    before = dict((name, len(pve.requests)) for name, pve in lab.regions.items())
    missing = str(tmp_path / 'awx_token')
    proc = run_playbook(lab, 'playbooks/assess.yml', {'report_dir': str(tmp_path / 'reports')},
                        env={'PROXMOX_TOKEN_SECRET': '', 'PROXMOX_PASSWORD': '', 'PROXMOX_TOKEN_SECRET_FILE': missing})
    assert proc.returncode != 0
    assert 'PROXMOX_TOKEN_SECRET_FILE: names no readable file' in proc.stdout, proc.stdout[-2000:]
    assert dict((name, len(pve.requests)) for name, pve in lab.regions.items()) == before


def test_secrets_given_as_files_are_read(lab, tmp_path):
    """The same run with the token secret and the WinRM password in files, not in the environment."""
    env = {'PROXMOX_TOKEN_SECRET': '', 'PROXMOX_PASSWORD': '', 'STOREDESK_WINRM_PASSWORD': ''}
    for name, value in (('PROXMOX_TOKEN_SECRET', lab.token_secret), ('STOREDESK_WINRM_PASSWORD', lab.winrm_password)):
        (tmp_path / name).write_text(value + '\n')
        env[name + '_FILE'] = str(tmp_path / name)
    proc = run_playbook(lab, 'playbooks/power.yml', {'power_action': 'start', 'stores': 'sh-0001'},
                        args=['-i', inventory(tmp_path)], env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_good_inventory_passes_the_check(lab, tmp_path):
    proc = run_playbook(lab, 'playbooks/power.yml', {'power_action': 'start', 'stores': 'sh-0001'},
                        args=['-i', inventory(tmp_path)])
    assert proc.returncode == 0, proc.stdout[-3000:]

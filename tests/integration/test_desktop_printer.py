"""desktop_printer and desktop_drive on the lab's fake Windows desktops, checked on the desktops' state.

Store hz-0102: two running desktops (4421, 4422) and one that is off (4423). Desktops are resolved by store
code through the PVE API (guest-agent addresses), as the peripherals role does.
"""

import pytest

from conftest import api, run_module

from storedesk_lab.windows import UserProfile, contracts_image

STORE = 'hz-0102'
EPSON = 'EPSON TM-T88VI Receipt'
ZEBRA = 'ZDesigner ZD421-203dpi ZPL'
DRIVERS = [
    {'name': EPSON, 'inf': 'oemsetup.inf', 'package': '\\\\hq-files.storedesk.example\\drivers\\epson-tm-t88vi'},
    {'name': ZEBRA, 'inf': 'ZDesigner.inf', 'package': '\\\\hq-files.storedesk.example\\drivers\\zebra-zd421'},
]
PRINTERS = [
    {'name': 'Receipt', 'driver': EPSON, 'host': '10.22.2.50', 'port': 9100, 'default': True},
    {'name': 'Labels', 'driver': ZEBRA, 'host': '10.22.2.51', 'port': 9100},
]
LIBRARY = '\\\\hq-files.storedesk.example\\materials'
RUNNING = (4421, 4422)
SHARE = {'share_user': 'HQ\\svc-storedesk', 'share_password': 'Sh4re-Secret!'}   # the second hop: explicit credentials


@pytest.fixture(scope='module')
def store(lab):
    session = api(lab)
    base, verify = session.base, session.verify
    session.post(base + '/pools', data={'poolid': 'store-' + STORE}, verify=verify).raise_for_status()
    for n, vmid in enumerate((4421, 4422, 4423), start=1):
        session.post(base + '/nodes/pve-e1/qemu/9100/clone', data={
            'newid': vmid, 'name': '{0}-d{1:02d}'.format(STORE, n), 'pool': 'store-' + STORE},
            verify=verify).raise_for_status()
        session.put(base + '/nodes/pve-e1/qemu/{0}/config'.format(vmid),
                    data={'tags': 'storedesk;store-' + STORE, 'agent': '1'}, verify=verify).raise_for_status()
        if vmid in RUNNING:
            session.post(base + '/nodes/pve-e1/qemu/{0}/status/start'.format(vmid), verify=verify).raise_for_status()
    fleet = lab.fleets['east']
    for vmid in RUNNING:
        desktop = fleet.desktop(vmid)
        desktop.profiles.extend([UserProfile('S-1-5-21-7-7-7-1001', 'jiang.hui', loaded=True),
                                 UserProfile('S-1-5-21-7-7-7-1002', 'yuan.peng')])
        desktop.unc_files[DRIVERS[0]['package']] = {'oemsetup.inf': {'printer_drivers': [EPSON, 'EPSON TM-T20']},
                                                    'TMT88VI.cat': ''}
        desktop.unc_files[DRIVERS[1]['package']] = {'ZDesigner.inf': {'printer_drivers': [ZEBRA]}}
        desktop.unc_files[LIBRARY] = {'promo-version.txt': '2026.11-w48\n'}
    return fleet


def snapshot(fleet):
    out = {}
    for vmid in RUNNING:
        d = fleet.desktop(vmid)
        out[vmid] = (sorted(d.printers.items()), sorted(d.printer_ports), sorted(d.printer_drivers),
                     sorted(d.driver_store), [(p.sid, p.default_printer, dict(p.mapped_drives))
                                              for p in d.profiles + [d.default_user]])
    return out


def test_printers_for_a_store(lab, store):
    args = {'store': STORE, 'printers': PRINTERS, 'drivers': DRIVERS}
    before = snapshot(store)
    rc, result = run_module(lab, 'desktop_printer', SHARE | args, check=True)
    assert rc == 0 and result['changed'], result['_stdout']
    assert snapshot(store) == before                       # check mode changed nothing

    rc, result = run_module(lab, 'desktop_printer', SHARE | args)
    assert rc == 0 and result['changed'], result['_stdout']
    assert [o['name'] for o in result['left_out']] == ['hz-0102-d03']   # off: reported, not failed
    for vmid in RUNNING:
        d = store.desktop(vmid)
        assert d.printers['Receipt']['driver'] == EPSON and d.printers['Receipt']['port'] == 'IP_10.22.2.50'
        assert d.printers['Labels']['port'] == 'IP_10.22.2.51'
        assert d.printer_ports['IP_10.22.2.50']['host'] == '10.22.2.50'
        assert {EPSON, ZEBRA} <= set(d.printer_drivers)
        assert sorted(v['original'] for v in d.driver_store.values()) == ['ZDesigner.inf', 'oemsetup.inf']
        # The staff's default printer: every profile (logged on or not) and the Default User hive.
        assert [p.default_printer for p in d.profiles] == ['Receipt', 'Receipt']
        assert d.default_user.default_printer == 'Receipt'
        assert d.scripts_run[-1][0] == 'win-printer/1'
        assert len([s for s in d.scripts_run if s[0] == 'win-printer/1']) == 2      # check + apply: one each

    after = snapshot(store)
    rc, result = run_module(lab, 'desktop_printer', SHARE | args)
    assert rc == 0 and not result['changed'], result['_stdout']
    assert snapshot(store) == after


def test_bad_input_and_broken_desktops(lab, store):
    rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'printers': [dict(PRINTERS[0], host='10.22.2.500')]})
    assert rc != 0 and "host '10.22.2.500' is not an IP address" in result['msg']

    # An INF that is not in the package: pnputil's error, per desktop, and what depends on it is skipped.
    d1 = store.desktop(4421)
    bad = [{'name': 'Tags', 'driver': 'ZDesigner ZD888', 'host': '10.22.2.52', 'port': 9100}]
    drivers = [{'name': 'ZDesigner ZD888', 'inf': 'zd888.inf', 'package': DRIVERS[1]['package']}]
    rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'desktop_names': ['hz-0102-d01'], 'printers': bad,
                                                 'drivers': drivers})
    assert rc != 0
    assert 'hz-0102-d01: driver ZDesigner ZD888: pnputil.exe /add-driver ' in result['msg']
    assert 'zd888.inf /install exited with code 2 (allowed: 0, 259, 3010): ' in result['msg']
    assert 'Failed to add driver package: The system cannot find the file specified.' in result['msg']
    assert 'add port IP_10.22.2.52' in result['msg']           # what was done besides is reported
    assert 'Tags' not in d1.printers and 'IP_10.22.2.52' in d1.printer_ports

    # A driver the INF does not provide: Windows' Add-PrinterDriver refusal.
    drivers = [{'name': 'ZDesigner ZD888', 'inf': 'ZDesigner.inf', 'package': DRIVERS[1]['package']}]
    rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'desktop_names': ['hz-0102-d01'], 'printers': bad,
                                                 'drivers': drivers})
    assert rc != 0 and 'The specified driver does not exist in the driver store.' in result['msg']

    # The connection drops in the middle of the command: retried, then done.
    d2 = store.desktop(4422)
    d2.faults.reset_mid_command = 1
    extra = [{'name': 'Office', 'driver': EPSON, 'host': '10.22.2.60', 'port': 9101}]
    rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'desktop_names': ['hz-0102-d02'],
                                                 'printers': PRINTERS + extra, 'drivers': DRIVERS})
    assert rc == 0, result['_stdout']
    assert d2.printers['Office']['port'] == 'IP_10.22.2.60_9101'
    assert result['desktops'][0]['attempts'] == 2
    # Always failing: reported as unreachable, the task goes on (fails only with fail_on_unreachable).
    d2.faults.reset_mid_command = -1
    try:
        rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'printers': PRINTERS, 'drivers': DRIVERS,
                                                     'winrm_retries': 1})
        assert rc == 0 and result['summary']['unreachable'] == 1, result['_stdout']
        rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'printers': PRINTERS, 'drivers': DRIVERS,
                                                     'winrm_retries': 0, 'fail_on_unreachable': True})
        assert rc != 0 and 'hz-0102-d02' in result['msg']
    finally:
        d2.faults.reset_mid_command = 0

    # exclusive: unmanaged printers go, Windows' own stay.
    rc, result = run_module(lab, 'desktop_printer', SHARE | {'store': STORE, 'desktop_names': ['hz-0102-d02'],
                                                 'printers': PRINTERS, 'drivers': DRIVERS, 'exclusive': True})
    assert rc == 0, result['_stdout']
    assert sorted(d2.printers) == ['Labels', 'Microsoft Print to PDF', 'Receipt']


def test_material_library_drive(lab, store):
    args = {'store': STORE, 'letter': 'M:', 'unc': LIBRARY, 'marker': 'promo-version.txt'}
    rc, result = run_module(lab, 'desktop_drive', SHARE | args, check=True)
    assert rc == 0 and result['changed']
    assert all('M:' not in p.mapped_drives for v in RUNNING for p in store.desktop(v).profiles)
    rc, result = run_module(lab, 'desktop_drive', SHARE | args)
    assert rc == 0 and result['changed'], result['_stdout']
    for vmid in RUNNING:
        d = store.desktop(vmid)
        assert [p.mapped_drives.get('M:') for p in d.profiles + [d.default_user]] == [LIBRARY] * 3
    assert [r['marker']['content'] for r in result['desktops']] == ['2026.11-w48'] * 2
    rc, result = run_module(lab, 'desktop_drive', SHARE | args)
    assert rc == 0 and not result['changed']
    missing = (LIBRARY + '\\promo-2027.txt').lower()
    contracts_image.MISSING_FILES.add(missing)
    try:
        rc, result = run_module(lab, 'desktop_drive', SHARE | dict(args, marker='promo-2027.txt'))
    finally:
        contracts_image.MISSING_FILES.discard(missing)
    assert rc != 0 and 'promo-2027.txt: not visible from the desktop' in result['msg']


def test_a_share_without_credentials_is_refused_before_anything_changes(lab, store):
    """Defect 1 (second hop): a UNC package read inside the WinRM session would be access denied on every desktop."""
    before = snapshot(store)
    rc, result = run_module(lab, 'desktop_printer', {'store': STORE, 'printers': PRINTERS, 'drivers': DRIVERS})
    assert rc != 0 and 'second hop' in result['msg'] and 'share_user/share_password' in result['msg']
    rc, result = run_module(lab, 'desktop_drive', {'store': STORE, 'letter': 'M:', 'unc': LIBRARY,
                                                   'marker': 'promo-version.txt'})
    assert rc != 0 and 'second hop' in result['msg']
    assert snapshot(store) == before


def test_a_stale_profile_is_skipped_with_a_warning_not_a_failed_desktop(lab, store):
    """Defect 4 (hives): a profile whose NTUSER.DAT is gone used to fail the whole desktop on every run."""
    d1 = store.desktop(4421)
    stale = UserProfile('S-1-5-21-7-7-7-1003', 'left.store', hive_file=False)
    d1.profiles.append(stale)
    try:
        rc, result = run_module(lab, 'desktop_drive', SHARE | {'store': STORE, 'desktop_names': ['hz-0102-d01'],
                                                               'letter': 'N:', 'unc': LIBRARY})
    finally:
        d1.profiles.remove(stale)
    assert rc == 0, result['_stdout']
    assert result['desktops'][0]['status'] == 'changed'
    skipped = [i for i in result['desktops'][0]['entries'] if i['status'] == 'skipped']
    assert skipped and 'stale profile: no NTUSER.DAT' in skipped[0]['error'], sorted(result['desktops'][0])
    assert [p.mapped_drives.get('N:') for p in d1.profiles] == [LIBRARY, LIBRARY]

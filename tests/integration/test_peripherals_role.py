"""The peripherals role for one store of the lab inventory (sh-0004), as the rollout calls it per store:
checked on the PVE API and the fake desktops, then a second run that changes nothing."""

import json
import os

from conftest import ROOT, api, api_get, run_playbook

from storedesk_lab.windows import UserProfile

STORE = 'sh-0004'
EPSON_PKG = '\\\\hq-files.storedesk.example\\drivers\\epson-tm-t88vi'
LIBRARY = '\\\\hq-files.storedesk.example\\materials'


def test_role_applies_a_stores_devices(lab, tmp_path):
    session = api(lab)
    base, verify = session.base, session.verify
    session.post(base + '/pools', data={'poolid': 'store-' + STORE}, verify=verify).raise_for_status()
    for n, vmid in enumerate((4431, 4432), start=1):
        session.post(base + '/nodes/pve-e1/qemu/9100/clone', data={
            'newid': vmid, 'name': '{0}-d{1:02d}'.format(STORE, n), 'pool': 'store-' + STORE},
            verify=verify).raise_for_status()
        session.put(base + '/nodes/pve-e1/qemu/{0}/config'.format(vmid),
                    data={'tags': 'storedesk;store-' + STORE, 'agent': '1'}, verify=verify).raise_for_status()
        session.post(base + '/nodes/pve-e1/qemu/{0}/status/start'.format(vmid), verify=verify).raise_for_status()
        desktop = lab.fleets['east'].desktop(vmid)
        desktop.profiles.append(UserProfile('S-1-5-21-9-9-9-1001', 'zhou.xin'))
        desktop.unc_files[EPSON_PKG] = {'oemsetup.inf': {'printer_drivers': ['EPSON TM-T88VI Receipt']}}
        desktop.unc_files[LIBRARY] = {'promo-version.txt': '2026.11-w48'}
    playbook = tmp_path / 'peripherals.yml'
    playbook.write_text(json.dumps([{'name': 'Store devices', 'hosts': STORE, 'gather_facts': False,
                                     'roles': ['storedesk.vdi.peripherals']}]))
    args = ['-i', os.path.join(ROOT, 'inventories', 'lab')]
    proc = run_playbook(lab, str(playbook), args=args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for vmid in (4431, 4432):
        cfg = api_get(session, '/nodes/pve-e1/qemu/{0}/config'.format(vmid))
        assert cfg['usb0'] == 'host=spice'            # hot-plugged into the running desktop
        desktop = lab.fleets['east'].desktop(vmid)
        assert desktop.printers['Receipt']['port'] == 'IP_10.21.4.50'
        assert [p.default_printer for p in desktop.profiles + [desktop.default_user]] == ['Receipt', 'Receipt']
        assert [p.mapped_drives for p in desktop.profiles] == [{'M:': LIBRARY}]
    assert 'pos-ingenico-lane3000' in [m['id'] for m in api_get(session, '/cluster/mapping/usb')]
    again = run_playbook(lab, str(playbook), args=args)
    assert again.returncode == 0 and 'changed=0' in again.stdout, again.stdout[-3000:]

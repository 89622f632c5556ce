"""usb_mapping and usb_device on the lab, checked through the PVE API and the fake desktops' PnP devices.

Desktops are set up with plain API calls (clone 9100, tags, agent, start), as test_lab_desktops.py does.
Store hz-0103, VMIDs 4411-4413 (other tests use other stores and ids).
"""

from conftest import api, api_get, run_module

from storedesk_lab.windows.model import usb_devices

STORE = 'hz-0103'
POOL = 'store-' + STORE
MAPS = '/cluster/mapping/usb'
ROOT_PASSWORD = {'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': ''}   # root@pam with its password, no token


def make_desktop(session, vmid, name, start, target='pve-e1'):
    base, verify = session.base, session.verify
    data = {'newid': vmid, 'name': name, 'pool': POOL}
    if target != 'pve-e1':
        data['target'] = target
    session.post(base + '/nodes/pve-e1/qemu/9100/clone', data=data, verify=verify).raise_for_status()
    session.put(base + '/nodes/{0}/qemu/{1}/config'.format(target, vmid),
                data={'tags': 'storedesk;store-' + STORE, 'agent': '1'}, verify=verify).raise_for_status()
    if start:
        session.post(base + '/nodes/{0}/qemu/{1}/status/start'.format(target, vmid), verify=verify).raise_for_status()


def config(session, vmid, node='pve-e1'):
    return api_get(session, '/nodes/{0}/qemu/{1}/config'.format(node, vmid))


def usb_slots(cfg):
    return dict((k, v) for k, v in cfg.items() if k.startswith('usb') and k[3:].isdigit())


def test_mappings_and_usb_slots_end_to_end(lab):
    session = api(lab)
    session.post(session.base + '/pools', data={'poolid': POOL}, verify=session.verify).raise_for_status()
    make_desktop(session, 4411, 'hz-0103-d01', start=False)
    make_desktop(session, 4412, 'hz-0103-d02', start=True)
    pve = lab.regions['east']

    # A mapping on every node of the cluster, then the same again: nothing to do.
    args = {'name': 'pos-ingenico-lane3000', 'usb_id': '0B00:0084', 'description': 'Ingenico Lane/3000'}
    rc, result = run_module(lab, 'usb_mapping', args)
    assert rc == 0 and result['changed'], result['_stdout']
    listed = dict((m['id'], m) for m in api_get(session, MAPS))
    assert sorted(listed['pos-ingenico-lane3000']['map']) == [
        'node=pve-e1,id=0b00:0084', 'node=pve-e2,id=0b00:0084', 'node=pve-e3,id=0b00:0084']
    rc, result = run_module(lab, 'usb_mapping', args)
    assert rc == 0 and not result['changed']
    rc, result = run_module(lab, 'usb_mapping', {'name': args['name'], 'entries': [
        {'node': 'pve-e1', 'id': '0b00:0084'}]}, check=True)
    assert rc == 0 and result['changed'] and result['action'] == 'update'
    assert len(api_get(session, MAPS + '/pos-ingenico-lane3000')['map']) == 3      # check mode wrote nothing
    rc, result = run_module(lab, 'usb_mapping', dict(args, description='Lane/3000 at the till'))
    assert rc == 0 and result['changed'], result['_stdout']                         # a description alone
    assert api_get(session, MAPS + '/pos-ingenico-lane3000')['description'] == 'Lane/3000 at the till'

    # The whole store by code, with the lab's API token (Mapping.Use is enough for mapping= and spice).
    devices = [{'mapping': 'pos-ingenico-lane3000'}, {'spice': True}]
    before = [usb_slots(config(session, v)) for v in (4411, 4412)]
    rc, result = run_module(lab, 'usb_device', {'store': STORE, 'devices': devices}, check=True)
    assert rc == 0 and result['changed'], result['_stdout']
    assert [usb_slots(config(session, v)) for v in (4411, 4412)] == before
    rc, result = run_module(lab, 'usb_device', {'store': STORE, 'devices': devices})
    assert rc == 0 and result['changed'], result['_stdout']
    assert usb_slots(config(session, 4411)) == {'usb0': 'mapping=pos-ingenico-lane3000', 'usb1': 'host=spice'}
    # The running desktop (q35 >= 7.1, win11, hotplug has usb): PVE hot-plugs it, and the module says so.
    pending = dict((r['key'], r) for r in api_get(session, '/nodes/pve-e1/qemu/4412/pending'))
    assert pending['usb0'].get('value') == 'mapping=pos-ingenico-lane3000' and 'pending' not in pending['usb0']
    by_name = dict((d['name'], d) for d in result['desktops'])
    assert by_name['hz-0103-d02']['applied'] == 'live'
    assert by_name['hz-0103-d01']['applied'] == 'at next start'

    # Started, the stopped desktop shows the terminal as a PnP device in Windows; the scanner reaches it
    # over SPICE once the thin client shares it.
    session.post(session.base + '/nodes/pve-e1/qemu/4411/status/start', verify=session.verify).raise_for_status()
    lab.fleets['east'].share_spice(4411, '05E0:1200')
    present = usb_devices(lab.fleets['east'].desktop(4411), pve.vm(4411), pve.usb_mapping_device)
    assert present == ['0B00:0084', '05E0:1200']

    # Second run: nothing changes; verify checks inside Windows (WinRM) on the running desktops.
    rc, result = run_module(lab, 'usb_device', {'store': STORE, 'devices': devices, 'verify': True})
    assert rc == 0 and not result['changed'], result['_stdout']
    assert usb_slots(config(session, 4411)) == {'usb0': 'mapping=pos-ingenico-lane3000', 'usb1': 'host=spice'}
    assert lab.fleets['east'].desktop(4411).scripts_run[-1][0] == 'probe/1'

    # Real host devices: refused plainly for a token, done for root@pam with its password (and a warning).
    host = {'desktops': ['hz-0103-d01'], 'devices': [{'host': '05e0:1200'}]}
    rc, result = run_module(lab, 'usb_device', host)
    assert rc != 0 and 'only be set or removed by root@pam' in result['msg']
    assert 'usb2' not in config(session, 4411)
    rc, result = run_module(lab, 'usb_device', host, env=ROOT_PASSWORD)
    assert rc == 0 and result['changed'], result['_stdout']
    assert 'live migration is blocked' in result['desktops'][0]['warnings'][0]
    assert config(session, 4411)['usb2'] == 'host=05e0:1200'

    # state: absent frees the slot (hot-unplugged on the running desktop), others stay where they are.
    rc, result = run_module(lab, 'usb_device', {'desktops': ['hz-0103-d01'], 'devices': [{'spice': True}],
                                                'state': 'absent'})
    assert rc == 0 and result['changed']
    slots = usb_slots(config(session, 4411))
    assert 'usb1' not in slots and slots['usb0'] == 'mapping=pos-ingenico-lane3000'


def test_mapping_without_an_entry_for_the_node_fails_before_writing(lab):
    session = api(lab)
    session.post(session.base + '/pools', data={'poolid': 'store-zz-0901'}, verify=session.verify)
    base = session.base
    session.post(base + '/nodes/pve-e1/qemu/9100/clone', data={'newid': 4413, 'name': 'zz-0901-d01',
                                                               'pool': 'store-zz-0901'},
                 verify=session.verify).raise_for_status()
    rc, result = run_module(lab, 'usb_mapping', {'name': 'scanner-e2-only',
                                                 'entries': [{'node': 'pve-e2', 'id': '0c2e:0db3'}]})
    assert rc == 0
    rc, result = run_module(lab, 'usb_device', {'store': 'zz-0901', 'devices': [{'mapping': 'scanner-e2-only'}]})
    assert rc != 0
    assert "has no entry for node pve-e1" in result['msg'] and 'zz-0901-d01' in result['msg']
    assert usb_slots(config(session, 4413)) == {}
    rc, result = run_module(lab, 'usb_device', {'store': 'zz-0901', 'devices': [{'host': '12345:zz'}]})
    assert rc != 0 and "'12345:zz' is not a USB vendor:product id" in result['msg']

"""The lab end to end: a cloned, started VM gets an address from the guest agent and its fake Windows
answers desktop_probe over NTLM at that address, measuring its store's link."""

import ipaddress

from conftest import api, api_get, run_module


def clone_and_start(lab, session, newid, name, tags):
    base = session.base
    upid = session.post(base + '/nodes/pve-e1/qemu/9100/clone', data={'newid': newid, 'name': name},
                        verify=session.verify).json()['data']
    assert upid
    session.put(base + '/nodes/pve-e1/qemu/{0}/config'.format(newid), data={'tags': tags, 'agent': '1'},
                verify=session.verify).raise_for_status()
    session.post(base + '/nodes/pve-e1/qemu/{0}/status/start'.format(newid), verify=session.verify).raise_for_status()


def agent_ip(session, vmid):
    data = api_get(session, '/nodes/pve-e1/qemu/{0}/agent/network-get-interfaces'.format(vmid))
    return [a['ip-address'] for i in data['result'] for a in i['ip-addresses']
            if not a['ip-address'].startswith('127.0.0.')][0]


def test_cloned_desktop_answers_probe_at_its_agent_address(lab):
    session = api(lab)
    clone_and_start(lab, session, 4301, 'cd-0204-d01', 'storedesk;store-cd-0204')
    ip = agent_ip(session, 4301)
    assert ipaddress.ip_address(ip) in lab.regions['east'].guest_net
    rc, result = run_module(lab, 'desktop_probe', {
        'desktops': [{'name': 'cd-0204-d01', 'address': ip}],
        'backends': [{'name': 'erp', 'host': 'erp.storedesk.example', 'port': 443}]})
    assert rc == 0, result['_stdout']
    record = result['desktops'][0]
    assert record['ok'], record
    # cd-0204 is the weak-link store: 150 ms link + 8 ms to the ERP, as the topology declares.
    latency = [b for b in record['backends'] if b['name'] == 'erp'][0]['latency_ms']
    assert latency == 158
    desktop = lab.fleets['east'].desktop(4301)
    assert desktop.scripts_run and desktop.scripts_run[-1][0] == 'probe/1'
    assert lab.winrm_password not in result['_stdout']


def test_stopped_desktop_does_not_answer(lab):
    session = api(lab)
    clone_and_start(lab, session, 4302, 'sh-0001-d99', 'storedesk;store-sh-0001')
    ip = agent_ip(session, 4302)
    session.post(session.base + '/nodes/pve-e1/qemu/4302/status/stop', verify=session.verify).raise_for_status()
    rc, result = run_module(lab, 'desktop_probe', {'desktops': [{'name': 'sh-0001-d99', 'address': ip}]})
    assert rc == 0
    assert [d['name'] for d in result['unreachable_desktops']] == ['sh-0001-d99']


def test_a_new_vm_reusing_a_destroyed_vmid_starts_from_a_blank_windows(fresh_lab):
    session = api(fresh_lab)
    clone_and_start(fresh_lab, session, 4303, 'sh-0001-d98', 'storedesk;store-sh-0001')
    fresh_lab.fleets['east'].desktop(4303).installed_software.append({'name': 'Left over', 'version': '1'})
    session.post(session.base + '/nodes/pve-e1/qemu/4303/status/stop', verify=session.verify).raise_for_status()
    session.delete(session.base + '/nodes/pve-e1/qemu/4303', verify=session.verify).raise_for_status()
    clone_and_start(fresh_lab, session, 4303, 'sh-0001-d98', 'storedesk;store-sh-0001')
    assert fresh_lab.fleets['east'].desktop(4303).installed_software == []

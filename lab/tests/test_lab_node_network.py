"""Each node's bridges (GET /nodes/{node}/network) and a start that fails on a NIC whose bridge the node lacks,
as PVE fails it (pve-manager API2/Network.pm index; qemu-server print_netdevice_full -> pve-common Network.pm
read_bridge_mtu / activate_bridge_vlan; see lab/storedesk_lab/pve_network.py)."""

import pytest
from conftest import api, api_get, post, put, start_lab, wait_task

E1 = '/nodes/pve-e1'


@pytest.fixture(scope='module')
def net_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def tasks_of(session, vmid, kind):
    return [t for t in api_get(session, E1 + '/tasks', source='all', vmid=vmid, limit=50) if t['type'] == kind]


def test_nodes_list_the_topology_s_bridges_filtered_by_type_and_by_sdn_access(net_lab):
    session = api(net_lab)
    bridges = dict((i['iface'], i) for i in api_get(session, E1 + '/network', type='any_bridge'))
    assert sorted(bridges) == ['vmbr0', 'vmbr1']
    assert not bridges['vmbr0'].get('bridge_vlan_aware') and bridges['vmbr0']['bridge_ports'] == 'eno1'
    assert bridges['vmbr1']['bridge_vlan_aware'] == 1 and bridges['vmbr1']['bridge_ports'] == 'eno2'
    assert sorted(i['iface'] for i in api_get(session, E1 + '/network', type='eth')) == ['eno1', 'eno2']
    bad = session.get(session.base + E1 + '/network', params={'type': 'bridges'}, verify=session.verify)
    assert bad.status_code == 400 and 'type' in bad.json().get('errors', {})
    pve = net_lab.regions['east']
    pve.add_user('netview@pve', 'netview123')
    pve.set_acl('/vms', 'PVEVMAdmin', users=['netview@pve'])
    viewer = api(net_lab, user='netview@pve', password='netview123')
    assert api_get(viewer, E1 + '/network', type='any_bridge') == []      # no SDN.Audit/SDN.Use: not listed
    pve.set_acl('/sdn/zones/localnetwork/vmbr1/2101', 'PVESDNUser', users=['netview@pve'])   # one VLAN is enough
    assert [i['iface'] for i in api_get(viewer, E1 + '/network', type='any_bridge')] == ['vmbr1']


def test_a_start_on_a_bridge_the_node_lacks_fails_in_the_task_and_the_vm_stays_stopped(net_lab):
    session = api(net_lab)
    made = post(session, '/nodes/pve-e1/qemu/9100/clone', newid=4701, name='net-missing')
    assert wait_task(session, made.json()['data'])['exitstatus'] == 'OK'
    assert put(session, E1 + '/qemu/4701/config', net0='virtio,bridge=vmbr7,tag=2101').status_code == 200
    started = post(session, E1 + '/qemu/4701/status/start')
    assert started.status_code == 200          # refused in the worker, not by the API
    assert wait_task(session, started.json()['data'])['exitstatus'] == "bridge 'vmbr7' does not exist"
    assert api_get(session, E1 + '/qemu/4701/status/current')['status'] == 'stopped'
    net_lab.regions['east'].add_bridge('pve-e1', 'vmbr7', ports='eno3', vlan_aware=True)
    try:
        again = post(session, E1 + '/qemu/4701/status/start')
        assert wait_task(session, again.json()['data'])['exitstatus'] == 'OK'
        assert api_get(session, E1 + '/qemu/4701/status/current')['status'] == 'running'
    finally:
        net_lab.regions['east'].remove_bridge('pve-e1', 'vmbr7')


def test_a_vlan_tag_needs_a_vlan_aware_bridge_or_a_physical_port(net_lab):
    session = api(net_lab)
    pve = net_lab.regions['east']
    pve.add_bridge('pve-e1', 'vmbr5', ports='')              # an internal bridge: no port, not VLAN-aware
    try:
        made = post(session, '/nodes/pve-e1/qemu/9100/clone', newid=4702, name='net-vlan')
        assert wait_task(session, made.json()['data'])['exitstatus'] == 'OK'
        put(session, E1 + '/qemu/4702/config', net0='virtio,bridge=vmbr0,tag=2101').raise_for_status()
        started = post(session, E1 + '/qemu/4702/status/start')   # vmbr0v2101 on eno1: fine
        assert wait_task(session, started.json()['data'])['exitstatus'] == 'OK'
        post(session, E1 + '/qemu/4702/status/stop').raise_for_status()
        put(session, E1 + '/qemu/4702/config', net0='virtio,bridge=vmbr5').raise_for_status()
        started = post(session, E1 + '/qemu/4702/status/start')   # untagged on a port-less bridge: fine
        assert wait_task(session, started.json()['data'])['exitstatus'] == 'OK'
        post(session, E1 + '/qemu/4702/status/stop').raise_for_status()
        put(session, E1 + '/qemu/4702/config', net0='virtio,bridge=vmbr5,tag=2101').raise_for_status()
        started = post(session, E1 + '/qemu/4702/status/start')
        assert wait_task(session, started.json()['data'])['exitstatus'] == "no physical interface on bridge 'vmbr5'"
        assert api_get(session, E1 + '/qemu/4702/status/current')['status'] == 'stopped'
    finally:
        pve.remove_bridge('pve-e1', 'vmbr5')


def test_create_with_start_on_a_missing_bridge_creates_the_vm_and_its_own_start_task_fails(net_lab):
    session = api(net_lab)
    made = post(session, E1 + '/qemu', vmid=4703, name='net-create', memory=1024, net0='virtio,bridge=vmbr8', start=1)
    assert made.status_code == 200, made.text
    assert wait_task(session, made.json()['data'])['exitstatus'] == 'OK'
    starts = tasks_of(session, 4703, 'qmstart')
    assert [t['status'] for t in starts] == ["bridge 'vmbr8' does not exist"]
    assert api_get(session, E1 + '/qemu/4703/status/current')['status'] == 'stopped'
    assert api_get(session, E1 + '/qemu/4703/config')['name'] == 'net-create'


def test_a_topology_bridge_with_an_unknown_key_is_refused_naming_it():
    from storedesk_lab import topology
    region = {'nodes': {'n1': {'cores': 4, 'memory_gib': 8, 'bridges': {'vmbr1': {'vlan-aware': True}}}}}
    with pytest.raises(topology.TopologyError, match=r'regions\.r\.nodes\.n1\.bridges\.vmbr1: only ports'):
        topology.check({'regions': {'r': region}})

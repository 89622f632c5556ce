"""desktop_pool refuses, before any change, a store whose bridge is missing on its nodes (PVE would clone the desktops
and fail every start: "bridge '<b>' does not exist"), or whose VLAN tag PVE cannot plug. Checked through the lab's
request log and VM list (module_utils/_bridges.py; lab/storedesk_lab/pve_network.py)."""

import pytest

from conftest import api, api_get, run_module, start_lab
from test_validation import writes

IMAGE = {'name': 'store', 'version': '1.0.0'}
EAST = ['pve-e1', 'pve-e2', 'pve-e3']


@pytest.fixture(scope='module')
def net_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def args(code, vlan=2400, **over):
    store = {'code': code, 'city': 'testcity', 'region': 'east', 'subnet': '10.98.{0}.0/24'.format(int(code[-2:]))}
    if vlan:
        store['vlan'] = vlan
    return dict({'image': IMAGE, 'count': 2, 'stores': [store]}, **over)


def desktops(lab, code):
    """(name, node, status, net0) of the store's desktops, live per VM."""
    session = api(lab)
    out = []
    for item in api_get(session, '/cluster/resources', type='vm'):
        base = '/nodes/{0}/qemu/{1}'.format(item['node'], item['vmid'])
        config = api_get(session, base + '/config')
        if (config.get('name') or '').startswith(code):
            out.append((config['name'], item['node'], api_get(session, base + '/status/current')['status'],
                        config.get('net0')))
    return sorted(out)


def test_a_store_on_a_bridge_no_node_has_is_refused_before_any_change(net_lab):
    before = writes(net_lab)
    for check in (True, False):
        rc, result = run_module(net_lab, 'desktop_pool', args('tw-0001', bridge='vmbr7'), check=check)
        assert rc != 0, result
        assert "store tw-0001: bridge: 'vmbr7' is not a bridge on pve-e1, pve-e2, pve-e3 (bridges there: vmbr0, " \
               "vmbr1)" in result['msg'] and 'nothing was changed' in result['msg'], result['msg']
        assert 'create vmbr7 on them' in result['msg'] and 'SDN.Use on /sdn/zones/localnetwork/vmbr7' in result['msg']
    assert writes(net_lab) == before and desktops(net_lab, 'tw-0001') == []
    reads = [p for m, p, _b in net_lab.regions['east'].requests if p.endswith('/network')]
    assert sorted(set(reads)) == ['/api2/json/nodes/{0}/network'.format(n) for n in EAST]


def test_a_bridge_on_some_nodes_only_is_fine_when_placement_keeps_to_them(net_lab):
    pve = net_lab.regions['east']
    pve.add_bridge('pve-e2', 'vmbr6', ports='eno3', vlan_aware=True)
    try:
        rc, result = run_module(net_lab, 'desktop_pool', args('tw-0002', vlan=2401, bridge='vmbr6'))
        assert rc != 0 and "store tw-0002: bridge: 'vmbr6' is not a bridge on pve-e1, pve-e3" in result['msg'], result
        assert desktops(net_lab, 'tw-0002') == []
        rc, result = run_module(net_lab, 'desktop_pool', args('tw-0002', vlan=2401, bridge='vmbr6', nodes=['pve-e2']))
        assert rc == 0, result.get('msg', result)
        got = desktops(net_lab, 'tw-0002')
        assert [(node, status) for _n, node, status, _net in got] == [('pve-e2', 'running')] * 2, got
        assert all(net.endswith('bridge=vmbr6,tag=2401') for *_x, net in got), got
    finally:
        pve.remove_bridge('pve-e2', 'vmbr6')


def test_a_vlan_tag_on_a_bridge_without_vlan_awareness_or_port_is_refused(net_lab):
    pve = net_lab.regions['east']
    for node in EAST:
        pve.add_bridge(node, 'vmbr5', ports='')
    try:
        before = writes(net_lab)
        rc, result = run_module(net_lab, 'desktop_pool', args('tw-0003', vlan=2402, bridge='vmbr5'))
        assert rc != 0, result
        assert "store tw-0003: vlan: tag 2402 on bridge 'vmbr5', which is not VLAN-aware and has no physical port on " \
               "pve-e1, pve-e2, pve-e3" in result['msg'], result['msg']
        assert writes(net_lab) == before
        # untagged on that bridge PVE starts them; a tag on vmbr0 (not VLAN-aware, port eno1) too
        rc, result = run_module(net_lab, 'desktop_pool', args('tw-0003', vlan=None, bridge='vmbr5'))
        assert rc == 0, result.get('msg', result)
        rc, result = run_module(net_lab, 'desktop_pool', args('tw-0004', vlan=2403, bridge='vmbr0'))
        assert rc == 0, result.get('msg', result)
        assert [s for _n, _node, s, _net in desktops(net_lab, 'tw-0003') + desktops(net_lab, 'tw-0004')] == \
            ['running'] * 4
    finally:
        for node in EAST:
            pve.remove_bridge(node, 'vmbr5')

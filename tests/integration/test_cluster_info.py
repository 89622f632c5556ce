"""cluster_info against the lab: figures equal the topology and the API; one login; clear errors."""

import pytest

from conftest import api, api_get, run_module
from storedesk_lab import topology

GIB = 1024 ** 3


def test_cluster_info_matches_topology_and_api(lab):
    topo = topology.load()
    for region, spec in topo['regions'].items():
        rc, result = run_module(lab, 'cluster_info', {}, region=region)
        assert rc == 0, result['_stdout']
        assert result['cluster'] == {'name': spec['cluster'], 'quorate': True,
                                     'nodes_total': len(spec['nodes']), 'nodes_online': len(spec['nodes'])}
        # Independently of our module: the API's own node figures.
        nodes = dict((n['node'], n) for n in api_get(api(lab, region), '/cluster/resources', type='node'))
        for node in result['nodes']:
            assert node['cpu_cores'] == spec['nodes'][node['name']]['cores'] == nodes[node['name']]['maxcpu']
            assert node['memory_total_bytes'] == spec['nodes'][node['name']]['memory_gib'] * GIB
            assert node['memory_used_bytes'] == nodes[node['name']]['mem']
            ceph = [s for s in node['storages'] if s['storage'] == 'vdi-ceph'][0]
            assert ceph['total_bytes'] == spec['storages']['vdi-ceph']['size_gib'] * GIB
            assert ceph['shared'] is True
        seeded = set((i['image'], i['version']) for i in spec['seed_images'])
        assert set((t['image'], t['version']) for t in result['templates']) == seeded
        assert result['version']['version'] == api_get(api(lab, region), '/version')['version']


def test_one_login_per_module_run_and_none_with_a_token(lab):
    pve = lab.regions['east']
    pve.requests.clear()
    rc, result = run_module(lab, 'cluster_info', {}, env={'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': ''})
    assert rc == 0, result['_stdout']
    logins = [r for r in pve.requests if r[1].endswith('/access/ticket')]
    assert len(logins) == 1
    assert result['api_requests'] == len(pve.requests) == 5   # login + the four reads
    pve.requests.clear()
    rc, result = run_module(lab, 'cluster_info', {}, env={'PROXMOX_PASSWORD': ''})
    assert rc == 0, result['_stdout']
    assert not [r for r in pve.requests if r[1].endswith('/access/ticket')]
    assert [r[1] for r in pve.requests].count('/api2/json/version') == 1   # its data, not a probe


@pytest.mark.parametrize('case,env,args,expect', [
    ('no host', {}, {'api_host': '127.0.0.1', 'api_port': 9}, 'cannot connect'),
    ('wrong password', {'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': '', 'PROXMOX_PASSWORD': 'not-the-password'}, {},
     'authentication failure for root@pam'),
    ('unknown token', {'PROXMOX_PASSWORD': '', 'PROXMOX_TOKEN_SECRET': 'deadbeef'}, {}, 'HTTP 401'),
    ('tls without ca_path', {'PROXMOX_CA_PATH': ''}, {}, 'could not be verified'),
])
def test_bad_connections_give_one_line_errors_without_secrets(lab, case, env, args, expect):
    rc, result = run_module(lab, 'cluster_info', args, env=env)
    assert rc != 0, case
    assert expect in result['msg']
    assert '(' in result['msg'] and result['msg'].count('\n') == 0
    for secret in (lab.password, lab.token_secret, 'not-the-password', 'deadbeef'):
        assert secret not in result['_stdout'] + result['_stderr']


def test_offline_node_and_lost_quorum_are_reported(fresh_lab):
    pve = fresh_lab.regions['east']
    pve.set_node_offline('pve-e2')
    pve.lose_quorum()
    rc, result = run_module(fresh_lab, 'cluster_info', {})
    assert rc == 0, result['_stdout']
    assert result['cluster']['quorate'] is False
    assert dict((n['name'], n['online']) for n in result['nodes']) == {'pve-e1': True, 'pve-e2': False,
                                                                       'pve-e3': True}
    assert result['totals']['cpu_cores'] == 48 + 32

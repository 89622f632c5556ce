"""The inventory plugin storedesk.vdi.desktops against the lab: groups, host vars, request counts, cache."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, api, api_get, lab_env

BIN = os.path.dirname(sys.executable)
TAGS = 'storedesk;store-{store};city-{city};region-{region};image-store;v-1.0.0;role-{role}'
# vmid, region, node, store, city, role, started
DESKTOPS = [
    (7101, 'east', 'pve-e1', 'sh-0001', 'shanghai', 'desktop', True),
    (7102, 'east', 'pve-e2', 'sh-0001', 'shanghai', 'spare', False),
    (7103, 'east', 'pve-e3', 'hz-0101', 'hangzhou', 'desktop', True),
    (7201, 'west', 'pve-w2', 'cd-0204', 'chengdu', 'desktop', True),
]


def _post(session, path, **data):
    answer = session.post(session.base + path, data=data, verify=session.verify)
    answer.raise_for_status()
    return answer.json()['data']


def _wait_task(session, upid):
    node = upid.split(':')[1]
    for _ in range(400):
        if api_get(session, '/nodes/{0}/tasks/{1}/status'.format(node, upid))['status'] == 'stopped':
            return
        time.sleep(0.05)
    raise AssertionError('task did not end: ' + upid)


def clone_desktop(lab, vmid, region, node, store, city, role, start, name=None, tags=None):
    """A linked clone of the seeded template 9100, tagged, agent on, optionally started (plain API calls)."""
    session = api(lab, region)
    template_node = [r['node'] for r in api_get(session, '/cluster/resources', type='vm') if r['vmid'] == 9100][0]
    _wait_task(session, _post(session, '/nodes/{0}/qemu/9100/clone'.format(template_node), newid=vmid,
                              name=name or '{0}-d{1}'.format(store, vmid), target=node))
    tags = TAGS.format(store=store, city=city, region=region, role=role) if tags is None else tags
    _post(session, '/nodes/{0}/qemu/{1}/config'.format(node, vmid), tags=tags, agent='1')
    if start:
        _wait_task(session, _post(session, '/nodes/{0}/qemu/{1}/status/start'.format(node, vmid)))


@pytest.fixture(scope='module')
def desktops(lab):
    existing = set(r['vmid'] for region in lab.regions for r in api_get(api(lab, region), '/cluster/resources',
                                                                        type='vm'))
    for vmid, region, node, store, city, role, start in DESKTOPS:
        if vmid not in existing:
            clone_desktop(lab, vmid, region, node, store, city, role, start)
    return lab


def write_source(tmp_path, **options):
    source = dict({'plugin': 'storedesk.vdi.desktops', 'regions': [{'name': 'east'}, {'name': 'west'}]}, **options)
    path = tmp_path / 'test.desktops.yml'
    path.write_text(json.dumps(source))   # JSON is YAML
    return str(path)


def inventory(lab, source, *args, env=None):
    full_env = lab_env(lab)
    full_env.update(env or {})
    proc = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', source, '-v'] + list(args or ['--list']),
                          capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=300)
    return proc


def listed(lab, source, env=None):
    proc = inventory(lab, source, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    start = proc.stdout.find('{')
    return json.loads(proc.stdout[start:], object_hook=_plain), proc


def _plain(obj):
    """ansible-inventory marks strings from the API as unsafe (never templated): {'__ansible_unsafe': s}."""
    return obj['__ansible_unsafe'] if list(obj) == ['__ansible_unsafe'] else obj


def managed(lab, region):
    """Independently of the plugin: the managed guests of a region with their live status and template flag
    (/cluster/resources serves those from the RRD cache; each node's guest list is live)."""
    session = api(lab, region)
    tagged = [r for r in api_get(session, '/cluster/resources', type='vm')
              if 'storedesk' in str(r.get('tags', '')).split(';')]
    live = {}
    for node in set(r['node'] for r in tagged):
        live.update((g['vmid'], g) for g in api_get(session, '/nodes/{0}/qemu'.format(node)))
    return [dict(r, status=live[r['vmid']]['status'], template=live[r['vmid']].get('template')) for r in tagged]


def running_managed(lab, region):
    return [r for r in managed(lab, region) if r['status'] == 'running' and not r.get('template')]


def managed_nodes(lab, region):
    return set(r['node'] for r in managed(lab, region))


def test_groups_and_winrm_host_vars(desktops, tmp_path):
    lab = desktops
    data, proc = listed(lab, write_source(tmp_path))
    hostvars = data['_meta']['hostvars']
    for vmid, region, node, store, city, role, start in DESKTOPS:
        name = '{0}-d{1}'.format(store, vmid)
        hv = hostvars[name]
        assert hv['storedesk_vmid'] == vmid and hv['storedesk_node'] == node and hv['storedesk_region'] == region
        assert hv['storedesk_status'] == ('running' if start else 'stopped')
        assert 'store-' + store in hv['storedesk_tags']
        assert hv['ansible_connection'] == 'winrm' and hv['ansible_winrm_transport'] == 'ntlm'
        assert hv['ansible_port'] == 5985 and hv['ansible_winrm_scheme'] == 'http'
        assert hv['ansible_user'] == 'storedesk-admin'
        if start:
            assert hv['ansible_host'] == hv['storedesk_ip'] == lab.regions[region].ip_of(vmid)
        else:
            assert 'ansible_host' not in hv and hv['storedesk_ip'] is None
        for group in ('region_' + region, 'city_' + city, 'store_' + store.replace('-', '_'), 'image_v_1_0_0',
                      'role_' + role, 'power_' + ('running' if start else 'stopped'), 'storedesk_desktops'):
            assert name in data[group]['hosts'], group
    # Templates and untagged VMs (the seeded base VM 9000) are not desktops.
    assert not [h for h, v in hostvars.items() if v['storedesk_vmid'] in (9000, 9100)]
    for secret in (lab.password, lab.token_secret, lab.winrm_password):
        assert secret not in proc.stdout + proc.stderr


def test_graph_and_winrm_endpoint_reachable(desktops, tmp_path):
    proc = inventory(desktops, write_source(tmp_path), '--graph')
    assert proc.returncode == 0, proc.stderr
    assert '@store_sh_0001:' in proc.stdout and '|--sh-0001-d7101' in proc.stdout
    # The fake Windows desktop of a running VM listens where ansible_host/ansible_port point.
    with socket.create_connection((desktops.regions['east'].ip_of(7101), 5985), timeout=5):
        pass


def test_one_bulk_read_per_region_and_one_agent_call_per_running_desktop(desktops, tmp_path):
    lab = desktops
    expected = dict((region, len(running_managed(lab, region))) for region in lab.regions)
    nodes = dict((region, managed_nodes(lab, region)) for region in lab.regions)
    for pve in lab.regions.values():
        pve.requests.clear()
    _data, proc = listed(lab, write_source(tmp_path, agent_concurrency=8))
    for region, pve in lab.regions.items():
        paths = [p for _m, p, _b in pve.requests]
        assert paths.count('/api2/json/cluster/resources') == 1
        agent = [p for p in paths if p.endswith('/agent/network-get-interfaces')]
        assert len(agent) == expected[region], paths
        lists = [p for p in paths if p.endswith('/qemu')]
        assert sorted(lists) == sorted('/api2/json/nodes/{0}/qemu'.format(n) for n in nodes[region])
        assert len(paths) == 1 + len(lists) + expected[region]    # a token: no login, no per-VM config read
        assert not [p for p in paths if p.endswith('/config')]
        assert 'region {0}: '.format(region) in proc.stdout + proc.stderr


def test_agent_ips_off_makes_only_the_bulk_read_and_the_guest_lists(desktops, tmp_path):
    nodes = dict((region, managed_nodes(desktops, region)) for region in desktops.regions)
    for pve in desktops.regions.values():
        pve.requests.clear()
    data, _proc = listed(desktops, write_source(tmp_path, agent_ips=False))
    assert all(len(pve.requests) == 1 + len(nodes[region]) for region, pve in desktops.regions.items())
    assert 'ansible_host' not in data['_meta']['hostvars']['sh-0001-d7101']


def test_include_unmanaged_and_keyed_groups(desktops, tmp_path):
    data, _proc = listed(desktops, write_source(
        tmp_path, include_unmanaged=True, agent_ips=False,
        keyed_groups=[{'key': 'storedesk_node', 'prefix': 'node'}],
        compose={'weak_link_store': "storedesk_store == 'cd-0204'"}))
    assert 'win11-base' in data['unmanaged_vms']['hosts']
    assert 'sh-0001-d7101' in data['node_pve_e1']['hosts']
    assert data['_meta']['hostvars']['cd-0204-d7201']['weak_link_store'] is True


def test_cache_serves_the_second_run_without_requests(desktops, tmp_path):
    source = write_source(tmp_path, cache=True, cache_plugin='ansible.builtin.jsonfile',
                          cache_connection=str(tmp_path / 'cache'), cache_timeout=600)
    first, _proc = listed(desktops, source)
    for pve in desktops.regions.values():
        pve.requests.clear()
    second, _proc = listed(desktops, source)
    assert sum(len(pve.requests) for pve in desktops.regions.values()) == 0
    assert second['_meta']['hostvars'] == first['_meta']['hostvars']
    cached = ''.join(p.read_text() for p in (tmp_path / 'cache').iterdir())
    assert desktops.token_secret not in cached and desktops.password not in cached


def test_unreachable_region_fails_or_is_skipped(desktops, tmp_path):
    env = {'PROXMOX_PORT_WEST': '9'}
    proc = inventory(desktops, write_source(tmp_path), env=dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED='true'))
    assert proc.returncode != 0 and 'region west' in proc.stderr and 'cannot connect' in proc.stderr
    data, proc = listed(desktops, write_source(tmp_path, skip_unreachable_regions=True), env=env)
    assert 'sh-0001-d7101' in data['_meta']['hostvars'] and 'cd-0204-d7201' not in data['_meta']['hostvars']
    assert 'left out region west' in proc.stderr


def test_desktops_are_listed_as_they_are_now_not_as_the_rrd_cache_saw_them(lagging_lab, tmp_path):
    lab = lagging_lab
    clone_desktop(lab, 7302, 'east', 'pve-e2', 'sh-0001', 'shanghai', 'spare', True, name='sh-0001-old')
    lab.regions['east'].rrd_refresh()                       # pvestatd's broadcast: 7302 running, old name
    session = api(lab, 'east')
    _wait_task(session, _post(session, '/nodes/pve-e2/qemu/7302/status/stop'))
    session.put(session.base + '/nodes/pve-e2/qemu/7302/config', data={'name': 'sh-0001-spare'},
                verify=session.verify).raise_for_status()
    clone_desktop(lab, 7301, 'east', 'pve-e1', 'sh-0001', 'shanghai', 'desktop', True)
    cached = dict((r['vmid'], r) for r in api_get(session, '/cluster/resources', type='vm'))
    assert 'name' not in cached[7301] and cached[7301]['status'] == 'unknown'      # inside the lag window
    assert cached[7302]['name'] == 'sh-0001-old' and cached[7302]['status'] == 'running'
    data, _proc = listed(lab, write_source(tmp_path, regions=[{'name': 'east'}], agent_ips=False))
    hostvars = data['_meta']['hostvars']
    assert hostvars['sh-0001-d7301']['storedesk_power'] == 'running'
    assert 'sh-0001-d7301' in data['power_running']['hosts']
    assert 'sh-0001-spare' in hostvars and 'sh-0001-old' not in hostvars and 'vm-7302' not in hostvars
    assert 'sh-0001-spare' in data['power_stopped']['hosts']

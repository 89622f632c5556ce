"""Scale-down decides on live power: /cluster/resources' status is pvestatd's RRD cache (~10 s old; pve-manager
PVE/API2Tools.pm extract_vm_stats), so a desktop resumed seconds ago still reads `stopped` there. The launcher
wakes a hibernated desktop, the clerk logs in, a scale-down runs inside the window: that desktop must stay.
Uptime in desktop_info is live too (qemu-server PVE/QemuServer.pm vmstatus)."""

import time

from conftest import api, api_get, ok, run_module, wait_task

IMAGE = {'name': 'store', 'version': '1.0.0'}
CODE = 'tl-0001'


def pool_args(count, image=IMAGE):
    return {'image': image, 'count': count, 'power': 'running',
            'stores': [{'code': CODE, 'city': 'testcity', 'region': 'east', 'subnet': '10.99.164.0/24',
                        'vlan': 2364}]}


def desktops(root):
    """name -> (vmid, node) of the store's desktops, names read live from each config."""
    out = {}
    for item in api_get(root, '/cluster/resources', type='vm'):
        if item.get('type') == 'qemu' and 'store-' + CODE in (item.get('tags') or '').split(';'):
            conf = api_get(root, '/nodes/{0}/qemu/{1}/config'.format(item['node'], item['vmid']))
            out[conf['name']] = (item['vmid'], item['node'])
    return out


def power(root, vmid, node, action, **data):
    wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/{2}'.format(node, vmid, action), **data), node)


def test_scale_down_keeps_a_desktop_resumed_and_in_use_inside_the_cache_window(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root = api(lab)
    rc, result = run_module(lab, 'desktop_pool', pool_args(3))
    assert rc == 0, result['_stdout'] + result['_stderr']
    have = desktops(root)
    vmid, node = have[CODE + '-d03']
    power(root, vmid, node, 'suspend', todisk=1)                # after hours: hibernated
    pve.rrd_refresh()                                           # pvestatd's round: the cache has it stopped
    power(root, vmid, node, 'start')                            # the launcher resumes it ...
    pve.vm(vmid).agent = {'get-users': [{'user': 'clerk', 'domain': 'STORE', 'login-time': time.time()}]}
    cached = dict((i['vmid'], i) for i in api_get(root, '/cluster/resources', type='vm'))
    assert cached[vmid]['status'] == 'stopped' and not cached[vmid].get('lock')     # ... inside the window

    rc, result = run_module(lab, 'desktop_pool', pool_args(2))
    assert rc == 0, result['_stdout'] + result['_stderr']
    after = desktops(root)
    assert CODE + '-d03' in after, 'the desktop the clerk is logged in to was destroyed: {0}'.format(sorted(after))
    assert api_get(root, '/nodes/{0}/qemu/{1}/status/current'.format(node, vmid))['status'] == 'running'
    assert sorted(after) == [CODE + '-d01', CODE + '-d03']      # the free one went instead
    assert not [r for r in pve.requests if r[0] == 'POST' and r[1].endswith('/{0}/status/shutdown'.format(vmid))]
    kept = [d for d in result['desktops'] if d['vmid'] == vmid][0]      # the report says why it stayed
    assert kept.get('kept') and 'in use (logged in: clerk)' in kept['reason'], kept


def test_image_push_skips_a_desktop_resumed_and_in_use_inside_the_cache_window(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root = api(lab)
    rc, result = run_module(lab, 'desktop_pool', pool_args(2))
    assert rc == 0, result['_stdout'] + result['_stderr']
    vmid, node = desktops(root)[CODE + '-d02']
    power(root, vmid, node, 'suspend', todisk=1)
    pve.rrd_refresh()
    power(root, vmid, node, 'start')
    pve.vm(vmid).agent = {'get-users': [{'user': 'clerk', 'domain': 'STORE', 'login-time': time.time()}]}
    pve.seed_image({'vmid': 9101, 'image': 'store', 'version': '1.1.0', 'node': 'pve-e1', 'storage': 'vdi-ceph'})

    rc, result = run_module(lab, 'desktop_pool', pool_args(2, {'name': 'store', 'version': '1.1.0'}))
    assert rc == 0, result['_stdout'] + result['_stderr']
    assert desktops(root)[CODE + '-d02'] == (vmid, node), 'the desktop in use was replaced'
    kept = [d for d in result['desktops'] if d['vmid'] == vmid][0]      # the plan (and check mode) says why
    assert kept['action'] == 'keep' and 'in use (logged in: clerk)' in kept['reason'], kept
    tags = [i for i in api_get(root, '/cluster/resources', type='vm') if i['vmid'] == vmid][0]['tags'].split(';')
    assert 'v-1.0.0' in tags
    assert api_get(root, '/nodes/{0}/qemu/{1}/status/current'.format(node, vmid))['status'] == 'running'


def test_desktop_info_uptime_is_live(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root = api(lab)
    rc, result = run_module(lab, 'desktop_pool', pool_args(1))
    assert rc == 0, result['_stdout'] + result['_stderr']
    vmid, node = desktops(root)[CODE + '-d01']
    pve.vm(vmid).started_at = time.time() - 3600                # up for an hour ...
    pve.rrd_refresh()
    power(root, vmid, node, 'stop')
    power(root, vmid, node, 'start')                            # ... restarted just now
    live = [g for g in api_get(root, '/nodes/{0}/qemu'.format(node)) if g['vmid'] == vmid][0]
    cached = [i for i in api_get(root, '/cluster/resources', type='vm') if i['vmid'] == vmid][0]
    assert cached['uptime'] >= 3600 and live['uptime'] < 60
    rc, result = run_module(lab, 'desktop_info', {'stores': [CODE], 'addresses': False})
    assert rc == 0, result['_stdout'] + result['_stderr']
    got = [d for d in result['desktops'] if d['vmid'] == vmid][0]
    assert got['uptime'] < 60, got

"""Power decisions on live state, not on /cluster/resources' RRD cache (~10 s old; pve-manager PVE/API2Tools.pm
extract_vm_stats): an image push waiting for a desktop's users (push.in_use: wait), and desktop_power."""

import threading
import time

from conftest import api, api_get, ok, run_module, wait_task

IMAGE = {'name': 'store', 'version': '1.0.0'}
CODE = 'tp-0001'


def pool_args(count, image=IMAGE, **extra):
    args = {'image': image, 'count': count, 'power': 'running',
            'stores': [{'code': CODE, 'city': 'testcity', 'region': 'east', 'subnet': '10.99.167.0/24',
                        'vlan': 2367}]}
    args.update(extra)
    return args


def desktops(root):
    """name -> (vmid, node, tags) of the store's desktops, names read live from each config."""
    out = {}
    for item in api_get(root, '/cluster/resources', type='vm'):
        if item.get('type') == 'qemu' and 'store-' + CODE in (item.get('tags') or '').split(';'):
            conf = api_get(root, '/nodes/{0}/qemu/{1}/config'.format(item['node'], item['vmid']))
            out[conf['name']] = (item['vmid'], item['node'], (item.get('tags') or '').split(';'))
    return out


def power(root, vmid, node, action, **data):
    wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/{2}'.format(node, vmid, action), **data), node)


def asked_users(pve, vmid, since, until=None):
    return [r for r in pve.requests[since:until]
            if r[0] == 'GET' and r[1].endswith('/{0}/agent/get-users'.format(vmid))]


def stops(pve, vmid, since, until=None):
    return [r for r in pve.requests[since:until] if r[0] == 'POST' and
            r[1].endswith(('/{0}/status/shutdown'.format(vmid), '/{0}/status/stop'.format(vmid)))]


def users(pve, vmid, *names):
    pve.vm(vmid).agent = {'get-users': [{'user': n, 'domain': 'STORE', 'login-time': time.time()} for n in names]}


def test_push_waiting_for_users_asks_again_after_a_restart_inside_the_cache_window(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root, pve.max_requests = api(lab), 10 ** 6      # request indices stay put
    rc, result = run_module(lab, 'desktop_pool', pool_args(1))
    assert rc == 0, result['_stdout'] + result['_stderr']
    vmid, node, _tags = desktops(root)[CODE + '-d01']
    users(pve, vmid, 'clerk')                                   # in use when the push plans
    pve.rrd_refresh()
    pve.seed_image({'vmid': 9101, 'image': 'store', 'version': '1.1.0', 'node': 'pve-e1', 'storage': 'vdi-ceph'})
    seen = {}

    def the_day():
        start = len(pve.requests)
        deadline = time.monotonic() + 60
        while len(asked_users(pve, vmid, start)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)        # the plan asked (before and under the lease), then the wait's first look
        users(pve, vmid)                                        # clerk logs off, the desktop is restarted ...
        power(root, vmid, node, 'stop')
        pve.rrd_refresh()                                       # ... pvestatd's round catches it stopped
        power(root, vmid, node, 'start')
        users(pve, vmid, 'clerk2')                              # ... and the next clerk logs in
        seen['restarted'] = len(pve.requests)
        time.sleep(4.0)                                         # several looks while clerk2 works
        seen['logoff'] = len(pve.requests)
        users(pve, vmid)                                        # clerk2 logs off: now the push may go on

    worker = threading.Thread(target=the_day, daemon=True)
    worker.start()
    rc, result = run_module(lab, 'desktop_pool', pool_args(1, {'name': 'store', 'version': '1.1.0'},
                                                           push={'in_use': 'wait', 'in_use_timeout': 30}))
    worker.join(10)
    assert 'logoff' in seen, 'the push did not wait at all: ' + result['_stdout']
    assert asked_users(pve, vmid, seen['restarted'], seen['logoff']), \
        ('clerk2 was not asked for while the push waited', result.get('desktops'))
    assert not stops(pve, vmid, seen['restarted'], seen['logoff']), 'stopped while clerk2 was logged in'
    assert rc == 0, result['_stdout'] + result['_stderr']
    have = desktops(root)
    assert 'v-1.1.0' in have[CODE + '-d01'][2], ('not pushed after clerk2 logged off', have, result['desktops'])


# ------------------------------------------------------------------ desktop_power

def power_run(lab, **args):
    rc, result = run_module(lab, 'desktop_power', args)
    assert rc == 0, result['_stdout'] + result['_stderr']
    return result


def test_desktop_power_hibernates_resumed_desktops_and_starts_none_twice_inside_the_cache_window(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root, pve.max_requests = api(lab), 10 ** 6
    rc, result = run_module(lab, 'desktop_pool', pool_args(2))
    assert rc == 0, result['_stdout'] + result['_stderr']
    have = desktops(root)
    (v1, n1, _t1), (v2, n2, _t2) = have[CODE + '-d01'], have[CODE + '-d02']
    for vmid, node in ((v1, n1), (v2, n2)):
        power(root, vmid, node, 'suspend', todisk=1)           # after hours
    pve.rrd_refresh()                                           # the cache: both stopped (hibernated)
    power(root, v1, n1, 'start')                                # the launcher resumes d01 ...
    start = len(pve.requests)
    power_run(lab, action='start', stores=[CODE])               # ... and the morning start runs inside the window
    assert [r[1] for r in pve.requests[start:] if r[0] == 'POST'] == [
        '/api2/json/nodes/{0}/qemu/{1}/status/start'.format(n2, v2)], 'not one start for d02 alone'
    # evening: the cache still says both stopped, both run: a hibernate by store must catch both
    power_run(lab, action='hibernate', stores=[CODE])
    for vmid, node in ((v1, n1), (v2, n2)):
        now = api_get(root, '/nodes/{0}/qemu/{1}/status/current'.format(node, vmid))
        assert (now['status'], now.get('lock')) == ('stopped', 'suspended'), (vmid, now)


def test_desktop_power_query_on_power_reads_it_live(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root = api(lab)
    rc, result = run_module(lab, 'desktop_pool', pool_args(1))
    assert rc == 0, result['_stdout'] + result['_stderr']
    vmid, node, _tags = desktops(root)[CODE + '-d01']
    power(root, vmid, node, 'suspend', todisk=1)
    pve.rrd_refresh()                                           # the cache: hibernated
    power(root, vmid, node, 'start')                            # resumed seconds ago
    result = power_run(lab, action='hibernate', query="[?power=='running' && store=='{0}']".format(CODE))
    now = api_get(root, '/nodes/{0}/qemu/{1}/status/current'.format(node, vmid))
    assert (now['status'], now.get('lock')) == ('stopped', 'suspended'), ('left running', result['desktops'])


def test_desktop_power_fails_on_a_node_whose_live_power_cannot_be_read(lagging_lab):
    lab, pve = lagging_lab, lagging_lab.regions['east']
    root = api(lab)
    rc, result = run_module(lab, 'desktop_pool', pool_args(1))
    assert rc == 0, result['_stdout'] + result['_stderr']
    vmid, node, _tags = desktops(root)[CODE + '-d01']
    pve.rrd_refresh()                                           # the cache: running
    power(root, vmid, node, 'stop')                             # stopped seconds ago
    pve.fail('GET', '/nodes/{0}/qemu'.format(node), 595, 'no route to host')   # its guest list cannot be read
    rc, result = run_module(lab, 'desktop_power', {'action': 'start', 'stores': [CODE]})
    assert rc != 0 and 'could not be read live' in result.get('msg', ''), ('a stopped desktop reported fine',
                                                                           result['_stdout'])
    assert api_get(root, '/nodes/{0}/qemu/{1}/status/current'.format(node, vmid))['status'] == 'stopped'

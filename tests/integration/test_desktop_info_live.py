"""desktop_info right after desktops were cloned, renamed or shut down: PVE's /cluster/resources serves names and
power states from the RRD cache (~10 s old); the module must report the desktops as they are."""

from conftest import api, api_get, ok, run_module, wait_task

NODE = 'pve-e1'
TAGS = 'storedesk;store-sh-0001;city-shanghai;region-east;image-store;v-1.0.0;role-desktop'


def clone(root, vmid, name, start):
    wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/9100/clone'.format(NODE), newid=vmid, name=name))
    ok(root, 'PUT', '/nodes/{0}/qemu/{1}/config'.format(NODE, vmid), tags=TAGS)
    if start:
        wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/start'.format(NODE, vmid)))


def test_desktop_info_reports_current_names_and_power_states(lagging_lab):
    lab = lagging_lab
    root = api(lab)
    clone(root, 2601, 'sh-0001-old', True)
    lab.regions['east'].rrd_refresh()                   # pvestatd's broadcast; from here on the cache is old
    wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/2601/status/stop'.format(NODE)))
    ok(root, 'PUT', '/nodes/{0}/qemu/2601/config'.format(NODE), name='sh-0001-d01')
    clone(root, 2602, 'sh-0001-d02', True)
    cached = dict((r['vmid'], r) for r in api_get(root, '/cluster/resources', type='vm'))
    assert cached[2601]['name'] == 'sh-0001-old' and cached[2601]['status'] == 'running'
    assert 'name' not in cached[2602]                                   # inside the lag window
    rc, result = run_module(lab, 'desktop_info', {'stores': ['sh-0001'], 'addresses': False})
    assert rc == 0, result['_stdout'] + result['_stderr']
    got = dict((d['vmid'], (d['name'], d['power'])) for d in result['desktops'])
    assert got == {2601: ('sh-0001-d01', 'stopped'), 2602: ('sh-0001-d02', 'running')}

"""store_access terminals right after desktops were cloned, renamed or made templates: PVE's /cluster/resources
serves names and template flags from the RRD cache (~10 s old); the terminals must get the desktops as they are."""

import pytest

from conftest import api, api_get, ok, run_module, wait_task

NODE, STORE = 'pve-e1', 'sh-0001'
RENAMED, NEW, TEMPLATE = 2501, 2502, 2503


@pytest.fixture
def lagging(lagging_lab):
    """The store's desktops, renamed, made a template and cloned after pvestatd's last broadcast."""
    lab = lagging_lab
    root = api(lab)
    ok(root, 'POST', '/pools', poolid='store-' + STORE)
    for vmid, name in ((RENAMED, 'sh-0001-old'), (TEMPLATE, 'sh-0001-tpl')):
        wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/9100/clone'.format(NODE), newid=vmid, name=name,
                           pool='store-' + STORE))
    lab.regions['east'].rrd_refresh()            # pvestatd's broadcast; from here on the cache is old
    ok(root, 'PUT', '/nodes/{0}/qemu/{1}/config'.format(NODE, RENAMED), name='sh-0001-d2501')
    ok(root, 'POST', '/nodes/{0}/qemu/{1}/template'.format(NODE, TEMPLATE))
    wait_task(root, ok(root, 'POST', '/nodes/{0}/qemu/9100/clone'.format(NODE), newid=NEW, name='sh-0001-d2502',
                       pool='store-' + STORE))
    cached = dict((r['vmid'], r) for r in api_get(root, '/cluster/resources', type='vm'))
    assert cached[RENAMED]['name'] == 'sh-0001-old' and not cached[TEMPLATE].get('template')
    assert 'name' not in cached[NEW]                                    # inside the lag window
    return lab, root


def token_acl(root, vmid):
    return [e for e in api_get(root, '/access/acl') if e['path'] == '/vms/{0}'.format(vmid) and e['type'] == 'token']


def test_terminals_get_desktops_by_their_live_names_and_never_a_template(lagging):
    lab, root = lagging
    rc, result = run_module(lab, 'store_access', {'terminals': [
        {'name': 't01', 'store': STORE, 'desktops': ['sh-0001-d2501', 'sh-0001-d2502']}]})
    assert rc == 0, result.get('msg') or result['_stdout'] + result['_stderr']
    token = 'storedesk-terminals-sh-0001@pve!t01'
    assert [e['ugid'] for e in token_acl(root, RENAMED)] == [token]
    assert [e['ugid'] for e in token_acl(root, NEW)] == [token]

    rc, result = run_module(lab, 'store_access', {'terminals': [
        {'name': 't02', 'store': STORE, 'desktops': ['sh-0001-tpl']}]})
    assert rc != 0 and 'desktop sh-0001-tpl not found' in result['msg']
    assert token_acl(root, TEMPLATE) == []

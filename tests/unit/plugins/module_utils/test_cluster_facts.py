"""cluster_info's pure part: figures come straight from the API's answer."""

from ansible_collections.storedesk.vdi.plugins.module_utils import _cluster_facts, _tags

GIB = 1024 ** 3


def raw():
    return {
        'status': [{'type': 'cluster', 'name': 'pve-east', 'quorate': 1, 'nodes': 2},
                   {'type': 'node', 'name': 'n1', 'online': 1}, {'type': 'node', 'name': 'n2', 'online': 0}],
        'version': {'version': '9.0.10', 'release': '9.0'},
        'pools': [{'poolid': 'store-sh-0001'}],
        'resources': [
            {'type': 'node', 'node': 'n1', 'status': 'online', 'maxcpu': 48, 'maxmem': 384 * GIB, 'mem': 20 * GIB},
            {'type': 'node', 'node': 'n2', 'status': 'offline'},
            {'type': 'storage', 'node': 'n1', 'storage': 'vdi-ceph', 'plugintype': 'rbd', 'shared': 1,
             'content': 'images', 'status': 'available', 'maxdisk': 100 * GIB, 'disk': 40 * GIB},
            {'type': 'qemu', 'vmid': 9100, 'node': 'n1', 'name': 'tpl', 'template': 1, 'status': 'stopped',
             'tags': 'image-store;storedesk;v-1.0.0', 'maxmem': 4 * GIB, 'maxcpu': 2},
            {'type': 'qemu', 'vmid': 100, 'node': 'n1', 'name': 'sh-0001-d01', 'status': 'running',
             'tags': _tags.desktop_tags('sh-0001', version='1.0.0'), 'maxmem': 4 * GIB, 'maxcpu': 2},
            {'type': 'qemu', 'vmid': 101, 'node': 'n1', 'name': 'unmanaged', 'status': 'running',
             'tags': 'store-sh-0001', 'maxmem': 4 * GIB, 'maxcpu': 2},
        ]}


def test_nodes_storage_templates_and_stores():
    facts = _cluster_facts.build_facts(raw())
    assert facts['cluster'] == {'name': 'pve-east', 'quorate': True, 'nodes_total': 2, 'nodes_online': 1}
    n1, n2 = facts['nodes']
    assert (n1['cpu_cores'], n1['memory_free_bytes'], n1['vms_total'], n1['vms_running']) == (48, 364 * GIB, 2, 2)
    assert n1['storages'][0]['avail_bytes'] == 60 * GIB and n1['storages'][0]['shared'] is True
    assert n2['online'] is False and n2['cpu_cores'] == 0
    assert facts['templates'] == [{'vmid': 9100, 'name': 'tpl', 'node': 'n1', 'image': 'store',
                                   'version': '1.0.0', 'tags': ['image-store', 'storedesk', 'v-1.0.0']}]
    # Only VMs carrying the storedesk marker count as store desktops.
    assert facts['stores'] == {'sh-0001': {'desktops': 1, 'running': 1, 'nodes': {'n1': 1}, 'images': {'1.0.0': 1}}}
    assert facts['totals']['cpu_cores'] == 48


def test_tags_round_trip():
    tags = _tags.desktop_tags('hz-0101', city='hangzhou', region='east', image='store', version='2.1.0')
    parsed = _tags.parse(tags)
    assert parsed['managed'] and parsed['store'] == 'hz-0101' and parsed['version'] == '2.1.0'
    assert tags == ';'.join(sorted(tags.split(';')))
    assert all(_tags.TAG_RE.match(t) for t in tags.split(';'))

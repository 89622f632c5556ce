"""_guest_live: /cluster/resources' cached name/status/template replaced by the nodes' live guest lists."""

from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as live
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveApiError

CACHED = [
    {'type': 'qemu', 'vmid': 101, 'node': 'n1', 'name': 'old', 'status': 'running', 'tags': 'storedesk'},
    {'type': 'qemu', 'vmid': 102, 'node': 'n1', 'status': 'unknown', 'lock': 'clone'},      # no RRD entry yet
    {'type': 'qemu', 'vmid': 201, 'node': 'n2', 'name': 'tpl', 'status': 'stopped', 'template': 0},
    {'type': 'qemu', 'vmid': 301, 'node': 'n3', 'name': 'other', 'status': 'running'},
]
LIVE = {
    'n1': [{'vmid': 101, 'name': 'new', 'status': 'stopped', 'tags': 'storedesk'},
           {'vmid': 102, 'name': 'VM 102', 'status': 'stopped'}],
    'n2': [{'vmid': 201, 'name': 'tpl', 'status': 'stopped', 'template': 1}],
}


class FakeClient(object):
    def __init__(self, down=()):
        self.calls, self.down = [], set(down)

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)

    def get(self, path, **params):
        self.calls.append((path, params))
        if path == '/cluster/resources':
            return [dict(i) for i in CACHED]
        node = path.split('/')[2]
        if node in self.down:
            raise PveApiError(595, 'GET', path, 'no route to host')
        return LIVE[node]


def test_names_states_locks_and_template_flags_come_from_the_nodes_guest_lists():
    client = FakeClient(down=('n3',))
    got = dict((i['vmid'], i) for i in live.resources(client))
    assert got[101]['name'] == 'new' and got[101]['status'] == 'stopped'
    assert 'name' not in got[102] and got[102]['status'] == 'stopped' and 'lock' not in got[102]
    assert got[201]['template'] == 1
    assert got[301] == CACHED[3]                                 # node unreachable: the cached entry stays
    assert client.calls[0] == ('/cluster/resources', {'type': 'vm'})
    assert sorted(p for p, _ in client.calls[1:]) == ['/nodes/n1/qemu', '/nodes/n2/qemu', '/nodes/n3/qemu']


def test_only_the_nodes_of_wanted_guests_are_read():
    client = FakeClient()
    got = live.resources(client, lambda item: 'storedesk' in str(item.get('tags')))
    assert [p for p, _ in client.calls[1:]] == ['/nodes/n1/qemu']
    assert [i['name'] for i in got if i['vmid'] in (101, 201)] == ['new', 'tpl']

"""desktop_power decides nothing on cached power: a node whose live guest list could not be read is reported."""

from __future__ import annotations

from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import confirm_live
from ansible_collections.storedesk.vdi.plugins.module_utils._power_select import plan
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveApiError


def rec(vmid, node, power):
    return {'vmid': vmid, 'name': 'ut-0001-d0{0}'.format(vmid), 'node': node, 'power': power, 'online': True,
            'tags': []}


def test_desktops_on_an_unread_node_get_no_operation_and_say_why():
    steps = plan([rec(1, 'pve-e1', 'stopped'), rec(2, 'pve-e2', 'stopped')], 'start', unread={'pve-e2'})
    assert [(r['vmid'], op) for r, op, _why in steps] == [(1, 'start'), (2, None)]
    assert 'could not be read live (GET /nodes/pve-e2/qemu failed)' in steps[1][2]


class Client(object):
    def get(self, path, **params):
        if path == '/nodes/pve-e2/qemu':
            raise PveApiError(595, 'GET', path, 'no route to host')
        return [{'vmid': 1, 'status': 'stopped'}]

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)


def test_confirm_live_returns_only_the_nodes_it_read():
    actual = {'vms': [{'vmid': 1, 'node': 'pve-e1', 'status': 'running', 'power': 'running', 'lock': None,
                       'template': False, 'maxmem': 0, 'name': 'a'},
                      {'vmid': 2, 'node': 'pve-e2', 'status': 'running', 'power': 'running', 'lock': None,
                       'template': False, 'maxmem': 0, 'name': 'b'}]}
    assert confirm_live(Client(), actual, ['pve-e1', 'pve-e2']) == ['pve-e1']
    assert [vm['power'] for vm in actual['vms']] == ['stopped', 'running']

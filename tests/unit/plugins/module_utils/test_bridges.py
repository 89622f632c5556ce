"""The store bridge rule (module_utils/_bridges.py) on plain data, and how the pre-flight names its fields."""

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _bridges
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_desired import Problems
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.plugin_utils._preflight import preflight_problems

VMBR0 = {'iface': 'vmbr0', 'type': 'bridge', 'bridge_ports': 'eno1'}
VMBR1 = {'iface': 'vmbr1', 'type': 'bridge', 'bridge_ports': 'eno2', 'bridge_vlan_aware': 1}
INTERNAL = {'iface': 'vmbr5', 'type': 'bridge', 'bridge_ports': ''}
OVS = {'iface': 'vmbr6', 'type': 'OVSBridge'}


def nodes(*entries):
    return dict((e['iface'], e) for e in entries)


def problems_of(stores, by_node):
    found = Problems()
    _bridges.bridge_problems(stores, by_node, found)
    return found.items


def test_a_bridge_missing_on_some_nodes_names_them_and_what_they_have():
    by_node = {'n1': nodes(VMBR0, VMBR1), 'n2': nodes(VMBR0)}
    got = problems_of([{'code': 'sh-0001', 'bridge': 'vmbr1', 'vlan': 2101, 'nodes': ['n1', 'n2']}], by_node)
    assert len(got) == 1 and got[0].startswith("store sh-0001: bridge: 'vmbr1' is not a bridge on n2 (bridges "
                                               "there: vmbr0)"), got
    assert 'create vmbr1 on it' in got[0]


@pytest.mark.parametrize('bridge,vlan,refused', [
    ('vmbr0', 2101, False),       # not VLAN-aware, but a port: PVE builds vmbr0v2101
    ('vmbr1', 2101, False),       # VLAN-aware
    ('vmbr5', None, False),       # untagged on a port-less bridge
    ('vmbr5', 2101, True),        # activate_bridge_vlan: no physical interface on bridge
    ('vmbr6', 2101, False),       # OVS takes the tag
])
def test_a_vlan_tag_is_refused_only_where_pve_cannot_plug_it(bridge, vlan, refused):
    by_node = {'n1': nodes(VMBR0, VMBR1, INTERNAL, OVS)}
    got = problems_of([{'code': 'sh-0001', 'bridge': bridge, 'vlan': vlan, 'nodes': ['n1']}], by_node)
    assert bool(got) is refused, got
    if refused:
        assert got[0].startswith("store sh-0001: vlan: tag 2101 on bridge 'vmbr5', which is not VLAN-aware")


def test_only_stores_a_plan_puts_on_their_bridge_are_checked_on_their_placement_and_op_nodes():
    stores = [{'code': 'sh-0001', 'bridge': 'vmbr1'}, {'code': 'sh-0002', 'bridge': 'vmbr9'}]
    ops = [{'store': 'sh-0001', 'node': 'n3', 'actions': ['create', 'start']},
           {'store': 'sh-0002', 'node': 'n1', 'actions': ['shutdown']},
           {'store': 'sh-0002', 'node': 'n2', 'actions': ['destroy']}]
    assert _bridges.store_nodes(stores, ops, ['n1']) == [
        {'code': 'sh-0001', 'bridge': 'vmbr1', 'vlan': None, 'nodes': ['n1', 'n3']}]


class Client(object):
    def __init__(self, by_node):
        self.by_node, self.calls = by_node, []

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)

    def get(self, path, **params):
        self.calls.append((path, params))
        return list(self.by_node[path.split('/')[2]].values())


def test_check_reads_each_online_node_once_and_raises_before_any_change():
    client = Client({'n1': nodes(VMBR0), 'n2': nodes(VMBR0)})
    actual = {'nodes': {'n1': {'online': True}, 'n2': {'online': True}, 'n3': {'online': False}}}
    stores = [{'code': 'sh-0001', 'bridge': 'vmbr1'}, {'code': 'sh-0002', 'bridge': 'vmbr1'}]
    ops = [{'store': s['code'], 'node': 'n1', 'actions': ['create']} for s in stores]
    with pytest.raises(InputError) as err:
        _bridges.check(client, stores, ops, actual)
    assert str(err.value).startswith('2 problem(s) in the input, nothing was changed: store sh-0001: bridge:')
    assert client.calls == [('/nodes/n1/network', {'type': 'any_bridge'}), ('/nodes/n2/network', {'type': 'any_bridge'})]
    client.calls = []
    _bridges.check(client, stores, [dict(op, actions=['none']) for op in ops], actual)   # nothing to do: no read
    assert client.calls == []


def test_the_preflight_names_the_inventory_fields():
    plan = {'item': 'west', 'failed': True,
            'msg': "2 problem(s) in the input, nothing was changed: store cd-0201: bridge: 'vmbr7' is not a bridge "
                   "on pve-w2 (x); store cd-0202: vlan: tag 5 on bridge 'vmbr5' (y)"}
    assert preflight_problems([], [plan]) == [
        "region west: store cd-0201: store_bridge: 'vmbr7' is not a bridge on pve-w2 (x)",
        "region west: store cd-0202: store_vlan: tag 5 on bridge 'vmbr5' (y)"]

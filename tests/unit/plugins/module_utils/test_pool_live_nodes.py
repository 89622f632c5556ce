"""Scale-down, duplicates and image push decide on live power: which nodes are read live (live_nodes), and what the
plan does once confirm_live has replaced /cluster/resources' cached status (RRD cache, ~10 s old)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, '.venv', 'collections'))

from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_plan as planner  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import confirm_live  # noqa: E402
from test_pool_plan import desktop, details_for, params, region, run_plan  # noqa: E402


class NodeLists(object):
    """GET /nodes/{node}/qemu answers: the guests' live state."""

    def __init__(self, live):
        self.live, self.calls = live, []

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)

    def get(self, path, **_params):
        self.calls.append(path)
        node = path.split('/')[2]
        return [dict(g, vmid=vmid) for vmid, g in self.live.items() if g['node'] == node]


def scale_down_region():
    """d01 running on pve-e1; d02 running on pve-e2; d03 on pve-e3 resumed seconds ago: the cache says stopped."""
    return region(desktop('sh-0001', 1, 1000), desktop('sh-0001', 2, 1001, node_name='pve-e2'),
                  desktop('sh-0001', 3, 1002, node_name='pve-e3', status='stopped'))


def planned(p, actual, users):
    _, first = run_plan(p, actual)
    details = details_for([vm for vm in actual['vms'] if vm['vmid'] in first['needs']['config']], users=users)
    for vmid in details:
        if vmid not in first['needs']['users']:
            details[vmid].pop('users')          # read_details asks the agent only for those the plan names
    return first, run_plan(p, actual, details)[1]


def test_nodes_of_every_desktop_of_a_store_that_loses_one_are_read_live():
    p, actual = params(count=2), scale_down_region()
    first, plan = planned(p, actual, {1002: ['STORE\\clerk']})
    assert 1002 not in first['needs']['users']                  # cached `stopped`: nobody asked
    assert [op['name'] for op in plan['ops'] if op['actions'] == ['destroy']] == ['sh-0001-d03']
    assert planner.live_nodes(plan['ops'], actual) == ['pve-e1', 'pve-e2', 'pve-e3']


def test_once_read_live_the_resumed_desktop_in_use_stays_and_a_free_one_goes():
    p, actual = params(count=2), scale_down_region()
    client = NodeLists({1000: {'node': 'pve-e1', 'status': 'running'}, 1001: {'node': 'pve-e2', 'status': 'running'},
                        1002: {'node': 'pve-e3', 'status': 'running', 'uptime': 4}})
    confirm_live(client, actual, ['pve-e1', 'pve-e2', 'pve-e3'])
    first, plan = planned(p, actual, {1002: ['STORE\\clerk']})
    assert 1002 in first['needs']['users']                      # live running: its users are asked
    destroyed = [op['name'] for op in plan['ops'] if op['actions'] == ['destroy']]
    assert destroyed == ['sh-0001-d02']
    kept = [op for op in plan['ops'] if op['name'] == 'sh-0001-d03'][0]
    assert 'destroy' not in kept['actions'] and 'shutdown' not in kept['actions']
    assert 'in use (logged in: STORE\\clerk)' in kept['kept']


def test_no_removal_and_no_power_change_reads_nothing_live():
    p = params(count=3)
    actual = scale_down_region()
    [vm for vm in actual['vms'] if vm['vmid'] == 1002][0].update(status='running', power='running')
    _, plan = planned(p, actual, {})
    assert not planner.changes(plan['ops'])
    assert planner.live_nodes(plan['ops'], actual) == []


def test_a_push_replace_reads_its_store_live_and_offline_nodes_are_left_out():
    p = params(count=2, image={'name': 'store', 'version': '1.0.0'})
    actual = region(desktop('sh-0001', 1, 1000, version='0.9.0'),
                    desktop('sh-0001', 2, 1001, node_name='pve-e2', version='0.9.0', status='stopped'))
    _, plan = planned(p, actual, {})
    assert [planner.action_label(op) for op in plan['ops']] == ['replace', 'replace']
    assert planner.live_nodes(plan['ops'], actual) == ['pve-e1', 'pve-e2']
    actual['nodes']['pve-e2']['online'] = False
    assert planner.live_nodes(plan['ops'], actual) == ['pve-e1']

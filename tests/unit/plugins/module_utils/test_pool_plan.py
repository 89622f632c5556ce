"""desktop_pool's desired state and planner with plain data: no lab, no I/O."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, '.venv', 'collections'))

from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_desired as desired  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_plan as planner  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import parse_region  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._vmid_alloc import VmidAllocator  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_args import POOL_ARGSPEC  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError  # noqa: E402

GIB = 1024 ** 3


def params(**over):
    out = {}
    for key, spec in POOL_ARGSPEC.items():
        out[key] = spec.get('default')
        if spec.get('options') and isinstance(out[key], dict):
            out[key] = dict((k, v.get('default')) for k, v in spec['options'].items())
    out.update(image={'name': 'store', 'version': '1.0.0'}, count=4)
    stores = over.pop('stores', [{'code': 'sh-0001', 'subnet': '10.21.1.0/24', 'vlan': 2101}])
    blank = dict((k, None) for k in POOL_ARGSPEC['store']['options'])
    out['stores'] = [dict(blank, **s) for s in stores]
    out.update(over)
    return out


def node(name, mem_gib=64, used_gib=4, online=True):
    return {'type': 'node', 'node': name, 'status': 'online' if online else 'offline', 'maxmem': mem_gib * GIB,
            'mem': used_gib * GIB}


def template(version='1.0.0', vmid=9100, node_name='pve-e1'):
    return {'type': 'qemu', 'vmid': vmid, 'name': 'tpl-store-' + version, 'node': node_name, 'status': 'stopped',
            'template': 1, 'maxmem': 4 * GIB, 'tags': 'image-store;storedesk;v-' + version}


def desktop(store, index, vmid, node_name='pve-e1', status='running', version='1.0.0', p=None, lock=None,
            extra_tags=(), role='desktop'):
    p = p or params()
    stores = desired.build(p)
    s = [x for x in stores if x['code'] == store][0]
    spec = desired.desktop_spec(s, p, index, role)
    tags = spec['tags'].replace('v-1.0.0', 'v-' + version)
    if extra_tags:
        tags += ';' + ';'.join(extra_tags)
    item = {'type': 'qemu', 'vmid': vmid, 'name': spec['name'], 'node': node_name, 'status': status,
            'template': 0, 'maxmem': 4 * GIB, 'tags': tags, 'pool': s['pool']}
    if lock:
        item['lock'] = lock
    return item


def region(*vms, nodes=None, pools=('store-sh-0001',)):
    nodes = nodes or [node('pve-e1'), node('pve-e2'), node('pve-e3')]
    storage = [{'type': 'storage', 'storage': 'vdi-ceph', 'node': 'pve-e1', 'shared': 1}]
    return parse_region(list(nodes) + [template()] + storage + list(vms), [{'poolid': p} for p in pools])


def run_plan(p, actual, details=None):
    stores = desired.build(p)
    return stores, planner.plan(stores, p, actual, details or {})


def acts(plan):
    return dict((op['name'], planner.action_label(op)) for op in plan['ops'])


# ------------------------------------------------------------------ desired state, validation


def test_names_tags_spice_and_static_addresses():
    p = params(addressing='static', stores=[{'code': 'sh-0001', 'city': 'shanghai', 'region': 'east',
                                              'subnet': '10.21.1.0/24', 'vlan': 2101, 'bridge': 'vmbr1',
                                              'link': {'bandwidth_mbps': 8, 'latency_ms': 150}}])
    store = desired.build(p)[0]
    spec = desired.desktop_spec(store, p, 7, 'desktop')
    assert spec['name'] == 'sh-0001-d07'
    assert set(spec['tags'].split(';')) == {'storedesk', 'store-sh-0001', 'city-shanghai', 'region-east',
                                            'image-store', 'v-1.0.0', 'role-desktop', 'cfg-' + spec['cfg']}
    assert spec['config']['net0'] == 'virtio,bridge=vmbr1,tag=2101'
    assert spec['config']['vga'] == 'qxl'
    assert spec['config']['spice_enhancements'] == 'foldersharing=1,videostreaming=off'   # 150 ms, 8 Mbit/s
    assert spec['config']['ipconfig0'] == 'ip=10.21.1.17/24,gw=10.21.1.1'
    assert spec['ip'] == '10.21.1.17'
    text = desired.description(store, spec)
    assert desired.parse_description(text) == ('sh-0001', 'store', '1.0.0', 7)


@pytest.mark.parametrize('link,mode', [({'bandwidth_mbps': 100, 'latency_ms': 10}, 'all'),
                                       ({'bandwidth_mbps': 20, 'latency_ms': 60}, 'filter'),
                                       ({'bandwidth_mbps': 5, 'latency_ms': 20}, 'off')])
def test_spice_video_follows_the_link(link, mode):
    assert desired.spice_profile({'link': link}).endswith('videostreaming=' + mode)


@pytest.mark.parametrize('stores,over,expect', [
    ([{'code': 'sh-0001', 'vlan': 5}, {'code': 'sh-0001', 'vlan': 6}], {}, 'store sh-0001: code: given twice'),
    ([{'code': 'sh-0001', 'subnet': '10.1.0.0/16', 'vlan': 5}, {'code': 'sh-0002', 'subnet': '10.1.2.0/24', 'vlan': 6}],
     {}, 'store sh-0002: subnet: 10.1.2.0/24 overlaps 10.1.0.0/16 of store sh-0001'),
    ([{'code': 'sh-0001', 'vlan': 7}, {'code': 'sh-0002', 'vlan': 7}], {}, 'store sh-0002: vlan: VLAN 7'),
    ([{'code': 'sh-0001', 'vlan': 4095}], {}, 'store sh-0001: vlan: 4095 is outside 1-4094'),
    ([{'code': 'sh-0001', 'vlan': 5, 'count': -1}], {}, 'store sh-0001: count: -1 is negative'),
    ([{'code': 'sh-0001', 'vlan': 5, 'count': 2, 'spares': 3}], {}, 'store sh-0001: spares: 3 spares for 2'),
    ([{'code': 'sh-0001', 'vlan': 5}], {'name_pattern': 'desk'}, 'gives the same name to several desktops'),
    ([{'code': 'sh-0001', 'vlan': 5}], {'name_pattern': '{store}_d{index}'}, "'sh-0001_d1' is not a valid VM name"),
    ([{'code': 'sh-0001', 'vlan': 5}], {'name_pattern': '{shop}-{index}'}, 'name_pattern: cannot be filled'),
    ([{'code': 'sh-0001', 'vlan': 5}, {'code': 'sh-0002', 'vlan': 6}], {'name_pattern': 'desk-{index}'},
     'store sh-0002: name_pattern: name desk-1 is also a desktop of store sh-0001'),
    ([{'code': 'sh-0001', 'vlan': 5, 'subnet': '10.0.0.0/29'}], {'addressing': 'static'}, 'has no room for 4'),
])
def test_bad_input_names_store_field_and_fix(stores, over, expect):
    with pytest.raises(InputError) as err:
        desired.build(params(stores=stores, **over))
    text = str(err.value)
    assert expect in text, text
    assert 'nothing was changed' in text and '(' in text


def test_all_problems_reported_at_once():
    with pytest.raises(InputError) as err:
        desired.build(params(stores=[{'code': 'sh-0001', 'vlan': 0}, {'code': 'sh-0002', 'vlan': 5, 'count': -2}]))
    assert '2 problem(s)' in str(err.value)


def test_unknown_image_version_and_capacity_are_rejected_before_any_change():
    with pytest.raises(InputError) as err:
        run_plan(params(image={'name': 'store', 'version': '9.9.9'}), region())
    assert 'store sh-0001: image.version: no template tagged image-store and v-9.9.9' in str(err.value)
    assert 'versions here: 1.0.0' in str(err.value)
    small = [node('pve-e1', 24), node('pve-e2', 24)]     # 20 GiB free each: 5 + 5 desktops of 4 GiB
    with pytest.raises(InputError) as err:
        run_plan(params(count=12), region(nodes=small))
    assert 'store sh-0001 (2 short)' in str(err.value) and 'count: 2 desktop(s) more' in str(err.value)


# ---------------------------------------------------------------------------- placement


def test_placement_spreads_each_store_over_nodes_then_by_free_memory():
    p = params(count=6, stores=[{'code': 'sh-0001', 'vlan': 5}, {'code': 'sh-0002', 'vlan': 6}])
    nodes = [node('pve-e1', 64, 40), node('pve-e2', 256), node('pve-e3', 128)]
    _, plan = run_plan(p, region(nodes=nodes))
    for code in ('sh-0001', 'sh-0002'):
        spread = [op['node'] for op in plan['ops'] if op['store'] == code]
        assert sorted(spread.count(n) for n in ('pve-e1', 'pve-e2', 'pve-e3')) == [2, 2, 2]
    first = [op['node'] for op in plan['ops'] if op['store'] == 'sh-0001'][:3]
    assert first == ['pve-e2', 'pve-e3', 'pve-e1']       # most free memory first


def test_offline_nodes_get_nothing_and_their_desktops_are_kept():
    nodes = [node('pve-e1'), node('pve-e2', online=False), node('pve-e3')]
    _, plan = run_plan(params(), region(desktop('sh-0001', 1, 1000, 'pve-e2'), nodes=nodes))
    assert acts(plan)['sh-0001-d01'] == 'keep'
    assert set(op['node'] for op in plan['ops'] if 'create' in op['actions']) <= {'pve-e1', 'pve-e3'}
    assert len([op for op in plan['ops'] if 'create' in op['actions']]) == 3


def test_idempotent_when_everything_matches():
    p = params(count=2)
    _, plan = run_plan(p, region(desktop('sh-0001', 1, 1000), desktop('sh-0001', 2, 1001, 'pve-e2')))
    assert acts(plan) == {'sh-0001-d01': 'none', 'sh-0001-d02': 'none'}
    assert not planner.changes(plan['ops']) and not plan['needs']['config']


def test_drift_is_seen_from_tags_alone():
    p = params(count=1)
    old = desktop('sh-0001', 1, 1000, p=params(count=1, stores=[{'code': 'sh-0001', 'vlan': 99}]))
    _, plan = run_plan(p, region(old))
    assert acts(plan) == {'sh-0001-d01': 'reconfigure'}
    retag = desktop('sh-0001', 1, 1000, role='spare')
    _, plan = run_plan(p, region(retag))
    assert acts(plan) == {'sh-0001-d01': 'retag'}


def test_power_spares_and_hibernation():
    p = params(count=2, spares=1, power='hibernated')
    vms = [desktop('sh-0001', 1, 1000), desktop('sh-0001', 2, 1001, status='stopped'),
           desktop('sh-0001', 3, 1002, status='stopped', role='spare')]
    _, plan = run_plan(p, region(*vms))
    assert acts(plan) == {'sh-0001-d01': 'hibernate', 'sh-0001-d02': 'none', 'sh-0001-d03': 'start'}
    p = params(count=2, power='running')
    hib = desktop('sh-0001', 1, 1000, status='stopped', lock='suspended')
    _, plan = run_plan(p, region(hib, desktop('sh-0001', 2, 1001)))
    assert acts(plan)['sh-0001-d01'] == 'start'


# ---------------------------------------------------------------------------- scale down


def details_for(vms, protected=(), users=None):
    out = {}
    for vm in vms:
        out[vm['vmid']] = {'config': {'protection': 1 if vm['vmid'] in protected else 0},
                           'users': (users or {}).get(vm['vmid'], [])}
    return out


def test_scale_down_removes_stopped_first_never_protected_or_in_use():
    p = params(count=2)
    vms = [desktop('sh-0001', 1, 1000), desktop('sh-0001', 2, 1001, status='stopped'),
           desktop('sh-0001', 3, 1002), desktop('sh-0001', 4, 1003, status='stopped'),
           desktop('sh-0001', 5, 1004, extra_tags=['inuse']), desktop('sh-0001', 6, 1005)]
    actual = region(*vms)
    _, first = run_plan(p, actual)
    assert first['needs']['config'] == {1000, 1001, 1002, 1003, 1004, 1005}
    assert not [op for op in first['ops'] if 'destroy' in op['actions']]      # nothing before details
    details = details_for(actual['vms'], protected={1001}, users={1005: ['AD\\alice'], 1000: ['root']})
    _, plan = run_plan(p, actual, details)
    destroyed = sorted(op['name'] for op in plan['ops'] if op['actions'] == ['destroy'])
    # stopped d04 first (d02 is protected), then running ones highest index first: d06 in use, d05 tagged inuse
    assert destroyed == ['sh-0001-d01', 'sh-0001-d03', 'sh-0001-d04']
    kept = [op['name'] for op in plan['ops'] if 'destroy' not in op['actions']]
    assert sorted(kept) == ['sh-0001-d02', 'sh-0001-d05', 'sh-0001-d06']
    assert any('1 desktop(s) above count kept' in w for w in plan['warnings'])


def test_duplicates_from_an_interrupted_push_resolve_to_the_new_version():
    p = params(count=1, image={'name': 'store', 'version': '1.1.0'})
    actual = parse_region([node('pve-e1'), template('1.0.0'), template('1.1.0', 9101),
                           desktop('sh-0001', 1, 1000, version='1.0.0'),
                           desktop('sh-0001', 1, 1007, version='1.1.0', status='stopped',
                                   p=params(count=1, image={'name': 'store', 'version': '1.1.0'}))],
                          [{'poolid': 'store-sh-0001'}])
    _, plan = run_plan(p, actual, details_for(actual['vms']))
    by_vmid = dict((op['vmid'], planner.action_label(op)) for op in plan['ops'])
    assert by_vmid == {1000: 'destroy', 1007: 'start'}


# ---------------------------------------------------------------------------- image push


def test_image_push_canary_then_batches_and_in_use_skipped_or_waiting():
    p = params(count=8, image={'name': 'store', 'version': '1.1.0'}, push={'canary': 1, 'batch_size': 3,
                                                                          'in_use': 'skip', 'in_use_timeout': 5,
                                                                          'stop_on_error': True})
    vms = [desktop('sh-0001', i, 1000 + i, version='1.0.0') for i in range(1, 9)]
    vms[4]['tags'] += ';inuse'
    actual = parse_region([node('pve-e1', 256), template('1.0.0'), template('1.1.0', 9101)] + vms,
                          [{'poolid': 'store-sh-0001'}])
    _, plan = run_plan(p, actual, details_for(actual['vms']))
    batches = dict((op['name'], op['batch']) for op in plan['ops'] if 'replace' in op['actions'])
    assert batches == {'sh-0001-d01': 0, 'sh-0001-d02': 1, 'sh-0001-d03': 1, 'sh-0001-d04': 1,
                       'sh-0001-d06': 2, 'sh-0001-d07': 2, 'sh-0001-d08': 2}
    assert acts(plan)['sh-0001-d05'] == 'keep'
    p['push']['in_use'] = 'wait'
    _, plan = run_plan(p, actual, details_for(actual['vms']))
    waiting = [op for op in plan['ops'] if op['name'] == 'sh-0001-d05'][0]
    assert waiting['actions'] == ['replace'] and waiting['reason'].startswith('waits') and waiting['batch'] == 3


def test_untagged_half_clone_is_recognised_by_name_pool_and_description():
    p = params(count=1)
    half = {'type': 'qemu', 'vmid': 1000, 'name': 'sh-0001-d01', 'node': 'pve-e1', 'status': 'stopped',
            'template': 0, 'maxmem': 4 * GIB, 'pool': 'store-sh-0001'}
    actual = region(half)
    _, first = run_plan(p, actual)
    assert 1000 in first['needs']['config']
    store = desired.build(p)[0]
    text = desired.description(store, desired.desktop_spec(store, p, 1, 'desktop'))
    _, plan = run_plan(p, actual, {1000: {'config': {'description': text}}})
    assert acts(plan) == {'sh-0001-d01': 'reconfigure+start'}
    locked = dict(half, lock='clone')
    _, plan = run_plan(p, region(locked), {1000: {'config': {'description': text}}})
    assert acts(plan) == {'sh-0001-d01': 'adopt+reconfigure+start'}


def test_vmid_allocator_skips_taken_and_collided_ids():
    alloc = VmidAllocator({1000, 1001, 1003}, first=1000)
    assert [alloc.next(), alloc.next()] == [1002, 1004]
    nxt = alloc.collided(1005)
    assert nxt > 1005 and nxt not in (1000, 1001, 1002, 1003, 1004)
    assert len(set(alloc.next() for _ in range(50))) == 50


def test_diff_shows_before_and_after():
    p = params(count=1)
    _, plan = run_plan(p, region(desktop('sh-0001', 1, 1000, status='stopped'), desktop('sh-0001', 2, 1001)),
                       details_for([{'vmid': 1000}, {'vmid': 1001}]))
    d = planner.diff(plan['ops'])
    assert d['before']['sh-0001'] == {'sh-0001-d01 (vmid 1000)': 'v1.0.0 stopped on pve-e1', 'sh-0001-d02': 'v1.0.0 running on pve-e1'}
    assert list(d['after']['sh-0001'].values()) == ['v1.0.0 running on pve-e1']

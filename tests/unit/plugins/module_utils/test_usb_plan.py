"""USB ids, bus-port paths, usbN slot plans and mapping checks (plugins/module_utils/_usb_plan.py): plain data."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from ansible_collections.storedesk.vdi.plugins.module_utils import _usb_plan as up  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils import _device_targets as targets  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils import _usb_devices as ud  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError  # noqa: E402

MODERN = {'machine': 'pc-q35-9.2+pve1', 'ostype': 'win11'}


def dev(**kw):
    return up.device(kw)


# ------------------------------------------------------------------ ids and paths

def test_usb_ids_are_normalised():
    assert up.usb_id('05E0:1200') == '05e0:1200'
    assert up.usb_id('0x05e0:0x1200') == '05e0:1200'


@pytest.mark.parametrize('bad', ['12345:zz', '5e0:1200', '05e0-1200', '', None, 'spice'])
def test_malformed_usb_id_names_the_value_and_the_form(bad):
    with pytest.raises(InputError) as err:
        up.usb_id(bad, 'devices[0]')
    text = str(err.value)
    assert 'devices[0]' in text and repr(bad) in text and 'VVVV:PPPP' in text


@pytest.mark.parametrize('good', ['1-2', '3-1.4', '10-2.3.1'])
def test_bus_ports(good):
    assert up.bus_port(good) == good


@pytest.mark.parametrize('bad', ['1-', '1.2', 'a-b', '1-2.', '1_2'])
def test_a_bus_port_that_is_not_one(bad):
    with pytest.raises(InputError, match='is not a USB bus-port path.*BUS-PORT'):
        up.bus_port(bad)


def test_device_kinds():
    assert dev(mapping='pos-a') == {'kind': 'mapping', 'ref': 'pos-a', 'usb3': False}
    assert dev(host='0B00:0084') == {'kind': 'host_id', 'ref': '0b00:0084', 'usb3': False}
    assert dev(host='1-2.3', usb3=True) == {'kind': 'host_path', 'ref': '1-2.3', 'usb3': True}
    assert dev(spice=True)['kind'] == 'spice' and dev(host='spice')['kind'] == 'spice'


def test_device_needs_exactly_one_kind():
    with pytest.raises(InputError, match='exactly one of mapping, host or spice'):
        up.device({'mapping': 'a', 'host': '1-2'})
    with pytest.raises(InputError, match='got none'):
        up.device({'spice': False})
    with pytest.raises(InputError, match='is not a USB bus-port path'):
        up.device({'host': '12-zz'})
    with pytest.raises(InputError, match='not a USB vendor:product id'):
        up.device({'host': '12345:zz'})


def test_config_values_round_trip():
    for value in ('mapping=pos-a', 'host=05e0:1200', 'host=1-2.3,usb3=1', 'host=spice'):
        assert up.value_of(up.device_of_value(value)) == value
    assert up.device_of_value('spice,usb3=1')['kind'] == 'spice'


# ------------------------------------------------------------------ slots

def test_new_devices_take_the_lowest_free_slots_and_keep_others():
    cfg = dict(MODERN, usb0='host=spice', usb2='mapping=other')
    plan = up.plan_slots(cfg, [dev(mapping='pos-a'), dev(host='05e0:1200')])
    assert plan == {'set': {'usb1': 'mapping=pos-a', 'usb3': 'host=05e0:1200'}, 'delete': [], 'kept': []}


def test_present_devices_stay_where_they_are():
    cfg = dict(MODERN, usb4='mapping=pos-a', usb1='host=spice')
    plan = up.plan_slots(cfg, [dev(spice=True), dev(mapping='pos-a')])
    assert plan == {'set': {}, 'delete': [], 'kept': ['usb1', 'usb4']}


def test_usb3_flag_changes_in_place():
    cfg = dict(MODERN, usb6='mapping=pos-a')
    assert up.plan_slots(cfg, [dev(mapping='pos-a', usb3=True)])['set'] == {'usb6': 'mapping=pos-a,usb3=1'}


def test_two_spice_ports_are_two_devices():
    cfg = dict(MODERN, usb0='host=spice')
    assert up.plan_slots(cfg, [dev(spice=True), dev(spice=True)])['set'] == {'usb1': 'host=spice'}


def test_absent_frees_only_matching_slots():
    cfg = dict(MODERN, usb0='host=spice', usb1='mapping=pos-a', usb2='mapping=other')
    plan = up.plan_slots(cfg, [dev(mapping='POS-A')], 'absent')
    assert plan == {'set': {}, 'delete': ['usb1'], 'kept': []}


def test_slot_exhaustion_more_than_14():
    cfg = dict(MODERN, **dict(('usb{0}'.format(i), 'mapping=m{0}'.format(i)) for i in range(10)))
    wanted = [dev(mapping='n{0}'.format(i)) for i in range(5)]
    with pytest.raises(InputError) as err:
        up.plan_slots(cfg, wanted, where='sh-0001-d01')
    text = str(err.value)
    assert 'sh-0001-d01: needs 5 more USB slot(s) but only 4 of usb0-usb13 are free' in text
    assert 'usb0=mapping=m0' in text and '14 slots at most' in text


def test_legacy_machine_or_ostype_has_five_slots():
    for cfg in ({'machine': 'pc-i440fx-6.2', 'ostype': 'win10'}, {'machine': 'q35', 'ostype': 'win7'}, {}):
        limit, why = up.slot_limit(cfg)
        assert limit == 5 and 'machine version >= 7.1' in why
    cfg = dict({'machine': 'pc-q35-6.2', 'ostype': 'win10'}, **dict(('usb{0}'.format(i), 'host=spice') for i in range(5)))
    with pytest.raises(InputError) as err:
        up.plan_slots(cfg, [dev(mapping='pos-a')], where='d1')
    assert 'only 0 of usb0-usb4 are free' in str(err.value) and 'pc-q35-6.2' in str(err.value)
    assert up.slot_limit({'machine': 'q35', 'ostype': 'l26'}) == (14, None)


def test_hotplug_rules():
    assert up.hotplugs_usb(MODERN)
    assert not up.hotplugs_usb(dict(MODERN, hotplug='network,disk'))
    assert not up.hotplugs_usb(dict(MODERN, hotplug='0'))
    assert up.hotplugs_usb(dict(MODERN, hotplug='1'))
    assert not up.hotplugs_usb({'machine': 'pc-q35-6.2', 'ostype': 'win11'})


def test_effective_config_merges_pending():
    rows = [{'key': 'usb0', 'value': 'host=spice', 'delete': 1}, {'key': 'usb1', 'pending': 'mapping=a'}]
    assert up.effective_config({'usb0': 'host=spice', 'name': 'x'}, rows) == {'usb1': 'mapping=a', 'name': 'x'}


# ------------------------------------------------------------------ mappings

MAPPINGS = {'pos-a': {'id': 'pos-a', 'map': ['node=pve-e1,id=0b00:0084', 'node=pve-e2,id=0b00:0084,path=1-2']}}


def test_a_mapping_without_an_entry_for_the_desktops_node():
    up.check_mapping_for(MAPPINGS, 'pos-a', 'pve-e2', 'd1')
    with pytest.raises(InputError) as err:
        up.check_mapping_for(MAPPINGS, 'pos-a', 'pve-e3', 'sh-0001-d01 (vmid 4101, node pve-e3)')
    text = str(err.value)
    assert "has no entry for node pve-e3" in text and 'it has: pve-e1, pve-e2' in text and 'usb_mapping' in text
    with pytest.raises(InputError, match='does not exist, or this API user lacks Mapping.Use'):
        up.check_mapping_for(MAPPINGS, 'nope', 'pve-e1', 'd1')


def test_map_entries_and_plan():
    entry = up.map_entry('node=pve-e1,id=0B00:0084,path=1-2')
    assert up.map_text(entry) == 'node=pve-e1,id=0b00:0084,path=1-2'
    with pytest.raises(InputError, match='node is required'):
        up.map_entry({'id': '0b00:0084'})
    with pytest.raises(InputError, match='not a USB bus-port path'):
        up.map_entry({'node': 'a', 'id': '0b00:0084', 'path': 'x'})
    wanted = [up.map_entry(t) for t in reversed(MAPPINGS['pos-a']['map'])]
    assert up.plan_mapping(MAPPINGS['pos-a'], wanted) is None             # order does not matter
    assert up.plan_mapping(None, wanted)['action'] == 'create'
    change = up.plan_mapping(MAPPINGS['pos-a'], wanted[:1], description='POS')
    assert change == {'action': 'update', 'map': ['node=pve-e2,id=0b00:0084,path=1-2'], 'description': 'POS'}
    assert up.plan_mapping(MAPPINGS['pos-a'], [], state='absent') == {'action': 'delete'}
    assert up.plan_mapping(None, [], state='absent') is None


# ------------------------------------------------------------------ selection and desktop plans

RESOURCES = [
    {'type': 'node', 'node': 'pve-e1', 'status': 'online'},
    {'type': 'qemu', 'vmid': 9100, 'name': 'tpl', 'template': 1, 'node': 'pve-e1', 'status': 'stopped'},
    {'type': 'qemu', 'vmid': 4101, 'name': 'sh-0001-d01', 'node': 'pve-e1', 'status': 'running',
     'pool': 'store-sh-0001', 'tags': 'storedesk;store-sh-0001'},
    {'type': 'qemu', 'vmid': 4102, 'name': 'sh-0001-d02', 'node': 'pve-e3', 'status': 'stopped',
     'pool': 'store-sh-0001'},
    {'type': 'qemu', 'vmid': 4201, 'name': 'sh-0002-d01', 'node': 'pve-e1', 'status': 'running',
     'tags': 'storedesk;store-sh-0002'},
]


def test_select_by_store_and_by_name():
    assert [d['vmid'] for d in targets.select(RESOURCES, store='sh-0001')] == [4101, 4102]
    assert [d['vmid'] for d in targets.select(RESOURCES, store='sh-0002')] == [4201]
    assert [d['vmid'] for d in targets.select(RESOURCES, names=['sh-0002-d01'])] == [4201]
    with pytest.raises(InputError, match='no VM named sh-0009-d01'):
        targets.select(RESOURCES, names=['sh-0009-d01'])
    with pytest.raises(InputError, match='not in store sh-0001'):
        targets.select(RESOURCES, names=['sh-0002-d01'], store='sh-0001')


def test_desktop_plans_fail_before_any_write_naming_every_desktop():
    records = targets.select(RESOURCES, store='sh-0001')
    state = dict((r['vmid'], {'effective': dict(MODERN)}) for r in records)
    mappings = {'pos-a': {'map': ['node=pve-e1,id=0b00:0084']}}
    with pytest.raises(InputError) as err:
        ud.plan(records, state, [dev(mapping='pos-a')], 'present', mappings, root=False)
    assert 'sh-0001-d02 (vmid 4102, node pve-e3)' in str(err.value) and 'nothing was changed' in str(err.value)
    with pytest.raises(InputError) as err:
        ud.plan(records[:1], state, [dev(host='05e0:1200')], 'present', {}, root=False)
    assert 'only be set or removed by root@pam' in str(err.value) and 'API tokens' in str(err.value)
    steps = ud.plan(records[:1], state, [dev(host='05e0:1200')], 'present', {}, root=True)
    assert steps[0][1]['set'] == {'usb0': 'host=05e0:1200'}
    assert 'live migration is blocked' in ud.migration_warnings(steps)[4101]


def test_expected_ids_for_verification():
    mappings = {'pos-a': {'map': ['node=pve-e1,id=0b00:0084']}}
    devices = [dev(mapping='pos-a'), dev(host='05e0:1200'), dev(spice=True), dev(host='1-2')]
    assert ud.expected_ids(devices, mappings, 'pve-e1') == ['0B00:0084', '05E0:1200']

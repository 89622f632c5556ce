"""Inventory validation and store readiness: the messages name the store, the field and the fix."""

import copy

import pytest

from ansible_collections.storedesk.vdi.plugins.plugin_utils import _estate

CATALOG = {'image': {'name': 'store', 'version': '1.0.0'},
           'usb_models': {'zebra-ds2208': {'usb_id': '05e0:1200'}},
           'printer_drivers': {'EPSON TM-T88VI Receipt': {'inf': 'oemsetup.inf'}}}


def store(code, subnet, vlan, **extra):
    data = {'code': code, 'region': 'east', 'subnet': subnet, 'vlan': vlan,
            'desktops': {'baseline': 4, 'event': 8, 'spares': 1}, 'image': {'name': 'store', 'version': '1.0.0'},
            'devices': {'scanners': [{'model': 'zebra-ds2208'}],
                        'printers': [{'name': 'Receipt', 'driver': 'EPSON TM-T88VI Receipt', 'host': '10.0.1.50'}]},
            'staff': [{'user': 'a', 'role': 'store_manager'}], 'link': {'bandwidth_mbps': 100, 'latency_ms': 10}}
    data.update(extra)
    return data


GOOD = [store('sh-0001', '10.0.1.0/24', 101), store('sh-0002', '10.0.2.0/24', 102)]


def test_good_estate_has_no_errors():
    assert _estate.validate(GOOD, CATALOG, waves={'pilot': ['sh-0001']}, regions=['east']) == []


@pytest.mark.parametrize('change,expect', [
    (lambda s: s[1].update(code='sh-0001'), 'sh-0001: store_code: duplicate'),
    (lambda s: s[1].update(subnet='10.0.1.128/25'), 'sh-0002: store_subnet: 10.0.1.128/25 overlaps 10.0.1.0/24 of sh-0001'),
    (lambda s: s[1].update(vlan=101), 'sh-0002: store_vlan: VLAN 101 is also used by sh-0001'),
    (lambda s: s[1].update(vlan=5000), 'sh-0002: store_vlan: 5000 is outside 1-4094'),
    (lambda s: s[1]['desktops'].update(baseline=-1), 'sh-0002: store_desktops.baseline'),
    (lambda s: s[1].update(image={'name': 'store', 'version': '9.9.9'}), 'sh-0002: store_image: image store 9.9.9'),
    (lambda s: s[1]['devices']['printers'][0].update(driver='Nope'), "driver 'Nope' of printer 'Receipt'"),
    (lambda s: s[1]['devices']['printers'][0].update(host='printer.local'), "host 'printer.local'"),
    (lambda s: s[1].update(region='north'), "sh-0002: store_region: 'north' is not a region"),
    (lambda s: s[1]['staff'].append({'user': 'b', 'role': 'boss'}), "role 'boss' of 'b'"),
])
def test_each_problem_is_named_with_store_field_and_fix(change, expect):
    stores = copy.deepcopy(GOOD)
    change(stores)
    errors = _estate.validate(stores, CATALOG, regions=['east'])
    assert any(expect in e for e in errors), errors
    assert all(e.rstrip().endswith(')') for e in errors), 'every message ends with the fix in brackets'


def test_wave_naming_an_unknown_store():
    errors = _estate.validate(GOOD, CATALOG, waves={'wave1': ['sh-0002', 'sh-9999']})
    assert errors == ['sh-9999: wave wave1: is not a store of the inventory (add it under stores or remove it '
                      'from the wave)']


def test_readiness_weak_link_floor_and_capacity():
    stores = copy.deepcopy(GOOD)
    stores[0]['link'] = {'bandwidth_mbps': 8, 'latency_ms': 150}
    stores[1]['link'] = {'bandwidth_mbps': 1, 'latency_ms': 20}
    out = _estate.readiness(stores, CATALOG, {'east': {'fits_event': True}}, {'bandwidth_mbps': 20, 'latency_ms': 100}, 2)
    assert (out[0]['verdict'], out[0]['spice_profile']) == ('GO', 'weak')
    assert out[1]['verdict'] == 'NO-GO' and 'below the floor of 2' in out[1]['reasons'][0]
    out = _estate.readiness(GOOD, CATALOG, {'east': {'fits_event': False, 'reason': 'event peak needs 300 GiB'}},
                            {'bandwidth_mbps': 20, 'latency_ms': 100}, 2)
    assert out[0]['reasons'] == ['event peak needs 300 GiB']

"""Inventory validation and store readiness: the messages name the store, the field and the fix."""

import copy

import pytest

from ansible_collections.storedesk.vdi.plugins.plugin_utils import _estate, _kpi

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
GOOD[1]['devices']['printers'][0]['host'] = '10.0.2.50'
NOW = 1764374400   # 2025-11-29


def test_every_region_and_the_shared_thresholds_are_checked():
    regions = {'east': {'api_host': 'pve-e', 'api_port': 8006}, 'west': {'api_host': '', 'api_port': 'x'}}
    thresholds = dict(_kpi.SUGGESTED, ready_seconds=-1, speed=3)
    del thresholds['library_current_pct']
    errors = _estate.validate(GOOD, CATALOG, regions=regions, thresholds=thresholds, now=NOW)
    assert errors == [
        'storedesk_regions.west.api_host: not set (the PVE API host of the region)',
        "storedesk_regions.west.api_port: 'x' is not a port (a number from 1 to 65535)",
        'storedesk_kpi_thresholds.ready_seconds: -1 is not a number >= 0 (give the threshold as a number)',
        'storedesk_kpi_thresholds.speed: is not a KPI (one of ready_seconds, backend_latency_ms, '
        'scanner_present_pct, print_success_pct, account_switch_seconds, version_switch_seconds, '
        'library_current_pct)',
        # every KPI has its threshold in the one common place; a store's own thresholds override some
        'storedesk_kpi_thresholds.library_current_pct: not set (add `library_current_pct: 100` (at least %) to '
        'storedesk_kpi_thresholds in group_vars)']


def test_good_estate_has_no_errors():
    assert _estate.validate(GOOD, CATALOG, waves={'pilot': ['sh-0001']}, regions=['east'], now=NOW) == []


@pytest.mark.parametrize('change,expect', [
    (lambda s: s[1].update(code='sh-0001'), 'store sh-0001: store_code: given twice'),
    (lambda s: s[1].update(code='Shop 2'), "store Shop 2: store_code: 'Shop 2' is not a store code"),
    (lambda s: s[1].update(subnet='10.0.1.128/25'),
     'store sh-0002: store_subnet: 10.0.1.128/25 overlaps 10.0.1.0/24 of store sh-0001'),
    (lambda s: s[1].update(subnet='10.0.2.7/24'), 'store sh-0002: store_subnet: 10.0.2.7/24 has host bits set'),
    (lambda s: s[1].update(vlan=101), 'store sh-0002: store_vlan: VLAN 101 on None is also used by store sh-0001'),
    (lambda s: s[1].update(vlan=5000), 'store sh-0002: store_vlan: 5000 is outside 1-4094'),
    (lambda s: s[1].update(vlan='2102'), "store sh-0002: store_vlan: '2102' is outside 1-4094"),
    (lambda s: s[1]['desktops'].update(baseline=-1), 'store sh-0002: store_desktops.baseline'),
    (lambda s: s[1]['desktops'].update(baseline='four'), "store sh-0002: store_desktops.baseline: 'four' is not a count"),
    (lambda s: s[1].update(desktops={'event': 12}), 'store sh-0002: store_desktops.baseline: None is not a count'),
    (lambda s: s[1]['desktops'].update(spares=5), 'store sh-0002: store_desktops.spares: 5 spares for a baseline of 4'),
    (lambda s: s[1].update(profile={'cores': 0}), 'store sh-0002: store_desktop_profile.cores'),
    (lambda s: s[1].update(link={'bandwidth_mbps': 'fast'}), "store_link: bandwidth_mbps 'fast' is not a number"),
    (lambda s: s[1].update(image={'name': 'store', 'version': '9.9.9'}),
     'store sh-0002: store_image: image store 9.9.9'),
    (lambda s: s[1]['devices']['printers'][0].update(driver='Nope'), "driver 'Nope' of printer 'Receipt'"),
    (lambda s: s[1]['devices']['printers'][0].update(host='printer.local'), "host 'printer.local'"),
    (lambda s: s[1]['devices']['printers'][0].update(host='10.0.9.50'),
     "store sh-0002: store_devices.printers: 10.0.9.50 of printer 'Receipt' is not a host of the store subnet"),
    (lambda s: s[1]['devices']['printers'][0].update(port=91000), "port 91000 of printer 'Receipt'"),
    (lambda s: s[1].update(reserved=['10.0.9.9']), 'store sh-0002: store_reserved_addresses: 10.0.9.9'),
    (lambda s: s[1].update(region='north'), "store sh-0002: store_region: 'north' is not a region"),
    (lambda s: s[1]['staff'].append({'user': 'b', 'role': 'boss'}), "role 'boss' of 'b'"),
    (lambda s: s[1]['staff'].append({'user': 'c@pve', 'role': 'store_clerk', 'expires': 1798675200000}),
     "store sh-0002: store_staff: expires 1798675200000 is after the year 2100: epoch milliseconds? of 'c@pve'"),
    (lambda s: s[1]['staff'].append({'user': 'c@pve', 'role': 'store_clerk', 'expires': '2020-01-01'}),
     'is in the past'),
    (lambda s: s[1].update(kpi_thresholds={'backend_latency_ms': 'slow'}),
     "store sh-0002: store_kpi_thresholds.backend_latency_ms: 'slow' is not a number"),
])
def test_each_problem_is_named_with_store_field_and_fix(change, expect):
    stores = copy.deepcopy(GOOD)
    change(stores)
    errors = _estate.validate(stores, CATALOG, regions=['east'], now=NOW)
    assert any(expect in e for e in errors), errors
    assert all(e.rstrip().endswith(')') for e in errors), 'every message ends with the fix in brackets'


def test_wave_naming_an_unknown_store():
    errors = _estate.validate(GOOD, CATALOG, waves={'wave1': ['sh-0002', 'sh-9999']}, now=NOW)
    assert errors == ['store sh-9999: wave wave1: is not a store of the inventory (add it under stores or remove '
                      'it from the wave)']


def test_readiness_weak_link_floor_and_capacity():
    stores = copy.deepcopy(GOOD)
    stores[0]['link'] = {'bandwidth_mbps': 8, 'latency_ms': 150}
    stores[1]['link'] = {'bandwidth_mbps': 1, 'latency_ms': 20}
    out = _estate.readiness(stores, CATALOG, {'east': {'fits_event': True}}, 2)
    assert (out[0]['verdict'], out[0]['link_class'], out[0]['spice_video']) == ('GO', 'poor', 'off')
    assert 'poor link (8 Mbit/s, 150 ms): SPICE video streaming off' in out[0]['reasons']
    assert out[1]['verdict'] == 'NO-GO' and 'below the floor of 2' in out[1]['reasons'][0]
    out = _estate.readiness(GOOD, CATALOG, {'east': {'fits_event': False, 'reason': 'event peak needs 300 GiB'}}, 2)
    assert out[0]['reasons'] == ['event peak needs 300 GiB']


@pytest.mark.parametrize('phase,request_,expect', [
    ('scale_event', {}, 'stores: not given'),
    ('scale_event', {'stores': 'sh-0001,sh-9'}, "stores: unknown stores ['sh-9']"),
    ('scale_event', {'stores': 'sh-0001', 'event_hours': 'all day'}, "event_hours: 'all day' is not a number"),
    ('reclaim', {'reclaim_to': 'half'}, "reclaim_to: 'half' is not a choice (one of baseline, zero)"),
    ('reclaim', {'reclaim_backup': 'tape'}, "reclaim_backup: 'tape' is not a choice"),
    ('power', {}, 'power_action: not given'),
    ('accounts', {'access_stores': ['sh-0003']}, "access_stores: unknown stores ['sh-0003']"),
    ('pilot', {'stores': 'sh-0002', 'kpi_thresholds': {'ready_seconds': 1}}, "['sh-0002'] are not pilot stores"),
    ('pilot', {}, 'storedesk_kpi_thresholds: not set'),
    ('rollout', {'wave': 'wave7'}, "wave: 'wave7' is not a wave of the inventory (one of wave1)"),
    ('build_image', {'build_image_only': ['north']}, "build_image_only: unknown regions ['north']"),
    ('deploy', {}, "estate_phase: 'deploy' is not a phase"),
])
def test_each_phase_request_is_checked(phase, request_, expect):
    groups = {'stores': ['sh-0001', 'sh-0002'], 'pilot': ['sh-0001'], 'wave1': ['sh-0002']}
    errors = _estate.request_problems(phase, request_, groups, {'east': {}})
    assert any(expect in e for e in errors), errors
    assert _estate.request_problems('reclaim', {'reclaim_to': 'zero'}, groups, {'east': {}}) == []


def test_credentials_are_required_for_the_phases_that_use_them():
    groups = {'stores': ['sh-0001']}
    env = {'PROXMOX_TOKEN_ID': True, 'PROXMOX_TOKEN_SECRET': True, 'PROXMOX_CA_PATH': '/nope', 'ca_exists': False}
    errors = _estate.request_problems('rollout', {}, groups, {}, env=env)
    assert errors == ['PROXMOX_CA_PATH: /nope does not exist (point it at the cluster CA file)',
                      'WinRM credentials: STOREDESK_WINRM_USER or STOREDESK_WINRM_PASSWORD is not set '
                      '(set both (AWX: the WinRM credential))']
    assert 'neither an API token nor a password' in _estate.request_problems('assess', {}, groups, {}, env={})[0]


def test_a_secret_file_that_is_not_there_is_named_without_its_content():
    env = {'PROXMOX_TOKEN_ID': True, 'PROXMOX_TOKEN_SECRET': False, 'missing_files': ['PROXMOX_TOKEN_SECRET_FILE']}
    out = _estate.request_problems('assess', {}, {'stores': []}, {}, env=env)
    assert 'PROXMOX_TOKEN_SECRET_FILE: names no readable file (point it at the file the credential wrote)' in out


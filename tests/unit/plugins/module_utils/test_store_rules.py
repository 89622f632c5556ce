"""The store rules: one module for the inventory check and desktop_pool (codes, subnets, VLANs, overlap, link
class -> SPICE, reserved and static addresses)."""

import ipaddress

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _store_rules as rules
from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_desired as desired
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_args import POOL_ARGSPEC
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.plugin_utils import _estate

NET = ipaddress.ip_network('10.21.1.0/24')


def pool_params(**store):
    out = dict((k, v.get('default')) for k, v in POOL_ARGSPEC.items())
    blank = dict((k, None) for k in POOL_ARGSPEC['store']['options'])
    blank.update(code='sh-0001', subnet='10.21.1.0/24', vlan=2101)
    blank.update(store)
    out.update(image={'name': 'store', 'version': '1.0.0'}, count=40, addressing='static', stores=[blank])
    return out


def test_desktop_40_never_takes_a_printers_address():
    p = pool_params(reserved=['10.21.1.50', '10.21.1.51'])
    store = desired.build(p)[0]
    ips = [desired.desktop_spec(store, p, i, 'desktop')['ip'] for i in range(1, 41)]
    assert ips[0] == '10.21.1.11' and ips[38] == '10.21.1.49'
    assert ips[39] == '10.21.1.52', 'desktop 40 goes past the two printers'
    assert '10.21.1.50' not in ips and '10.21.1.51' not in ips and len(set(ips)) == 40


def test_allocatable_is_subnet_minus_reserved():
    got = rules.allocate(ipaddress.ip_network('10.0.0.0/29'), 0, {ipaddress.ip_address('10.0.0.1'),
                                                                   ipaddress.ip_address('10.0.0.3')}, 10)
    assert [str(a) for a in got] == ['10.0.0.2', '10.0.0.4', '10.0.0.5', '10.0.0.6']   # .7 is the broadcast


def test_no_room_counts_the_reserved_addresses():
    p = pool_params(subnet='10.21.1.0/26', reserved=['10.21.1.50', '10.21.1.51'])
    # hosts .11-.62 are 52 addresses, 50 after the two printers
    with pytest.raises(InputError) as err:
        desired.build(dict(p, count=51))
    assert 'no room for 51 desktops' in str(err.value) and 'besides 2 reserved' in str(err.value)
    assert len(desired.build(dict(p, count=50))) == 1


def test_overlap_sweep_finds_nested_and_chained_subnets_of_many_stores():
    nets = [('s%04d' % i, ipaddress.ip_network('10.%d.%d.0/24' % (i // 256, i % 256))) for i in range(2000)]
    nets.append(('big', ipaddress.ip_network('10.3.0.0/16')))       # holds s0768..s1023
    nets.append(('dup', ipaddress.ip_network('10.0.5.0/24')))
    found = rules.overlaps(nets)
    named = sorted(set(c for c, _n, _o, _on in found) | set(o for _c, _n, o, _on in found))
    assert 'big' in named and 'dup' in named and 's0005' in named
    assert len([f for f in found if 'big' in (f[0], f[2])]) == 256
    assert rules.overlaps([n for n in nets if n[0] not in ('big', 'dup')]) == []


@pytest.mark.parametrize('link,klass,video', [
    ({'bandwidth_mbps': 100, 'latency_ms': 10}, 'lan', 'all'),
    ({'bandwidth_mbps': 20, 'latency_ms': 60}, 'weak', 'filter'),
    ({'bandwidth_mbps': 8, 'latency_ms': 150}, 'poor', 'off'),
    ({'bandwidth_mbps': 5, 'latency_ms': 20}, 'poor', 'off'),
    ({}, 'lan', 'all'),
])
def test_the_assessment_reports_what_the_pool_writes(link, klass, video):
    """One set of thresholds: the readiness row and the pool's spice_enhancements agree for every link."""
    row = _estate.readiness([{'code': 'sh-0001', 'link': link, 'staff': [{'role': 'store_manager'}]}], {}, {})[0]
    p = pool_params(link=link or None)
    spec = desired.desktop_spec(desired.build(p)[0], p, 1, 'desktop')
    assert (row['link_class'], row['spice_video']) == (klass, video)
    assert row['spice_enhancements'] == spec['config']['spice_enhancements'] == \
        'foldersharing=1,videostreaming=' + video


def test_estate_and_pool_agree_on_code_subnet_and_vlan():
    """The same bad store is refused by both, naming the same rule."""
    cases = [({'code': 'shop1'}, 'is not a store code'), ({'subnet': '10.21.1.5/24'}, 'has host bits set'),
             ({'vlan': 4095}, 'is outside 1-4094')]
    for change, text in cases:
        problems = rules.Problems()
        store = dict({'code': 'sh-0001', 'subnet': '10.21.1.0/24', 'vlan': 2101}, **change)
        rules.check_code(store['code'], problems)
        rules.parse_subnet(store['code'], store['subnet'], problems)
        rules.check_vlan(store['code'], store['vlan'], problems)
        estate = _estate.validate([dict(store, desktops={'baseline': 1, 'event': 1, 'spares': 0})], {})
        with pytest.raises(InputError) as err:
            desired.build(pool_params(**change))
        assert any(text in e for e in estate), estate
        assert text in str(err.value)


def test_vlan_key_is_bridge_and_vlan():
    problems = rules.Problems()
    rules.check_unique([{'code': 'sh-0001', 'vlan_key': ('vmbr1', 5), 'net': None},
                        {'code': 'sh-0002', 'vlan_key': ('vmbr2', 5), 'net': None},
                        {'code': 'sh-0003', 'vlan_key': ('vmbr1', 5), 'net': None}], problems)
    assert problems.items == ['store sh-0003: vlan: VLAN 5 on vmbr1 is also used by store sh-0001 '
                              '(give every store its own VLAN)']


def test_printers_must_be_hosts_of_the_store_subnet():
    problems = rules.Problems()
    gw = ipaddress.ip_address('10.21.1.1')
    reserved = rules.reserved_addresses('sh-0001', NET, gw, [
        {'name': 'Receipt', 'host': '10.21.1.50'}, {'name': 'Labels', 'host': '10.31.1.51'},
        {'name': 'Tags', 'host': '10.21.1.1'}, {'name': 'Copy', 'host': '10.21.1.50'}], ['10.21.1.255'], problems)
    text = ' | '.join(problems.items)
    assert "10.31.1.51 of printer 'Labels' is not a host of the store subnet 10.21.1.0/24" in text
    assert "10.21.1.1 of printer 'Tags' is the gateway" in text
    assert "10.21.1.50 of printer 'Copy' is also printer 'Receipt'" in text
    assert '10.21.1.255 of reserved address is not a host' in text
    assert ipaddress.ip_address('10.21.1.50') in reserved


def test_an_unknown_placement_node_is_refused_before_any_change():
    from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_plan as planner
    from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import parse_region
    p = dict(pool_params(), addressing='dhcp', count=2, nodes=['pve-e1', 'pve-e9'])
    actual = parse_region([{'type': 'node', 'node': 'pve-e1', 'status': 'online', 'maxmem': 2 ** 36, 'mem': 2 ** 30},
                           {'type': 'qemu', 'vmid': 9100, 'name': 'tpl-store-1.0.0', 'node': 'pve-e1',
                            'status': 'stopped', 'template': 1, 'maxmem': 2 ** 32,
                            'tags': 'image-store;storedesk;v-1.0.0'}], [])
    with pytest.raises(InputError) as err:
        planner.plan(desired.build(p), p, actual, {})
    assert 'nodes: pve-e9 not in this cluster (its nodes: pve-e1) (name nodes of the region' in str(err.value)

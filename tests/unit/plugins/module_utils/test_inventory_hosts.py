"""The inventory's pure part: which VMs are desktops, their groups, host vars and address."""

from ansible_collections.storedesk.vdi.plugins.module_utils import _inventory_hosts as inv

TAGS = 'storedesk;store-sh-0001;city-shanghai;region-east;image-store;v-1.0.0;role-desktop'
RESOURCES = [
    {'type': 'qemu', 'vmid': 101, 'name': 'sh-0001-d01', 'node': 'pve-e1', 'status': 'running', 'tags': TAGS,
     'pool': 'store-sh-0001'},
    {'type': 'qemu', 'vmid': 102, 'name': 'sh-0001-d02', 'node': 'pve-e2', 'status': 'stopped', 'lock': 'suspended',
     'tags': TAGS},
    {'type': 'qemu', 'vmid': 9100, 'name': 'tpl', 'node': 'pve-e1', 'status': 'stopped', 'template': 1,
     'tags': 'image-store;storedesk;v-1.0.0'},
    {'type': 'qemu', 'vmid': 9000, 'name': 'win11-base', 'node': 'pve-e1', 'status': 'stopped'},
    {'type': 'lxc', 'vmid': 200, 'name': 'ct', 'node': 'pve-e1', 'status': 'running', 'tags': 'storedesk'},
]

WINDOWS_INTERFACES = {'result': [
    {'name': 'Loopback Pseudo-Interface 1', 'ip-addresses': [
        {'ip-address': '::1', 'ip-address-type': 'ipv6'}, {'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4'}]},
    {'name': 'Ethernet 2', 'ip-addresses': [
        {'ip-address': 'fe80::1', 'ip-address-type': 'ipv6'},
        {'ip-address': '169.254.10.1', 'ip-address-type': 'ipv4'},
        {'ip-address': '10.21.1.23', 'ip-address-type': 'ipv4'}]},
]}


def test_only_managed_qemu_desktops_never_templates():
    names = [d['name'] for d in inv.desktops(RESOURCES, 'east')]
    assert names == ['sh-0001-d01', 'sh-0001-d02']
    assert [d['vmid'] for d in inv.desktops(RESOURCES, 'east', include_unmanaged=True)] == [101, 102, 9000]


def test_groups_are_sanitized_and_cover_region_city_store_version_power():
    first, second = inv.desktops(RESOURCES, 'east')
    assert inv.group_names(first) == ['storedesk_desktops', 'region_east', 'city_shanghai', 'store_sh_0001',
                                      'image_store', 'image_v_1_0_0', 'role_desktop', 'power_running']
    assert 'power_hibernated' in inv.group_names(second)
    assert inv.sanitize('Store-SH.0001 x') == 'store_sh_0001_x'


def test_first_ipv4_skips_loopback_and_link_local():
    assert inv.first_ipv4(WINDOWS_INTERFACES) == '10.21.1.23'
    assert inv.first_ipv4({'result': [{'name': 'lo', 'ip-addresses': [
        {'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4'}]}]}) is None
    # The lab gives each VM a 127.x address on its Ethernet interface: that one counts.
    assert inv.first_ipv4([{'name': 'Ethernet', 'ip-addresses': [
        {'ip-address': '127.11.64.3', 'ip-address-type': 'ipv4'}]}]) == '127.11.64.3'
    assert inv.first_ipv4({}) is None


def test_host_vars_carry_winrm_settings_but_no_password():
    record = dict(inv.desktops(RESOURCES, 'east')[0], ip='10.21.1.23')
    hv = inv.host_vars(record, winrm_user='storedesk-admin')
    assert hv['ansible_host'] == '10.21.1.23' and hv['ansible_connection'] == 'winrm'
    assert hv['ansible_user'] == 'storedesk-admin' and hv['ansible_port'] == 5985
    assert hv['storedesk_vmid'] == 101 and hv['storedesk_pool'] == 'store-sh-0001'
    assert not [k for k in hv if 'pass' in k]
    assert 'ansible_host' not in inv.host_vars(dict(record, ip=None))


def test_host_name_is_unique_across_regions():
    record = inv.desktops(RESOURCES, 'west')[0]
    assert inv.host_name(record, set()) == 'sh-0001-d01'
    assert inv.host_name(record, {'sh-0001-d01'}) == 'sh-0001-d01-101'

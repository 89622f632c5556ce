"""golden_image refuses, before any change (also in check mode), a build VM NIC (hardware.bridge / hardware.vlan) that
PVE would fail at start on the build node: it would create or clone the build VM (after uploading the answer ISO)
and fail its first start ("bridge '<b>' does not exist"). Checked through the lab's request log and VM list
(the rule: module_utils/_bridges.py; the lab: lab/storedesk_lab/pve_network.py)."""

import pytest

from conftest import api, api_get, run_module, start_lab

BASE = {'name': 'store', 'version': '3.0.0', 'node': 'pve-e1', 'storage': 'vdi-ceph',
        'hardware': {'memory': 8192, 'cores': 4, 'disk_gib': 64},
        'source': {'iso': 'Win11_24H2_x64.iso', 'virtio_iso': 'virtio-win-0.1.271.iso'},
        'manifest': {'registry': [{'path': r'HKLM:\SOFTWARE\Storedesk', 'name': 'ImageVersion', 'value': '3.0.0'}]},
        'timeouts': {'guest_ip': 5, 'winrm': 5, 'sysprep': 5, 'task': 30},
        'winrm_retries': 0, 'winrm_connection_timeout': 3,
        'unattend': {'winrm_subnets': ['127.0.0.0/8']}}


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def image_args(bridge, vlan=None, **over):
    hardware = dict(BASE['hardware'], bridge=bridge)
    if vlan:
        hardware['vlan'] = vlan
    return dict(BASE, hardware=hardware, **over)


def writes(lab):
    return [(m, p) for m, p, _b in lab.regions['east'].requests if m != 'GET' and not p.endswith('/access/ticket')]


def build_vms(lab):
    """(name, status) of every build VM (build-* / failed-*) in the region, read live per VM."""
    session = api(lab)
    out = []
    for item in api_get(session, '/cluster/resources', type='vm'):
        base = '/nodes/{0}/qemu/{1}'.format(item['node'], item['vmid'])
        name = api_get(session, base + '/config').get('name') or ''
        if name.startswith(('build-', 'failed-')):
            out.append((name, api_get(session, base + '/status/current')['status']))
    return out


def answer_isos(lab):
    return [r['volid'] for r in api_get(api(lab), '/nodes/pve-e1/storage/local/content', content='iso')
            if 'autounattend' in r['volid'] or r['volid'].startswith('local:iso/storedesk-')]


def test_a_build_bridge_missing_on_the_build_node_is_refused_before_any_change(lab):
    before, isos = writes(lab), answer_isos(lab)
    for check in (True, False):
        rc, result = run_module(lab, 'golden_image', image_args('vmbr7'), check=check)
        assert rc != 0, result
        assert "hardware.bridge: 'vmbr7' is not a bridge on pve-e1 (bridges there: vmbr0, vmbr1)" in result['msg'], \
            result['msg']
        assert 'create vmbr7 on it' in result['msg'] and 'SDN.Use on /sdn/zones/localnetwork/vmbr7' in result['msg']
    # nothing was written: no build VM (kept as failed-* or not), no answer ISO uploaded
    assert writes(lab) == before and build_vms(lab) == [] and answer_isos(lab) == isos


def test_a_clone_build_on_a_bridge_only_another_node_has_is_refused(lab):
    pve = lab.regions['east']
    pve.add_bridge('pve-e2', 'vmbr6', ports='eno3', vlan_aware=True)
    try:
        before = writes(lab)
        clone = dict(source={'vm': 'win11-base'})
        rc, result = run_module(lab, 'golden_image', image_args('vmbr6', vlan=2300, **clone), check=True)
        assert rc != 0 and "hardware.bridge: 'vmbr6' is not a bridge on pve-e1" in result['msg'], result
        rc, result = run_module(lab, 'golden_image', image_args('vmbr6', vlan=2300, node='pve-e2', **clone),
                                check=True)
        assert rc == 0 and result['plan']['action'] == 'build', result.get('msg', result)
        assert writes(lab) == before and build_vms(lab) == []
    finally:
        pve.remove_bridge('pve-e2', 'vmbr6')


def test_a_build_vlan_on_a_bridge_without_vlan_awareness_or_port_is_refused(lab):
    pve = lab.regions['east']
    pve.add_bridge('pve-e1', 'vmbr5', ports='')          # an internal bridge
    try:
        before = writes(lab)
        rc, result = run_module(lab, 'golden_image', image_args('vmbr5', vlan=2301))
        assert rc != 0, result
        assert "hardware.vlan: tag 2301 on bridge 'vmbr5', which is not VLAN-aware and has no physical port on " \
               "pve-e1" in result['msg'], result['msg']
        assert 'bridge-vlan-aware yes' in result['msg']
        assert writes(lab) == before and build_vms(lab) == []
        rc, result = run_module(lab, 'golden_image', image_args('vmbr5'), check=True)     # untagged: PVE starts it
        assert rc == 0, result.get('msg', result)
    finally:
        pve.remove_bridge('pve-e1', 'vmbr5')

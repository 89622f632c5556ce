"""The store_pool pre-flight refuses a store whose store_bridge is missing on a placement node (or whose store_vlan PVE
cannot plug there) before the first write in any region: on PVE the desktops would be cloned and fail every start.
Checked through the lab's request log and VM lists (the rule: module_utils/_bridges.py, via desktop_pool's dry run)."""

import pytest

from conftest import run_playbook, start_lab
from test_preflight_regions import STORES, desktops, inventory
from test_validation import writes


@pytest.fixture(scope='module')
def bridge_lab(tmp_path_factory):
    """West's pve-w2 has no vmbr1 (the inventory's store_bridge); both west nodes have vmbr4, without port."""
    lab = start_lab(tmp_path_factory)
    west = lab.regions['west']
    west.remove_bridge('pve-w2', 'vmbr1')
    for node in ('pve-w1', 'pve-w2'):
        west.add_bridge(node, 'vmbr4', ports='')
    yield lab
    lab.stop()


CASES = {
    'bridge-missing-on-a-west-node': (
        None, None,
        ["region west: store cd-0201: store_bridge: 'vmbr1' is not a bridge on pve-w2 (bridges there: vmbr0, vmbr4)",
         'create vmbr1 on it']),
    'vlan-on-a-port-less-bridge': (
        {'nodes': ['pve-w1']}, {'cd-0201': {'store_bridge': 'vmbr4'}},
        ["region west: store cd-0201: store_vlan: tag 3101 on bridge 'vmbr4', which is not VLAN-aware and has no "
         "physical port on pve-w1"]),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_a_store_bridge_pve_would_fail_at_start_stops_the_run_before_any_write(bridge_lab, tmp_path, case):
    west, host_vars, expect = CASES[case]
    before = writes(bridge_lab)
    proc = run_playbook(bridge_lab, 'playbooks/scale_event.yml',
                        {'image_version': '1.0.0', 'stores': ','.join(STORES), 'report_dir': str(tmp_path / 'r')},
                        args=['-i', inventory(tmp_path, west, host_vars)])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    for text in expect:
        assert text in out, out[-3000:]
    assert 'nothing was changed in any region' in out, out[-3000:]
    assert writes(bridge_lab) == before, 'a region was written before the pre-flight failed'
    assert desktops(bridge_lab, 'east') == [] and desktops(bridge_lab, 'west') == []


def test_placement_on_the_nodes_that_have_the_bridge_passes(bridge_lab, tmp_path):
    proc = run_playbook(bridge_lab, 'playbooks/scale_event.yml',
                        {'image_version': '1.0.0', 'stores': ','.join(STORES), 'report_dir': str(tmp_path / 'r')},
                        args=['-i', inventory(tmp_path, {'nodes': ['pve-w1']})])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert len(desktops(bridge_lab, 'west')) == 9 and len(desktops(bridge_lab, 'east')) == 9

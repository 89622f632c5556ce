"""The start worker, not the start request, finds a NIC's missing bridge: qemu-server `vm_start` loads the config
under the VM lock inside the qmstart worker and `config_to_command` -> `print_netdevice_full` reads the bridge there
(pve-common Network.pm `read_bridge_mtu`); `create_vm` with start=1 starts in a qmstart task of its own
(lab/storedesk_lab/pve_network.py)."""

import contextlib

import pytest
from conftest import api, api_get, post, start_lab, wait_task

E1 = '/nodes/pve-e1'


@pytest.fixture(scope='module')
def net_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


@contextlib.contextmanager
def slow_tasks(pve, scale=0.2):
    """Tasks run in the background and take their PVE time (a qmstart 3 s x scale) while inside."""
    saved, pve.time_scale = pve.time_scale, scale
    try:
        yield
    finally:
        pve.time_scale = saved


def clone(session, vmid, net0):
    made = post(session, E1 + '/qemu/9100/clone', newid=vmid, name='net-{0}'.format(vmid))
    assert wait_task(session, made.json()['data'])['exitstatus'] == 'OK'
    session.put(session.base + E1 + '/qemu/{0}/config'.format(vmid), data={'net0': net0},
                verify=session.verify).raise_for_status()


def test_a_bridge_removed_after_the_start_request_fails_the_start_worker(net_lab):
    session, pve = api(net_lab), net_lab.regions['east']
    pve.add_bridge('pve-e1', 'vmbr4', ports='eno4')
    clone(session, 4711, 'virtio,bridge=vmbr4')
    with slow_tasks(pve):
        started = post(session, E1 + '/qemu/4711/status/start')
        assert started.status_code == 200, started.text
        pve.remove_bridge('pve-e1', 'vmbr4')                   # while the worker waits for its turn
        assert wait_task(session, started.json()['data'])['exitstatus'] == "bridge 'vmbr4' does not exist"
    assert api_get(session, E1 + '/qemu/4711/status/current')['status'] == 'stopped'


def test_a_bridge_added_after_the_start_request_lets_the_worker_start_the_vm(net_lab):
    session, pve = api(net_lab), net_lab.regions['east']
    clone(session, 4712, 'virtio,bridge=vmbr3')
    try:
        with slow_tasks(pve):
            started = post(session, E1 + '/qemu/4712/status/start')
            pve.add_bridge('pve-e1', 'vmbr3', ports='eno3')
            assert wait_task(session, started.json()['data'])['exitstatus'] == 'OK'
        assert api_get(session, E1 + '/qemu/4712/status/current')['status'] == 'running'
    finally:
        pve.remove_bridge('pve-e1', 'vmbr3')


def test_create_with_start_ends_ok_and_starts_in_a_qmstart_task_of_its_own(net_lab):
    session = api(net_lab)
    made = post(session, E1 + '/qemu', vmid=4713, name='net-autostart', memory=1024, net0='virtio,bridge=vmbr0',
                start=1)
    assert made.status_code == 200, made.text
    created = wait_task(session, made.json()['data'])
    assert created['exitstatus'] == 'OK'
    starts = [t for t in api_get(session, E1 + '/tasks', source='all', vmid=4713, limit=50) if t['type'] == 'qmstart']
    assert [t['status'] for t in starts] == ['OK'], starts
    assert api_get(session, E1 + '/qemu/4713/status/current')['status'] == 'running'

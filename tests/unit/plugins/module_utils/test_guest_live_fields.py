"""_guest_live: uptime and maxmem come from the node's guest list (qemu-server vmstatus), not the RRD cache."""

from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as live

GIB = 1024 ** 3


def test_uptime_and_maxmem_are_live_and_unset_fields_of_vmstatus_are_dropped():
    cached = [{'type': 'qemu', 'vmid': 101, 'node': 'n1', 'name': 'd01', 'status': 'running', 'uptime': 86400,
               'maxmem': 4 * GIB, 'lock': 'backup', 'tags': 'storedesk'}]
    now = {'n1': {101: {'vmid': 101, 'name': 'd01', 'status': 'running', 'uptime': 5, 'maxmem': 8 * GIB}}}
    got = live.overlay(cached, now)[0]
    assert got['uptime'] == 5 and got['maxmem'] == 8 * GIB     # restarted seconds ago with more memory
    assert 'lock' not in got and 'tags' not in got              # vmstatus omits them when unset

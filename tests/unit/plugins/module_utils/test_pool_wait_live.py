"""desktop_pool's push with in_use: wait decides on live power: /cluster/resources' status is the RRD cache (~10 s
old), so a desktop restarted during the wait reads `stopped` there; its users must still be asked."""

from __future__ import annotations

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._pool_apply import PoolRunner
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveApiError, StoredeskError
from ansible_collections.storedesk.vdi.plugins.module_utils._retry import Pacer


class Ops(object):
    def find(self, vmid):           # the cache: stopped (pvestatd's last round)
        return {'vmid': vmid, 'name': 'ut-0001-d01', 'node': 'pve-e1', 'status': 'stopped',
                'tags': 'storedesk;store-ut-0001'}


class LiveClient(object):
    """Live: running, `clerk` logged in for the first `busy` looks; status/current fails when `broken`."""

    def __init__(self, busy, broken=False):
        self.busy, self.broken, self.asked, self.gets = busy, broken, 0, []

    def get(self, path, **params):
        self.gets.append(path)
        if path.endswith('/status/current'):
            if self.broken:
                raise PveApiError(595, 'GET', path, 'no route to host')
            return {'status': 'running'}
        if path.endswith('/agent/get-users'):
            self.asked += 1
            return {'result': [{'user': 'clerk'}] if self.asked <= self.busy else []}
        return {}

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)


def runner(client, timeout=60):
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
    r = PoolRunner.__new__(PoolRunner)
    r.client, r.ops, r.pacer = client, Ops(), Pacer(clock=lambda: now[0], sleep=sleep)
    r.params = {'push': {'in_use_timeout': timeout}, 'in_use_check': ['tag', 'agent']}
    return r


def test_the_wait_asks_the_users_of_a_desktop_the_cache_reads_stopped():
    client = LiveClient(busy=2)
    vm = {'vmid': 1001}
    runner(client)._wait_free(vm, 'ut-0001-d01')
    assert client.asked == 3                        # clerk was seen twice; the third look found nobody
    assert vm['power'] == 'running' and vm['status'] == 'running'


def test_the_wait_goes_on_while_the_live_status_cannot_be_read():
    client = LiveClient(busy=0, broken=True)
    with pytest.raises(StoredeskError, match=r'still its status could not be read'):
        runner(client, timeout=3)._wait_free({'vmid': 1001}, 'ut-0001-d01')
    assert client.asked == 0

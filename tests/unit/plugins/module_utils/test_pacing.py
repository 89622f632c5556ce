"""Pacing in one place (_retry.Pacer): the looks of golden_image's build waits and desktop_pool's in_use wait
run on a fake clock (no real sleep), with the pauses and deadlines the user sees."""

from __future__ import annotations

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._image_build import ImageBuild
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_apply import PoolRunner
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveTimeoutError, StoredeskError
from ansible_collections.storedesk.vdi.plugins.module_utils._retry import Pacer


class FakeClock(object):
    def __init__(self):
        self.now, self.pauses = 1000.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.pauses.append(round(seconds, 3))
        self.now += seconds

    def pacer(self):
        return Pacer(clock=self.clock, sleep=self.sleep)


def test_ticks_grow_to_the_cap_and_the_last_look_is_at_the_deadline():
    fake = FakeClock()
    looks = [(n, fake.now) for n in fake.pacer().ticks(10, first=1.0, cap=4.0, factor=2.0)]
    assert fake.pauses == [1.0, 2.0, 4.0, 3.0]          # 1+2+4 = 7 s, then only the 3 s left
    assert [n for n, _at in looks] == [0, 1, 2, 3, 4]
    assert looks[-1][1] == 1010.0                          # a look right at the deadline, none after it


def test_ticks_look_once_even_without_time():
    fake = FakeClock()
    assert list(fake.pacer().ticks(0, first=1.0, cap=1.0)) == [0]
    assert fake.pauses == []


# ------------------------------------------------------------------ golden_image: the guest agent wait

class AgentClient(object):
    """A guest agent that answers with an IPv4 address from the `ready`-th read on."""

    def __init__(self, ready):
        self.ready, self.reads = ready, 0

    def get(self, path, **params):
        self.reads += 1
        if self.reads < self.ready:
            return {'result': [{'name': 'lo', 'ip-addresses': [{'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1'}]}]}
        address = {'ip-address-type': 'ipv4', 'ip-address': '10.0.0.5'}
        return {'result': [{'name': 'Ethernet', 'ip-addresses': [address]}]}

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)


def build(client, fake, guest_ip):
    b = ImageBuild(client, {'name': 'store', 'version': '1.1.0', 'node': 'pve-e1'}, winrm_options=None, poll=1.0,
                   timeouts={'guest_ip': guest_ip}, pacer=fake.pacer())
    b.vm = {'vmid': 104, 'node': 'pve-e1', 'name': 'build-store-1.1.0'}
    return b


def test_the_build_waits_for_the_guest_agent_on_the_pacer():
    fake = FakeClock()
    client = AgentClient(ready=4)
    assert build(client, fake, 3600)._wait_ip() == '10.0.0.5'
    assert client.reads == 4
    assert fake.pauses == [0.2, 0.35, 0.575]               # 0.2 s, then x1.5 + 0.05 up to 5 x poll


def test_the_build_gives_up_on_the_guest_agent_at_its_timeout():
    fake = FakeClock()
    with pytest.raises(PveTimeoutError, match='no IP address .* within 30s'):
        build(AgentClient(ready=10 ** 6), fake, 30)._wait_ip()
    assert fake.now == 1030.0 and max(fake.pauses) == 5.0


# ------------------------------------------------------------------ desktop_pool: push with in_use: wait

class Ops(object):
    """The desktop is tagged inuse for the first `busy` looks."""

    def __init__(self, busy):
        self.busy, self.looks = busy, 0

    def find(self, vmid):
        self.looks += 1
        tags = 'storedesk;store-ut-0001' + (';inuse' if self.looks <= self.busy else '')
        return {'vmid': vmid, 'name': 'ut-0001-d01', 'node': 'pve-e1', 'status': 'stopped', 'tags': tags}


class ConfigClient(object):
    def get(self, path, **params):
        return {}

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)


def runner(busy, fake, timeout):
    r = PoolRunner.__new__(PoolRunner)
    r.client, r.ops, r.pacer = ConfigClient(), Ops(busy), fake.pacer()
    r.params = {'push': {'in_use_timeout': timeout}, 'in_use_check': ['tag']}
    return r


def test_a_push_waits_for_the_user_to_leave_then_goes_on():
    fake = FakeClock()
    r = runner(busy=3, fake=fake, timeout=900)
    vm = {'vmid': 1001}
    r._wait_free(vm, 'ut-0001-d01')
    assert r.ops.looks == 4 and fake.pauses == [30.0, 30.0, 30.0]     # every in_use_timeout / 20, at most 30 s
    assert 'inuse' not in vm['tags']


def test_a_push_stops_waiting_at_in_use_timeout_and_says_why():
    fake = FakeClock()
    r = runner(busy=10 ** 6, fake=fake, timeout=60)
    with pytest.raises(StoredeskError, match=r'still in use \(tag inuse\) after 60s'):
        r._wait_free({'vmid': 1001}, 'ut-0001-d01')
    assert fake.now == 1060.0 and r.ops.looks == 21                   # a look every 3 s, the last at 60 s

"""desktop_pool's runner and store lease with a fake client: collisions, lost answers, adoption, fail closed.

FakePve keeps just enough of PVE for these paths (pools, guests, clone/start/stop/destroy tasks that end at
once) and records every request, so each test asserts what PVE would hold afterwards.
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, '.venv', 'collections'))

from ansible_collections.storedesk.vdi.plugins.module_utils import _lease  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import (  # noqa: E402
    PveApiError, PveConnectionError)
from ansible_collections.storedesk.vdi.plugins.modules import desktop_pool  # noqa: E402

from test_pool_plan import GIB, params  # noqa: E402


class Failed(Exception):
    """module.fail_json"""

    def __init__(self, fields):
        super().__init__(fields.get('msg'))
        self.fields = fields


class FakeModule(object):
    def __init__(self, p, check_mode=False):
        self.params = p
        self.check_mode = check_mode
        self._diff = False
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def log(self, text):
        pass

    def fail_json(self, **fields):
        raise Failed(fields)


class FakePve(object):
    """Pools, guests and tasks that end at once; `hooks` change an answer for one path."""

    user = 'automation@pve!storedesk'
    token = 'PVEAPIToken=x'

    def __init__(self):
        self.nodes = ['pve-e1', 'pve-e2']
        self.vms = {9100: {'vmid': 9100, 'name': 'tpl-store-1.0.0', 'node': 'pve-e1', 'status': 'stopped',
                           'template': 1, 'maxmem': 4 * GIB, 'tags': 'image-store;storedesk;v-1.0.0'}}
        self.configs = {9100: {'name': 'tpl-store-1.0.0', 'template': 1, 'scsi0': 'local-lvm:base-9100-disk-0'}}
        self.pools = {}
        self.requests = []
        self.stats = {'requests': 0, 'logins': 0, 'retries': 0}
        self.hooks = {}
        self.tasks = 0
        self.upids = []

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)

    def _hook(self, method, path, data):
        hook = self.hooks.get((method, path.split('/')[-1])) or self.hooks.get((method, path))
        return hook(path, data) if hook else None

    def request(self, method, path, data):
        self.requests.append((method, path, dict(data)))
        self.stats['requests'] += 1
        hooked = self._hook(method, path, data)
        if hooked is not None:
            return hooked
        return getattr(self, '_' + method.lower())(path, data)

    def get(self, path, **params):
        return self.request('GET', path, params)

    def post(self, path, safe=False, **data):
        return self.request('POST', path, data)

    def put(self, path, safe=False, **data):
        return self.request('PUT', path, data)

    def delete(self, path, safe=False, **params):
        return self.request('DELETE', path, params)

    def upid(self, node, kind, vmid):
        self.tasks += 1
        self.upids.append('UPID:{0}:0000{1:04X}:00000000:6B000000:{2}:{3}:x:'.format(node, self.tasks, kind, vmid))
        return self.upids[-1]

    def _get(self, path, data):
        parts = path.strip('/').split('/')
        if path == '/cluster/resources':
            out = [{'type': 'node', 'node': n, 'status': 'online', 'maxmem': 256 * GIB, 'mem': 8 * GIB}
                   for n in self.nodes]
            return out + [dict(vm, type='qemu') for vm in self.vms.values()]
        if path == '/pools':
            return [dict({'poolid': k}, **({'comment': v['comment']} if v.get('comment') else {}))
                    for k, v in sorted(self.pools.items())]
        if parts[-1] == 'status' and parts[2] == 'tasks':
            return {'status': 'stopped', 'exitstatus': 'OK'}
        if parts[-1] == 'tasks':
            return [{'upid': u, 'endtime': 1, 'status': 'OK'} for u in self.upids if u.split(':')[1] == parts[1]]
        if parts[-1] == 'config':
            return dict(self.configs.get(int(parts[3]), {}))
        if parts[-1] == 'current':
            return {'status': self.vms[int(parts[3])]['status']}
        if parts[-1] == 'get-users':
            return {'result': []}
        if parts[-1] == 'qemu':
            return [dict(vm) for vm in self.vms.values() if vm['node'] == parts[1]]
        if parts[-1] == 'network':        # desktop_pool's bridge check (type=any_bridge)
            return [{'iface': 'vmbr0', 'type': 'bridge', 'bridge_ports': 'eno1'}]
        raise AssertionError('unexpected GET ' + path)

    def _post(self, path, data):
        parts = path.strip('/').split('/')
        if path == '/pools':
            if data['poolid'] in self.pools:
                raise PveApiError(500, 'POST', path, "create pool failed: pool '{0}' already exists".format(
                    data['poolid']))
            self.pools[data['poolid']] = {'comment': data.get('comment'), 'vms': set()}
            return None
        if parts[-1] == 'clone':
            return self.clone(int(parts[3]), int(data['newid']), data)
        vmid = int(parts[3])
        if parts[-1] == 'start':
            self.vms[vmid]['status'] = 'running'
        elif parts[-1] in ('stop', 'shutdown'):
            self.vms[vmid]['status'] = 'stopped'
        return self.upid(parts[1], 'qm' + parts[-1], vmid)

    def clone(self, source, newid, data):
        if self.vms[source].get('lock'):
            raise PveApiError(500, 'POST', 'clone', 'VM is locked ({0})'.format(self.vms[source]['lock']))
        if newid in self.vms:
            raise PveApiError(500, 'POST', 'clone', 'unable to create VM {0}: config file already exists'.format(newid))
        node = data.get('target') or self.vms[source]['node']
        self.vms[newid] = {'vmid': newid, 'name': data['name'], 'node': node, 'status': 'stopped', 'template': 0,
                           'maxmem': 4 * GIB, 'tags': self.vms[source]['tags'], 'pool': data.get('pool')}
        self.configs[newid] = {'name': data['name'], 'description': data.get('description')}
        return self.upid(node, 'qmclone', source)

    def _put(self, path, data):
        parts = path.strip('/').split('/')
        if parts[0] == 'pools':
            if parts[1] not in self.pools:
                raise PveApiError(500, 'PUT', path, "update pools failed: pool '{0}' does not exist".format(parts[1]))
            self.pools[parts[1]]['comment'] = data.get('comment')
            return None
        vmid = int(parts[3])
        values = dict((k, v) for k, v in data.items() if v is not None and k != 'delete')
        self.configs.setdefault(vmid, {}).update(values)
        if 'tags' in values:
            self.vms[vmid]['tags'] = values['tags']
        return None

    def _delete(self, path, data):
        parts = path.strip('/').split('/')
        if parts[0] == 'pools':
            if self.pools.pop(parts[1], None) is None:
                raise PveApiError(500, 'DELETE', path, "delete pool failed: pool '{0}' does not exist".format(
                    parts[1]))
            return None
        vmid = int(parts[3])
        vm = self.vms.pop(vmid)
        return self.upid(vm['node'], 'qmdestroy', vmid)

    # ------------------------------------------------------------- helpers for tests

    def desktops(self, store):
        return sorted(vm['name'] for vm in self.vms.values() if ('store-' + store) in (vm.get('tags') or ''))

    def writes(self, what):
        return [r for r in self.requests if r[0] != 'GET' and r[1].endswith(what)]


def one_store(count=3, **over):
    return params(stores=[{'code': 'ut-0001', 'subnet': '10.31.1.0/24', 'vlan': 3101}], count=count, lease_wait=0,
                  **over)


def run(pve, p, check_mode=False):
    return desktop_pool.execute(FakeModule(p, check_mode), pve)


def deploy(pve, count=3, **over):
    result = run(pve, one_store(count, **over))
    assert pve.desktops('ut-0001') == ['ut-0001-d{0:02d}'.format(i) for i in range(1, count + 1)]
    return result


# ------------------------------------------------------------------------------------------ the lease


def test_a_second_run_on_a_held_store_stops_naming_the_holder_and_changes_nothing():
    pve = FakePve()
    holder = _lease.Lease(pve, ['ut-0001'], owner='clerk@hq-ansible', run='aaaa11112222')
    holder.acquire()
    before = len([r for r in pve.requests if r[0] != 'GET'])
    with pytest.raises(_lease.LeaseBusy) as caught:
        run(pve, one_store(3))
    assert 'clerk@hq-ansible' in str(caught.value) and 'aaaa11112222' in str(caught.value)
    assert pve.desktops('ut-0001') == []
    # its own lease pool came and went; no clone, no config write
    assert not [r for r in pve.requests[before:] if r[0] != 'GET' and '/pools' not in r[1]]
    assert list(pve.pools) == [holder.pool]
    holder.release()
    assert pve.pools == {}


def test_a_waiting_run_goes_on_when_the_holder_releases():
    pve = FakePve()
    holder = _lease.Lease(pve, ['ut-0001'], owner='other@host', run='bbbb11112222')
    holder.acquire()
    slept = []

    def sleep(secs):
        slept.append(secs)
        if len(slept) == 2:
            holder.release()
    lease = _lease.Lease(pve, ['ut-0001', 'ut-0002'], wait=60, sleep=sleep)
    lease.acquire()
    assert lease.held and len(slept) == 2
    lease.release()
    assert pve.pools == {}


def test_two_runs_that_see_each_other_both_step_back_and_one_wins():
    pve = FakePve()
    first = _lease.Lease(pve, ['ut-0001'], run='c1', wait=60, sleep=lambda s: None)
    second = _lease.Lease(pve, ['ut-0001'], run='c2', wait=60, sleep=lambda s: None)
    # second created its pool just before first looks: first must step back
    pve.hooks[('POST', '/pools')] = lambda path, data: pve.pools.setdefault(
        second.pool, {'comment': _lease.render('x@y', 'c2', 10 ** 10, ['ut-0001']), 'vms': set()}) and None
    steps = []

    def sleep(secs):
        steps.append(secs)
        pve.hooks.clear()
        pve.pools.pop(second.pool, None)
    first.sleep = sleep
    first.acquire()
    assert first.held and len(steps) == 1
    assert second.pool not in pve.pools


def test_an_expired_lease_is_taken_over_and_removed():
    pve = FakePve()
    pve.pools['storedesk-lease-dead00000000'] = {'comment': _lease.render('gone@host', 'dead00000000', 1000,
                                                                          ['ut-0001']), 'vms': set()}
    lease = _lease.Lease(pve, ['ut-0001'])
    lease.acquire()
    assert list(pve.pools) == [lease.pool]
    lease.release()


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once():
    pve = FakePve()
    owner = _lease.owner_name()
    pve.pools['storedesk-lease-dead00000001'] = {'comment': _lease.render(owner, 'dead00000001', 10 ** 10,
                                                                          ['ut-0001'], pid=2 ** 22 + 12345),
                                                 'vms': set()}
    lease = _lease.Lease(pve, ['ut-0001'])
    lease.acquire()
    assert list(pve.pools) == [lease.pool]


def test_the_lease_is_released_when_the_run_fails():
    pve = FakePve()
    pve.hooks[('POST', 'clone')] = lambda path, data: (_ for _ in ()).throw(
        PveApiError(500, 'POST', path, 'storage full'))
    with pytest.raises(Failed):
        run(pve, one_store(2))
    assert pve.pools == {'store-ut-0001': pve.pools['store-ut-0001']}


def test_a_no_op_rerun_takes_no_lease():
    pve = FakePve()
    deploy(pve)
    pve.requests.clear()
    result = run(pve, one_store(3))
    assert result['changed'] is False
    assert [r[0] for r in pve.requests] == ['GET', 'GET']


# ------------------------------------------------------------------------------- clones and answers


def test_a_lost_clone_answer_is_probed_and_the_clone_not_sent_twice():
    pve = FakePve()
    sent = []

    def lost(path, data):
        sent.append(int(data['newid']))
        pve.clone(int(path.split('/')[-2]), int(data['newid']), data)
        if len(sent) == 1:
            raise PveConnectionError('read timed out', sent=True)
        return pve.upid('pve-e1', 'qmclone', 9100)
    pve.hooks[('POST', 'clone')] = lost
    deploy(pve, count=2)
    assert len(sent) == 2 and len(set(sent)) == 2


def test_in_flight_clone_of_a_dead_run_is_waited_for_and_adopted_not_cloned_twice():
    pve = FakePve()
    deploy(pve, count=2)
    # a run that died left a clone PVE is still making: config with only `lock: clone`, no name, no pool
    pve.vms[1005] = {'vmid': 1005, 'node': 'pve-e1', 'status': 'unknown', 'lock': 'clone',
                     'tags': 'image-store;storedesk;v-1.0.0'}
    pve.configs[1005] = {'lock': 'clone'}
    looks = []

    def resources(path, data):
        looks.append(1)
        if len(looks) == 3:      # PVE's worker finishes: name, description, pool
            from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_desired as desired
            store = desired.build(one_store(3))[0]
            spec = desired.desktop_spec(store, one_store(3), 3, 'desktop')
            pve.vms[1005] = {'vmid': 1005, 'name': 'ut-0001-d03', 'node': 'pve-e1', 'status': 'stopped',
                             'template': 0, 'maxmem': 4 * GIB, 'tags': 'image-store;storedesk;v-1.0.0',
                             'pool': 'store-ut-0001'}
            pve.configs[1005] = {'name': 'ut-0001-d03', 'description': desired.description(store, spec)}
        return None
    pve.hooks[('GET', '/cluster/resources')] = resources
    run(pve, one_store(3))
    assert pve.desktops('ut-0001') == ['ut-0001-d01', 'ut-0001-d02', 'ut-0001-d03']
    assert len(pve.writes('/clone')) == 2          # the two of the first deploy only
    assert pve.vms[1005]['status'] == 'running'


# ----------------------------------------------------------------------------------- fail closed


def test_agent_that_does_not_answer_keeps_the_desktop_on_scale_down():
    pve = FakePve()
    deploy(pve, count=3)
    for vm in pve.vms.values():
        if not vm.get('template'):
            vm['status'] = 'running'
    pve.hooks[('GET', 'get-users')] = lambda path, data: (_ for _ in ()).throw(
        PveApiError(500, 'GET', path, 'VM 1002 qmp command guest-get-users failed - got timeout'))
    result = run(pve, one_store(1))
    assert len(pve.desktops('ut-0001')) == 3
    kept = result['stores']['ut-0001']['kept']
    # all three were candidates and none is known to be free: each is reported with its reason
    assert len(kept) == 3 and all('guest agent did not answer' in k['reason'] for k in kept)
    assert not pve.writes('/stop') and not [r for r in pve.requests if r[0] == 'DELETE' and '/qemu/' in r[1]]


def test_hibernated_desktops_are_kept_unless_the_policy_says_otherwise():
    pve = FakePve()
    deploy(pve, count=3, power='stopped')
    for vm in pve.vms.values():
        if not vm.get('template'):
            vm['lock'] = 'suspended'
            state = 'local-lvm:vm-{0}-state-suspend'.format(vm['vmid'])
            pve.configs[vm['vmid']].update(lock='suspended', vmstate=state)
    pve.requests.clear()
    result = run(pve, one_store(1, power='hibernated'))
    assert len(pve.desktops('ut-0001')) == 3
    kept = result['stores']['ut-0001']['kept']
    assert sorted(k['name'] for k in kept) == ['ut-0001-d01', 'ut-0001-d02', 'ut-0001-d03']
    assert all('saved session' in k['reason'] for k in kept)
    assert not [r for r in pve.requests if r[0] != 'GET' and '/qemu/' in r[1]]
    run(pve, one_store(1, power='hibernated', saved_sessions='discard'))
    assert pve.desktops('ut-0001') == ['ut-0001-d01']


def test_protection_set_after_the_plan_stops_the_destroy_before_any_stop():
    pve = FakePve()
    deploy(pve, count=2)
    d02 = [vm for vm in pve.vms.values() if vm.get('name') == 'ut-0001-d02'][0]
    reads = []

    def config(path, data):
        if not path.endswith('/{0}/config'.format(d02['vmid'])):
            return None
        reads.append(path)
        if len(reads) > 2:          # after the plan's reads (one before the lease, one under it)
            return dict(pve.configs[d02['vmid']], protection=1)      # set by staff between plan and destroy
        return None
    pve.hooks[('GET', 'config')] = config
    result = run(pve, one_store(1))
    assert 'ut-0001-d02' in pve.desktops('ut-0001')
    assert not pve.writes('/stop')
    assert [k['reason'] for k in result['stores']['ut-0001']['kept']] == ['protection is on']


def test_push_with_a_failed_config_read_keeps_the_desktop():
    pve = FakePve()
    deploy(pve, count=2)
    pve.vms[9200] = dict(pve.vms[9100], vmid=9200, name='tpl-store-1.1.0', tags='image-store;storedesk;v-1.1.0')
    pve.configs[9200] = dict(pve.configs[9100], name='tpl-store-1.1.0')
    d01 = [vm for vm in pve.vms.values() if vm.get('name') == 'ut-0001-d01'][0]
    pve.hooks[('GET', '/nodes/{0}/qemu/{1}/config'.format(d01['node'], d01['vmid']))] = \
        lambda path, data: (_ for _ in ()).throw(PveConnectionError('read timed out'))
    result = run(pve, dict(one_store(2), image={'name': 'store', 'version': '1.1.0'}))
    assert d01['vmid'] in pve.vms                                         # not replaced
    assert pve.desktops('ut-0001').count('ut-0001-d01') == 1              # and no twin cloned next to it
    kept = result['stores']['ut-0001']['kept']
    assert [k['name'] for k in kept] == ['ut-0001-d01'] and 'could not be read' in kept[0]['reason']


def test_push_that_does_not_fit_says_by_how_much_before_any_change():
    pve = FakePve()
    deploy(pve, count=2)
    pve.vms[9200] = dict(pve.vms[9100], vmid=9200, name='tpl-store-1.1.0', tags='image-store;storedesk;v-1.1.0',
                         maxmem=200 * GIB)
    pve.configs[9200] = dict(pve.configs[9100], name='tpl-store-1.1.0')
    pve.requests.clear()
    with pytest.raises(Exception) as caught:
        run(pve, dict(one_store(2), image={'name': 'store', 'version': '1.1.0'}))
    assert 'GiB short' in str(caught.value) and 'nothing was changed' in str(caught.value)
    assert not [r for r in pve.requests if r[0] != 'GET']


def test_a_backup_on_the_template_is_waited_for_then_the_clones_run():
    pve = FakePve()
    pve.vms[9100]['lock'] = 'backup'
    looks = []

    def resources(path, data):
        looks.append(1)
        if len(looks) == 4:
            pve.vms[9100].pop('lock')
        return None
    pve.hooks[('GET', '/cluster/resources')] = resources
    deploy(pve, count=2)


def test_a_backup_on_the_template_past_lock_wait_stops_before_any_clone():
    pve = FakePve()
    pve.vms[9100]['lock'] = 'backup'
    with pytest.raises(Exception) as caught:
        run(pve, one_store(2, lock_wait=1))
    assert 'locked (backup)' in str(caught.value) and 'nothing was changed' in str(caught.value)
    assert not pve.writes('/clone') and pve.pools == {}


def test_cancel_finishes_nothing_new_and_releases_the_lease():
    pve = FakePve()
    from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_apply
    real = _pool_apply.PoolRunner._clone

    def clone_then_cancel(self, op, spec, node, where):
        self.cancel.set()                  # SIGTERM arrives while the first clone runs
        return real(self, op, spec, node, where)
    _pool_apply.PoolRunner._clone = clone_then_cancel
    try:
        with pytest.raises(Failed) as caught:
            run(pve, one_store(4, concurrency=1))
    finally:
        _pool_apply.PoolRunner._clone = real
    assert caught.value.fields['msg'].startswith('cancelled')
    assert len(pve.desktops('ut-0001')) == 1 and list(pve.pools) == ['store-ut-0001']

"""The client layer against the lab: re-login after revoked tickets, retries, typed errors with hints."""

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._executor import run_bounded
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_client import PveClient
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import (PveApiError, PveAuthError,
                                                                                 PveTaskError)
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_tasks import TaskWatcher


def client(lab, region='east', **kw):
    pve = lab.regions[region]
    kw.setdefault('password', lab.password)
    return PveClient(pve.host, port=pve.port, ca_path=lab.cafile, **kw)


def test_revoked_ticket_mid_run_logs_in_again_once(fresh_lab):
    c = client(fresh_lab)
    c.get('/version')
    fresh_lab.regions['east'].revoke_tickets()
    assert c.get('/cluster/status')
    assert c.stats['logins'] == 2


def test_wrong_token_is_not_retried_and_names_the_fix(fresh_lab):
    c = client(fresh_lab, password=None, token_id='storedesk', token_secret='wrong')
    with pytest.raises(PveAuthError) as err:
        c.get('/version')
    assert 'PROXMOX_TOKEN_SECRET' in str(err.value)
    assert c.stats['requests'] == 1


def test_lost_quorum_write_names_the_cause(fresh_lab):
    pve = fresh_lab.regions['east']
    pve.lose_quorum()
    c = client(fresh_lab)
    with pytest.raises(PveApiError) as err:
        c.put('/nodes/pve-e1/qemu/9000/config', description='x')
    assert 'no quorum' in str(err.value) and 'corosync' in str(err.value)


def test_offline_node_names_the_node(fresh_lab):
    fresh_lab.regions['east'].set_node_offline('pve-e2')
    with pytest.raises(PveApiError) as err:
        client(fresh_lab).get('/nodes/pve-e2/qemu')
    assert err.value.status == 595 and 'offline' in str(err.value)


def test_lock_timeout_is_retried_then_succeeds(fresh_lab):
    pve = fresh_lab.regions['east']
    pve.fail('PUT', '/nodes/pve-e1/qemu/9000/config', error='config_lock_timeout', times=2)
    c = client(fresh_lab)
    c.put('/nodes/pve-e1/qemu/9000/config', description='after the lock')
    assert c.stats['retries'] == 2
    assert pve.vm(9000).config['description'] == 'after the lock'


def test_dropped_write_is_not_repeated(fresh_lab):
    pve = fresh_lab.regions['east']
    c = client(fresh_lab)
    c.get('/version')
    pve.flaky_network(drop_rate=1.0)
    with pytest.raises(Exception) as err:
        c.put('/nodes/pve-e1/qemu/9000/config', description='x')
    pve.flaky_network()
    assert c.stats['requests'] == 3 and c.stats['retries'] == 0, 'a write that may have reached PVE is not resent'
    assert 'PUT /nodes/pve-e1/qemu/9000/config' in str(err.value)


def test_task_failure_carries_the_task_log(fresh_lab):
    pve = fresh_lab.regions['east']
    pve.fail_next_task('qmclone', 'clone failed: rbd error: I/O error')
    c = client(fresh_lab)
    upid = c.post('/nodes/pve-e1/qemu/9100/clone', newid=777, name='x-clone')
    with pytest.raises(PveTaskError) as err:
        TaskWatcher(c).wait(upid, timeout=10, what='clone of 9100 to 777')
    assert 'rbd error' in str(err.value) and 'task log' in str(err.value)
    assert pve.vm(777) is None, 'a failed clone leaves no half-made VM'


def test_bounded_executor_limits_per_key_and_overall():
    import threading
    import time
    live, peak, lock = {}, {}, threading.Lock()

    def work(item):
        with lock:
            live[item[0]] = live.get(item[0], 0) + 1
            peak[item[0]] = max(peak.get(item[0], 0), live[item[0]])
            peak['all'] = max(peak.get('all', 0), sum(v for k, v in live.items() if k != 'all'))
        time.sleep(0.01)
        with lock:
            live[item[0]] -= 1
        if item[1] == 7:
            raise ValueError('boom')
        return item[1]

    items = [(node, n) for n in range(12) for node in ('a', 'b', 'c')]
    out = run_bounded(items, work, key=lambda i: i[0], per_key=2, overall=5)
    assert max(peak[k] for k in 'abc') <= 2 and peak['all'] <= 5
    assert [o.ok for o in out].count(False) == 3
    assert all(o.value == o.item[1] for o in out if o.ok)

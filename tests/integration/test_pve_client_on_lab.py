"""The client layer against the lab: re-login after revoked tickets, retries, typed errors with hints."""

import pytest

from conftest import api, api_get
from ansible_collections.storedesk.vdi.plugins.module_utils._executor import run_bounded
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_client import PveClient
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import (PveApiError, PveAuthError,
                                                                                 PveTaskError, PveTaskWatchError)
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


def test_several_clones_awaited_on_one_node_all_succeed(fresh_lab):
    """PVE lists active tasks as status RUNNING (Tasks.pm node_tasks): that is not an exit status."""
    slow_lab = fresh_lab
    slow_lab.regions['east'].time_scale = 0.05      # tasks take real time, so waits see them RUNNING
    c = client(slow_lab)
    watcher = TaskWatcher(c)
    upids = [c.post('/nodes/pve-e1/qemu/9100/clone', newid=780 + n, name='run-{0}'.format(n)) for n in range(4)]
    rows = c.get('/nodes/pve-e1/tasks', source='all', limit=50)
    assert any(r.get('status') == 'RUNNING' for r in rows if r['upid'] in upids), 'the lab lists them RUNNING'
    out = run_bounded(upids, lambda u: watcher.wait(u, timeout=120, what='clone'), overall=4, per_key=4)
    assert [o.value for o in out] == ['OK'] * 4, [str(o.error) for o in out]
    session = api(slow_lab)
    names = {vm['vmid']: vm.get('name') for vm in api_get(session, '/nodes/pve-e1/qemu')}
    assert [names.get(780 + n) for n in range(4)] == ['run-{0}'.format(n) for n in range(4)]


def test_api_outage_while_waiting_is_unknown_not_failed(fresh_lab):
    slow_lab = fresh_lab
    pve = slow_lab.regions['east']
    pve.time_scale = 0.05
    c = client(slow_lab, retries=0)
    upid = c.post('/nodes/pve-e1/qemu/9100/clone', newid=790, name='outage-clone')
    pve.flaky_network(drop_rate=1.0)
    try:
        with pytest.raises(PveTaskWatchError) as err:
            TaskWatcher(c, outage=1.0).wait(upid, timeout=60, what='clone of 9100 to 790')
    finally:
        pve.flaky_network()
    assert not isinstance(err.value, PveTaskError)
    assert 'could not read the task list of node pve-e1' in str(err.value) and 'unknown' in str(err.value)
    assert TaskWatcher(c).wait(upid, timeout=120) == 'OK', 'the clone went on in PVE'
    assert api_get(api(slow_lab), '/nodes/pve-e1/qemu/790/config').get('name') == 'outage-clone'


def test_version_is_read_once_per_client(fresh_lab):
    pve = fresh_lab.regions['east']
    expected = api_get(api(fresh_lab), '/version')
    c = client(fresh_lab)
    before = len([r for r in pve.requests if r[:2] == ('GET', '/api2/json/version')])
    v = c.version()
    assert c.version() is v and c.version() == (v.major, v.minor, v.release)
    assert v.text == expected['version'] and '{0}.{1}'.format(v.major, v.minor) == expected['release']
    after = len([r for r in pve.requests if r[:2] == ('GET', '/api2/json/version')])
    assert after - before == 1, 'one GET /version for three calls'

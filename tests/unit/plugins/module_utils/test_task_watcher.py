"""The one task watcher against a fake client that answers like PVE's task API (no lab, no network).

PVE's shapes (pve-manager PVE/API2/Tasks.pm, stable-8 and master): `node_tasks` lists an active task with
`status: "RUNNING"` and no `endtime`; a finished one has `endtime` and its exit status; `read_task_status`
answers `running`, or `stopped` with `exitstatus`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import (PveConnectionError, PveTaskError,
                                                                                 PveTaskWatchError, PveTimeoutError)
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_tasks import TaskWatcher, row_finished

NODE = 'pve-e1'


def upid(n, kind='qmclone', node=NODE):
    return 'UPID:{0}:{1:08X}:00000001:{2:08X}:{3}:{4}:root@pam:'.format(node, 4000 + n, 1767225600 + n, kind,
                                                                       9000 + n)


class FakeNode(object):
    """Tasks of one node: each ends `secs` after it was added, with `exit`; reads can be made to fail."""

    def __init__(self):
        self.tasks = {}
        self.reads = {'list': 0, 'status': 0}
        self.down_until = 0.0
        self.cause = 'cannot connect to the PVE API at 10.0.0.1:8006 (Connection refused)'
        self.busy = 0
        self.most_at_once = 0
        self.list_limits = []
        self._lock = threading.Lock()

    def add(self, task_upid, secs, exit='OK', listed_after=0.0):
        now = time.monotonic()
        self.tasks[task_upid] = {'end': now + secs, 'exit': exit, 'listed': now + listed_after}
        return task_upid

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)

    def get(self, path, **params):
        with self._lock:
            self.busy += 1
            self.most_at_once = max(self.most_at_once, self.busy)
        try:
            return self._answer(path, params)
        finally:
            with self._lock:
                self.busy -= 1

    def _answer(self, path, params):
        now = time.monotonic()
        if path.endswith('/log'):
            return [{'n': 1, 't': 'cloning'}, {'n': 2, 't': 'TASK ERROR: boom'}]
        if now < self.down_until:
            raise PveConnectionError(self.cause)
        if path.endswith('/status'):
            self.reads['status'] += 1
            task = self.tasks[path.split('/')[-2]]
            if now < task['end']:
                return {'status': 'running', 'upid': path.split('/')[-2]}
            return {'status': 'stopped', 'exitstatus': task['exit']}
        self.reads['list'] += 1
        self.list_limits.append(params.get('limit'))
        assert params.get('source') == 'all'
        rows = []
        for task_upid, task in self.tasks.items():
            if now < task['listed'] or int(task_upid.split(':')[4], 16) < params.get('since', 0):
                continue
            row = {'upid': task_upid, 'node': NODE, 'starttime': int(task_upid.split(':')[4], 16)}
            if now < task['end']:
                row['status'] = 'RUNNING'           # Tasks.pm node_tasks: 'RUNNING' if !$task->{status}
            else:
                row.update(status=task['exit'], endtime=row['starttime'] + 2)
            rows.append(row)
        start, limit = params.get('start', 0), params.get('limit', 50)
        return rows[start:start + limit]


def wait_all(watcher, upids, timeout=10):
    def one(u):
        try:
            return watcher.wait(u, timeout=timeout, what='clone')
        except Exception as exc:  # noqa: BLE001 - the test looks at what each wait ended with
            return exc
    with ThreadPoolExecutor(max_workers=len(upids)) as pool:
        return list(pool.map(one, upids))


def test_running_rows_are_not_exit_statuses():
    node = FakeNode()
    upids = [node.add(upid(i), 0.3) for i in range(3)]
    out = wait_all(TaskWatcher(node, poll_min=0.01, poll_max=0.05), upids)
    assert out == ['OK', 'OK', 'OK']
    assert node.reads['list'] >= 2, 'the list was read while the tasks were RUNNING'


def test_row_finished_follows_pve():
    assert not row_finished({'status': 'RUNNING'})
    assert not row_finished({'status': 'RUNNING', 'endtime': 0})
    assert row_finished({'status': 'OK', 'endtime': 1767225602})
    assert row_finished({'status': 'unexpected status', 'endtime': 1767225602})


def test_exit_statuses_as_pve_writes_them():
    node = FakeNode()
    good = node.add(upid(1), 0.05, exit='WARNINGS: 2')
    bad = node.add(upid(2), 0.05, exit="clone failed: can't activate LV")
    ok, failed = wait_all(TaskWatcher(node, poll_min=0.01, poll_max=0.05), [good, bad])
    assert ok == 'WARNINGS: 2'
    assert isinstance(failed, PveTaskError) and failed.exitstatus == "clone failed: can't activate LV"
    assert 'task log: cloning' in str(failed)


def test_single_wait_reads_the_task_status():
    node = FakeNode()
    one = node.add(upid(1, 'qmstart'), 0.1, exit='OK')
    assert TaskWatcher(node, poll_min=0.01, poll_max=0.05).wait(one, timeout=5) == 'OK'
    assert node.reads['status'] >= 2 and node.reads['list'] == 0


def test_api_outage_is_unknown_outcome_not_task_failure():
    node = FakeNode()
    upids = [node.add(upid(i), 0.05) for i in range(3)]
    node.down_until = time.monotonic() + 60
    out = wait_all(TaskWatcher(node, poll_min=0.01, poll_max=0.05, outage=0.3), upids)
    for exc in out:
        assert isinstance(exc, PveTaskWatchError) and not isinstance(exc, PveTaskError)
        assert 'could not read the task list of node pve-e1' in str(exc)
        assert 'Connection refused' in str(exc) and 'failed:' not in str(exc)
        assert exc.seconds >= 0.3


def test_outage_longer_than_the_wait_is_still_unknown_not_a_timeout():
    node = FakeNode()
    one = node.add(upid(1), 0.05)
    node.down_until = time.monotonic() + 60
    with pytest.raises(PveTaskWatchError):
        TaskWatcher(node, poll_min=0.01, poll_max=0.05, outage=30).wait(one, timeout=0.3)


def test_short_outage_is_ridden_out():
    node = FakeNode()
    upids = [node.add(upid(i), 0.05) for i in range(2)]
    node.down_until = time.monotonic() + 0.3
    assert wait_all(TaskWatcher(node, poll_min=0.01, poll_max=0.05, outage=5), upids) == ['OK', 'OK']


def test_late_task_is_awaited_past_its_learned_duration():
    node = FakeNode()
    watcher = TaskWatcher(node, poll_min=0.01, poll_max=0.05)
    assert wait_all(watcher, [node.add(upid(i), 0.05) for i in range(2)]) == ['OK', 'OK']
    assert 0.0 < watcher.typical['qmclone'] < 0.3
    late = node.add(upid(10), 0.6)
    unlisted = node.add(upid(11), 0.2, listed_after=0.15)     # not in the list yet when the wait starts
    assert wait_all(watcher, [late, unlisted], timeout=3) == ['OK', 'OK']


def test_still_running_at_the_deadline_times_out():
    node = FakeNode()
    with pytest.raises(PveTimeoutError):
        TaskWatcher(node, poll_min=0.01, poll_max=0.05).wait(node.add(upid(1), 60), timeout=0.2)


def test_500_waits_on_one_node_share_one_list_read_per_round():
    node = FakeNode()
    upids = [node.add(upid(i), 0.8 + (i % 50) / 125.0) for i in range(500)]
    out = wait_all(TaskWatcher(node, poll_min=0.02, poll_max=0.1), upids, timeout=30)
    assert out == ['OK'] * 500
    assert node.reads['status'] <= 5, 'per-task status reads only while a single task is awaited'
    assert node.most_at_once == 1, 'one poller per node'
    assert max(node.list_limits) >= 500, 'a round with all 500 waiting reads one page'
    reads = node.reads['list'] + node.reads['status']
    assert reads < 150, 'one read per round, not one per wait ({0})'.format(node.reads)

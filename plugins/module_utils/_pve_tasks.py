# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one watcher of PVE tasks (UPIDs) of the collection (private).

- One poller thread per node while anything waits there; one read per node and round, however many wait
  (500 clones on a node cost one task-list page per round, not 500 status reads).
- Paced: it learns how long each task type takes (qmclone, qmstart, ...) and polls a node when its earliest
  task should be done; overdue tasks are polled with a growing interval (poll_min * 1.5**n, up to poll_max).
- Finished means finished as PVE says it (pve-manager PVE/API2/Tasks.pm, stable-8 and master):
  `node_tasks` lists an active task with `status: "RUNNING"` and no `endtime`; a finished one carries
  `endtime` and the status PVE::RESTEnvironment::active_workers stored from PVE::Tools::upid_read_status
  ("OK", "WARNINGS: <n>", the error text, or "unexpected status"). `read_task_status` says `running` or
  `stopped` + `exitstatus`. Only OK and WARNINGS: n are success (PVE::Tools::upid_status_is_error).
- A read that fails is not a task result: polls are retried with full jitter; when a node's task list stays
  unreadable for `outage` seconds, every wait there raises PveTaskWatchError (outcome unknown), never
  PveTaskError, so callers do not send a clone again as if PVE had failed it.
"""

from __future__ import annotations

import random
import re
import threading
import time

from ._pve_errors import PveApiError, PveConnectionError, PveTaskError, PveTaskWatchError, PveTimeoutError, \
    StoredeskError
from ._retry import full_jitter

_WARNINGS = re.compile(r'^WARNINGS: \d+$')


def upid_node(upid):
    """The node a UPID ran on: UPID:<node>:..."""
    return upid.split(':')[1]


def upid_starttime(upid):
    """The task's start time (epoch seconds) encoded in the UPID."""
    return int(upid.split(':')[4], 16)


def upid_type(upid):
    """The task type (qmclone, qmstart, vzdump, ...) encoded in the UPID."""
    return upid.split(':')[5]


def exit_ok(status):
    """True for PVE's successful exit statuses: 'OK' and 'WARNINGS: <n>' (PVE::Tools::upid_status_is_error)."""
    return status == 'OK' or bool(_WARNINGS.match(str(status or '')))


def row_finished(row):
    """A row of GET /nodes/{node}/tasks describes a finished task: it has an endtime and a final status."""
    status = row.get('status')
    return bool(row.get('endtime')) and bool(status) and status not in ('RUNNING', 'running')


class _Pending(object):
    __slots__ = ('event', 'status', 'outage', 'began', 'kind')

    def __init__(self, upid):
        self.event = threading.Event()
        self.status = None
        self.outage = None          # (seconds, cause) when the node's task list stayed unreadable
        self.began = time.monotonic()
        self.kind = upid_type(upid)


class TaskWatcher(object):
    """Resolves UPIDs to their exit status; share one per run (it is thread-safe)."""

    def __init__(self, client, poll_min=0.02, poll_max=1.0, early=0.9, outage=60.0, log_lines=5, rng=random):
        self.client = client
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.early = early
        self.outage = outage
        self.log_lines = log_lines
        self.rng = rng
        self.typical = {}       # task type -> seconds it usually takes (moving average of what was seen)
        self._lock = threading.Lock()
        self._pending = {}      # node -> {upid: _Pending}
        self._pollers = set()
        self._trouble = {}      # node -> (monotonic time of the first failed read, last cause)

    def wait(self, upid, timeout=600, where=None, what='task'):
        """Block until the task ends; return its exit status ('OK' or 'WARNINGS: n'), else raise.

        PveTaskError: PVE says the task failed. PveTaskWatchError: its outcome could not be read.
        PveTimeoutError: still running after `timeout` seconds.
        """
        node = upid_node(upid)
        item = _Pending(upid)
        with self._lock:
            self._pending.setdefault(node, {})[upid] = item
            if node not in self._pollers:
                self._pollers.add(node)
                threading.Thread(target=self._poll, args=(node,), daemon=True, name='pve-tasks-' + node).start()
        if not item.event.wait(timeout):
            with self._lock:
                self._pending.get(node, {}).pop(upid, None)
                trouble = self._trouble.get(node)
            if not item.event.is_set():
                if trouble is not None:
                    raise _watch_error(node, upid, time.monotonic() - trouble[0], trouble[1], where, what)
                raise PveTimeoutError('{0} {1} still running after {2:.0f}s'.format(what, upid, timeout),
                                      where=where, hint='the task goes on in PVE; raise the timeout or check '
                                                        'the task in the GUI')
        if item.outage is not None:
            raise _watch_error(node, upid, item.outage[0], item.outage[1], where, what)
        status = item.status
        if exit_ok(status):
            return status
        raise PveTaskError('{0} failed: {1}'.format(what, status), upid=upid, exitstatus=status,
                           log_tail=self._log_tail(node, upid), where=where)

    def _log_tail(self, node, upid):
        try:
            lines = self.client.get(self.client.path('nodes', node, 'tasks', upid, 'log'), start=0, limit=500)
        except (PveApiError, PveConnectionError):
            return []
        texts = [str(entry.get('t', '')) for entry in lines or []]
        return [t for t in texts if t and not t.startswith('TASK ERROR')][-self.log_lines:]

    # ---------------------------------------------------------------- pacing

    def _due(self, item):
        """When this task should be done: began + early * its type's typical duration (poll_min if unknown)."""
        typical = self.typical.get(item.kind)
        return item.began + (self.early * typical if typical is not None else self.poll_min)

    def _learn(self, item, now):
        seen, old = now - item.began, self.typical.get(item.kind)
        self.typical[item.kind] = seen if old is None else 0.7 * old + 0.3 * seen

    def _poll(self, node):
        last, misses, failures, retry_at = 0.0, 0, 0, 0.0
        while True:
            with self._lock:
                waiting = dict(self._pending.get(node, {}))
                if not waiting:
                    self._pollers.discard(node)
                    self._trouble.pop(node, None)
                    return
                due = min(self._due(item) for item in waiting.values())
            now = time.monotonic()
            if failures:
                at = retry_at
            elif due <= now:
                at = last + min(self.poll_max, self.poll_min * (1.5 ** misses))
            else:
                at = max(last + self.poll_min, min(due, last + self.poll_max))
            if at > now:
                time.sleep(min(at - now, self.poll_max))
                if time.monotonic() < at:
                    continue        # woke early (capped sleep): look at the waiters again
            last = time.monotonic()
            try:
                finished = self._finished(node, waiting)
            except Exception as exc:  # noqa: BLE001 - any failed read is "unknown", never a task result
                failures += 1
                self._failed_read(node, last, exc)
                retry_at = last + full_jitter(failures - 1, base=max(self.poll_min, 0.1), cap=5.0, rng=self.rng)
                continue
            failures = 0
            now = time.monotonic()
            with self._lock:
                self._trouble.pop(node, None)
                bucket = self._pending.get(node, {})
                for upid, status in finished.items():
                    item = bucket.pop(upid, None)
                    if item is not None:
                        self._learn(item, now)
                        item.status = status
                        item.event.set()
            misses = 0 if finished else misses + 1

    def _failed_read(self, node, now, exc):
        """Remember the failure; after `outage` seconds of failures, end every wait on the node as unknown."""
        cause = exc if isinstance(exc, StoredeskError) else StoredeskError('{0}: {1}'.format(type(exc).__name__, exc))
        with self._lock:
            since = self._trouble.get(node, (now, None))[0]
            self._trouble[node] = (since, cause)
            if now - since < self.outage:
                return
            bucket = self._pending.get(node, {})
            for item in bucket.values():
                item.outage = (now - since, cause)
                item.event.set()
            bucket.clear()

    def _finished(self, node, waiting):
        """{upid: exit status} of the waited-on tasks that ended, from as few reads as possible."""
        if len(waiting) == 1:
            upid = next(iter(waiting))
            data = self.client.get(self.client.path('nodes', node, 'tasks', upid, 'status')) or {}
            if data.get('status') == 'stopped':
                return {upid: data.get('exitstatus') or 'unexpected status'}
            return {}
        since = min(upid_starttime(u) for u in waiting)
        found, start, page = {}, 0, max(100, 2 * len(waiting))
        while True:
            rows = self.client.get(self.client.path('nodes', node, 'tasks'), source='all', since=since,
                                   start=start, limit=page) or []
            for row in rows:
                if row.get('upid') in waiting and row_finished(row):
                    found[row['upid']] = row['status']
            if len(rows) < page or len(found) == len(waiting):
                return found
            start += page


def _watch_error(node, upid, seconds, cause, where, what):
    text = getattr(cause, 'message', None) or str(cause)
    return PveTaskWatchError(
        'could not read the task list of node {0} for {1:.0f}s: {2}; the outcome of {3} {4} is unknown'.format(
            node, seconds, text, what, upid),
        node=node, upid=upid, seconds=seconds, cause=cause, where=where,
        hint='the task may still be running or may have finished in PVE: check the node and its task in the GUI, '
             'then rerun (a rerun finds what was made)')

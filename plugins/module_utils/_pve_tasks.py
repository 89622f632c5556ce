# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting on PVE tasks (UPIDs) by wall-clock deadline (private).

Many waits share one poll of each node's task list per round, so 500 concurrent clones
cost a few list reads per second per node, not one status read per clone per poll.
"""

from __future__ import annotations

import threading
import time

from ._pve_errors import PveApiError, PveConnectionError, PveTaskError, PveTimeoutError


def upid_node(upid):
    """The node a UPID ran on: UPID:<node>:..."""
    return upid.split(':')[1]


def upid_starttime(upid):
    """The task's start time (epoch seconds) encoded in the UPID."""
    return int(upid.split(':')[4], 16)


class _Pending(object):
    __slots__ = ('event', 'status', 'error')

    def __init__(self):
        self.event = threading.Event()
        self.status = None
        self.error = None


class TaskWatcher(object):
    """Resolves UPIDs to their exit status. One poller thread per node while anything waits there."""

    def __init__(self, client, poll_min=0.05, poll_max=1.0, log_lines=5):
        self.client = client
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.log_lines = log_lines
        self._lock = threading.Lock()
        self._pending = {}      # node -> {upid: _Pending}
        self._pollers = set()

    def wait(self, upid, timeout=600, where=None, what='task'):
        """Block until the task ends; return its exit status ('OK' or 'WARNINGS: n'), else raise."""
        node = upid_node(upid)
        item = _Pending()
        with self._lock:
            self._pending.setdefault(node, {})[upid] = item
            if node not in self._pollers:
                self._pollers.add(node)
                threading.Thread(target=self._poll, args=(node,), daemon=True, name='pve-tasks-' + node).start()
        if not item.event.wait(timeout):
            with self._lock:
                self._pending.get(node, {}).pop(upid, None)
            raise PveTimeoutError('{0} {1} still running after {2:.0f}s'.format(what, upid, timeout), where=where,
                                  hint='the task goes on in PVE; raise the timeout or check the task in the GUI')
        if item.error is not None:
            raise item.error
        status = item.status
        if status == 'OK' or str(status).startswith('WARNINGS'):
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

    def _poll(self, node):
        delay = self.poll_min
        failures = 0
        while True:
            with self._lock:
                waiting = dict(self._pending.get(node, {}))
                if not waiting:
                    self._pollers.discard(node)
                    return
            time.sleep(delay)
            try:
                finished = self._finished(node, waiting)
                failures = 0
            except (PveApiError, PveConnectionError) as exc:
                failures += 1
                if failures < 4:
                    delay = min(self.poll_max, delay * 2)
                    continue
                finished = dict((upid, exc) for upid in waiting)
            with self._lock:
                bucket = self._pending.get(node, {})
                for upid, status in finished.items():
                    item = bucket.pop(upid, None)
                    if item is not None:
                        if isinstance(status, Exception):
                            item.error = status
                        else:
                            item.status = status
                        item.event.set()
            delay = self.poll_min if finished else min(self.poll_max, delay * 1.5)

    def _finished(self, node, waiting):
        """{upid: exitstatus} of the waited-on tasks that ended, from as few list pages as possible."""
        if len(waiting) == 1:
            upid = next(iter(waiting))
            data = self.client.get(self.client.path('nodes', node, 'tasks', upid, 'status'))
            return {upid: data.get('exitstatus')} if data.get('status') == 'stopped' else {}
        since = min(upid_starttime(u) for u in waiting)
        found, start, page = {}, 0, max(100, 2 * len(waiting))
        while True:
            rows = self.client.get(self.client.path('nodes', node, 'tasks'), source='all', since=since,
                                   start=start, limit=page) or []
            for row in rows:
                if row.get('upid') in waiting and row.get('status') not in (None, 'running'):
                    found[row['upid']] = row['status']
            if len(rows) < page or len(found) == len(waiting) or int(rows[-1].get('starttime', 0)) < since:
                return found
            start += page

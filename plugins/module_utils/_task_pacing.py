# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A TaskWatcher that polls when tasks are expected to end (private).

The base TaskWatcher backs off while nothing finishes, so a 2 s clone may be noticed up to a second late:
at 1,000 desktops that lateness, not PVE, sets the pace. This one learns how long each task type takes
(qmclone, qmstart, ...) and polls a node when its earliest task should be done; overdue tasks are polled
with the base back-off. Same interface; one shared poll per node as before.
"""

from __future__ import annotations

import time

from ._pve_errors import PveApiError, PveConnectionError
from ._pve_tasks import TaskWatcher


def upid_type(upid):
    return upid.split(':')[5]


class PacedTaskWatcher(TaskWatcher):

    def __init__(self, client, poll_min=0.02, poll_max=1.0, early=0.9, **kwargs):
        super().__init__(client, poll_min=poll_min, poll_max=poll_max, **kwargs)
        self.early = early
        self._began = {}        # upid -> monotonic time its wait began (right after the POST answered)
        self.typical = {}       # task type -> seconds it usually takes (moving average of what was seen)

    def wait(self, upid, timeout=600, where=None, what='task'):
        with self._lock:
            self._began[upid] = time.monotonic()
        try:
            return super().wait(upid, timeout, where, what)
        finally:
            with self._lock:
                self._began.pop(upid, None)

    def _due(self, upid):
        began = self._began.get(upid, time.monotonic())
        typical = self.typical.get(upid_type(upid))
        return began + (self.early * typical if typical is not None else self.poll_min)

    def _learn(self, upid, now):
        began = self._began.get(upid)
        if began is None:
            return
        seen, kind = now - began, upid_type(upid)
        old = self.typical.get(kind)
        self.typical[kind] = seen if old is None else 0.7 * old + 0.3 * seen

    def _poll(self, node):
        last, misses, failures = 0.0, 0, 0
        while True:
            with self._lock:
                waiting = dict(self._pending.get(node, {}))
                if not waiting:
                    self._pollers.discard(node)
                    return
                due = min(self._due(u) for u in waiting)
            now = time.monotonic()
            backoff = min(self.poll_max, self.poll_min * (1.5 ** misses))
            at = last + backoff if due <= now else max(last + self.poll_min, min(due, last + self.poll_max))
            if at > now:
                time.sleep(min(at - now, self.poll_max))
                if time.monotonic() < at:
                    continue        # woke early (capped sleep): look at the waiters again
            last = time.monotonic()
            try:
                finished = self._finished(node, waiting)
                failures = 0
            except (PveApiError, PveConnectionError) as exc:
                failures += 1
                misses += 1
                if failures < 4:
                    continue
                finished = dict((upid, exc) for upid in waiting)
            now = time.monotonic()
            with self._lock:
                bucket = self._pending.get(node, {})
                for upid, status in finished.items():
                    item = bucket.pop(upid, None)
                    if item is not None:
                        if not isinstance(status, Exception):
                            self._learn(upid, now)
                        item.status = status
                        item.event.set()
            misses = 0 if finished else misses + 1

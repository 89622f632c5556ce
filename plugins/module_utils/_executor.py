# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded concurrent executor (private): many clones/starts/config writes at once, per-item results.

Concurrency is bounded overall and per key (a PVE node), so one busy node never takes every slot
and no node gets more parallel tasks than its storage can take.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor


class Outcome(object):
    """The result of one item: ok + value, or the exception; elapsed seconds."""
    __slots__ = ('item', 'ok', 'value', 'error', 'elapsed', 'skipped')

    def __init__(self, item, ok=False, value=None, error=None, elapsed=0.0, skipped=False):
        self.item, self.ok, self.value, self.error, self.elapsed, self.skipped = \
            item, ok, value, error, elapsed, skipped


def run_bounded(items, fn, key=None, per_key=4, overall=16, stop_on_error=False):
    """Run fn(item) for every item; at most `overall` at once and `per_key` per key(item).

    Items start in the order given (a key at its limit does not hold back items of other keys).
    With stop_on_error, nothing new starts after the first failure; unstarted items come back
    with skipped=True. Returns Outcomes in the order of `items`.
    """
    items = list(items)
    key = key or (lambda _item: None)
    outcomes = [None] * len(items)
    waiting = list(range(len(items)))
    running = {}
    cond = threading.Condition()
    failed = []

    def work(index):
        began = time.monotonic()
        item = items[index]
        try:
            outcome = Outcome(item, True, fn(item), elapsed=time.monotonic() - began)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a per-item result
            outcome = Outcome(item, False, error=exc, elapsed=time.monotonic() - began)
        with cond:
            outcomes[index] = outcome
            k = key(item)
            running[k] -= 1
            if not outcome.ok:
                failed.append(index)
            cond.notify_all()

    with ThreadPoolExecutor(max_workers=max(1, overall)) as pool:
        with cond:
            active = 0
            while waiting:
                if stop_on_error and failed:
                    break
                started = False
                for pos, index in enumerate(waiting):
                    k = key(items[index])
                    if running.get(k, 0) < per_key and sum(running.values()) < overall:
                        running[k] = running.get(k, 0) + 1
                        del waiting[pos]
                        pool.submit(work, index)
                        started = True
                        break
                if not started:
                    cond.wait()
            while sum(running.values()) > active:
                cond.wait()
    for index in waiting:
        outcomes[index] = Outcome(items[index], skipped=True)
    return outcomes

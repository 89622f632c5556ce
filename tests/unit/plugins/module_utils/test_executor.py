"""run_bounded: per-key and overall bounds, per-item results, stop_on_error (plain functions, no lab)."""

from __future__ import annotations

import threading
import time

from ansible_collections.storedesk.vdi.plugins.module_utils._executor import run_bounded


class Meter(object):
    """Work that records how many items ran at once, per key and overall."""

    def __init__(self, fail=(), secs=0.01):
        self.live, self.peak, self.lock, self.fail, self.secs = {}, {}, threading.Lock(), set(fail), secs
        self.started = []

    def __call__(self, item):
        node, n = item
        with self.lock:
            self.started.append(item)
            self.live[node] = self.live.get(node, 0) + 1
            self.peak[node] = max(self.peak.get(node, 0), self.live[node])
            self.peak['all'] = max(self.peak.get('all', 0), sum(self.live.values()))
        time.sleep(self.secs)
        with self.lock:
            self.live[node] -= 1
        if item in self.fail:
            raise ValueError('boom at {0}'.format(item))
        return n * 10


ITEMS = [(node, n) for node in ('a', 'b', 'c') for n in range(12)]


def test_bounds_per_key_and_overall_hold_and_are_used():
    work = Meter()
    run_bounded(ITEMS, work, key=lambda i: i[0], per_key=2, overall=5)
    assert max(work.peak[k] for k in 'abc') == 2
    assert work.peak['all'] == 5


def test_one_failing_item_is_its_own_result_and_the_others_complete():
    work = Meter(fail={('b', 7)})
    out = run_bounded(ITEMS, work, key=lambda i: i[0], per_key=2, overall=5)
    assert [o.item for o in out] == ITEMS, 'results in the order of the items'
    bad = [o for o in out if not o.ok]
    assert [o.item for o in bad] == [('b', 7)] and 'boom' in str(bad[0].error)
    assert all(o.ok and o.value == o.item[1] * 10 and not o.skipped for o in out if o.item != ('b', 7))


def test_a_busy_key_does_not_hold_back_other_keys():
    items = [('a', n) for n in range(6)] + [('b', 0)]
    work = Meter(secs=0.05)
    run_bounded(items, work, key=lambda i: i[0], per_key=1, overall=4)
    assert work.started.index(('b', 0)) <= 1, 'b started while a was at its limit'


def test_stop_on_error_starts_nothing_new_and_marks_the_rest_skipped():
    items = [('a', n) for n in range(10)]
    work = Meter(fail={('a', 1)})
    out = run_bounded(items, work, key=lambda i: i[0], per_key=1, overall=1, stop_on_error=True)
    assert [o.ok for o in out[:2]] == [True, False]
    assert all(o.skipped and not o.ok for o in out[2:])
    assert len(work.started) == 2

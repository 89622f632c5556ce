# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry helper of the collection (private): a predicate decides, full jitter spaces the tries.

Full jitter as in the AWS Architecture Blog, "Exponential Backoff And Jitter" (2015):
sleep = random_between(0, min(cap, base * 2 ** attempt)).

Who retries what (one level each; see docs/architecture.md):
- PveClient: reads, requests that never left the controller, and PVE's `can't lock file ... got timeout`
  unless a caller's lock wait already decides lock retries (``decided_by_caller('lock')``).
- DesktopOps.retry_locked: waits while another task holds a VM's lock, up to `lock_wait` seconds.
- The WinRM runner: transient failures of one desktop (only before the command was sent, unless idempotent).

Pacer is the one place where code that polls a state (a guest agent, WinRM, a desktop's user) waits between
looks; with _pve_tasks (task waits) nothing else in module_utils sleeps.
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager

_scopes = threading.local()


def full_jitter(attempt, base=0.2, cap=5.0, rng=random):
    """Seconds to sleep before retry number `attempt` (0 for the first retry)."""
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


def retry(call, predicate, attempts=None, deadline=None, base=0.2, cap=5.0, sleep=None, rng=None, clock=None,
          on_retry=None):
    """call() until it returns; retry an exception only while predicate(exc) is true.

    attempts: most calls in all (None: no limit); deadline: seconds from now after which no new try starts
    and no sleep goes past (None: no limit). At least one of the two must be given. on_retry(exc, n, pause)
    is told before each sleep. The last exception is raised unchanged.
    """
    if attempts is None and deadline is None:
        raise ValueError('retry() needs attempts or deadline')
    sleep, rng, clock = sleep or time.sleep, rng or random, clock or time.monotonic
    end = None if deadline is None else clock() + deadline
    n = 0
    while True:
        try:
            return call()
        except Exception as exc:
            n += 1
            if not predicate(exc) or (attempts is not None and n >= attempts):
                raise
            pause = full_jitter(n - 1, base, cap, rng)
            if end is not None:
                left = end - clock()
                if left <= 0:
                    raise
                pause = min(pause, left)
            if on_retry is not None:
                on_retry(exc, n, pause)
            sleep(pause)


class Pacer(object):
    """Waits between looks at a state until a deadline; clock and sleep are injectable (tests use a fake clock)."""

    def __init__(self, clock=None, sleep=None):
        self.clock, self.sleep = clock or time.monotonic, sleep or time.sleep

    def ticks(self, timeout, first, cap, factor=1.0, step=0.0):
        """Yield the look number (0, 1, ...) until `timeout` seconds from now; the caller returns or breaks when
        what it waits for holds. Always at least one look; then a pause of `first` seconds, each next pause
        `pause * factor + step` up to `cap`, none past the deadline (so the last look is at the deadline)."""
        end = self.clock() + timeout
        pause, n = first, 0
        while True:
            yield n
            n += 1
            left = end - self.clock()
            if left <= 0:
                return
            self.sleep(min(pause, left))
            pause = min(cap, pause * factor + step)

    def pause(self, seconds):
        """One pause (a wait decided by the caller, e.g. before sending again to a locked template)."""
        self.sleep(seconds)


@contextmanager
def decided_by_caller(kind):
    """Inside this block (this thread only), retries of `kind` belong to the caller: inner levels stand down."""
    active = getattr(_scopes, 'kinds', None)
    if active is None:
        active = _scopes.kinds = {}
    active[kind] = active.get(kind, 0) + 1
    try:
        yield
    finally:
        active[kind] -= 1


def caller_decides(kind):
    """True while a caller up the stack of this thread retries `kind` itself."""
    return bool(getattr(_scopes, 'kinds', {}).get(kind))

"""The one retry helper: predicate, attempts, deadline, full-jitter bounds (seeded RNG, fake sleep and clock)."""

from __future__ import annotations

import random
import threading

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._retry import (caller_decides, decided_by_caller,
                                                                            full_jitter, retry)


class Flaky(object):
    """Fails with the given exceptions in turn, then returns 'done'."""

    def __init__(self, *errors):
        self.errors, self.calls = list(errors), 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return 'done'


class FakeTime(object):
    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def clock(self):
        return self.now

    def sleep(self, secs):
        self.sleeps.append(secs)
        self.now += secs


def test_retries_while_the_predicate_says_so_then_returns():
    t = FakeTime()
    call = Flaky(IOError('reset'), IOError('reset'))
    assert retry(call, lambda e: isinstance(e, IOError), attempts=5, sleep=t.sleep) == 'done'
    assert call.calls == 3 and len(t.sleeps) == 2


def test_an_error_the_predicate_refuses_is_raised_at_once():
    t = FakeTime()
    call = Flaky(ValueError('bad input'), IOError('reset'))
    with pytest.raises(ValueError):
        retry(call, lambda e: isinstance(e, IOError), attempts=5, sleep=t.sleep)
    assert call.calls == 1 and t.sleeps == []


def test_attempts_count_every_call_and_the_last_error_is_raised():
    t = FakeTime()
    errors = [IOError('reset {0}'.format(n)) for n in range(10)]
    call = Flaky(*errors)
    seen = []
    with pytest.raises(IOError) as err:
        retry(call, lambda e: True, attempts=3, sleep=t.sleep, on_retry=lambda e, n, p: seen.append(n))
    assert call.calls == 3 and str(err.value) == 'reset 2'
    assert seen == [1, 2]


def test_deadline_stops_new_tries_and_no_sleep_goes_past_it():
    t = FakeTime()
    call = Flaky(*[IOError('locked')] * 1000)
    with pytest.raises(IOError):
        retry(call, lambda e: True, deadline=10.0, base=1.0, cap=4.0, sleep=t.sleep, clock=t.clock,
              rng=random.Random(7))
    assert t.now <= 110.0 + 1e-9, 'slept past the deadline'
    assert sum(t.sleeps) == pytest.approx(t.now - 100.0)
    assert call.calls > 3


def test_full_jitter_bounds_follow_the_formula():
    rng = random.Random(1234)
    for attempt in range(12):
        ceiling = min(5.0, 0.2 * 2 ** attempt)
        draws = [full_jitter(attempt, 0.2, 5.0, rng) for _ in range(300)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling, 'the whole range is used (full jitter, not equal jitter)'
        assert min(draws) < 0.2 * ceiling


def test_sleeps_are_full_jitter_of_each_attempt():
    t = FakeTime()
    retry(Flaky(*[IOError('x')] * 6), lambda e: True, attempts=7, base=0.5, cap=3.0, sleep=t.sleep,
          rng=random.Random(5))
    rng = random.Random(5)
    assert t.sleeps == [rng.uniform(0, min(3.0, 0.5 * 2 ** n)) for n in range(6)]


def test_needs_a_bound():
    with pytest.raises(ValueError):
        retry(Flaky(), lambda e: True)


def test_a_callers_scope_is_seen_inside_and_only_in_its_thread():
    seen = {}
    assert not caller_decides('lock')
    with decided_by_caller('lock'):
        assert caller_decides('lock') and not caller_decides('other')
        worker = threading.Thread(target=lambda: seen.update(other_thread=caller_decides('lock')))
        worker.start()
        worker.join()
        with decided_by_caller('lock'):
            pass
        assert caller_decides('lock'), 'nested scopes count'
    assert not caller_decides('lock')
    assert seen == {'other_thread': False}

"""_process_fanout: a share per process, results back in input order, a dead worker's share marked, not lost."""

import os

from ansible_collections.storedesk.vdi.plugins.module_utils import _process_fanout as fanout


def lost(item, reason):
    return {'item': item, 'lost': reason}


def test_results_come_back_in_input_order_from_several_processes():
    parent = os.getpid()
    out = fanout.map_in_processes(lambda share: [{'item': i, 'pid': os.getpid()} for i in share], range(10), 3, lost)
    assert [r['item'] for r in out] == list(range(10))
    pids = set(r['pid'] for r in out)
    assert len(pids) == 3 and parent in pids
    # round-robin: neighbours (a store's desktops) are in different processes
    assert out[0]['pid'] != out[1]['pid'] != out[2]['pid']


def test_a_worker_that_fails_marks_its_share_and_keeps_the_others():
    parent = os.getpid()

    def run(share):
        if os.getpid() != parent and 1 in share:
            raise RuntimeError('worker broke')
        return [{'item': i} for i in share]

    out = fanout.map_in_processes(run, range(6), 3, lost)
    assert [r['item'] for r in out] == list(range(6))
    assert [r['item'] for r in out if 'lost' in r] == [1, 4]
    assert all('RuntimeError: worker broke' in r['lost'] for r in out if 'lost' in r)


def test_a_worker_that_dies_without_a_word_marks_its_share():
    parent = os.getpid()

    def run(share):
        if os.getpid() != parent and 2 in share:
            os._exit(9)
        return [{'item': i} for i in share]

    out = fanout.map_in_processes(run, range(6), 3, lost)
    assert [r['item'] for r in out if 'lost' in r] == [2, 5]
    assert 'ended without results' in out[2]['lost']


def test_one_worker_runs_here():
    calls = []
    out = fanout.map_in_processes(lambda share: calls.append(os.getpid()) or list(share), [1, 2, 3], 1, lost)
    assert out == [1, 2, 3] and calls == [os.getpid()]


def test_worker_count_follows_size_cores_and_limits(monkeypatch):
    monkeypatch.setattr(fanout, 'cores', lambda: 4)
    assert fanout.worker_count(50, 100) == 1
    assert fanout.worker_count(250, 100) == 2
    assert fanout.worker_count(3000, 100) == 4
    assert fanout.worker_count(3000, 100, limit=3) == 3
    monkeypatch.setattr(fanout, 'cores', lambda: 64)
    assert fanout.worker_count(30000, 100) == fanout.PROCESS_CAP


def test_a_failure_here_stops_the_workers_and_is_raised(monkeypatch):
    parent = os.getpid()
    started, forked = [], []
    real_fork = os.fork
    monkeypatch.setattr(os, 'fork', lambda: forked.append(real_fork()) or forked[-1])

    def run(share):
        if os.getpid() == parent:
            started.append(True)
            raise KeyboardInterrupt()
        import time
        time.sleep(30)   # a worker still busy: stopped, not waited for
        return list(share)

    import time
    t0 = time.monotonic()
    try:
        fanout.map_in_processes(run, range(4), 2, lost)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError('the failure was not raised')
    assert started and time.monotonic() - t0 < 10
    assert forked
    for pid in forked:                     # the busy worker was stopped and reaped: not left running
        try:
            left = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            left = None
        assert left is None, 'worker process {0} was left running'.format(pid)

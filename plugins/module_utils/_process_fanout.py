# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A large fan-out spread over processes (private).

A WinRM client spends ~15 ms of CPU per desktop in pure Python (requests, the NTLM handshake, message
encryption), all under one GIL: past a few hundred desktops one process is CPU-bound, not network-bound.
``map_in_processes`` runs ``run(share)`` in this process and in forked children, one share each, and returns
the results in input order. Children write their results as JSON to a pipe and leave with ``os._exit``: no
atexit handler, no flush of an inherited stdout buffer (a module's stdout is its result).
"""

from __future__ import annotations

import json
import os
import signal

PROCESS_CAP = 8


def cores():
    """CPUs this process may run on (its affinity: a container's cpuset, a taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def worker_count(items, per_worker, limit=None):
    """Processes for `items` items: one per `per_worker` items, at most one per core, PROCESS_CAP and `limit`."""
    return max(1, min(cores(), PROCESS_CAP, items // max(1, per_worker), limit or PROCESS_CAP))


def _child(run, share, write_fd):
    code = 0
    try:
        data = json.dumps({'results': run(share)})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which marks the share failed
        data, code = json.dumps({'error': '{0}: {1}'.format(type(exc).__name__, exc)}), 1
    try:
        with os.fdopen(write_fd, 'wb') as fh:
            fh.write(data.encode('utf-8'))
    finally:
        os._exit(code)


def _stop(pid, read_fd):
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except OSError:
        pass
    os.close(read_fd)


def map_in_processes(run, items, workers, lost):
    """run(list) -> list of JSON-serialisable results (one per item, same order), over `workers` processes.

    Items are dealt round-robin (neighbours - a store's desktops - land in different processes). `lost(item,
    reason)` gives the result of an item whose child died or failed. Without fork (not POSIX) or with one
    worker, run(items) here.
    """
    items = list(items)
    if workers <= 1 or len(items) < 2 or not hasattr(os, 'fork'):
        return run(items)
    workers = min(workers, len(items))
    shares = [list(range(i, len(items), workers)) for i in range(workers)]
    children = []
    for idx in shares[1:]:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(run, [items[i] for i in idx], write_fd)
        os.close(write_fd)
        children.append((pid, read_fd, idx))
    out = [None] * len(items)
    try:
        mine = run([items[i] for i in shares[0]])
    except BaseException:
        for pid, read_fd, _idx in children:   # no half-finished fan-out left behind
            _stop(pid, read_fd)
        raise
    for i, result in zip(shares[0], mine):
        out[i] = result
    for pid, read_fd, idx in children:
        with os.fdopen(read_fd, 'rb') as fh:
            raw = fh.read()
        _pid, status = os.waitpid(pid, 0)
        try:
            doc = json.loads(raw.decode('utf-8'))
        except ValueError:
            doc = {'error': 'worker process ended without results (wait status {0})'.format(status)}
        results = doc.get('results')
        if not isinstance(results, list) or len(results) != len(idx):
            reason = doc.get('error') or 'worker process returned {0} results for {1}'.format(
                len(results or []), len(idx))
            results = [lost(items[i], reason) for i in idx]
        for i, result in zip(idx, results):
            out[i] = result
    return out

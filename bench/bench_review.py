"""Benchmark: a KPI review of many stores - the WinRM probes of every desktop, the history and the review page.

    .venv/bin/python bench/bench_review.py [--stores 300] [--per-store 10] [--latency 0.1] [--forks 8]

As playbooks/review.yml runs it: `forks` stores at a time (ansible.cfg forks), each store's desktops probed
together by desktop_probe (per-store concurrency = its desktop count), so the review's concurrency is
forks x per-store. The fake desktops (bench_winrm_probe's) run in a child process with `latency` seconds per
HTTP round trip. Prints the wall time of the probes, the round trips per desktop counted by the fake desktops,
the bound 1.5 x (desktops / concurrency x round trips x RTT) with the ratio and PASS/FAIL, then the time to append
the review to the SQLite history twice (the second adds nothing) and to build the review page. Exit 1 on FAIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (os.path.join(ROOT, 'tests', 'integration'), os.path.join(ROOT, 'lab'),
              os.path.join(ROOT, '.venv', 'collections'), HERE):
    sys.path.insert(0, _path)
from bench_winrm_probe import addresses, serve  # noqa: E402
from conftest_winrm import options  # noqa: E402

from ansible_collections.storedesk.vdi.plugins.module_utils import _kpi_history as kh  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._desktop_probe import probe_desktops  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.plugin_utils._review import history_rows, view  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stores', type=int, default=300)
    parser.add_argument('--per-store', type=int, default=10)
    parser.add_argument('--latency', type=float, default=0.1, help='seconds per HTTP round trip')
    parser.add_argument('--forks', type=int, default=8, help='stores at a time (ansible.cfg forks)')
    args = parser.parse_args()
    total = args.stores * args.per_store
    concurrency = args.forks * args.per_store

    here, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context('spawn').Process(target=serve, args=(total, args.latency, child))
    proc.start()
    assert here.recv() == 'ready'
    addrs = addresses(total)
    stores = [('st-{0:04d}'.format(s), [{'name': 'bench-{0:03d}'.format(i), 'address': addrs[i]}
                                        for i in range(s * args.per_store, (s + 1) * args.per_store)])
              for s in range(args.stores)]
    opts = options(concurrency=args.per_store, retries=0, connection_timeout=30, operation_timeout=120)
    backends = [{'name': 'pos', 'host': 'pos.example', 'port': 443}]
    try:
        here.send('reset'), here.recv()
        started = time.monotonic()
        with ThreadPoolExecutor(args.forks) as pool:
            probes = list(pool.map(lambda s: (s[0], probe_desktops(opts, s[1], backends, ['0A5F:0001'])), stores))
        wall = time.monotonic() - started
        here.send('stats')
        requests = here.recv()
    finally:
        here.send('stop')
        here.recv()
        proc.join(10)
    per_desktop = requests / float(total)
    bound = 1.5 * (total / float(concurrency) * per_desktop * args.latency)
    reached = sum(p['summary']['reachable'] for _s, p in probes)
    passed = wall <= bound and reached == total
    print('review: {0} desktops over {1} stores, {2} stores at a time x {3} desktops = concurrency {4}, '
          'RTT {5:.0f} ms'.format(total, args.stores, args.forks, args.per_store, concurrency, args.latency * 1000))
    print('  probes wall time     {0:8.2f} s'.format(wall))
    print('  HTTP round trips     {0:8d} total, {1:.2f} per desktop'.format(requests, per_desktop))
    print('  bound 1.5 x (N/c x rt x RTT) {0:.2f} s; wall / bound = {1:.2f}  -> {2}'.format(
        bound, wall / bound, 'PASS' if passed else 'FAIL'))
    print('  reachable            {0}/{1}'.format(reached, total))

    results = []
    for store, probe in probes:
        lat = [b['latency_ms'] for d in probe['desktops'] if d['ok'] for b in d['backends'] if b['ok']]
        results.append({'store': store, 'desktops': len(probe['desktops']), 'backend_latency_ms': max(lat or [0]),
                        'scanner_present_pct': 100.0, 'unreachable': [u['name'] for u in probe['unreachable_desktops']]})
    thresholds = {'backend_latency_ms': 80, 'scanner_present_pct': 100}
    rows = history_rows(results, thresholds)
    rows += [{'store': store, 'desktop': d['name'], 'kpi': 'probe_seconds', 'value': d['elapsed']}
             for store, probe in probes for d in probe['desktops']]
    with tempfile.TemporaryDirectory() as tmp:
        conn = kh.connect(os.path.join(tmp, 'h.sqlite'))
        t0 = time.monotonic()
        added = kh.record(conn, 'bench', time.time(), rows)
        t1 = time.monotonic()
        again = kh.record(conn, 'bench', time.time(), rows)
        t2 = time.monotonic()
        hist, reviews = kh.query(conn)
        _data, page = view(hist, reviews)
        t3 = time.monotonic()
    print('  history: {0} rows appended in {1:.3f} s; again: {2} added in {3:.3f} s; review page {4:.3f} s '
          '({5} sections)'.format(added - 1, t1 - t0, again, t2 - t1, t3 - t2, len(page['sections'])))
    ok = passed and again == 0
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

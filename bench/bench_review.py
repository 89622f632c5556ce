"""Benchmark: a KPI review of many stores - the WinRM probes of every desktop, the history and the review page.

    .venv/bin/python bench/bench_review.py [--stores 300] [--per-store 10] [--latency 0.1] [--concurrency 80]
                                           [--baseline] [--forks 8] [--module-runs]

As playbooks/review.yml runs it: ONE desktop_probe call over every store's desktops (each with its store's
expected USB devices), `concurrency` desktops at once (the review's review_concurrency), then the results split per
store. With --baseline it first runs the way the review used to: `forks` stores at a time (ansible.cfg forks), each
store's desktops probed by a desktop_probe of its own (concurrency forks x per-store), then the one fan-out in a
single process (before worker processes), and prints the ratios.
The fake desktops (bench_winrm_probe's) run in a child process with `latency` seconds per HTTP round trip.
Prints per run the wall time, the round trips per desktop counted by the fake desktops, the controller CPU per
desktop (this process and its worker processes: the WinRM client; when CPU x desktops / cores nears the bound, the machine, not the
fan-out, is the limit), the bound 1.5 x (desktops / concurrency x round trips x RTT) with the ratio and PASS/FAIL;
then the time to append the review to the SQLite history twice (the second adds nothing) and to build the review
page. With --module-runs it also times desktop_probe module runs through ansible-playbook (1 and 11 runs of an
empty probe): the cost of one module run, which the store-by-store review paid once per store and the bulk review
pays once. Exit 1 on FAIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
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
from ansible_collections.storedesk.vdi.plugins.module_utils._probe import probe_desktops  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.plugin_utils._review import history_rows, view  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.plugin_utils._review_probe import probe_targets, \
    store_results  # noqa: E402


def _cpu():
    """CPU seconds of this process and of its finished children (the fan-out's worker processes; the fake desktops'
    process is reaped only at the end)."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed(here, run):
    """(wall, controller CPU, HTTP requests, result) of run() against the fake desktops."""
    here.send('reset'), here.recv()
    cpu, started = _cpu(), time.monotonic()
    result = run()
    wall, cpu = time.monotonic() - started, _cpu() - cpu
    here.send('stats')
    return wall, cpu, here.recv(), result


PLAY = """- hosts: localhost
  gather_facts: false
  vars: {ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  tasks:
    - storedesk.vdi.desktop_probe: {desktops: []}
      loop: "{{ range(n | int) | list }}"
"""


def module_run_seconds(tmp):
    """(wall, CPU) seconds of one desktop_probe module run: ansible-playbook with 11 runs minus with 1, / 10."""
    play = os.path.join(tmp, 'runs.yml')
    with open(play, 'w') as fh:
        fh.write(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.venv', 'collections'),
               STOREDESK_WINRM_USER='bench', STOREDESK_WINRM_PASSWORD='bench')
    out = []
    for n in (1, 11):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', play,
                        '-e', 'n={0}'.format(n)], env=env, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.append((time.monotonic() - started, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
    return (out[1][0] - out[0][0]) / 10.0, (out[1][1] - out[0][1]) / 10.0


def show(label, total, concurrency, wall, cpu, requests, latency, reached):
    per_desktop = requests / float(total)
    bound = 1.5 * (total / float(concurrency) * per_desktop * latency)
    passed = wall <= bound and reached == total
    print('  {0}: concurrency {1}'.format(label, concurrency))
    print('    wall time            {0:8.2f} s'.format(wall))
    print('    HTTP round trips     {0:8d} total, {1:.2f} per desktop'.format(requests, per_desktop))
    print('    controller CPU       {0:8.2f} s, {1:.1f} ms per desktop'.format(cpu, cpu * 1000 / total))
    print('    bound 1.5 x (N/c x rt x RTT) {0:.2f} s; wall / bound = {1:.2f}  -> {2}'.format(
        bound, wall / bound, 'PASS' if passed else 'FAIL'))
    print('    reachable            {0}/{1}'.format(reached, total))
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stores', type=int, default=300)
    parser.add_argument('--per-store', type=int, default=10)
    parser.add_argument('--latency', type=float, default=0.1, help='seconds per HTTP round trip')
    parser.add_argument('--concurrency', type=int, default=80, help='desktops at once (review_concurrency)')
    parser.add_argument('--baseline', action='store_true', help='also run store by store, as the review used to')
    parser.add_argument('--forks', type=int, default=8, help='baseline: stores at a time (ansible.cfg forks)')
    parser.add_argument('--module-runs', action='store_true', help='also time one desktop_probe module run')
    args = parser.parse_args()
    total = args.stores * args.per_store

    here, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context('spawn').Process(target=serve, args=(total, args.latency, child))
    proc.start()
    assert here.recv() == 'ready'
    addrs = addresses(total)
    info = [{'name': 'bench-{0:03d}'.format(i), 'address': addrs[i], 'store': 'st-{0:04d}'.format(i // args.per_store),
             'power': 'running'} for i in range(total)]
    expect = dict(('st-{0:04d}'.format(s), ['0A5F:0001']) for s in range(args.stores))
    backends = [{'name': 'pos', 'host': 'pos.example', 'port': 443}]
    print('review: {0} desktops over {1} stores, RTT {2:.0f} ms, {3} CPU core(s) on this machine'.format(
        total, args.stores, args.latency * 1000, os.cpu_count()))
    base = None
    try:
        if args.baseline:
            by_store = [[d for d in info if d['store'] == 'st-{0:04d}'.format(s)] for s in range(args.stores)]
            store_opts = options(concurrency=args.per_store, retries=0, connection_timeout=30, operation_timeout=120)
            with ThreadPoolExecutor(args.forks) as pool:
                base = timed(here, lambda: list(pool.map(
                    lambda ds: probe_desktops(store_opts, [dict(name=d['name'], address=d['address']) for d in ds],
                                              backends, ['0A5F:0001']), by_store)))
            show('store by store (before), {0} stores at a time x {1}'.format(args.forks, args.per_store), total,
                 args.forks * args.per_store, base[0], base[1], base[2], args.latency,
                 sum(p['summary']['reachable'] for p in base[3]))
        targets = probe_targets(info, expect)
        one = None
        if args.baseline:
            opts = options(concurrency=args.concurrency, retries=0, connection_timeout=30, operation_timeout=120)
            opts.processes = 1
            one = timed(here, lambda: probe_desktops(opts, targets, backends))
            show('one fan-out in one process (before)', total, args.concurrency, one[0], one[1], one[2], args.latency,
                 one[3]['summary']['reachable'])
        opts = options(concurrency=args.concurrency, retries=0, connection_timeout=30, operation_timeout=120)
        wall, cpu, requests, probe = timed(here, lambda: probe_desktops(opts, targets, backends))
    finally:
        here.send('stop')
        here.recv()
        proc.join(10)
    passed = show('one fan-out over all stores (review.yml), worker processes by cores', total, args.concurrency, wall, cpu, requests,
                  args.latency, probe['summary']['reachable'])
    if base:
        print('  bulk / store-by-store wall time = {0:.2f}'.format(wall / base[0]))
    if one:
        print('  worker processes / one process wall time = {0:.2f}'.format(wall / one[0]))
    partials = [{'store': s} for s in sorted(expect)]
    t0 = time.monotonic()
    results = store_results(partials, info, probe, expect)
    print('  split per store: {0} stores in {1:.3f} s; scanners present everywhere: {2}'.format(
        len(results), time.monotonic() - t0, all(r['scanner_present_pct'] == 100.0 for r in results)))

    thresholds = {'backend_latency_ms': 80, 'scanner_present_pct': 100}
    rows = history_rows(results, thresholds)
    store_of = dict((d['name'], d['store']) for d in info)
    rows += [{'store': store_of[d['name']], 'desktop': d['name'], 'kpi': 'probe_seconds', 'value': d['elapsed']}
             for d in probe['desktops']]
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
        if args.module_runs:
            wall_run, cpu_run = module_run_seconds(tmp)
            print('  one desktop_probe module run: {0:.2f} s wall, {1:.2f} s controller CPU; store by store the review '
                  'ran {2} of them ({3:.0f} s of CPU: at least {4:.0f} s on {5} core(s), next to the probes), the bulk '
                  'review runs 1'.format(wall_run, cpu_run, args.stores, cpu_run * args.stores,
                                         cpu_run * args.stores / (os.cpu_count() or 1), os.cpu_count()))
    print('  history: {0} rows appended in {1:.3f} s; again: {2} added in {3:.3f} s; review page {4:.3f} s '
          '({5} sections)'.format(added - 1, t1 - t0, again, t2 - t1, t3 - t2, len(page['sections'])))
    ok = passed and again == 0
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

"""Benchmark: desktop_probe's WinRM fan-out against fake desktops with injected round-trip latency.

    .venv/bin/python bench/bench_winrm_probe.py [--desktops 200] [--latency 0.1] [--concurrency 50]

Prints wall time, HTTP round trips per probe (counted by the fake desktops), the bound
1.5 x (desktops / concurrency x round trips per probe x RTT) and PASS/FAIL; then checks that a
20,000-character script runs and gives the same result as the short one. Exit code 1 on FAIL.
The fake desktops run in a child process so client and server do not share one GIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'integration'), os.path.join(ROOT, 'lab'), os.path.join(ROOT, '.venv', 'collections')):
    sys.path.insert(0, path)
from conftest_winrm import ECHO, PASSWORD, USER, options, padded  # noqa: E402

from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_scripts as ps  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._probe import probe_desktops  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import run_on_desktops  # noqa: E402


def addresses(n):
    return ['127.88.{0}.{1}'.format(i // 250, i % 250 + 1) for i in range(n)]


def serve(n, latency, pipe):
    """Child process: n fake desktops until told to stop; answers stats requests."""
    from storedesk_lab.windows.testing import FleetThread, StubPve

    pve = StubPve()
    thread = FleetThread(pve, users={USER: PASSWORD}, latency=latency)
    for i, address in enumerate(addresses(n)):
        vmid = 1000 + i
        pve.add(vmid, 'bench-{0:03d}'.format(i), config={'usb0': 'host=0a5f:0001'})
        thread.attach(vmid, address)
        thread.desktop(vmid).network['pos.example'] = 20.0
    pipe.send('ready')
    while True:
        msg = pipe.recv()
        if msg == 'stats':
            pipe.send(thread.fleet.http_requests)
        elif msg == 'reset':
            thread.fleet.reset_stats()
            pipe.send('ok')
        elif msg == 'latency':
            thread.fleet.latency = pipe.recv()
            pipe.send('ok')
        else:
            break
    thread.close()
    pipe.send('closed')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--desktops', type=int, default=200)
    parser.add_argument('--latency', type=float, default=0.1, help='seconds per HTTP round trip')
    parser.add_argument('--concurrency', type=int, default=50)
    args = parser.parse_args()

    here, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context('spawn').Process(target=serve, args=(args.desktops, args.latency, child))
    proc.start()
    assert here.recv() == 'ready'
    desktops = [{'name': 'bench-{0:03d}'.format(i), 'address': a} for i, a in enumerate(addresses(args.desktops))]
    opts = options(concurrency=args.concurrency, retries=0, connection_timeout=10, operation_timeout=60)
    ok = True
    try:
        here.send('reset'), here.recv()
        started = time.monotonic()
        result = probe_desktops(opts, desktops, [{'name': 'pos', 'host': 'pos.example', 'port': 443}],
                                ['0A5F:0001'])
        wall = time.monotonic() - started
        here.send('stats')
        requests = here.recv()
        per_probe = requests / float(args.desktops)
        bound = 1.5 * (args.desktops / float(args.concurrency) * per_probe * args.latency)
        reached = result['summary']['reachable']
        passed = wall <= bound and reached == args.desktops
        ok &= passed
        print('probe: {0} desktops, concurrency {1}, RTT {2:.0f} ms'.format(
            args.desktops, args.concurrency, args.latency * 1000))
        print('  wall time            {0:8.2f} s'.format(wall))
        print('  HTTP round trips     {0:8d} total, {1:.2f} per probe (NTLM 3 + create, command, send, '
              'receive, delete)'.format(requests, per_probe))
        print('  bound 1.5 x (N/c x rt x RTT) {0:.2f} s   -> {1}'.format(bound, 'PASS' if passed else 'FAIL'))
        print('  reachable            {0}/{1}, usb missing on {2}'.format(
            reached, args.desktops, result['summary']['usb_missing']))

        here.send('latency'), here.send(0.0), here.recv()
        few = desktops[:3]
        payload = {'backends': [{'name': "it's $(x) `;", 'host': 'pos.example', 'port': 443}]}
        for label, short in (('echo', ECHO), ('probe', ps.PROBE)):
            big = padded(short)
            here.send('reset'), here.recv()
            small_recs = run_on_desktops(opts, few, short, payload)
            big_recs = run_on_desktops(opts, few, big, payload)
            same = all(s['ok'] and b['ok'] and s['result'] == b['result'] for s, b in zip(small_recs, big_recs))
            ok &= same
            print('{0:5s} script {1:6d} chars vs {2:6d} chars: {3}'.format(
                label, len(short), len(big), 'same result, PASS' if same else 'DIFFERENT, FAIL'))
    finally:
        here.send('stop')
        here.recv()
        proc.join(10)
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

"""Benchmark: how long a store terminal is without its desktop after the line drops.

    .venv/bin/python bench/bench_terminal_reconnect.py [--outages 0.5,3,10] [--rounds 3]

The launcher (roles/thin_client/files/storedesk-launcher) runs against the lab through a line that drops
(tests/integration/test_terminal_launcher.py: Line, the stand-in viewer holding a SPICE connection through the
stand-in spiceproxy). For each outage length the line is cut, kept down, and restored; measured: restore ->
desktop back (a new SPICE session with a fresh ticket), and drop -> desktop back. Two launchers in the same run:
storedesk's settings (backoff 1, 2, 4, 5 ... s, the role's default, and a TCP knock on the API port every second
while the line is down) and the baseline, a fixed retry every 5 s without the knock (what a systemd unit with
Restart=always, RestartSec=5 around the former docs' shell snippet does). Prints figures and ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, 'tests', 'integration')):
    sys.path.insert(0, path)
import conftest  # noqa: E402
from test_terminal_launcher import TERMINAL, Line, Terminal, setup_store  # noqa: E402

STABLE = 2.0   # a session this long resets the backoff (the role's default is 10 s; shorter keeps the run short)
SETTINGS = {
    'storedesk': {'backoff_first': 1.0, 'backoff_max': 5.0, 'stable_after': STABLE},
    'baseline (fixed 5 s)': {'backoff_first': 5.0, 'backoff_max': 5.0, 'stable_after': STABLE, 'line_probe': False},
}


class _Tmp(object):
    def mktemp(self, name):
        return tempfile.mkdtemp(prefix='bench-terminal-' + name)


def one_outage(terminal, line, outage):
    connected = len(terminal.events('connected'))
    time.sleep(STABLE + 0.5)   # an established session
    dropped = time.time()
    line.drop()
    terminal.wait('disconnected', count=connected, timeout=30)
    time.sleep(outage)
    restored = time.time()
    line.restore()
    back = terminal.wait('connected', count=connected + 1, timeout=120)['t']
    return back - restored, back - dropped


def measure(lab, token, name, conf, outages, rounds):
    line = Line(lab.regions['east'])
    terminal = Terminal(lab, line, token, tempfile.mkdtemp(prefix='bench-terminal-'), **conf)
    try:
        started = time.time()
        first = terminal.wait('connected', timeout=60)['t'] - started
        rows = {}
        for outage in outages:
            rows[outage] = [one_outage(terminal, line, outage) for _ in range(rounds)]
        return first, rows
    finally:
        terminal.stop()
        line.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--outages', default='0.5,3,10', help='outage lengths in seconds, comma-separated')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    outages = [float(x) for x in args.outages.split(',')]
    lab = conftest.start_lab(_Tmp())
    try:
        _root, result = setup_store(lab)
        token = result['terminals'][TERMINAL]
        figures = {}
        for name, conf in SETTINGS.items():
            figures[name] = measure(lab, token, name, conf, outages, args.rounds)
    finally:
        lab.stop()
    print('terminal reconnect: {0} rounds per outage, lab time scale 0 (PVE answers at once)'.format(args.rounds))
    print('{0:<22} {1:>16}'.format('launcher', 'first session s'))
    for name, (first, _rows) in figures.items():
        print('{0:<22} {1:>16.2f}'.format(name, first))
    print('{0:<22} {1:>9} {2:>22} {3:>22}'.format('launcher', 'outage s', 'restore->back s (max)',
                                                    'drop->back s (median)'))
    for name, (_first, rows) in figures.items():
        for outage, samples in rows.items():
            after = [a for a, _t in samples]
            total = [t for _a, t in samples]
            print('{0:<22} {1:>9.1f} {2:>14.2f} ({3:>5.2f}) {4:>22.2f}'.format(
                name, outage, statistics.median(after), max(after), statistics.median(total)))
    base = figures['baseline (fixed 5 s)'][1]
    ours = figures['storedesk'][1]
    print('ratio storedesk / baseline (median restore->back):')
    for outage in outages:
        a = statistics.median([x for x, _t in ours[outage]])
        b = statistics.median([x for x, _t in base[outage]])
        print('  outage {0:>5.1f} s: {1:.2f}'.format(outage, a / b if b else float('nan')))


if __name__ == '__main__':
    main()

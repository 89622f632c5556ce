"""`lab`: the embedded lab's command line.

  lab up [--topology F] [--time-scale X] [--pve-version 8.4|9.1] [--strict|--lenient]
                                           start in the background; writes lab/.state/lab.env
  lab status                               regions, nodes, VMs, requests
  lab down                                 stop it
  lab fault NAME [--region R] [key=value]  inject a fault (lab fault --list)
  lab requests [--region R]                the API requests served so far
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from . import faults
from . import runtime
from .runtime import Lab


def state_dir():
    """Where `lab up` keeps lab.json, lab.env and the CA (STOREDESK_LAB_STATE overrides lab/.state)."""
    return os.environ.get('STOREDESK_LAB_STATE') or runtime.STATE_DIR


def _state():
    path = os.path.join(state_dir(), 'lab.json')
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        state = json.load(fh)
    try:
        os.kill(state['pid'], 0)
    except OSError:
        return None
    return state


def _control(state, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(state['control'] + path, data=data,
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        return json.load(exc)


def cmd_serve(args):
    """Run the lab in the foreground until SIGTERM/SIGINT (what `lab up` starts)."""
    lab = Lab(args.topology, time_scale=args.time_scale, port=args.port, state_dir=state_dir(),
              host_offset=args.host_offset, strict=args.strict, pve_version=args.pve_version).start()
    lab.write_files()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.2)
    lab.stop()
    for name in ('lab.json',):
        try:
            os.remove(os.path.join(state_dir(), name))
        except OSError:
            pass
    return 0


def cmd_up(args):
    if _state():
        print('lab already up; `lab down` first', file=sys.stderr)
        return 1
    os.makedirs(state_dir(), exist_ok=True)
    try:
        os.remove(os.path.join(state_dir(), 'lab.json'))
    except OSError:
        pass
    argv = [sys.executable, '-m', 'storedesk_lab', 'serve', '--time-scale', str(args.time_scale),
            '--port', str(args.port), '--host-offset', str(args.host_offset)] + \
        (['--topology', os.path.abspath(args.topology)] if args.topology else []) + \
        (['--pve-version', args.pve_version] if args.pve_version else []) + \
        ({True: ['--strict'], False: ['--lenient']}.get(args.strict, []))
    log = open(os.path.join(state_dir(), 'lab.log'), 'ab')
    proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
                                os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                os.environ.get('PYTHONPATH')]))))
    deadline = time.time() + 60
    while time.time() < deadline:
        state = _state()
        if state and state['pid'] == proc.pid:
            break
        if proc.poll() is not None:
            print('lab failed to start; see {0}'.format(os.path.join(state_dir(), 'lab.log')), file=sys.stderr)
            return 1
        time.sleep(0.1)
    else:
        print('lab did not come up within 60 s', file=sys.stderr)
        return 1
    for name, region in state['regions'].items():
        print('region {0:<6} {1}  cluster {2}  nodes {3}'.format(name, region['url'], region['cluster'],
                                                               ', '.join(sorted(region['nodes']))))
    print('credentials and CA: source {0}'.format(state['env_file']))
    print('control: {0}   time scale: {1}'.format(state['control'], state['time_scale']))
    print('PVE {0}   strictness: {1}'.format(state.get('pve_version'), ', '.join(
        '{0}={1}'.format(k, v) for k, v in sorted((state.get('strictness') or {}).items()))))
    return 0


def cmd_status(args):
    state = _state()
    if not state:
        print('lab is down')
        return 3
    live = _control(state, '/state')
    for name, region in live['regions'].items():
        nodes = ' '.join('{0}={1}'.format(n, s) for n, s in sorted(region['nodes'].items()))
        print('region {0:<6} {1}  quorate={2}  vms={3} templates={4} requests={5}  {6}'.format(
            name, region['url'], region['quorate'], region['vms'], region['templates'], region['requests'], nodes))
    return 0


def cmd_down(args):
    state = _state()
    if not state:
        print('lab is down')
        return 0
    os.kill(state['pid'], signal.SIGTERM)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(state['pid'], 0)
        except OSError:
            print('lab stopped')
            return 0
        time.sleep(0.1)
    os.kill(state['pid'], signal.SIGKILL)
    print('lab killed')
    return 0


def cmd_fault(args):
    if args.list or not args.name:
        print('\n'.join(faults.NAMES))
        return 0
    state = _state()
    if not state:
        print('lab is down', file=sys.stderr)
        return 3
    fargs = dict(a.split('=', 1) for a in args.args)
    answer = _control(state, '/fault', {'name': args.name, 'region': args.region, 'args': fargs})
    if not answer.get('ok'):
        print('fault refused: {0}'.format(answer.get('error')), file=sys.stderr)
        return 2
    for region, what in answer['applied'].items():
        print('{0}: {1}'.format(region, what))
    return 0


def cmd_requests(args):
    state = _state()
    if not state:
        print('lab is down', file=sys.stderr)
        return 3
    for region, rows in _control(state, '/requests' + ('?region=' + args.region if args.region else '')).items():
        for method, path in rows:
            print('{0} {1} {2}'.format(region, method, path))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='lab', description='storedesk.vdi embedded lab')
    sub = parser.add_subparsers(dest='cmd', required=True)
    for name in ('up', 'serve'):
        p = sub.add_parser(name)
        p.add_argument('--topology')
        p.add_argument('--time-scale', type=float, default=float(os.environ.get('STOREDESK_LAB_TIME_SCALE', 0.05)))
        p.add_argument('--port', type=int, default=8006)
        p.add_argument('--host-offset', type=int, default=0,
                       help='serve on 127.<10+N>.0.0/16 instead of the topology addresses (parallel labs)')
        p.add_argument('--pve-version', help='PVE release to serve: 8.4 or 9.1 (or a full version, 8.4.16)')
        mode = p.add_mutually_exclusive_group()
        mode.add_argument('--strict', dest='strict', action='store_true', default=None,
                          help='every strict behaviour (default: the set in runtime.DEFAULT_STRICT): lagging '
                               '/cluster/resources, root-only options, '
                               'clones in flight')
        mode.add_argument('--lenient', dest='strict', action='store_false', help='fakepve\'s kinder behaviour')
    sub.add_parser('status')
    sub.add_parser('down')
    p = sub.add_parser('fault')
    p.add_argument('name', nargs='?')
    p.add_argument('args', nargs='*', help='key=value (node=pve-e2, vm=sh-0001-d01, secs=30, drop=0.05 ...)')
    p.add_argument('--region')
    p.add_argument('--list', action='store_true')
    p = sub.add_parser('requests')
    p.add_argument('--region')
    args = parser.parse_args(argv)
    return globals()['cmd_' + args.cmd](args)

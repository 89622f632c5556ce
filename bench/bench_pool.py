#!/usr/bin/env python
"""Benchmark of storedesk.vdi.desktop_pool: a rollout of D desktops over S stores through ansible-playbook.

Starts the lab in process (bench/topology-bench.yml: one region, 4 nodes, shared RBD), then measures
  1. the rollout (bench/rollout.yml, role store_pool, over S inventory stores): wall time, API requests per desktop,
     logins, peak controller RSS, and the ratio to the critical path of the lab's time model at the
     configured concurrency: ceil(desktops on the busiest node / per-node concurrency) x (clone + start);
  2. the no-op rerun (wall, reads per store);
  3. the check-mode plan of +2 desktops per store (wall, nothing written);
  4. the same rollout the way users do it today: community.proxmox.proxmox_kvm in a loop (clone, update,
     start) on the same lab, and the speed-up. With more than --baseline-max desktops the baseline runs
     on a sample of stores and is extrapolated per desktop (said so in the output).

  .venv/bin/python bench/bench_pool.py                          # 1,000 desktops / 50 stores
  .venv/bin/python bench/bench_pool.py --desktops 100 --stores 5 # the small variant (~1-2 min with baseline)
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time

import psutil
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'lab'))
from storedesk_lab.runtime import Lab  # noqa: E402

COLLECTIONS = os.path.join(ROOT, '.venv', 'collections')
BIN = os.path.dirname(sys.executable)


def inventory(path, lab, codes, per_store, prefix_net=100):
    pve = lab.regions['east']
    hosts = {}
    for i, code in enumerate(codes):
        hosts[code] = {'store_code': code, 'store_region': 'east', 'store_city': 'benchcity',
                       'store_subnet': '10.{0}.{1}.0/24'.format(prefix_net + i // 250, i % 250),
                       'store_vlan': 100 + i, 'store_bridge': 'vmbr1',
                       'store_link': {'bandwidth_mbps': 100, 'latency_ms': 10},
                       'store_desktops': {'baseline': per_store, 'event': per_store, 'spares': 0},
                       'store_image': {'name': 'store', 'version': '1.0.0'}}
    inv = {'all': {'vars': {'ansible_connection': 'local',
                            'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                            'storedesk_regions': {'east': {'api_host': pve.host, 'api_port': pve.port}}},
                   'children': {'stores': {'hosts': hosts}}}}
    with open(path, 'w') as fh:
        yaml.safe_dump(inv, fh)
    return path


class PeakRss(object):
    """Peak summed RSS of a process and its children (the controller: ansible-playbook + module processes)."""

    def __init__(self, pid):
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.cpu = {}           # pid -> user+system seconds last seen
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                for p in procs:
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
            except psutil.Error:
                pass
            time.sleep(0.05)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.peak


def env_for(lab, json_out=True):
    env = dict(os.environ)
    env.update(lab.env())
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_DEPRECATION_WARNINGS='false', PROXMOX_TOKEN_ID='', PROXMOX_TOKEN_SECRET='',
               REQUESTS_CA_BUNDLE=lab.cafile)
    if json_out:
        env['ANSIBLE_STDOUT_CALLBACK'] = 'json'
    return env


def playbook(lab, book, inv, extra=None, args=(), json_out=True):
    cmd = [os.path.join(BIN, 'ansible-playbook'), book, '-i', inv] + list(args)
    if extra:
        cmd += ['-e', json.dumps(extra)]
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_for(lab, json_out), cwd=ROOT)
    rss = PeakRss(proc.pid)
    lab_cpu = psutil.Process().cpu_times()
    out, err = proc.communicate()
    wall = time.monotonic() - began
    peak = rss.done()
    now = psutil.Process().cpu_times()
    playbook.cpu = (sum(rss.cpu.values()), now.user + now.system - lab_cpu.user - lab_cpu.system)
    if proc.returncode != 0:
        sys.stderr.write(out[-4000:] + err[-4000:])
        raise SystemExit('{0} failed (rc {1})'.format(book, proc.returncode))
    return wall, peak, out


def module_results(out):
    """desktop_pool results from the json callback's output."""
    data = json.loads(out[out.index('{'):])
    found = []
    for play in data['plays']:
        for task in play['tasks']:
            for host in task['hosts'].values():
                for item in host.get('results') or []:
                    if 'desktops' in item and 'api_requests' in item:
                        found.append(item)
    return found


class TaskClock(object):
    """Real seconds each lab task took (measured around the task body, wait for the time model included).

    fakepve does CPU work per clone that grows with the number of VMs (it scans every guest config per
    disk allocation), so on a small machine the lab itself runs slower than its time model; this clock
    lets the report separate that from the orchestration overhead. Measurement only: behaviour unchanged.
    """

    def __init__(self, pve):
        self.seconds = {}
        original = pve.task

        async def timed(node, ttype, tid, user, body, vm=None, lock=True, log=()):
            began = time.monotonic()

            async def measured():
                try:
                    return await body()
                finally:
                    self.seconds.setdefault(ttype, []).append(time.monotonic() - began)
            return await original(node, ttype, tid, user, measured, vm=vm, lock=lock, log=log)
        pve.task = timed

    def mean(self, ttype):
        values = self.seconds.get(ttype) or [0.0]
        return sum(values) / len(values)


def count(requests, method=None, contains=None, endswith=None):
    n = 0
    for m, path, _body in requests:
        if (method is None or m == method) and (contains is None or contains in path) \
                and (endswith is None or path.endswith(endswith)):
            n += 1
    return n


BASELINE = '''---
- name: Roll out desktops the way it is done today (community.proxmox.proxmox_kvm in a loop)
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    _auth: &auth
      api_host: "%(host)s"
      api_port: %(port)d
      api_user: root@pam
      api_password: "{{ lookup('ansible.builtin.env', 'PROXMOX_PASSWORD') }}"
  tasks:
    - name: Clone the desktops
      community.proxmox.proxmox_kvm:
        <<: *auth
        node: pve-b1
        clone: tpl-store-1.0.0
        vmid: 9100
        newid: "{{ item.vmid }}"
        name: "{{ item.name }}"
        target: "{{ item.node }}"
        full: false
        pool: "{{ item.pool }}"
        timeout: 600
      loop: "{{ desktops }}"
    - name: Set network and tags
      community.proxmox.proxmox_kvm:
        <<: *auth
        node: "{{ item.node }}"
        vmid: "{{ item.vmid }}"
        update: true
        net: {net0: "virtio,bridge=vmbr1,tag={{ item.vlan }}"}
        tags: "{{ item.tags }}"
        vga: qxl
      loop: "{{ desktops }}"
    - name: Start the desktops
      community.proxmox.proxmox_kvm:
        <<: *auth
        node: "{{ item.node }}"
        vmid: "{{ item.vmid }}"
        state: started
        timeout: 600
      loop: "{{ desktops }}"
'''


def run_baseline(lab, tmp, desktops, stores):
    pve = lab.regions['east']
    nodes = sorted(pve.nodes)
    per_store = desktops // stores
    items, vmid = [], 50000
    for s in range(stores):
        code = 'cp-{0:04d}'.format(s + 1)
        pool = 'store-' + code
        pve.pools.setdefault(pool, set())
        pve._pool_meta(pool)
        for i in range(per_store):
            items.append({'vmid': vmid, 'name': '{0}-d{1:02d}'.format(code, i + 1), 'node': nodes[vmid % len(nodes)],
                          'pool': pool, 'vlan': 3000 + s,
                          'tags': ['storedesk', 'store-' + code, 'image-store', 'v-1.0.0', 'role-desktop']})
            vmid += 1
    book = os.path.join(tmp, 'baseline.yml')
    with open(book, 'w') as fh:
        fh.write(BASELINE % {'host': pve.host, 'port': pve.port})
    inv = os.path.join(tmp, 'baseline-inv.yml')
    with open(inv, 'w') as fh:
        yaml.safe_dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local'}}}}, fh)
    before = len(pve.requests)
    wall, peak, _out = playbook(lab, book, inv, {'desktops': items}, json_out=False)
    made = [vm for vm in pve.vms if vm.name.startswith('cp-') and vm.status == 'running']
    return wall, len(pve.requests) - before, len(made)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--desktops', type=int, default=1000)
    ap.add_argument('--stores', type=int, default=50)
    ap.add_argument('--time-scale', type=float, default=0.1, help='real seconds per PVE second')
    ap.add_argument('--per-node', type=int, default=4, help='concurrency_per_node (the default is 4)')
    ap.add_argument('--baseline', choices=['auto', 'full', 'skip'], default='auto')
    ap.add_argument('--baseline-max', type=int, default=100, help='auto: sample above this many desktops')
    args = ap.parse_args()
    if args.desktops % args.stores:
        raise SystemExit('--desktops must be a multiple of --stores')
    per_store = args.desktops // args.stores
    topo = os.path.join(ROOT, 'bench', 'topology-bench.yml')
    tmp = tempfile.mkdtemp(prefix='bench-pool-')
    lab = Lab(topology_path=topo, time_scale=args.time_scale, state_dir=tmp, port=0, host_offset=3).start()
    try:
        pve = lab.regions['east']
        # The fake Windows endpoints behind each VM are not part of what is measured: a real clone does not
        # start a WinRM server in the PVE API process.
        pve.on_created.clear()
        pve.on_destroyed.clear()
        tm = lab.topo['time_model']
        nodes = len(pve.nodes)
        codes = ['bn-{0:04d}'.format(i + 1) for i in range(args.stores)]
        inv = inventory(os.path.join(tmp, 'inv.yml'), lab, codes, per_store)
        book = os.path.join(ROOT, 'bench', 'rollout.yml')
        extra = {'stores': ','.join(codes), 'store_pool_concurrency_per_node': args.per_node}
        print('lab: {0} nodes, time scale {1} (linked clone {2} s, start {3} s PVE time); {4} desktops / {5} '
              'stores; concurrency {6} per node'.format(nodes, args.time_scale, tm['qmclone'], tm['qmstart'],
                                                        args.desktops, args.stores, args.per_node))

        # 1. rollout
        clock = TaskClock(pve)
        pve.requests.clear()
        wall, peak, out = playbook(lab, book, inv, extra)
        results = module_results(out)
        reqs = list(pve.requests)
        made = [vm for vm in pve.vms if vm.name.startswith('bn-')]
        running = [vm for vm in made if vm.status == 'running']
        busiest = max(len([vm for vm in made if vm.node == n]) for n in pve.nodes)
        critical = math.ceil(busiest / float(args.per_node)) * (tm['qmclone'] + tm['qmstart']) * args.time_scale
        module_secs = sum(r['seconds'] for r in results)
        logins = count(reqs, 'POST', endswith='/access/ticket')
        print('\n1. rollout through ansible-playbook bench/rollout.yml (role store_pool)')
        print('   desktops created {0}, running {1}, on the busiest node {2}'.format(len(made), len(running), busiest))
        print('   wall {0:.2f} s (module {1:.2f} s); critical path {2:.2f} s -> ratio {3:.2f} (module {4:.2f})'.format(
            wall, module_secs, critical, wall / critical, module_secs / critical))
        achieved = math.ceil(busiest / float(args.per_node)) * (clock.mean('qmclone') + clock.mean('qmstart'))
        print('   the lab\'s own task times: clone {0:.3f} s, start {1:.3f} s real (model {2:.3f} + {3:.3f}); critical '
              'path with them {4:.2f} s -> ratio {5:.2f} (module {6:.2f})'.format(
                  clock.mean('qmclone'), clock.mean('qmstart'), tm['qmclone'] * args.time_scale,
                  tm['qmstart'] * args.time_scale, achieved, wall / achieved, module_secs / achieved))
        print('   API requests {0} = {1:.2f} per desktop (clone {2}, config PUT {3}, start {4}, task polls {5}, '
              'other {6}); logins {7}'.format(
                  len(reqs), len(reqs) / float(args.desktops), count(reqs, 'POST', endswith='/clone'),
                  count(reqs, 'PUT', endswith='/config'), count(reqs, 'POST', endswith='/status/start'),
                  count(reqs, 'GET', contains='/tasks'),
                  len(reqs) - count(reqs, 'POST', endswith='/clone') - count(reqs, 'PUT', endswith='/config')
                  - count(reqs, 'POST', endswith='/status/start') - count(reqs, 'GET', contains='/tasks'), logins))
        print('   peak controller RSS {0:.0f} MiB (ansible-playbook + module process); CPU seconds: controller '
              '{1:.1f}, lab (fakepve, same machine) {2:.1f}; {3} CPUs'.format(peak / 2.0 ** 20, playbook.cpu[0],
                                                                           playbook.cpu[1], psutil.cpu_count()))

        # 2. no-op rerun
        pve.requests.clear()
        wall2, _peak, out = playbook(lab, book, inv, extra)
        reqs = list(pve.requests)
        reads = count(reqs, 'GET')
        changed = any(r.get('changed') for r in module_results(out))
        print('\n2. no-op rerun: wall {0:.2f} s, changed {1}, {2} requests ({3} reads = {4:.2f} per store)'.format(
            wall2, changed, len(reqs), reads, reads / float(args.stores)))

        # 3. check-mode plan of +2 desktops per store
        pve.requests.clear()
        extra3 = dict(extra, store_desktops={'baseline': per_store, 'event': per_store + 2, 'spares': 0})
        wall3, _peak, out = playbook(lab, book, inv, extra3, args=['--check'])
        reqs = list(pve.requests)
        planned = sum(1 for r in module_results(out) for d in r['desktops'] if d['status'] == 'planned')
        writes = len([r for r in reqs if r[0] != 'GET' and not r[1].endswith('/access/ticket')])
        print('\n3. check-mode plan (+2 per store): wall {0:.2f} s, {1} desktops planned, {2} requests, {3} writes'.format(
            wall3, planned, len(reqs), writes))

        # 4. community.proxmox baseline
        if args.baseline == 'skip':
            return
        sample_stores = args.stores
        if args.baseline == 'auto' and args.desktops > args.baseline_max:
            sample_stores = max(1, args.baseline_max // per_store)
        n = sample_stores * per_store
        bwall, breqs, bmade = run_baseline(lab, tmp, n, sample_stores)
        per_desktop = bwall / n
        projected = per_desktop * args.desktops
        note = '' if n == args.desktops else ' (ran {0} desktops, extrapolated per desktop)'.format(n)
        print('\n4. community.proxmox.proxmox_kvm loop: {0} desktops running {1}; wall {2:.1f} s, {3:.2f} s per '
              'desktop, {4:.1f} requests per desktop'.format(n, bmade, bwall, per_desktop, breqs / float(n)))
        print('   same rollout ({0} desktops): {1:.0f} s{2} -> storedesk.vdi is {3:.0f}x faster'.format(
            args.desktops, projected, note, projected / wall))
    finally:
        lab.stop()


if __name__ == '__main__':
    main()

#!/usr/bin/env python
"""The concurrency-and-doubt drill for desktop_pool (issue 14): each case on the strict lab, counts read
through the API (live per-VM reads: /cluster/resources lags like PVE's RRD cache).

Per case it prints lost (a wanted desktop missing), duplicated (two VMs with one name), orphaned (a VM of
the stores left locked, unnamed or outside its pool) and in_use_destroyed (a protected, in-use or hibernated
desktop destroyed or stopped), plus the outcome of each run. Cases: two racing runs on overlapping stores,
a rerun while clones are in flight, kill -9 of the module and SIGTERM to it mid-run, a guest agent that does
not answer, hibernated and protected desktops on scale-down, a backup on the template, a bigger image push.
Then the bad-input table: scale_event.yml / reclaim.yml with bad input must change nothing.

  .venv/bin/python bench/drill.py                 # full size (20 desktops per store)
  .venv/bin/python bench/drill.py --per-store 4   # the size tests/integration/test_drill.py runs
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'lab'))
COLLECTIONS = os.path.join(ROOT, '.venv', 'collections')
BIN = os.path.dirname(sys.executable)
IMAGE = {'name': 'store', 'version': '1.0.0'}


def env_for(lab):
    env = dict(os.environ)
    env.update(lab.env())
    pve = lab.regions['east']
    env.update(PROXMOX_HOST=pve.host, PROXMOX_PORT=str(pve.port), ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_DEPRECATION_WARNINGS='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    return env


class Drill(object):
    def __init__(self, lab, per_store=4, tmp=None):
        self.lab = lab
        self.pve = lab.regions['east']
        self.per = per_store
        self.tmp = tmp or tempfile.mkdtemp(prefix='drill-')
        self.env = env_for(lab)
        self.vlan = 3000
        import requests
        self.http = requests.Session()
        self.http.verify = lab.cafile
        self.base = self.pve.url + '/api2/json'
        answer = self.http.post(self.base + '/access/ticket', data={'username': 'root@pam', 'password': lab.password},
                                verify=lab.cafile)
        answer.raise_for_status()
        data = answer.json()['data']
        self.http.cookies.set('PVEAuthCookie', data['ticket'])
        self.http.headers['CSRFPreventionToken'] = data['CSRFPreventionToken']

    # ------------------------------------------------------------------ API

    def get(self, path, **params):
        answer = self.http.get(self.base + path, params=params, verify=self.lab.cafile)
        answer.raise_for_status()
        return answer.json()['data']

    def put(self, path, **data):
        self.http.put(self.base + path, data=data, verify=self.lab.cafile).raise_for_status()

    def post(self, path, **data):
        answer = self.http.post(self.base + path, data=data, verify=self.lab.cafile)
        answer.raise_for_status()
        return answer.json()['data']

    def vms(self, codes):
        """Every VM that could be a desktop of these stores, with live name/status/config (per-VM reads)."""
        out = []
        for item in self.get('/cluster/resources', type='vm'):
            if item.get('type') != 'qemu':
                continue
            base = '/nodes/{0}/qemu/{1}'.format(item['node'], item['vmid'])
            try:
                config = self.get(base + '/config')
                status = self.get(base + '/status/current').get('status')
            except Exception:  # noqa: BLE001 - destroyed between the two reads
                continue
            if config.get('template'):
                continue
            name = config.get('name') or ''
            tags = (config.get('tags') or '').split(';')
            if any(name.startswith(c + '-') or 'store-' + c in tags or item.get('pool') == 'store-' + c
                   for c in codes) or item.get('lock') == 'clone' or config.get('lock') == 'clone':
                out.append(dict(item, name=name, status=status, config=config, tags=tags))
        return out

    # ---------------------------------------------------------------- runs

    def args(self, codes, count, **over):
        stores = []
        for code in codes:
            stores.append({'code': code, 'city': 'drill', 'region': 'east', 'vlan': self._vlan(code),
                           'subnet': '10.77.{0}.0/24'.format(self._vlan(code) % 250)})
        out = {'image': IMAGE, 'count': count, 'stores': stores, 'bridge': 'vmbr1'}
        out.update(over)
        return out

    def _vlan(self, code):
        return 3000 + int(code.split('-')[1])

    def start(self, args):
        cmd = [os.path.join(BIN, 'ansible'), 'localhost', '-m', 'storedesk.vdi.desktop_pool', '-o',
               '-a', json.dumps(args)]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
                                cwd=ROOT, start_new_session=True)

    def finish(self, proc, timeout=600):
        out, err = proc.communicate(timeout=timeout)
        start = out.find('{')
        try:
            result = json.loads(out[start:]) if start >= 0 else {}
        except ValueError:
            result = {}
        return {'rc': proc.returncode, 'msg': result.get('msg') or '', 'result': result}

    def run(self, args):
        return self.finish(self.start(args))

    def wait_requests(self, suffix, n, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline and len([r for r in list(self.pve.requests) if r[1].endswith(suffix)]) < n:
            time.sleep(0.02)

    def module_pid(self, proc):
        """The python process running the module (a child of the ansible process group)."""
        import psutil
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                cmd = child.cmdline()
                if len(cmd) > 1 and 'python' in os.path.basename(cmd[0]) and \
                        cmd[1].endswith('AnsiballZ_desktop_pool.py'):
                    return child.pid
            except psutil.Error:
                continue
        return None

    def settle(self, codes, timeout=120):
        """Wait until no VM of the stores is mid-clone (PVE finishes tasks a killed module started)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not [vm for vm in self.vms(codes) if vm.get('lock') == 'clone' or vm['config'].get('lock') == 'clone']:
                return
            time.sleep(0.2)

    # -------------------------------------------------------------- counts

    def counts(self, wanted, marked=()):
        """wanted {code: count}; marked {vmid: what} desktops that must survive untouched."""
        vms = self.vms(list(wanted))
        names = [vm['name'] for vm in vms if vm['name']]
        lost = sum(1 for code, n in wanted.items() for i in range(1, n + 1)
                   if '{0}-d{1:02d}'.format(code, i) not in names)
        dup = sum(names.count(n) - 1 for n in set(names))
        orphaned = sum(1 for vm in vms if not vm['name'] or vm.get('lock') == 'clone'
                       or vm.get('pool') != 'store-' + vm['name'].rsplit('-d', 1)[0])
        alive = dict((vm['vmid'], vm) for vm in vms)
        hit = 0
        for vmid, what in dict(marked).items():
            vm = alive.get(vmid)
            if vm is None:
                hit += 1
            elif what in ('inuse', 'protected') and vm['status'] != 'running':
                hit += 1
            elif what == 'hibernated' and vm['config'].get('lock') != 'suspended':
                hit += 1
        return {'lost': lost, 'duplicated': dup, 'orphaned': orphaned, 'in_use_destroyed': hit}

    def fresh(self, codes, count):
        out = self.run(self.args(codes, count))
        if out['rc'] != 0:
            raise SystemExit('setup of {0} failed: {1}'.format(codes, out['msg']))
        return dict((vm['name'], vm) for vm in self.vms(codes))

    def on_lab(self, coro):
        import asyncio
        return asyncio.run_coroutine_threadsafe(coro, self.lab.loop).result(30)

    # ---------------------------------------------------------------- cases

    def case_racing_runs(self):
        n = self.per
        first = self.start(self.args(['dr-0001', 'dr-0002'], n))
        second = self.start(self.args(['dr-0002', 'dr-0003'], n))
        a, b = self.finish(first), self.finish(second)
        row = self.counts({'dr-0001': n, 'dr-0002': n, 'dr-0003': n})
        return 'two racing runs, overlapping stores', row, 'rc {0}/{1}'.format(a['rc'], b['rc'])

    def case_rerun_during_clones(self):
        n = max(24, self.per)
        slow = dict(concurrency_per_node=1, concurrency=1)      # so the rerun lands while clones still run
        before = len([r for r in list(self.pve.requests) if r[1].endswith('/clone')])
        first = self.start(self.args(['dr-0004'], n, **slow))
        self.wait_requests('/clone', before + 1)
        second = self.start(self.args(['dr-0004'], n))
        a, b = self.finish(first), self.finish(second)
        row = self.counts({'dr-0004': n})
        return 'rerun while clones are in flight', row, 'rc {0}/{1}'.format(a['rc'], b['rc'])

    def case_kill_9(self):
        n = self.per
        before = len([r for r in list(self.pve.requests) if r[1].endswith('/clone')])
        proc = self.start(self.args(['dr-0005'], n, concurrency_per_node=1))
        self.wait_requests('/clone', before + max(1, n // 2))
        os.killpg(proc.pid, signal.SIGKILL)                    # ansible and the module with it
        proc.wait()
        again = self.run(self.args(['dr-0005'], n))            # at once: in-flight clones, a dead holder
        self.settle(['dr-0005'])
        row = self.counts({'dr-0005': n})
        return 'kill -9 mid-clones, immediate rerun', row, 'rerun rc {0}'.format(again['rc'])

    def case_sigterm(self):
        n = max(8, self.per)
        before = len([r for r in list(self.pve.requests) if r[1].endswith('/clone')])
        proc = self.start(self.args(['dr-0006'], n, concurrency_per_node=1, concurrency=1))
        self.wait_requests('/clone', before + 1)
        pid = None
        deadline = time.time() + 10
        while pid is None and time.time() < deadline:
            pid = self.module_pid(proc)
        clones_at_signal = len([r for r in list(self.pve.requests) if r[1].endswith('/clone')]) - before
        if pid:
            os.kill(pid, signal.SIGTERM)
        cancelled = self.finish(proc)
        leases = [p['poolid'] for p in self.get('/pools') if p['poolid'].startswith('storedesk-lease-')]
        again = self.run(self.args(['dr-0006'], n))
        row = self.counts({'dr-0006': n})
        done = len([d for d in cancelled['result'].get('desktops') or [] if d.get('status') == 'ok'])
        return 'SIGTERM mid-run, then rerun', row, 'cancel rc {0} ({1}; {2} clones sent, {3} of {4} done), ' \
            'leases left {5}, rerun rc {6}'.format(
                cancelled['rc'], 'cancelled' if cancelled['msg'].startswith('cancelled') else 'not cancelled',
                clones_at_signal, done, n, len(leases), again['rc'])

    def case_agent_silent(self):
        n = self.per
        have = self.fresh(['dr-0007'], n)
        marked = {}
        for name, vm in have.items():
            self.pve.fail('GET', '/nodes/{0}/qemu/{1}/agent/get-users'.format(vm['node'], vm['vmid']), 500,
                          'VM {0} qmp command \'guest-get-users\' failed - got timeout'.format(vm['vmid']))
            marked[vm['vmid']] = 'inuse'
        out = self.run(self.args(['dr-0007'], 1))
        self.pve.failures.clear()
        kept = sum(len(s.get('kept') or []) for s in (out['result'].get('stores') or {}).values())
        row = self.counts({'dr-0007': 1}, marked)
        return 'guest agent times out on scale-down', row, 'rc {0}, kept {1}'.format(out['rc'], kept)

    def case_hibernated_protected(self):
        n = max(3, self.per)
        have = self.fresh(['dr-0008'], n)
        names = sorted(have)
        marked = {}
        hib, prot = have[names[-1]], have[names[-2]]
        base = '/nodes/{0}/qemu/{1}'
        self.post(base.format(hib['node'], hib['vmid']) + '/status/suspend', todisk=1)
        self.put(base.format(prot['node'], prot['vmid']) + '/config', protection=1)
        time.sleep(0.5)
        marked[hib['vmid']], marked[prot['vmid']] = 'hibernated', 'protected'
        out = self.run(self.args(['dr-0008'], 0))
        kept = (out['result'].get('stores') or {}).get('dr-0008', {}).get('kept') or []
        row = self.counts({'dr-0008': 0}, marked)
        row['orphaned'] = 0      # kept desktops above count are wanted here
        self.put(base.format(prot['node'], prot['vmid']) + '/config', protection=0)
        return 'hibernated + protected on scale-down to 0', row, 'rc {0}, kept {1}'.format(
            out['rc'], ', '.join('{0}: {1}'.format(k['name'], k['reason']) for k in kept))

    def case_template_backup(self):
        n = self.per
        tpl = [vm for vm in self.pve.vms if vm.template][0]
        secs = 3.0 / max(self.lab.time_scale, 0.001)        # about 3 real seconds
        self.on_lab(self.pve.backup(tpl.vmid, secs=secs))
        out = self.run(self.args(['dr-0009'], n))
        row = self.counts({'dr-0009': n})
        return 'backup running on the template', row, 'rc {0} {1}'.format(out['rc'], out['msg'][:60])

    def case_bigger_push(self):
        n = self.per
        self.fresh(['dr-0010'], n)
        tpl = [vm for vm in self.pve.vms if vm.template][0]
        spec = {'vmid': 9199, 'node': tpl.node, 'name': 'tpl-store-9.9.9', 'memory': 1024 * 1024,
                'storage': str(tpl.config.get('scsi0', 'vdi-ceph:')).split(':')[0]}

        async def seed():
            self.pve.seed_vm(spec, template=True, tags='image-store;storedesk;v-9.9.9')
        self.on_lab(seed())
        before = [r for r in list(self.pve.requests) if r[0] != 'GET']
        out = self.run(self.args(['dr-0010'], n, image={'name': 'store', 'version': '9.9.9'}))
        writes = [r for r in list(self.pve.requests) if r[0] != 'GET'][len(before):]
        writes = [w for w in writes if '/pools' not in w[1] and not w[1].endswith('/access/ticket')]
        row = self.counts({'dr-0010': n})
        return 'bigger image push', row, 'rc {0}, writes {1}: {2}'.format(out['rc'], len(writes), out['msg'][-120:])

    CASES = ('case_racing_runs', 'case_rerun_during_clones', 'case_kill_9', 'case_sigterm', 'case_agent_silent',
             'case_hibernated_protected', 'case_template_backup', 'case_bigger_push')

    # ------------------------------------------------------------ bad input

    def bad_input(self):
        """Playbooks with bad input: nothing may change (no write reaches the lab)."""
        codes = ['dr-0011', 'dr-0012']
        self.fresh(codes, 2)
        rows = []
        cases = [
            ('scale_event: partial store_desktops override', 'playbooks/scale_event.yml',
             {'dr-0011': {'store_desktops': {'event': 4}}}, {}),
            ('reclaim: non-numeric count', 'playbooks/reclaim.yml',
             {'dr-0011': {'store_desktops': {'baseline': 'two', 'event': 4, 'spares': 0}}}, {}),
            ('reclaim: unknown store', 'playbooks/reclaim.yml', {}, {'stores': 'dr-9999'}),
            ('scale_event: unknown backup policy', 'playbooks/reclaim.yml', {}, {'reclaim_backup': 'tape'}),
        ]
        for label, book, host_over, extra in cases:
            inv = self.inventory(codes, host_over)
            before = len(self.pve.requests)
            cmd = [os.path.join(BIN, 'ansible-playbook'), book, '-i', inv, '-e',
                   json.dumps(dict({'stores': ','.join(codes)}, **extra))]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=600)
            writes = [r for r in list(self.pve.requests)[before:] if r[0] != 'GET'
                      and not r[1].endswith('/access/ticket')]
            rows.append((label, proc.returncode, len(writes)))
        return rows

    def inventory(self, codes, host_over):
        hosts = {}
        for code in codes:
            host = {'store_region': 'east', 'store_city': 'drill', 'store_vlan': self._vlan(code),
                    'store_subnet': '10.77.{0}.0/24'.format(self._vlan(code) % 250), 'store_bridge': 'vmbr1',
                    'store_desktops': {'baseline': 2, 'event': 4, 'spares': 0}, 'store_image': IMAGE}
            host.update(host_over.get(code, {}))
            hosts[code] = host
        inv = {'all': {'vars': {'ansible_connection': 'local',
                                'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                                'storedesk_regions': {'east': {'api_host': self.pve.host,
                                                               'api_port': self.pve.port}}},
                       'children': {'stores': {'hosts': hosts}}}}
        path = os.path.join(self.tmp, 'inv-{0}.yml'.format(abs(hash(json.dumps(host_over, sort_keys=True)))))
        with open(path, 'w') as fh:
            yaml.safe_dump(inv, fh)
        return path

    def all(self, cases=None, bad_input=True):
        rows = []
        for name in cases or self.CASES:
            began = time.monotonic()
            label, counts, note = getattr(self, name)()
            rows.append(dict(counts, case=label, note=note, seconds=round(time.monotonic() - began, 1)))
            sys.stderr.write('{0}: {1} {2}\n'.format(label, counts, note))
        bad = self.bad_input() if bad_input else []
        return rows, bad


def report(rows, bad):
    lines = ['{0:44} {1:>5} {2:>5} {3:>5} {4:>6} {5:>6}  {6}'.format(
        'case', 'lost', 'dup', 'orph', 'in-use', 'secs', 'runs')]
    for r in rows:
        lines.append('{0:44} {1:>5} {2:>5} {3:>5} {4:>6} {5:>6}  {6}'.format(
            r['case'], r['lost'], r['duplicated'], r['orphaned'], r['in_use_destroyed'], r['seconds'], r['note']))
    total = dict((k, sum(r[k] for r in rows)) for k in ('lost', 'duplicated', 'orphaned', 'in_use_destroyed'))
    lines.append('{0:44} {1:>5} {2:>5} {3:>5} {4:>6}'.format('TOTAL', total['lost'], total['duplicated'],
                                                             total['orphaned'], total['in_use_destroyed']))
    if bad:
        lines.append('')
        lines.append('{0:44} {1:>4} {2:>7}'.format('bad input', 'rc', 'writes'))
        for label, rc, writes in bad:
            lines.append('{0:44} {1:>4} {2:>7}'.format(label, rc, writes))
    return '\n'.join(lines)


def main():
    from storedesk_lab.runtime import Lab
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--per-store', type=int, default=20)
    ap.add_argument('--time-scale', type=float, default=0.05)
    ap.add_argument('--resources-lag', type=float, default=10.0, help='/cluster/resources lag, real seconds')
    ap.add_argument('--cases', nargs='*')
    ap.add_argument('--no-bad-input', action='store_true')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='drill-')
    lab = Lab(state_dir=tmp, time_scale=args.time_scale, port=0, host_offset=13,
              strict={'resources_lag': args.resources_lag}).start()
    try:
        rows, bad = Drill(lab, args.per_store, tmp).all(args.cases, not args.no_bad_input)
        print(report(rows, bad))
    finally:
        lab.stop()


if __name__ == '__main__':
    main()

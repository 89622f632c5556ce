# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's executor (private): carries out a plan with bounded concurrency, one record per desktop.

- Clones, config writes, starts and destroys of all stores run at once through run_bounded, at most
  `concurrency_per_node` per node and `concurrency` overall; every task is awaited through ONE TaskWatcher.
- A new desktop costs: clone POST, config PUT, start POST (+ its share of the task-list polls).
- VMIDs: taken from the bulk read's free ids; "already exists" (another run got there first) moves on.
  After a write whose answer was lost, the id is probed: ours -> adopted, free -> sent again with the SAME id
  (so a late duplicate of the request can only fail), someone else's -> next id.
- Image push runs last, batch by batch (canary first); the first failure stops the push.
"""

from __future__ import annotations

import threading
import time

from . import _pool_desired as desired_mod
from ._vm_ops import DesktopOps, is_locked, with_mac
from ._executor import run_bounded
from ._pve_errors import PveApiError, PveConnectionError, PveTaskError, StoredeskError
from ._pool_actual import vm_record
from ._pool_plan import action_label, blocker
from ._retry import Pacer
from ._vmid_alloc import VmidAllocator


ROOT_ONLY = ('spice_enhancements',)


class Cancelled(StoredeskError):
    """The run was cancelled (SIGTERM/SIGINT) or lost its lease: no new desktop work starts."""


class Kept(StoredeskError):
    """A live read right before a stop/destroy showed the desktop must stay."""


class PoolRunner(object):
    """Runs the ops of one plan against one region."""

    def __init__(self, client, params, stores, actual, lease=None, pacer=None):
        self.client = client
        self.pacer = pacer or Pacer()      # the waits between looks (in_use: wait, a locked template)
        self.lease = lease
        self.cancel = threading.Event()
        # qemu-server PVE/API2/Qemu.pm check_vm_modify_config_perm: options outside its privilege lists
        # (spice_enhancements among them) may be set by `root@pam` itself only -- no token, not even root's.
        # A linked clone copies the template's options without that check (clone_vm), so other users leave
        # the value to the template and say so (see root_only()).
        self.root = getattr(client, 'token', None) is None and getattr(client, 'user', '') == 'root@pam'
        self.root_only_skipped = {}
        self.params = params
        self.stores = dict((s['code'], s) for s in stores)
        self.actual = actual
        self.ops = DesktopOps(client, params['task_timeout'], params['lock_wait'], params['shutdown_timeout'])
        self.alloc = VmidAllocator(actual['vmids'], params['vmid_min'])
        nodes = max(1, len([n for n in actual['nodes'].values() if n['online']]))
        self.per_node = max(1, params['concurrency_per_node'])
        self.overall = params['concurrency'] or self.per_node * nodes

    # ------------------------------------------------------------------ run

    def run(self, plan):
        """Apply the plan's ops; returns {id(op): record}."""
        work = [op for op in plan['ops'] if set(op['actions']) - {'none', 'keep'}]
        records = {}
        self._ensure_pools(work, records)
        now = [op for op in work if 'replace' not in op['actions']]
        self._run(now, records, stop_on_error=False)
        push = sorted((op for op in work if 'replace' in op['actions']), key=lambda op: op['batch'])
        batches = []
        for op in push:
            if not batches or batches[-1][0]['batch'] != op['batch']:
                batches.append([])
            batches[-1].append(op)
        stop = (self.params.get('push') or {}).get('stop_on_error', True)
        for pos, batch in enumerate(batches):
            if self._run(batch, records, stop_on_error=stop) and stop:
                failed = [op['name'] for op in batch if records[id(op)]['status'] == 'failed']
                for rest in batches[pos + 1:]:
                    for op in rest:
                        records[id(op)] = self._record(op, 'skipped', 0.0, reason='image push stopped after '
                                                       'the failure of ' + ', '.join(failed))
                break
        return records

    def _run(self, ops, records, stop_on_error):
        failures = 0
        for outcome in run_bounded(ops, self._do, key=lambda op: op['node'], per_key=self.per_node,
                                   overall=self.overall, stop_on_error=stop_on_error):
            op = outcome.item
            if outcome.skipped:
                records[id(op)] = self._record(op, 'skipped', 0.0, reason='not started: an earlier desktop of '
                                               'this batch failed')
            elif isinstance(outcome.error, Cancelled):
                records[id(op)] = self._record(op, 'skipped', 0.0, reason=str(outcome.error))
            elif isinstance(outcome.error, Kept):
                op['kept'] = outcome.error.message
                records[id(op)] = self._record(op, 'skipped', outcome.elapsed, reason='kept: ' + outcome.error.message)
            elif outcome.ok:
                records[id(op)] = self._record(op, 'ok', outcome.elapsed, **(outcome.value or {}))
            else:
                failures += 1
                records[id(op)] = self._record(op, 'failed', outcome.elapsed, error=str(outcome.error))
        return failures

    def _record(self, op, status, seconds, **extra):
        rec = {'status': status, 'seconds': round(seconds, 2)}
        rec.update(extra)
        return rec

    def _ensure_pools(self, work, records):
        missing = sorted(set(self.stores[op['store']]['pool'] for op in work
                             if set(op['actions']) & {'create', 'replace', 'adopt'}) - self.actual['pools'])

        def create(pool):
            try:
                self.client.post('/pools', safe=True, poolid=pool, comment='storedesk store desktops')
            except PveApiError as exc:
                if 'already exists' not in str(exc):
                    raise
        for outcome in run_bounded(missing, create, per_key=self.overall, overall=self.overall):
            if not outcome.ok:
                raise outcome.error
            self.actual['pools'].add(outcome.item)

    # -------------------------------------------------------------- one op

    def writable(self, spec):
        """spec['config'] without the root-only options when we are not root@pam (noted per store)."""
        config = dict(spec['config'])
        if not self.root:
            for key in ROOT_ONLY:
                if key in config:
                    self.root_only_skipped.setdefault(spec['store'], {})[key] = config.pop(key)
        return config

    def stopping(self):
        """Why no new work may start (cancelled, lease lost), or None."""
        if self.cancel.is_set():
            return 'not started: the run was cancelled (SIGTERM/SIGINT)'
        if self.lease is not None and self.lease.lost.is_set():
            return 'not started: the store lease could not be renewed (another run may have taken it over)'
        return None

    def _do(self, op):
        why = self.stopping()
        if why:
            raise Cancelled(why)
        actions, vm, spec = op['actions'], op['vm'], op['spec']
        where = '{0} (vmid {1}, {2})'.format(op['name'], op['vmid'] or 'new', op['node'])
        out = {}
        if 'destroy' in actions:
            return self._destroy(vm, where)
        if 'create' in actions or 'replace' in actions:
            if 'replace' in actions and op['reason']:
                self._wait_free(vm, where)
            if 'replace' in actions:
                self.confirm_free(vm, where)         # before the new clone, so a kept desktop gets no twin
            vmid = self._clone(op, spec, op['node'], where)
            where = '{0} (vmid {1}, {2})'.format(op['name'], vmid, op['node'])
            op['new_vmid'] = vmid
            self.ops.put_config(op['node'], vmid, where, tags=spec['tags'], **self.writable(spec))
            if spec['power'] == 'running':
                self.ops.start(op['node'], vmid, where)
            if 'replace' in actions:
                out['replaced_vmid'] = vm['vmid']
                out.update(self._destroy(vm, where) or {})
            return out
        node, vmid = vm['node'], vm['vmid']
        power = vm['power']
        for action in actions:
            if action == 'adopt':
                item = self.ops.wait_unlocked(vmid, 'clone', where)
                if item is None:     # the interrupted clone failed after all: clone it anew
                    vmid = op['new_vmid'] = self._clone(op, spec, op['node'] or node, where)
                    node = op['node'] or node
                else:
                    node = item['node']
                power = 'stopped'
            elif action in ('reconfigure', 'retag'):
                self._configure(node, vmid, spec, where, full=action == 'reconfigure')
            elif action == 'start':
                self.ops.start(node, vmid, where)
                power = 'running'
            elif action == 'shutdown':
                self.ops.shutdown(node, vmid, where)
            elif action == 'hibernate':
                self.ops.hibernate(node, vmid, where)
        return out

    def _configure(self, node, vmid, spec, where, full):
        if not full:
            return self.ops.put_config(node, vmid, where, tags=spec['tags'])
        current = self.ops.config(node, vmid, where)
        values = dict(self.writable(spec), tags=spec['tags'])
        values['net0'] = with_mac(values['net0'], current.get('net0'))
        store = self.stores[spec['store']]
        values['description'] = desired_mod.description(store, spec)
        delete = 'ipconfig0' if 'ipconfig0' in current and 'ipconfig0' not in values else None
        return self.ops.put_config(node, vmid, where, delete=delete, **values)

    def _clone(self, op, spec, node, where):
        """A linked clone of the pinned template named spec['name'] on `node`; returns its VMID."""
        tpl, store = op['template'], self.stores[op['store']]
        path = self.client.path('nodes', tpl['node'], 'qemu', tpl['vmid'], 'clone')
        body = dict(name=spec['name'], description=desired_mod.description(store, spec), pool=store['pool'],
                    target=node if node != tpl['node'] else None)
        vmid, failures, lost = self.alloc.next(), 0, 0
        locked_until = self.pacer.clock() + self.params['lock_wait']
        while True:
            try:
                # The template held by a backup ("VM is locked (backup)", qemu-server clone_vm check_lock):
                # waited for within lock_wait like any config lock.
                upid = self.ops.retry_locked(lambda: self.client.post(path, newid=vmid, **body), where)
            except PveApiError as exc:
                if not exc.already_exists:
                    raise
                mine = self._ours(vmid, spec, store)
                if mine:
                    return vmid
                vmid = self.alloc.collided(vmid)
                continue
            except PveConnectionError as exc:
                lost += 1
                if lost > 5 or not exc.sent:    # never sent: the client has retried that already
                    raise
                mine = self._ours(vmid, spec, store)
                if mine:
                    return vmid
                if mine is None:
                    continue            # never arrived: send again with the same id
                vmid = self.alloc.collided(vmid)
                continue
            try:
                self.ops.wait(upid, where, 'linked clone of {0} (vmid {1})'.format(tpl['name'], tpl['vmid']))
                return vmid
            except PveTaskError as exc:
                if 'already exists' in str(exc) or 'File exists' in str(exc):
                    # a VMID taken on another node fails in the worker: pmxcfs refuses the config file
                    # ("close (rename) atomic file ... File exists", see lab/storedesk_lab/pve_clone.py)
                    vmid = self.alloc.collided(vmid)
                    continue
                if is_locked(exc) and self.pacer.clock() < locked_until:
                    self.pacer.pause(1.0)
                    continue
                failures += 1
                if failures > self.params['clone_retries']:
                    raise
                # PVE's clone worker removed the half-made VM; try once more with the same id.

    def _ours(self, vmid, spec, store):
        """After 'already exists' or a lost answer: True if vmid is our clone (then waited for), False if it
        belongs to someone else, None if nothing holds it."""
        item = self.ops.find(vmid)
        if item is None:
            return None
        if item.get('name') != spec['name'] or (item.get('pool') != store['pool'] and item.get('lock') != 'clone'):
            return False
        if item.get('lock') == 'clone':
            item = self.ops.wait_unlocked(vmid, 'clone', spec['name'])
            if item is None:
                return None
        return True

    def confirm_free(self, vm, where):
        """Live per-VM reads right before a stop/destroy (the bulk read may be ~10 s old): protection, a
        saved session, the real power state. Raises Kept when the desktop must stay."""
        node, vmid = vm['node'], vm['vmid']
        try:
            config = self.ops.config(node, vmid, where)
            current = self.client.get(self.ops.vm_path(node, vmid, 'status', 'current')) or {}
        except (PveApiError, PveConnectionError) as exc:
            raise Kept('its config or status could not be read ({0})'.format(getattr(exc, 'pve_message', exc)))
        if str(config.get('protection', 0)) in ('1', 'true'):
            raise Kept('protection is on')
        saved = config.get('lock') == 'suspended' or bool(config.get('vmstate'))
        if saved and (self.params.get('saved_sessions') or 'keep') == 'keep':
            raise Kept('hibernated: a saved session (saved_sessions=keep)')
        status = current.get('status') or vm['status']
        if status == 'running' and vm['power'] != 'running' and 'agent' in (self.params.get('in_use_check') or []):
            raise Kept('started after the plan read it {0}: who is logged in was not asked (a rerun asks)'.format(
                vm['power']))
        vm['status'] = status
        vm['power'] = 'hibernated' if saved and status == 'stopped' else status

    def _destroy(self, vm, where):
        policy = self.params['backup_before_destroy']
        node, vmid = vm['node'], vm['vmid']
        self.confirm_free(vm, where)
        self.ops.ensure_stopped(vm, where)
        if policy == 'snapshot':
            stamp = time.strftime('%Y%m%d%H%M%S', time.gmtime())
            self.ops.snapshot(node, vmid, where, 'storedesk-' + stamp, 'before storedesk reclaimed it')
            tags = [t for t in vm['tags'] if not t.startswith('role-')] + ['reclaimed']
            self.ops.put_config(node, vmid, where, tags=';'.join(sorted(set(tags))))
            if vm.get('pool'):
                self.client.put('/pools', safe=True, poolid=vm['pool'], vms=vmid, delete=1)
            return {'kept_as': 'snapshot storedesk-{0}, tagged reclaimed, out of the pool'.format(stamp)}
        if policy == 'vzdump':
            self.ops.vzdump(node, vmid, where, self.params['backup_storage'])
        self.ops.destroy(node, vmid, where)
        return {'backup': policy} if policy != 'none' else {}

    def _wait_free(self, vm, where):
        """Image push with in_use: wait -- re-check the desktop until nobody uses it or the wait is over."""
        timeout = (self.params.get('push') or {}).get('in_use_timeout', 900)
        every = min(30.0, max(1.0, timeout / 20.0))
        from ._pool_actual import read_details
        why = None
        for _look in self.pacer.ticks(timeout, first=every, cap=every):
            item = self.ops.find(vm['vmid'])
            if item is None:
                raise StoredeskError('desktop vanished while waiting for its user', where=where)
            current = dict(vm_record(item), online=True)
            why = self._live_power(current)
            if why:
                continue
            details = read_details(self.client, [current], users_for=[vm['vmid']])
            why = blocker(current, details, self.params)
            if why is None:
                vm.update(current)
                return
        raise StoredeskError('still {0} after {1}s'.format(why, timeout), where=where,
                             hint='rerun later; the push continues where it stopped')

    def _live_power(self, current):
        """Overlay the live status and lock on a /cluster/resources record (whose status is pvestatd's RRD cache,
        ~10 s old: a desktop restarted during the wait would read `stopped` and its users not be asked).
        status/current: qemu-server PVE/API2/Qemu.pm vm_status -> PVE/QemuServer.pm vmstatus (status from the
        running process, lock from the config). Returns why the wait goes on when it cannot be read, else None."""
        try:
            live = self.client.get(self.client.path('nodes', current['node'], 'qemu', current['vmid'], 'status',
                                                    'current')) or {}
        except (PveApiError, PveConnectionError) as exc:
            return 'its status could not be read ({0})'.format(getattr(exc, 'pve_message', None) or exc)
        if live.get('status'):
            current['status'], current['lock'] = live['status'], live.get('lock')
        current['power'] = 'hibernated' if current['status'] == 'stopped' and current['lock'] == 'suspended' \
            else current['status']
        return None


def records(plan, done, check_mode):
    """One result record per desktop of the plan, in store and index order."""
    out = []
    for op in plan['ops']:
        rec = done.get(id(op)) or {'status': 'planned' if check_mode and set(op['actions']) - {'none', 'keep'}
                                   else 'ok', 'seconds': 0.0}
        spec, vm = op['spec'], op['vm']
        entry = {'store': op['store'], 'name': op['name'], 'vmid': op.get('new_vmid') or op['vmid'],
                 'node': op['node'], 'ip': spec['ip'] if spec else None,
                 'image_version': spec['version'] if spec and 'keep' not in op['actions'] else
                 (vm['meta']['version'] if vm else None),
                 'power': spec['power'] if spec and 'keep' not in op['actions'] else (vm['power'] if vm else None),
                 'action': action_label(op), 'reason': op['reason']}
        entry.update(rec)
        if op.get('kept'):          # left in place on purpose (scale-down, push): the report lists it with why
            entry.update(kept=True, reason=op['kept'])
        out.append(entry)
    out.sort(key=lambda r: (r['store'], r['name'], r['vmid'] or 0))
    return out

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One desktop's PVE operations (private): power, config, destroy, with task waits and lock retries.

Shared by desktop_pool and desktop_power. Every write that may be repeated is sent with safe=True
(a repeated start ends in "already running", a repeated config PUT writes the same values, a repeated
destroy finds nothing): so a dropped or hung answer is retried instead of failing the desktop.
"""

from __future__ import annotations

from ._pve_errors import PveApiError, PveTaskError, PveTimeoutError
from ._pve_tasks import TaskWatcher
from ._retry import decided_by_caller, retry

NOT_RUNNING = ('not running',)
ALREADY_RUNNING = ('already running',)
GONE = ('does not exist',)


def is_locked(exc):
    """A config lock held by another task (backup, migrate, snapshot, PVE's lock timeout): worth waiting for."""
    text = str(exc)
    return "can't lock file" in text or 'VM is locked' in text


def says(exc, phrases):
    text = str(exc)
    return any(p in text for p in phrases)


def with_mac(net0, current):
    """net0 with the MAC address of the current value kept (a changed MAC breaks DHCP reservations)."""
    first = str(current or '').split(',', maxsplit=1)[0]
    mac = first.partition('=')[2]
    if not mac:
        return net0
    parts = net0.split(',')
    return ','.join(['{0}={1}'.format(parts[0], mac)] + parts[1:])


class DesktopOps(object):
    """PVE operations on single VMs; `watcher` is shared by all threads of the run."""

    def __init__(self, client, task_timeout=600, lock_wait=120, shutdown_timeout=120, watcher=None):
        self.client = client
        self.watcher = watcher or TaskWatcher(client)
        self.task_timeout = task_timeout
        self.lock_wait = lock_wait
        self.shutdown_timeout = shutdown_timeout

    def vm_path(self, node, vmid, *rest):
        return self.client.path('nodes', node, 'qemu', vmid, *rest)

    def wait(self, upid, where, what, timeout=None):
        return self.watcher.wait(upid, timeout or self.task_timeout, where=where, what=what)

    def retry_locked(self, fn, where):
        """fn() again while another task holds the VM's config lock, up to lock_wait seconds.

        The one level that retries lock errors of these calls: the client stands down inside (see _retry)."""
        def locked(exc):
            return isinstance(exc, (PveApiError, PveTaskError)) and is_locked(exc)
        with decided_by_caller('lock'):
            try:
                return retry(fn, locked, deadline=self.lock_wait, base=0.5, cap=5.0)
            except (PveApiError, PveTaskError) as exc:
                if is_locked(exc):
                    exc.hint = 'another task still holds the lock after {0}s; rerun when it is done ' \
                               '(or raise lock_wait)'.format(self.lock_wait)
                raise

    def _task(self, method, node, vmid, action, where, what, tolerate=(), wait_secs=None, **data):
        """POST/DELETE that starts a task, then wait for it; errors saying one of `tolerate` are success."""
        def once():
            try:
                if method == 'DELETE':
                    upid = self.client.delete(self.vm_path(node, vmid), safe=True, **data)
                else:
                    upid = self.client.post(self.vm_path(node, vmid, *action), safe=True, **data)
                return self.wait(upid, where, what, wait_secs)
            except (PveApiError, PveTaskError) as exc:
                if tolerate and says(exc, tolerate):
                    return 'OK'
                raise
        return self.retry_locked(once, where)

    # ------------------------------------------------------------- power

    def start(self, node, vmid, where):
        return self._task('POST', node, vmid, ('status', 'start'), where, 'start', ALREADY_RUNNING)

    def stop(self, node, vmid, where):
        return self._task('POST', node, vmid, ('status', 'stop'), where, 'stop', NOT_RUNNING)

    def shutdown(self, node, vmid, where, timeout=None):
        secs = self.shutdown_timeout if timeout is None else timeout
        return self._task('POST', node, vmid, ('status', 'shutdown'), where, 'shutdown', NOT_RUNNING,
                          wait_secs=self.task_timeout + secs, forceStop=1, timeout=secs)

    def hibernate(self, node, vmid, where):
        return self._task('POST', node, vmid, ('status', 'suspend'), where, 'hibernate', NOT_RUNNING, todisk=1)

    def resume(self, node, vmid, where, power):
        """Wake a hibernated desktop (start restores the saved state) or continue a paused one."""
        if power == 'paused':
            return self._task('POST', node, vmid, ('status', 'resume'), where, 'resume')
        return self.start(node, vmid, where)

    def ensure_stopped(self, vm, where):
        """Stop a desktop before it is destroyed; a hibernated one is resumed first to drop its saved state."""
        if vm['power'] == 'hibernated':
            self.start(vm['node'], vm['vmid'], where)
            self.stop(vm['node'], vm['vmid'], where)
        elif vm['power'] == 'running':
            self.stop(vm['node'], vm['vmid'], where)

    # ------------------------------------------------------------ config

    def config(self, node, vmid, where):
        return self.client.get(self.vm_path(node, vmid, 'config')) or {}

    def put_config(self, node, vmid, where, delete=None, **values):
        path = self.vm_path(node, vmid, 'config')
        return self.retry_locked(lambda: self.client.put(path, safe=True, delete=delete, **values), where)

    # ----------------------------------------------------------- destroy

    def destroy(self, node, vmid, where):
        return self._task('DELETE', node, vmid, (), where, 'destroy', GONE, purge=1,
                          **{'destroy-unreferenced-disks': 1})

    def vzdump(self, node, vmid, where, storage):
        def once():
            upid = self.client.post(self.client.path('nodes', node, 'vzdump'), vmid=vmid, storage=storage,
                                    mode='stop', compress='zstd')
            return self.wait(upid, where, 'backup (vzdump)')
        return self.retry_locked(once, where)

    def snapshot(self, node, vmid, where, name, text):
        return self._task('POST', node, vmid, ('snapshot',), where, 'snapshot', (), snapname=name,
                          description=text)

    def find(self, vmid):
        """The VM with this id from /cluster/resources (a probe after an uncertain write), or None."""
        for item in self.client.get('/cluster/resources', type='vm') or []:
            if item.get('type') == 'qemu' and int(item.get('vmid', -1)) == int(vmid):
                return item
        return None

    def wait_unlocked(self, vmid, lock, where, timeout=None):
        """Poll until the VM no longer holds `lock` (a clone this run did not start); its item, or None if gone."""
        def look():
            item = self.find(vmid)
            if item is not None and item.get('lock') == lock:
                raise _StillLocked()
            return item
        try:
            return retry(look, lambda exc: isinstance(exc, _StillLocked), deadline=timeout or self.task_timeout,
                         base=0.2, cap=2.0)
        except _StillLocked:
            raise PveTimeoutError('VM {0} still locked ({1})'.format(vmid, lock), where=where,
                                  hint='check its task in the PVE GUI, then rerun') from None


class _StillLocked(Exception):
    """wait_unlocked: the lock is still there (retried until the deadline)."""

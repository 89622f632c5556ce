# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One owner per store (private): a lease kept in PVE as a resource pool of its own.

Why a pool of its own and not a line in the store pool's comment: PUT /pools takes no digest
(pve-manager PVE/API2/Pool.pm `update_pool`: poolid, comment, vms, storage, allow-move, delete), so a
comment cannot be compare-and-swapped, and a write-then-read-back lets two writers each read back their
own line in turn. POST /pools (`create_pool`) runs under `lock_user_config` (a pmxcfs cluster-wide lock
on user.cfg) and dies with "pool '<id>' already exists": PVE's one atomic create-if-absent.

The protocol (create, then look): every run creates its OWN pool `storedesk-lease-<run id>` whose comment
names owner (user@host), run id, expiry (epoch seconds) and stores, then lists /pools. If another live
lease names one of its stores, it deletes its own and backs off with jitter; otherwise it holds. Two
runs cannot both hold: the one that listed later created its pool after the other's, so it saw the
other's pool (never deleted while held) and stepped back. Two that see each other both step back and
retry at random times. An expired lease (its holder did not renew it) is ignored and deleted; holders
renew every ttl/3 and stop new work when a renewal fails. Expiry compares controller clocks: keep them
in NTP sync (skew shortens or lengthens a dead holder's grace, never lets two live holders overlap as
long as the skew is below ttl/3).
`ids=` records the VMID block a holder clones into, so a later run knows whose in-flight clones
(`lock: clone`, no name yet, not yet in a pool) it sees.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
import uuid

from ._pve_errors import PveApiError, PveConnectionError, StoredeskError
from ._retry import full_jitter

PREFIX = 'storedesk-lease-'
HEAD = 'storedesk lease'


class LeaseBusy(StoredeskError):
    """Another live run holds a store of ours."""


def owner_name():
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        user = str(os.getuid()) if hasattr(os, 'getuid') else 'unknown'
    return '{0}@{1}'.format(user, socket.gethostname())


def render(owner, run, expires, stores, ids=(), pid=None):
    text = '{0} owner={1} run={2} expires={3} stores={4}'.format(HEAD, owner, run, int(expires),
                                                                 ','.join(sorted(stores)))
    if pid:
        text += ' pid={0}'.format(pid)
    if ids:
        text += ' ids=' + ','.join('{0}-{1}'.format(lo, hi) for lo, hi in ids)
    return text


def parse(poolid, comment):
    """A lease pool's record, or None if the pool is not a lease."""
    if not str(poolid or '').startswith(PREFIX) or not str(comment or '').startswith(HEAD):
        return None
    fields = dict(part.split('=', 1) for part in comment[len(HEAD):].split() if '=' in part)
    try:
        expires = int(fields.get('expires', 0))
    except ValueError:
        expires = 0
    ids = []
    for block in filter(None, fields.get('ids', '').split(',')):
        lo, _sep, hi = block.partition('-')
        if lo.isdigit() and hi.isdigit():
            ids.append((int(lo), int(hi)))
    pid = fields.get('pid', '')
    return {'pool': poolid, 'owner': fields.get('owner', '?'), 'run': fields.get('run', '?'),
            'pid': int(pid) if pid.isdigit() else None,
            'expires': expires, 'stores': set(filter(None, fields.get('stores', '').split(','))), 'ids': ids}


def leases(pools):
    """Every lease record in a GET /pools answer."""
    out = []
    for item in pools or []:
        rec = parse(item.get('poolid'), item.get('comment'))
        if rec:
            out.append(rec)
    return out


def process_gone(rec, owner):
    """True when the lease was taken on this very host (same owner) by a process that no longer exists: a
    module killed with -9 takes over at once instead of after lease_ttl. Other hosts wait for the expiry."""
    if rec.get('pid') is None or rec['owner'] != owner:
        return False
    try:
        os.kill(rec['pid'], 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def in_blocks(vmid, blocks):
    return any(lo <= vmid <= hi for lo, hi in blocks)


class Lease(object):
    """The lease of one run on a set of stores. Use acquire() ... release() (release is idempotent)."""

    def __init__(self, client, stores, ttl=300, wait=300, progress=None, clock=time.time, sleep=time.sleep,
                 owner=None, run=None):
        self.client = client
        self.stores = set(stores)
        self.ttl = max(30, int(ttl))
        self.wait = max(0, int(wait))
        self.progress = progress or (lambda text: None)
        self.clock, self.sleep = clock, sleep
        self.owner = owner or owner_name()
        self.run = run or uuid.uuid4().hex[:12]
        self.pool = PREFIX + self.run
        self.ids = []
        self.held = False
        self.lost = threading.Event()
        self.waited = 0.0
        self._stop = threading.Event()
        self._thread = None
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------ reading

    def others(self, pools, live=True):
        """Leases of other runs that name one of our stores (live ones, or expired ones with live=False)."""
        now = self.clock()
        return [rec for rec in leases(pools) if rec['pool'] != self.pool and rec['stores'] & self.stores
                and (rec['expires'] > now and not process_gone(rec, self.owner)) == live]

    def foreign_blocks(self, pools):
        """VMID blocks of every other live lease (any store): their in-flight clones are not ours to adopt."""
        now = self.clock()
        return [b for rec in leases(pools) if rec['pool'] != self.pool and rec['expires'] > now
                and not process_gone(rec, self.owner) for b in rec['ids']]

    def describe(self, rec):
        left = max(0, int(rec['expires'] - self.clock()))
        return '{0} (run {1}, stores {2}, lease expires in {3}s)'.format(
            rec['owner'], rec['run'], ','.join(sorted(rec['stores'] & self.stores)), left)

    # ------------------------------------------------------------ writing

    def _comment(self):
        return render(self.owner, self.run, self.clock() + self.ttl, self.stores, self.ids, os.getpid())

    def _create(self):
        try:
            self.client.post('/pools', poolid=self.pool, comment=self._comment())
        except PveConnectionError:
            pass                    # the answer was lost: the list that follows says whether it exists

    def _delete(self, poolid):
        try:
            self.client.delete(self.client.path('pools', poolid), safe=True)
        except PveApiError as exc:
            if 'does not exist' not in exc.pve_message:
                raise

    def acquire(self, pools=None):
        """Hold the lease, waiting up to `wait` seconds; returns the /pools answer read while taking it."""
        began = self.clock()
        attempt = 0
        if pools is None:
            pools = self.client.get('/pools')
        while True:
            busy = self.others(pools)
            if not busy:
                self._create()
                pools = self.client.get('/pools')
                busy = self.others(pools)
                mine = any(item.get('poolid') == self.pool for item in pools or [])
                if mine and not busy:
                    self.held = True
                    self.waited = round(self.clock() - began, 1)
                    for rec in self.others(pools, live=False):
                        self._delete(rec['pool'])     # expired: its holder is gone; take over
                    self._start_renewal()
                    return pools
                self._delete(self.pool)             # both saw each other: step back, retry at random
                if not busy:
                    pools = self.client.get('/pools')
                    continue
            attempt += 1
            spent = self.clock() - began
            if spent >= self.wait:
                raise LeaseBusy('another run holds the store(s): {0}'.format('; '.join(self.describe(r) for r in busy)),
                                hint='wait for it to finish (lease_wait is {0}s), or if that run is gone, its '
                                     'lease expires by itself within lease_ttl; do not delete the pool {1} by hand '
                                     'while it runs'.format(self.wait, busy[0]['pool']))
            self.progress('waiting {0}s for {1}'.format(int(spent), '; '.join(self.describe(r) for r in busy)))
            self.sleep(min(self.wait - spent, 0.5 + full_jitter(attempt, base=0.5, cap=5.0)))
            pools = self.client.get('/pools')

    def note_ids(self, blocks):
        """Record the VMID blocks this run clones into (one write; also renews)."""
        self.ids = sorted(set(self.ids) | set(blocks))
        self.renew()

    def renew(self):
        with self._write_lock:
            if not self.held:
                return
            try:
                self.client.put(self.client.path('pools', self.pool), safe=True, comment=self._comment())
            except PveApiError:
                self.lost.set()     # deleted by a taker after expiry: stop new work
                raise

    def _start_renewal(self):
        def loop():
            while not self._stop.wait(self.ttl / 3.0):
                try:
                    self.renew()
                except Exception:  # noqa: BLE001 - a failed renewal is reported through `lost`
                    self.lost.set()
        self._thread = threading.Thread(target=loop, name='storedesk-lease', daemon=True)
        self._thread.start()

    def release(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        with self._write_lock:
            if self.held:
                self.held = False
                self._delete(self.pool)

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_pool
short_description: Store desktop pools on Proxmox VE - deploy, scale, hibernate, push images, reclaim
version_added: 0.1.0
description:
  - Keeps the desktops of one store, or of many stores of one region in one run, as declared - a PVE
    resource pool per store and C(count) + C(spares) linked clones of a pinned golden-image version.
  - The template is found by its tags C(image-<name>) and C(v-<version>), never by a remembered VMID.
  - Reads the region once (C(/cluster/resources) and C(/pools)); a run with nothing to do makes these two
    reads and no other request. Configs and logged-in users are read only for desktops that may be
    destroyed or replaced.
  - New desktops are placed on the online nodes with the fewest desktops of their store (anti-affinity),
    then the most free memory. Clones, config writes and starts run concurrently, bounded per node and
    overall; all tasks are awaited through one shared poll of each node's task list.
  - Scale-down removes stopped desktops first, then hibernated, then running ones, highest index first;
    never a desktop with C(protection=1), one tagged C(inuse), one with a logged-in user (guest agent),
    a hibernated one (a saved session, see O(saved_sessions)), one whose config or agent read failed, or one
    on an offline node (fail closed). Protection and saved sessions are read again, live, right before any stop.
  - One run at a time per store - see O(lease_wait). SIGTERM/SIGINT (an AWX cancel) stops new work, lets the
    desktops in flight finish, records them and releases the lease.
  - C(spice_enhancements) may be set by C(root@pam) itself only (qemu-server C(check_vm_modify_config_perm)); with
    an API token the desktops keep their template's value and the module warns per store (RV(root_only_not_set)).
  - An image push (a new O(image.version)) replaces desktops in batches - a canary first - by cloning
    the new version under the same name, then destroying the old desktop. The first failure stops the push;
    a rerun continues where it stopped.
  - A store whose bridge is missing on a placement node (C(GET /nodes/{node}/network?type=any_bridge)), or whose
    VLAN tag PVE cannot plug there, is refused before any change, also in check mode - PVE would clone its desktops
    and fail every start (C(bridge '<name>' does not exist)).
  - Check mode returns the real plan; diff mode shows it as before/after. See docs/modules/desktop_pool.md.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
  - storedesk.vdi.desktop_pool
attributes:
  check_mode:
    support: full
    description: Plans with the same reads and writes nothing.
  diff_mode:
    support: full
    description: Per store, each desktop before and after (version, power, node).
'''

EXAMPLES = r'''
- name: Deploy the pools of two stores (4 desktops + 1 spare each)
  storedesk.vdi.desktop_pool:
    api_host: pve-east.example.com
    image: {name: store, version: 1.0.0}
    count: 4
    spares: 1
    stores:
      - {code: sh-0001, city: shanghai, region: east, subnet: 10.21.1.0/24, vlan: 2101, bridge: vmbr1}
      - {code: sh-0002, city: shanghai, region: east, subnet: 10.21.2.0/24, vlan: 2102, bridge: vmbr1}

- name: Push image 1.1.0 to one store, canary first, then 5 at a time
  storedesk.vdi.desktop_pool:
    api_host: pve-east.example.com
    store: {code: sh-0001, subnet: 10.21.1.0/24, vlan: 2101, count: 4}
    image: {name: store, version: 1.1.0}
    push: {canary: 1, batch_size: 5, in_use: skip}

- name: Hibernate a store after closing (desktop_power is the lighter tool for schedules)
  storedesk.vdi.desktop_pool:
    api_host: pve-east.example.com
    store: {code: sh-0001, subnet: 10.21.1.0/24, vlan: 2101, count: 4}
    image: {name: store, version: 1.0.0}
    power: hibernated
'''

RETURN = r'''
desktops:
  description:
    - One record per desktop - C(store), C(name), C(vmid), C(node), C(ip) (static addressing only),
      C(image_version), C(power), C(action) (C(create), C(replace), C(reconfigure), C(retag), C(start),
      C(shutdown), C(hibernate), C(destroy), C(adopt), C(keep), C(none), joined by C(+)), C(reason),
      C(status) (C(ok), C(failed), C(skipped), C(planned) in check mode), C(seconds), and C(kept) (true when
      the desktop was left in place on purpose - protected, in use, a saved session, a read that failed - with
      C(reason) saying why).
  returned: always
  type: list
  elements: dict
  sample: [{store: sh-0001, name: sh-0001-d01, vmid: 1000, node: pve-e2, ip: null, image_version: 1.0.0,
            power: running, action: create+start, reason: null, status: ok, seconds: 7.2}]
stores:
  description: Per store - pool, count, spares, image, power, C(desktops_before), counts per action, C(kept) with reasons.
  returned: always
  type: dict
lease:
  description:
    - The store lease this run held (C(pool), C(owner), C(waited) seconds for another run), or null when the run
      changed nothing and took none.
  returned: always
  type: dict
root_only_not_set:
  description:
    - Per store, options only C(root@pam) may set (C(spice_enhancements)) that this run could not set, with the
      value C(wanted) and the one the desktops C(got) from their template.
  returned: always
  type: dict
api_requests:
  description: API requests this run made (login included).
  returned: always
  type: int
logins:
  description: Logins this run made (1 with a password, 0 with a token; 2 if a ticket was revoked).
  returned: always
  type: int
seconds:
  description: Wall time of the module run.
  returned: always
  type: float
diff:
  description: Before and after per store (diff mode).
  returned: when diff mode is on
  type: dict
'''

import signal
import time

from ansible_collections.storedesk.vdi.plugins.module_utils import _bridges as bridges
from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_desired as desired
from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_plan as planner
from ansible_collections.storedesk.vdi.plugins.module_utils._lease import Lease
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import (
    clones_in_flight, confirm_live, confirm_templates, read_details, read_region)
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_apply import PoolRunner, records
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_args import POOL_ARGSPEC
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveTimeoutError, StoredeskError
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module


def plan_with_details(client, stores, params, actual, details=None):
    """Plan; read the configs/users the plan asks for (at most twice) into `details`; plan again."""
    details = {} if details is None else details
    result = planner.plan(stores, params, actual, details)
    for _round in range(2):
        wanted = result['needs']['config'] | result['needs']['users']
        if not wanted:
            break
        vms = [vm for vm in actual['vms'] if vm['vmid'] in wanted]
        details.update(read_details(client, vms, users_for=result['needs']['users']))
        result = planner.plan(stores, params, actual, details)
    return result


def _seen(vm):
    return vm['power'], vm['lock'], vm['name'], vm['template']


def read_and_plan(client, stores, params, pools=None):
    actual = read_region(client, pools)
    confirm_live(client, actual)
    confirm_templates(client, actual, [(s['image']['name'], s['image']['version']) for s in stores])
    details = {}
    result = plan_with_details(client, stores, params, actual, details)
    # Power changes, scale-down victims and push replacements were decided on /cluster/resources' status, up to
    # ~10 s old (RRD cache: a desktop resumed moments ago still reads `stopped`, its users unasked). Read the power
    # of the guests on those nodes live (one GET per node), plan again with users read for the live running ones.
    confirmed = set()
    for _round in range(2):        # a new plan may pick a victim on a node not read yet: once more
        nodes = set(planner.live_nodes(result['ops'], actual)) - confirmed
        if not nodes:
            break
        before = dict((vm['vmid'], _seen(vm)) for vm in actual['vms'])
        confirm_live(client, actual, sorted(nodes))
        confirmed |= nodes
        for vm in actual['vms']:
            if _seen(vm) != before.get(vm['vmid']):
                details.pop(vm['vmid'], None)      # read again: its users if it runs now, a config no longer locked
        result = plan_with_details(client, stores, params, actual, details)
    return actual, result


def adopt_in_flight(client, runner_ops, actual, lease, pools, wait):
    """Wait for clones no live run claims (ours from a run that died, or anyone's): they become desktops with a
    name and a pool, which the next plan then sees -- never cloned twice. Returns how many were waited for."""
    found = clones_in_flight(actual, lease.foreign_blocks(pools))
    for vm in found:
        try:
            runner_ops.wait_unlocked(vm['vmid'], 'clone', 'vmid {0}'.format(vm['vmid']), timeout=wait)
        except PveTimeoutError as exc:
            raise StoredeskError('a clone into vmid {0} on {1} is still running after {2}s and no live run claims '
                                 'it; nothing was changed'.format(vm['vmid'], vm['node'], wait),
                                 hint='let its task finish (PVE GUI, task log), then rerun') from exc
    return len(found)


def wait_templates(runner, plan, wait):
    """A template held by a backup (nightly "backup all" jobs include templates) is waited for once, before
    any change; past lock_wait the run stops here."""
    used = dict((op['template']['vmid'], op['template']) for op in plan['ops']
                if set(op['actions']) & {'create', 'replace'} and op.get('template'))
    for tpl in used.values():
        if tpl.get('lock'):
            try:
                runner.ops.wait_unlocked(tpl['vmid'], tpl['lock'], tpl['name'], timeout=wait)
            except PveTimeoutError:
                raise StoredeskError('template {0} (vmid {1}) is locked ({2}) for more than lock_wait={3}s; '
                                     'nothing was changed'.format(tpl['name'], tpl['vmid'], tpl['lock'], wait),
                                     hint='rerun after the backup, or raise lock_wait') from None


def run_locked(module, client, stores, params, lease, pools, notes):
    """Under the lease: read again (fresh), adopt in-flight clones, plan, apply. Returns (plan, done)."""
    actual, plan = read_and_plan(client, stores, params, pools)
    runner = PoolRunner(client, params, stores, actual, lease)
    adopted = adopt_in_flight(client, runner.ops, actual, lease, pools, params['task_timeout'])
    if adopted:
        notes.append('waited for {0} clone(s) in flight before planning'.format(adopted))
        actual, plan = read_and_plan(client, stores, params)
        runner = PoolRunner(client, params, stores, actual, lease)
    if not planner.changes(plan['ops']):
        return plan, {}, runner
    wait_templates(runner, plan, params['lock_wait'])
    for lo, hi in lease.foreign_blocks(pools):      # VMIDs other live runs clone into: not ours to race for
        runner.alloc.taken.update(range(lo, hi + 1))
    lease.note_ids(runner.alloc.reserve(len([op for op in plan['ops']
                                             if set(op['actions']) & {'create', 'replace', 'adopt'}])))

    def cancel(signum, _frame):
        runner.cancel.set()
    old = dict((sig, signal.signal(sig, cancel)) for sig in (signal.SIGTERM, signal.SIGINT))
    try:
        done = runner.run(plan)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if runner.cancel.is_set():
        notes.append('cancelled')
    return plan, done, runner


def root_only_notes(client, plan, runner):
    """What a non-root run could not set (spice_enhancements): the desktops carry the template's value."""
    out, cache = {}, {}
    for code, wanted in sorted(runner.root_only_skipped.items()):
        tpl = plan['templates'].get(code)
        if tpl is None:
            continue
        if tpl['vmid'] not in cache:
            try:
                cache[tpl['vmid']] = runner.ops.config(tpl['node'], tpl['vmid'], tpl['name'])
            except StoredeskError:
                cache[tpl['vmid']] = {}
        for key, value in wanted.items():
            got = cache[tpl['vmid']].get(key)
            if got != value:
                out.setdefault(code, {})[key] = {'wanted': value, 'got': got}
    return out


def execute(module, client):
    began = time.monotonic()
    params = module.params
    stores = desired.build(params)
    actual, plan = read_and_plan(client, stores, params)
    bridges.check(client, stores, plan['ops'], actual, params.get('nodes'))   # before any change, also in check mode
    lease = Lease(client, [s['code'] for s in stores], ttl=params['lease_ttl'], wait=params['lease_wait'],
                  progress=module.log)
    busy = lease.others(actual['pool_list'])
    inflight = clones_in_flight(actual, lease.foreign_blocks(actual['pool_list']))
    done, notes, root_only = {}, [], {}
    if module.check_mode:
        if busy:
            module.warn('another run holds the store(s) now: ' + '; '.join(lease.describe(r) for r in busy))
    elif planner.changes(plan['ops']) or busy or inflight:
        try:
            pools = lease.acquire(actual['pool_list'])
            plan, done, runner = run_locked(module, client, stores, params, lease, pools, notes)
            root_only = root_only_notes(client, plan, runner)
        finally:
            lease.release()
    changes = planner.changes(plan['ops'])
    warnings = plan['warnings'] + [n for n in notes if n != 'cancelled']
    for code, keys in sorted(root_only.items()):
        for key, val in sorted(keys.items()):
            warnings.append('store {0}: {1} should be {2!r}; its desktops have the template\'s {3!r}: only root@pam '
                            'itself (password login, not an API token) may set {1} (qemu-server '
                            'check_vm_modify_config_perm). Run this store once with api_user=root@pam and '
                            'api_password, or publish a template carrying that value.'.format(
                                code, key, val['wanted'], val['got']))
    for text in warnings:
        module.warn(text)
    result = {'changed': module.check_mode and bool(changes) or any(r['status'] == 'ok' for r in done.values()),
              'desktops': records(plan, done, module.check_mode),
              'stores': planner.summary(stores, plan['ops']), 'api_requests': client.stats['requests'],
              'logins': client.stats['logins'], 'root_only_not_set': root_only,
              'lease': {'pool': lease.pool, 'owner': lease.owner, 'waited': lease.waited} if done else None,
              'seconds': round(time.monotonic() - began, 2)}
    if module._diff:
        result['diff'] = planner.diff(plan['ops'])
    if 'cancelled' in notes:
        left = [r['name'] for r in result['desktops']
                if r['status'] == 'skipped' and 'cancelled' in (r['reason'] or '')]
        module.fail_json(msg='cancelled: the desktops in flight were finished and recorded, {0} not started ({1}); '
                             'the store lease was released. A rerun continues.'.format(len(left), ', '.join(left[:10])),
                         **result)
    failed = [r for r in result['desktops'] if r['status'] == 'failed']
    if failed:
        first = failed[0]
        module.fail_json(msg='{0} of {1} desktop action(s) failed; first: {2}. A rerun continues where this one '
                             'stopped.'.format(len(failed), len(changes), first.get('error')),
                         **result)
    return result


def main():
    module = pve_module(POOL_ARGSPEC, mutually_exclusive=[('store', 'stores')],
                        required_one_of=[('store', 'stores')])
    run_module(module, execute)


if __name__ == '__main__':
    main()

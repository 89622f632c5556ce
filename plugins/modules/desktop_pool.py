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
    or one on an offline node.
  - An image push (a new O(image.version)) replaces desktops in batches - a canary first - by cloning
    the new version under the same name, then destroying the old desktop. The first failure stops the push;
    a rerun continues where it stopped.
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
      C(status) (C(ok), C(failed), C(skipped), C(planned) in check mode) and C(seconds).
  returned: always
  type: list
  elements: dict
  sample: [{store: sh-0001, name: sh-0001-d01, vmid: 1000, node: pve-e2, ip: null, image_version: 1.0.0,
            power: running, action: create+start, reason: null, status: ok, seconds: 7.2}]
stores:
  description: Per store - pool, count, spares, image, power, C(desktops_before), counts per action, C(kept) with reasons.
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

import time

from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_desired as desired
from ansible_collections.storedesk.vdi.plugins.module_utils import _pool_plan as planner
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import read_details, read_region
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_apply import PoolRunner, records
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_args import POOL_ARGSPEC
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module


def plan_with_details(client, stores, params, actual):
    """Plan; read the configs/users the plan asks for (at most twice); plan again."""
    details = {}
    result = planner.plan(stores, params, actual, details)
    for _round in range(2):
        wanted = result['needs']['config'] | result['needs']['users']
        if not wanted:
            break
        vms = [vm for vm in actual['vms'] if vm['vmid'] in wanted]
        details.update(read_details(client, vms, users_for=result['needs']['users']))
        result = planner.plan(stores, params, actual, details)
    return result


def execute(module, client):
    began = time.monotonic()
    params = module.params
    stores = desired.build(params)
    actual = read_region(client)
    plan = plan_with_details(client, stores, params, actual)
    done = {}
    if not module.check_mode and planner.changes(plan['ops']):
        done = PoolRunner(client, params, stores, actual).run(plan)
    result = {'changed': bool(planner.changes(plan['ops'])), 'desktops': records(plan, done, module.check_mode),
              'stores': planner.summary(stores, plan['ops']), 'api_requests': client.stats['requests'],
              'logins': client.stats['logins'], 'warnings': plan['warnings'],
              'seconds': round(time.monotonic() - began, 2)}
    if module._diff:
        result['diff'] = planner.diff(plan['ops'])
    failed = [r for r in result['desktops'] if r['status'] == 'failed']
    if failed:
        first = failed[0]
        module.fail_json(msg='{0} of {1} desktop action(s) failed; first: {2}. A rerun continues where this one '
                             'stopped.'.format(len(failed), len(planner.changes(plan['ops'])), first.get('error')),
                         **result)
    return result


def main():
    module = pve_module(POOL_ARGSPEC, mutually_exclusive=[('store', 'stores')],
                        required_one_of=[('store', 'stores')])
    run_module(module, execute)


if __name__ == '__main__':
    main()

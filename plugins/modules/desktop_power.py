#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_power
short_description: Start, shut down, hibernate or resume store desktops on Proxmox VE
version_added: 0.1.0
description:
  - Power actions for the desktops of stores, of a tag selection, or of a JMESPath query over desktop records -
    made for AWX schedules such as "hibernate after closing, wake 30 minutes before opening".
  - Reads the region once (C(/cluster/resources)); only desktops whose state differs get a request.
  - Power and names are read live (one C(GET /nodes/{node}/qemu) per node of the desktops O(stores) and O(tags)
    select, or of every desktop when only O(query) is given), as C(/cluster/resources) lags about 10 seconds. When a
    node's list cannot be read, its desktops are reported C(failed) and nothing is done to them.
  - Selectors combine; at least one of O(stores), O(tags), O(query) is needed.
  - Desktops are the VMs tagged C(storedesk) and C(store-<code>); templates are never touched.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: Lists what would be done and writes nothing.
  diff_mode:
    support: none
    description: Per-desktop records say what changed.
options:
  action:
    description:
      - C(start) starts stopped and hibernated desktops. C(resume) wakes hibernated ones only.
      - C(shutdown) asks the guest to shut down and stops it after O(shutdown_timeout).
      - C(hibernate) suspends running desktops to disk (C(status/suspend todisk=1)).
    type: str
    required: true
    choices: [start, resume, shutdown, hibernate]
  stores:
    description: Store codes whose desktops are selected.
    type: list
    elements: str
  tags:
    description: Tags every selected desktop must carry, e.g. C([role-desktop, city-shanghai]).
    type: list
    elements: str
  query:
    description:
      - JMESPath filter over the desktop records (C(name), C(vmid), C(node), C(status), C(power), C(lock),
        C(pool), C(online), C(store), C(city), C(region), C(image), C(version), C(role), C(tags)).
      - It must return records, e.g. C([?role=='desktop' && city=='shanghai']).
    type: str
  skip_in_use:
    description: Leave desktops tagged C(inuse) running on C(shutdown) and C(hibernate).
    type: bool
    default: true
  shutdown_timeout:
    description: Seconds a guest gets to shut down before it is stopped.
    type: int
    default: 120
  concurrency_per_node:
    description: Desktops worked on at once per node.
    type: int
    default: 4
  concurrency:
    description: Desktops worked on at once overall; 0 means O(concurrency_per_node) x nodes.
    type: int
    default: 0
  task_timeout:
    description: Seconds to wait for one PVE task.
    type: int
    default: 600
  lock_wait:
    description: Seconds to keep retrying while another task (a backup) holds a desktop's lock.
    type: int
    default: 120
requirements:
  - jmespath (for O(query))
'''

EXAMPLES = r'''
- name: Hibernate the desktops of two stores after closing (spares keep running)
  storedesk.vdi.desktop_power:
    api_host: pve-east.example.com
    action: hibernate
    stores: [sh-0001, sh-0002]
    tags: [role-desktop]

- name: Wake every Shanghai desktop 30 minutes before opening
  storedesk.vdi.desktop_power:
    api_host: pve-east.example.com
    action: start
    query: "[?city=='shanghai']"
'''

RETURN = r'''
desktops:
  description:
    - One record per selected desktop - C(store), C(name), C(vmid), C(node), C(power_before), C(operation)
      (C(start), C(shutdown), C(hibernate) or C(none)), C(reason) when skipped, C(status)
      (C(ok), C(failed), C(planned)), C(seconds).
  returned: always
  type: list
  elements: dict
api_requests:
  description: API requests this run made (login included).
  returned: always
  type: int
'''

from ansible_collections.storedesk.vdi.plugins.module_utils._vm_ops import DesktopOps
from ansible_collections.storedesk.vdi.plugins.module_utils._executor import run_bounded
from ansible_collections.storedesk.vdi.plugins.module_utils._pool_actual import confirm_live, parse_region
from ansible_collections.storedesk.vdi.plugins.module_utils._power_select import desktop_records, plan, select
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module

ARGSPEC = dict(
    action=dict(type='str', required=True, choices=['start', 'resume', 'shutdown', 'hibernate']),
    stores=dict(type='list', elements='str'),
    tags=dict(type='list', elements='str'),
    query=dict(type='str'),
    skip_in_use=dict(type='bool', default=True),
    shutdown_timeout=dict(type='int', default=120),
    concurrency_per_node=dict(type='int', default=4),
    concurrency=dict(type='int', default=0),
    task_timeout=dict(type='int', default=600),
    lock_wait=dict(type='int', default=120),
)


def execute(module, client):
    p = module.params
    actual = parse_region(client.get('/cluster/resources'), [])
    # /cluster/resources' status (and name) lags ~10 s (RRD cache; pve-manager PVE/API2Tools.pm extract_vm_stats):
    # a start right after a shutdown would see "running". One live guest list per node of the chosen desktops; a
    # query may filter on power or name, so then per node of every desktop its stores/tags select.
    chosen = select(desktop_records(actual), p['stores'], p['tags'])
    wanted = set(rec['node'] for rec in chosen if rec['online'])
    unread = wanted - set(confirm_live(client, actual, wanted))
    chosen = select(desktop_records(actual), p['stores'], p['tags'], p['query'])
    steps = plan(chosen, p['action'], p['skip_in_use'], unread)
    todo = [s for s in steps if s[1]]
    ops = DesktopOps(client, p['task_timeout'], p['lock_wait'], p['shutdown_timeout'])

    def apply(step):
        rec, op, _reason = step
        where = '{0} (vmid {1}, {2})'.format(rec['name'], rec['vmid'], rec['node'])
        getattr(ops, op)(rec['node'], rec['vmid'], where)

    nodes = max(1, len([n for n in actual['nodes'].values() if n['online']]))
    outcomes = {}
    if not module.check_mode and todo:
        for out in run_bounded(todo, apply, key=lambda s: s[0]['node'], per_key=p['concurrency_per_node'],
                               overall=p['concurrency'] or p['concurrency_per_node'] * nodes):
            outcomes[out.item[0]['vmid']] = out
    desktops = []
    for rec, op, reason in steps:
        out = outcomes.get(rec['vmid'])
        status = 'planned' if module.check_mode and op else 'ok'
        entry = {'store': rec['store'], 'name': rec['name'], 'vmid': rec['vmid'], 'node': rec['node'],
                 'power_before': rec['power'], 'operation': op or 'none', 'reason': reason, 'status': status,
                 'seconds': round(out.elapsed, 2) if out else 0.0}
        if out is not None and not out.ok:
            entry.update(status='failed', error=str(out.error))
        elif rec['node'] in unread:         # fail closed: the user learns which desktops were not decided
            entry.update(status='failed', error=reason)
        desktops.append(entry)
    result = {'changed': bool(todo), 'desktops': desktops, 'api_requests': client.stats['requests']}
    failed = [d for d in desktops if d['status'] == 'failed']
    if failed:
        module.fail_json(msg='{0} of {1} desktop(s) failed; first: {2}: {3}'.format(
            len(failed), len(todo) + len([d for d in desktops if d['node'] in unread]), failed[0]['name'],
            failed[0]['error']), **result)
    return result


def main():
    module = pve_module(ARGSPEC, required_one_of=[('stores', 'tags', 'query')])
    run_module(module, execute)


if __name__ == '__main__':
    main()

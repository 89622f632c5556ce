#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_info
short_description: The desktops of stores with their power state and address
version_added: 0.1.0
description:
  - Lists the managed desktops (tag C(storedesk), never templates) of one region's cluster from one bulk read of
    C(/cluster/resources) and the live guest list of each node hosting one (C(/nodes/{node}/qemu); the bulk read
    serves names and power states from a cache up to about 10 seconds old), optionally only those of given
    stores.
  - With O(addresses=true), asks the guest agent of every running desktop for its address (one request per
    running desktop, concurrently, at most 4 per node), so the records can be handed to
    M(storedesk.vdi.desktop_probe) and the other WinRM modules.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.attributes.read_only
  - storedesk.vdi.proxmox
options:
  stores:
    description: Store codes; all stores when omitted.
    type: list
    elements: str
  addresses:
    description: Ask the guest agents of the running desktops for their addresses.
    type: bool
    default: true
  concurrency:
    description: Guest-agent requests in flight at once.
    type: int
    default: 16
'''

EXAMPLES = r'''
- name: The running desktops of the pilot stores, with addresses
  storedesk.vdi.desktop_info:
    api_host: "{{ storedesk_regions.east.api_host }}"
    stores: [sh-0001, hq-0001]
  register: pilot

- name: Probe them over WinRM
  storedesk.vdi.desktop_probe:
    desktops: "{{ pilot.desktops | selectattr('address') | list }}"
'''

RETURN = r'''
desktops:
  description:
    - One record per desktop - C(name), C(vmid), C(node), C(store), C(city), C(image), C(version), C(role),
      C(power) (C(running), C(stopped), C(hibernated)), C(tags), C(uptime) (seconds since the desktop started, read
      live from its node's guest list), and C(address) (the guest agent's first non-loopback IPv4 address, or null
      when the desktop is not running or its agent does not answer).
  returned: always
  type: list
  elements: dict
  sample: [{name: sh-0001-d01, vmid: 1000, node: pve-e1, store: sh-0001, power: running, address: 10.21.1.11}]
api_requests:
  description: API requests this run made (the login included).
  returned: always
  type: int
'''

from ansible_collections.storedesk.vdi.plugins.module_utils import _inventory_hosts as inv
from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as guest_live
from ansible_collections.storedesk.vdi.plugins.module_utils._executor import run_bounded
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module


def execute(module, client):
    p = module.params
    records = inv.desktops(guest_live.resources(client, inv.is_managed), region=None)
    if p['stores'] is not None:
        wanted = set(p['stores'])
        records = [r for r in records if r['store'] in wanted]
    running = [r for r in records if r['power'] == 'running']

    def ask(record):
        answer = client.get(client.path('nodes', record['node'], 'qemu', record['vmid'], 'agent',
                                        'network-get-interfaces'))
        record['ip'] = inv.first_ipv4(answer)

    if p['addresses'] and running:
        run_bounded(running, ask, key=lambda r: r['node'], per_key=4, overall=max(1, p['concurrency']))
    for record in records:
        record['address'] = record.pop('ip')
        record.pop('region', None)
    return {'changed': False, 'desktops': records, 'api_requests': client.stats['requests']}


def main():
    run_module(pve_module(dict(stores=dict(type='list', elements='str'), addresses=dict(type='bool', default=True),
                               concurrency=dict(type='int', default=16))), execute)


if __name__ == '__main__':
    main()

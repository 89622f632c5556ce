#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: usb_mapping
short_description: Cluster USB resource mappings of Proxmox VE (/cluster/mapping/usb)
version_added: 0.1.0
description:
  - Creates, updates or removes one cluster-wide USB mapping, such as C(scanner-zebra-ds2208), with one entry per
    node (C(node=...,id=VVVV:PPPP[,path=BUS-PORT])). Desktops then attach the device with C(mapping=<id>)
    (M(storedesk.vdi.usb_device)), which a user or API token with C(Mapping.Use) on C(/mapping/usb/<id>) may do -
    no C(root@pam) needed, and desktops stay movable between the nodes that have an entry.
  - Give the entries one by one with O(entries), or the same device on many nodes with O(usb_id) and O(nodes)
    (every node of the cluster when O(nodes) is omitted).
  - Idempotent - entries are compared as a set (order does not matter); an update passes the digest read, so a
    concurrent change by someone else fails instead of being overwritten.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: Reads the mapping and returns what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the mapping's entries and description before and after.
options:
  name:
    description: Id of the mapping (letters, digits, C(.), C(_), C(-); starts with a letter).
    type: str
    required: true
    aliases: [id]
  description:
    description: Description of the mapping. Left as it is when omitted.
    type: str
  entries:
    description: The mapping's entries, one per node (PVE resolves the mapping on the node a VM starts on).
    type: list
    elements: dict
    suboptions:
      node:
        description: Node name.
        type: str
        required: true
      id:
        description: Vendor:product id C(VVVV:PPPP) of the device on that node.
        type: str
        required: true
      path:
        description: Physical port C(BUS-PORT[.PORT...]) when several identical devices are plugged into the node.
        type: str
      description:
        description: Note for this entry.
        type: str
  usb_id:
    description: The device C(VVVV:PPPP) for every node in O(nodes) (instead of O(entries)).
    type: str
  nodes:
    description: Nodes that get an entry for O(usb_id). Default - every node of the cluster (C(/nodes)).
    type: list
    elements: str
  state:
    description: C(present) creates or updates the mapping; C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
'''

EXAMPLES = r'''
- name: The payment terminal on every node of the east cluster
  storedesk.vdi.usb_mapping:
    api_host: pve-east.example.com
    name: pos-ingenico-lane3000
    description: Ingenico Lane/3000 payment terminal
    usb_id: "0b00:0084"

- name: A scanner on two nodes, at a fixed port on pve-e2
  storedesk.vdi.usb_mapping:
    api_host: pve-east.example.com
    name: scanner-zebra-ds2208
    entries:
      - {node: pve-e1, id: "05e0:1200"}
      - {node: pve-e2, id: "05e0:1200", path: 1-2.3}

- name: Remove a mapping no store uses any more
  storedesk.vdi.usb_mapping:
    api_host: pve-east.example.com
    name: scanner-old
    state: absent
'''

RETURN = r'''
mapping:
  description: The mapping after the run (as it would be in check mode); null when absent.
  returned: always
  type: dict
  sample: {id: pos-ingenico-lane3000, description: Ingenico Lane/3000, map: ['node=pve-e1,id=0b00:0084']}
action:
  description: C(create), C(update), C(delete), or null when nothing changed.
  returned: always
  type: str
api_requests:
  description: API requests this run made.
  returned: always
  type: int
'''

from ansible_collections.storedesk.vdi.plugins.module_utils import _usb_plan as up
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module

ARGSPEC = dict(
    name=dict(type='str', required=True, aliases=['id']),
    description=dict(type='str'),
    entries=dict(type='list', elements='dict', options=dict(
        node=dict(type='str', required=True),
        id=dict(type='str', required=True),
        path=dict(type='str'),
        description=dict(type='str'))),
    usb_id=dict(type='str'),
    nodes=dict(type='list', elements='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
)


def wanted_entries(client, p):
    if p['state'] == 'absent':
        return []
    if p['entries']:
        entries = [up.map_entry(e, 'entries[{0}]'.format(i)) for i, e in enumerate(p['entries'])]
    elif p['usb_id']:
        nodes = p['nodes'] or sorted(n['node'] for n in client.get('/nodes') or [])
        entries = [up.map_entry({'node': n, 'id': p['usb_id']}, 'usb_id') for n in nodes]
    else:
        raise InputError('mapping {0}: give entries, or usb_id (with nodes or for every node)'.format(p['name']))
    seen = set()
    for entry in entries:
        if entry['node'] in seen and not entry.get('path'):
            raise InputError('mapping {0}: node {1} has more than one entry; PVE refuses to start a VM then '
                             '("More than one USB mapping per host not supported")'.format(p['name'], entry['node']))
        seen.add(entry['node'])
    return entries


def view(name, current):
    if current is None:
        return None
    return {'id': name, 'description': current.get('description') or '', 'map': list(current.get('map') or [])}


def execute(module, client):
    p = module.params
    name = up.mapping_id(p['name'], 'name')
    entries = wanted_entries(client, p)
    current = next((m for m in client.get('/cluster/mapping/usb') or [] if m.get('id') == name), None)
    change = up.plan_mapping(current, entries, p['description'], p['state'])
    before = view(name, current)
    after = None
    if change and change['action'] != 'delete':
        after = dict(before or {'id': name, 'description': ''})
        after['map'] = change.get('map', after.get('map'))
        if change.get('description') is not None:
            after['description'] = change['description']
    elif not change:
        after = before
    if change and not module.check_mode:
        path = client.path('cluster', 'mapping', 'usb', name)
        if change['action'] == 'create':
            client.post('/cluster/mapping/usb', id=name, map=change['map'], description=change.get('description'))
        elif change['action'] == 'update':
            # PVE's update needs map every time, even for a description change.
            client.put(path, map=change.get('map') or list(current.get('map') or []),
                       description=change.get('description'), digest=current.get('digest'))
        else:
            client.delete(path)
    result = {'changed': bool(change), 'action': change['action'] if change else None, 'mapping': after,
              'api_requests': client.stats['requests']}
    if module._diff:
        result['diff'] = {'before': before or {}, 'after': after or {}}
    return result


def main():
    module = pve_module(ARGSPEC, mutually_exclusive=[('entries', 'usb_id'), ('entries', 'nodes')])
    run_module(module, execute)


if __name__ == '__main__':
    main()

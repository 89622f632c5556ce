# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's actual state: ONE bulk read of the region, plus details only where a plan needs them.

read_region(): GET /cluster/resources and GET /pools, whatever the number of desktops.
read_details(): per-VM config (protection, description of untagged half-clones, MAC before a net change)
and the guest agent's logged-in users, only for the desktops a plan may destroy or replace.
"""

from __future__ import annotations

from . import _tags
from ._executor import run_bounded
from ._pve_errors import PveApiError, PveConnectionError


def parse_region(resources, pools):
    """Plain data from the two reads: {'nodes': {..}, 'vms': [..], 'pools': set, 'vmids': set, 'storages': {..}}."""
    nodes, vms, storages, vmids = {}, [], {}, set()
    for item in resources or []:
        kind = item.get('type')
        if kind == 'node':
            nodes[item['node']] = {'name': item['node'], 'online': item.get('status') == 'online',
                                   'maxmem': int(item.get('maxmem') or 0), 'mem': int(item.get('mem') or 0)}
        elif kind == 'storage':
            storages[item.get('storage')] = storages.get(item.get('storage')) or bool(item.get('shared'))
        elif kind in ('qemu', 'lxc'):
            vmids.add(int(item['vmid']))
            if kind == 'qemu':
                vms.append(vm_record(item))
    for vm in vms:
        vm['online'] = nodes.get(vm['node'], {}).get('online', False)
    return {'nodes': nodes, 'vms': vms, 'pools': set(p.get('poolid') for p in pools or []), 'vmids': vmids,
            'storages': storages}


def vm_record(item):
    meta = _tags.parse(item.get('tags'))
    status = item.get('status')
    lock = item.get('lock')
    power = 'hibernated' if status == 'stopped' and lock == 'suspended' else status
    return {'vmid': int(item['vmid']), 'name': item.get('name') or '', 'node': item.get('node'),
            'status': status, 'power': power, 'lock': lock, 'pool': item.get('pool'),
            'template': bool(item.get('template')), 'maxmem': int(item.get('maxmem') or 0),
            'tags': meta['tags'], 'meta': meta}


def read_region(client):
    """The one bulk read (2 requests)."""
    return parse_region(client.get('/cluster/resources'), client.get('/pools'))


def _details_of(client, vm, users):
    path = client.path('nodes', vm['node'], 'qemu', vm['vmid'])
    out = {'config': client.get(path + '/config') or {}}
    if users:
        out['users'] = []
        if vm['power'] == 'running':
            try:
                answer = client.get(path + '/agent/get-users') or {}
                out['users'] = [u.get('user') for u in answer.get('result') or [] if u.get('user')]
            except PveApiError:
                pass    # no agent answer (not installed, still booting): nobody known to be logged in
    return out


def read_details(client, vms, users_for=(), per_node=8, overall=32):
    """{vmid: {'config': {...}, 'users': [...]}} for the given VMs (users only for vmids in users_for).

    VMs on offline nodes, or whose read fails, are left out: the plan then treats them as not removable.
    """
    vms = [vm for vm in vms if vm.get('online', True)]
    users_for = set(users_for)
    outcomes = run_bounded(vms, lambda vm: _details_of(client, vm, vm['vmid'] in users_for),
                           key=lambda vm: vm['node'], per_key=per_node, overall=overall)
    details = {}
    for outcome in outcomes:
        if outcome.ok:
            details[outcome.item['vmid']] = outcome.value
        elif not isinstance(outcome.error, (PveApiError, PveConnectionError)):
            raise outcome.error
    return details

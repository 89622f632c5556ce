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
            'storages': storages, 'pool_list': list(pools or [])}


def vm_record(item):
    meta = _tags.parse(item.get('tags'))
    status = item.get('status')
    lock = item.get('lock')
    power = 'hibernated' if status == 'stopped' and lock == 'suspended' else status
    return {'vmid': int(item['vmid']), 'name': item.get('name') or '', 'node': item.get('node'),
            'status': status, 'power': power, 'lock': lock, 'pool': item.get('pool'),
            'template': bool(item.get('template')), 'maxmem': int(item.get('maxmem') or 0),
            'tags': meta['tags'], 'meta': meta}


def read_region(client, pools=None):
    """The one bulk read (2 requests; 1 when the /pools answer is given)."""
    return parse_region(client.get('/cluster/resources'), client.get('/pools') if pools is None else pools)


def _details_of(client, vm, users):
    path = client.path('nodes', vm['node'], 'qemu', vm['vmid'])
    out = {'config': client.get(path + '/config') or {}}
    if vm.get('status') not in ('running', 'stopped', 'paused'):
        # no RRD entry yet (a clone made moments ago): status/current is live
        out['status'] = (client.get(path + '/status/current') or {}).get('status')
    if users:
        out['users'] = []
        if vm['power'] == 'running':
            try:
                answer = client.get(path + '/agent/get-users') or {}
                out['users'] = [u.get('user') for u in answer.get('result') or [] if u.get('user')]
            except (PveApiError, PveConnectionError) as exc:
                # Fail closed: no answer (agent not running, timed out) is NOT "nobody logged in".
                out['users'] = None
                out['users_error'] = str(getattr(exc, 'pve_message', None) or exc)[:120]
    return out


def read_details(client, vms, users_for=(), per_node=8, overall=32):
    """{vmid: {'config': {...}, 'users': [...]}} for the given VMs (users only for vmids in users_for).

    VMs on offline nodes are left out; a failed read is kept as {'config': {}, 'error': text}: the plan
    then keeps the desktop and says why (fail closed).
    """
    vms = [vm for vm in vms if vm.get('online', True)]
    users_for = set(users_for)
    outcomes = run_bounded(vms, lambda vm: _details_of(client, vm, vm['vmid'] in users_for),
                           key=lambda vm: vm['node'], per_key=per_node, overall=overall)
    details = {}
    for outcome in outcomes:
        if outcome.ok:
            details[outcome.item['vmid']] = outcome.value
        elif isinstance(outcome.error, (PveApiError, PveConnectionError)):
            error = outcome.error
            details[outcome.item['vmid']] = {'config': {}, 'error': str(getattr(error, 'pve_message', '') or
                                                                        error)[:120]}
        else:
            raise outcome.error
    return details


def confirm_live(client, actual, nodes=None):
    """Guests with no RRD entry yet (a clone made seconds ago: `status: unknown`, no name, no template flag in
    /cluster/resources) get their live name/status/template from the node's guest list: GET /nodes/{node}/qemu
    (qemu-server PVE/API2/Qemu.pm `vmlist` -> PVE/QemuServer.pm `vmstatus`: name and template from the config,
    status from the running process). One read per node that has such guests. Returns the nodes read (a node
    whose read failed is left out: its guests keep the cached fields)."""
    every = nodes is not None       # the given nodes: every guest on them (a power decision needs live status)
    nodes = sorted(set(nodes)) if every else sorted(set(
        vm['node'] for vm in actual['vms'] if vm['status'] not in ('running', 'stopped', 'paused')
        and vm.get('online', True)))
    read = []
    for node in nodes:
        try:
            live = dict((int(item['vmid']), item) for item in client.get(client.path('nodes', node, 'qemu')) or [])
        except (PveApiError, PveConnectionError):
            continue
        read.append(node)
        for vm in actual['vms']:
            item = live.get(vm['vmid'])
            if vm['node'] != node or item is None or (not every and vm['status'] in ('running', 'stopped', 'paused')):
                continue
            vm['lock'] = item.get('lock')
            vm['status'] = item.get('status') or vm['status']
            vm['template'] = bool(item.get('template'))
            vm['maxmem'] = int(item.get('maxmem') or vm['maxmem'] or 0)
            if item.get('name') and item['name'] != 'VM {0}'.format(vm['vmid']):
                vm['name'] = item['name']
            vm['power'] = 'hibernated' if vm['status'] == 'stopped' and vm['lock'] == 'suspended' else vm['status']
    return read


def confirm_templates(client, actual, images):
    """Templates converted moments ago still read `template: 0` in /cluster/resources (RRD cache, pve-manager
    PVE/API2Tools.pm extract_vm_stats); their tags are live. For an (image, version) with no flagged template,
    read the config of the VMs tagged with it (live) and flag the ones that are templates."""
    for name, version in set(images):
        vms = [vm for vm in actual['vms'] if vm['meta']['image'] == name and vm['meta']['version'] == version]
        if not vms or any(vm['template'] for vm in vms):
            continue
        for vm in vms:
            if vm.get('lock') == 'clone' or not vm.get('online', True):
                continue
            try:
                config = client.get(client.path('nodes', vm['node'], 'qemu', vm['vmid'], 'config')) or {}
            except (PveApiError, PveConnectionError):
                continue
            if str(config.get('template', 0)) in ('1', 'true'):
                vm['template'] = True
                vm['name'] = config.get('name') or vm['name']
                memory = str(config.get('memory', '')).split(',', maxsplit=1)[0].replace('current=', '')
                if not vm['maxmem'] and memory.isdigit():
                    vm['maxmem'] = int(memory) * 1024 * 1024      # MiB; PVE 8.1+ may write current=<MiB>


def clones_in_flight(actual, foreign_blocks):
    """VMs PVE is cloning into (`lock: clone`: qemu-server PVE/API2/Qemu.pm clone_vm writes a temporary config
    holding only `lock: clone`, the name with the first disk, joins the pool last) that no live run claims."""
    from ._lease import in_blocks
    return [vm for vm in actual['vms'] if vm['lock'] == 'clone' and not in_blocks(vm['vmid'], foreign_blocks)]

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which desktops a device module works on, and where they answer (private).

select(): desktops by name or by store code from ONE /cluster/resources answer (pure).
addresses(): the guest agent's IPv4 address of running desktops, concurrently (run_bounded).
"""

from __future__ import annotations

from . import _inventory_hosts as inv
from ._executor import run_bounded
from ._pve_errors import InputError


def store_pool(store):
    return 'store-{0}'.format(str(store).lower())


def select(resources, names=None, store=None):
    """Desktop records (see _inventory_hosts.desktop) for the names given, or of the store's pool.

    A store's desktops are the VMs in pool store-<code>, or tagged store-<code>; templates never.
    Names must each match exactly one VM: InputError lists what is missing or ambiguous.
    """
    vms = [inv.desktop(item, None) for item in resources or []
           if item.get('type') == 'qemu' and not item.get('template')]
    chosen = []
    if names:
        missing, twice = [], []
        for name in names:
            found = [vm for vm in vms if vm['name'] == name]
            if not found:
                missing.append(name)
            elif len(found) > 1:
                twice.append('{0} (vmids {1})'.format(name, ', '.join(str(vm['vmid']) for vm in found)))
            elif found[0] not in chosen:
                chosen.append(found[0])
        if missing or twice:
            parts = []
            if missing:
                parts.append('no VM named {0}'.format(', '.join(missing)))
            if twice:
                parts.append('more than one VM named {0}'.format('; '.join(twice)))
            raise InputError('desktops: ' + '; '.join(parts), hint='give names exactly as PVE shows them')
    if store:
        pool = store_pool(store)
        in_store = [vm for vm in vms if vm['pool'] == pool or vm['store'] == str(store).lower()]
        if names:
            outside = [vm['name'] for vm in chosen if vm not in in_store]
            if outside:
                raise InputError('desktops {0} are not in store {1} (pool {2})'.format(', '.join(outside), store, pool))
        else:
            chosen = in_store
    return sorted(chosen, key=lambda vm: (vm['name'], vm['vmid']))


def node_path(client, record):
    return client.path('nodes', record['node'], 'qemu', record['vmid'])


def addresses(client, records, per_node=8, overall=32):
    """{vmid: (address or None, reason)} for the records; only running desktops are asked."""
    running = [r for r in records if r['power'] == 'running']
    out = dict((r['vmid'], (None, 'the desktop is {0}'.format(r['power']))) for r in records if r not in running)

    def ask(record):
        answer = client.get(node_path(client, record) + '/agent/network-get-interfaces')
        return inv.first_ipv4(answer or {})

    for outcome in run_bounded(running, ask, key=lambda r: r['node'], per_key=per_node, overall=overall):
        vmid = outcome.item['vmid']
        if outcome.ok and outcome.value:
            out[vmid] = (outcome.value, None)
        elif outcome.ok:
            out[vmid] = (None, 'the guest agent reports no IPv4 address yet')
        else:
            out[vmid] = (None, 'no answer from the guest agent ({0})'.format(outcome.error))
    return out

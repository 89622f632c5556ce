# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guests as they are now, not as /cluster/resources' RRD cache last saw them (private).

/cluster/resources (pve-manager PVE/API2/Cluster.pm `resources`) serves a guest's existence, node, pool, lock and
tags live, but `name`, `status` and `template` from the RRD cache pvestatd refreshes about every 10 s
(PVE/API2Tools.pm `extract_vm_stats`; a guest with no RRD entry yet is `status: unknown` with no name). A lookup
by name, a power state or a template flag read right after a clone, rename, start or conversion is old.

GET /nodes/{node}/qemu (qemu-server PVE/API2/Qemu.pm `vmlist` -> PVE/QemuServer.pm `vmstatus`) takes name,
template, lock, tags and maxmem from each guest's config, status and uptime (from the process start time) from its
process: live. resources() reads the bulk list once, then the guest list of each node that hosts a guest `wanted`
picks (by live fields only), concurrently: one request per node, whatever the number of guests.
"""

from __future__ import annotations

from ._executor import run_bounded
from ._pve_errors import PveApiError, PveConnectionError

LIVE_FIELDS = ('status', 'template', 'lock', 'tags', 'uptime', 'maxmem')
# vmstatus leaves these out when unset (no template flag, no lock, no tags): absent live means absent
UNSET_WHEN_ABSENT = ('template', 'lock', 'tags')


def overlay(items, live_by_node):
    """The /cluster/resources items with name and the LIVE_FIELDS of every guest found in its node's live
    list ({node: {vmid: vmlist item}}). Guests of nodes not read (offline, a failed read) keep the cached values."""
    out = []
    for item in items or []:
        live = live_by_node.get(item.get('node'), {}).get(_vmid(item)) if item.get('type') == 'qemu' else None
        if live is None:
            out.append(item)
            continue
        item = dict(item)
        for key in LIVE_FIELDS:
            if live.get(key) is not None:
                item[key] = live[key]
            elif key in UNSET_WHEN_ABSENT:
                item.pop(key, None)
        name = live.get('name')
        if name and name != 'VM {0}'.format(item['vmid']):      # vmstatus' stand-in for a config without a name
            item['name'] = name
        out.append(item)
    return out


def _vmid(item):
    try:
        return int(item.get('vmid'))
    except (TypeError, ValueError):
        return None


def read_nodes(client, nodes, per_node=1, overall=8):
    """{node: {vmid: vmlist item}} for the nodes whose guest list could be read (others are left out)."""
    def one(node):
        return dict((int(g['vmid']), g) for g in client.get(client.path('nodes', node, 'qemu')) or [])

    out = {}
    for outcome in run_bounded(sorted(set(nodes)), one, key=lambda n: n, per_key=per_node, overall=overall):
        if outcome.ok:
            out[outcome.item] = outcome.value
        elif not isinstance(outcome.error, (PveApiError, PveConnectionError)):
            raise outcome.error
    return out


def resources(client, wanted=None, **params):
    """GET /cluster/resources (type=vm unless `params` say otherwise), with the guests `wanted` picks (default:
    every qemu guest) made live from their nodes' guest lists. Nodes the answer marks offline
    (`status: unknown` on every guest there) are read all the same; a failed read keeps the cached values."""
    params = params or {'type': 'vm'}
    items = client.get('/cluster/resources', **params) or []
    pick = wanted or (lambda item: True)
    nodes = set(item.get('node') for item in items if item.get('type') == 'qemu' and item.get('node') and pick(item))
    if not nodes:
        return items
    return overlay(items, read_nodes(client, nodes))

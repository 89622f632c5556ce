# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's placement (private, pure): the node of each new desktop (anti-affinity, then free memory),
the batches of an image push (canary first), and the memory a push needs next to the old desktops.
Anything that does not fit is an InputError naming the stores or nodes and by how much, before any change."""

from __future__ import annotations

from ._pve_errors import InputError

GIB = 1024 ** 3


def _reserve(actual, allowed):
    """Memory (bytes) each online node can still give desktops, as if every VM on it ran."""
    room = {}
    for name, node in actual['nodes'].items():
        if not node['online'] or (allowed and name not in allowed):
            continue
        idle = sum(vm['maxmem'] for vm in actual['vms']
                   if vm['node'] == name and not vm['template'] and vm['status'] != 'running')
        room[name] = node['maxmem'] - node['mem'] - idle
    return room


def place(stores, ops, actual, params, details, templates):
    """Nodes for new desktops: anti-affinity first (fewest desktops of the store), then most free memory."""
    room = _reserve(actual, set(params.get('nodes') or []))
    per_store = {}
    for op in ops:
        if op.get('node') and 'warning' not in op and op['actions'] != ['destroy']:
            per_store.setdefault(op['store'], {}).setdefault(op['node'], 0)
            per_store[op['store']][op['node']] += 1
    short = {}
    for op in ops:
        if 'create' not in op.get('actions', ()):
            continue
        tpl = templates[op['store']]
        mem = tpl['maxmem'] or 4 * GIB
        nodes = [n for n in room if room[n] >= mem]
        tpl_cfg = (details.get(tpl['vmid']) or {}).get('config')
        if tpl_cfg is not None and not _shared(tpl_cfg, actual):
            nodes = [n for n in nodes if n == tpl['node']]
        if not nodes:
            short[op['store']] = short.get(op['store'], 0) + 1
            continue
        counts = per_store.setdefault(op['store'], {})
        node = min(nodes, key=lambda n: (counts.get(n, 0), -room[n], n))
        op['node'] = node
        room[node] -= mem
        counts[node] = counts.get(node, 0) + 1
    if not short:
        return room
    if short:
        mem = max(t['maxmem'] for t in templates.values()) or 4 * GIB
        fits = sum(max(0, r) // mem for r in room.values())
        total = sum(short.values())
        raise InputError('{0}: count: {1} desktop(s) more than the region has room for ({2}); nothing was '
                         'changed (lower count by {1} or add memory/nodes)'.format(
                             ', '.join('store {0} ({1} short)'.format(k, v) for k, v in sorted(short.items())),
                             total, 'all {0} online node(s) full'.format(len(room)) if not fits else
                             'room left for {0} more of {1:.1f} GiB'.format(fits, mem / GIB)),
                         stores=sorted(short))


def push_room(ops, actual, params, templates, room):
    """An image push needs memory like new desktops do: each new clone starts while the old desktop still runs
    (peak = the net growth of every replace + the largest batch's old desktops on a node). Raises InputError
    naming each short node and by how much, before any change."""
    need, batch_old = {}, {}
    for op in ops:
        if 'replace' not in op.get('actions', ()) or not op.get('node'):
            continue
        new = templates[op['store']]['maxmem'] or 4 * GIB
        old = op['vm']['maxmem'] or new
        # the old desktop's memory is already taken (in `mem` if it runs, reserved by _reserve if not)
        need[op['node']] = need.get(op['node'], 0) + max(0, new - old)
        key = (op['node'], op.get('batch'))
        batch_old[key] = batch_old.get(key, 0) + old
    short, full = [], None
    for name in sorted(need):
        peak = need[name] + max([v for (n, _b), v in batch_old.items() if n == name] or [0])
        if name not in room:
            full = full or _reserve(actual, set())
        free = room[name] if name in room else full.get(name, 0)
        if peak > free:
            short.append('node {0}: needs {1:.1f} GiB, has {2:.1f} GiB free ({3:.1f} GiB short)'.format(
                name, peak / GIB, max(0, free) / GIB, (peak - max(0, free)) / GIB))
    if short:
        raise InputError('image push: not enough memory for the new version next to the old desktops; nothing was '
                         'changed: {0} (lower push.batch_size, free memory, or push fewer stores at once)'.format(
                             '; '.join(short)), stores=sorted(set(op['store'] for op in ops
                                                                  if 'replace' in op.get('actions', ()))))


def _shared(config, actual):
    """True if every disk of the template lives on shared storage (a linked clone may go to any node)."""
    for key, value in config.items():
        if key[:4] in ('scsi', 'virt', 'sata', 'ide', 'efid', 'tpms') and ':' in str(value) \
                and 'media=cdrom' not in str(value):
            if not actual['storages'].get(str(value).split(':', maxsplit=1)[0]):
                return False
    return True


def batches(ops, params):
    """Image push: canary first, then batches of batch_size; desktops waiting for their user go last."""
    push = params.get('push') or {}
    replaces = [op for op in ops if 'replace' in op.get('actions', ())]
    replaces.sort(key=lambda op: (bool(op['reason']), op['store'], op['index']))
    canary, size = max(0, push.get('canary', 1)), max(1, push.get('batch_size', 5))
    batch, used = 0, 0
    for pos, op in enumerate(replaces):
        if pos < canary:
            op['batch'] = 0
            continue
        if used == 0:
            batch += 1
        op['batch'] = batch
        used = (used + 1) % size
    return replaces

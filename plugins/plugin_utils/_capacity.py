# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity against the plan (private, pure): the planned pools at baseline and at the event peak,
per region and per node, from cluster_info's figures and the inventory's stores."""

from __future__ import annotations

GIB = 1024 ** 3


def _demand(stores, region, key):
    count = mem = cores = 0
    for store in stores:
        if store.get('region') != region:
            continue
        desk = store.get('desktops') or {}
        prof = store.get('profile') or {}
        n = int(desk.get(key, 0)) + int(desk.get('spares', 0))
        count += n
        mem += n * int(prof.get('memory_mib', 4096)) * 1024 ** 2
        cores += n * int(prof.get('cores', 2))
    return count, mem, cores


def plan(clusters, stores, regions, disk_delta_gib=10, storage='vdi-ceph'):
    """{'regions': {name: {...}}, 'nodes': [...]}: what fits, with headroom, at baseline and event peak.

    clusters: {region: cluster_info result}; regions: storedesk_regions (nodes_reserved_memory_gib).
    A node's share of a region's desktops follows its free memory (the pool module places that way).
    """
    out = {'regions': {}, 'nodes': []}
    for region, facts in sorted(clusters.items()):
        reserved = int((regions.get(region) or {}).get('nodes_reserved_memory_gib', 0)) * GIB
        online = [n for n in facts['nodes'] if n['online']]
        free = sum(max(0, n['memory_free_bytes'] - reserved) for n in online)
        current_storedesk = sum((s or {}).get('desktops', 0) for s in (facts.get('stores') or {}).values())
        entry = {'region': region, 'nodes_online': len(online), 'nodes_total': len(facts['nodes']), 'quorate': facts['cluster']['quorate'],
                 'memory_free_gib': round(free / GIB, 1), 'desktops_now': current_storedesk}
        for key in ('baseline', 'event'):
            count, mem, cores = _demand(stores, region, key)
            entry['desktops_' + key] = count
            entry['memory_{0}_gib'.format(key)] = round(mem / GIB, 1)
            entry['vcpus_' + key] = cores
        mem_event = _demand(stores, region, 'event')[1]
        entry['fits_event'] = mem_event <= free and entry['quorate'] and bool(online)
        entry['headroom_event_gib'] = round((free - mem_event) / GIB, 1)
        ceph = [s for n in online for s in n['storages'] if s['storage'] == storage][:1]
        need_disk = entry['desktops_event'] * disk_delta_gib * GIB
        entry['storage'] = {'name': storage, 'avail_gib': round(ceph[0]['avail_bytes'] / GIB, 1) if ceph else 0,
                            'need_event_gib': round(need_disk / GIB, 1),
                            'fits': bool(ceph) and ceph[0]['avail_bytes'] >= need_disk}
        reasons = []
        if not entry['quorate']:
            reasons.append('cluster has no quorum')
        if mem_event > free:
            reasons.append('event peak needs {0:.0f} GiB, {1:.0f} GiB free'.format(mem_event / GIB, free / GIB))
        if not entry['storage']['fits']:
            reasons.append('storage {0} lacks {1:.0f} GiB'.format(storage, entry['storage']['need_event_gib']
                                                                  - entry['storage']['avail_gib']))
        entry['fits_event'] = entry['fits_event'] and entry['storage']['fits']
        entry['reason'] = '; '.join(reasons) or 'fits'
        out['regions'][region] = entry
        for node in facts['nodes']:
            share = (max(0, node['memory_free_bytes'] - reserved) / free) if free and node['online'] else 0
            limit = max(0, node['memory_total_bytes'] - reserved)
            peak = node['memory_used_bytes'] + share * mem_event
            out['nodes'].append({'region': region, 'node': node['name'], 'online': node['online'],
                                 'memory_total_gib': round(node['memory_total_bytes'] / GIB, 1),
                                 'memory_used_gib': round(node['memory_used_bytes'] / GIB, 1),
                                 'memory_event_peak_gib': round(peak / GIB, 1),
                                 'memory_limit_gib': round(limit / GIB, 1),
                                 'fits_event': node['online'] and peak <= limit})
    out['node_bars'] = [{'label': '{0}/{1}'.format(n['region'], n['node']), 'value': n['memory_event_peak_gib'],
                         'base': n['memory_used_gib'], 'limit': n['memory_limit_gib'], 'ok': n['fits_event']}
                        for n in out['nodes']]
    return out

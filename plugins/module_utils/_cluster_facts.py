# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_info's facts from the API's own figures (private, pure: plain data in, plain data out)."""

from __future__ import annotations

from . import _tags

GIB = 1024 ** 3


def read_cluster(client):
    """The one bulk read: cluster status, version, /cluster/resources and pools (4 requests)."""
    return {'status': client.get('/cluster/status') or [], 'version': client.get('/version') or {},
            'resources': client.get('/cluster/resources') or [], 'pools': client.get('/pools') or []}


def _storage(item):
    total, used = int(item.get('maxdisk') or 0), int(item.get('disk') or 0)
    return {'storage': item.get('storage'), 'node': item.get('node'), 'type': item.get('plugintype'),
            'shared': bool(item.get('shared')), 'content': sorted(filter(None, str(item.get('content', '')).split(','))),
            'active': item.get('status') == 'available', 'total_bytes': total, 'used_bytes': used,
            'avail_bytes': max(0, total - used)}


def _node(item, storages, guests):
    online = item.get('status') == 'online'
    mem_total, mem_used = int(item.get('maxmem') or 0), int(item.get('mem') or 0)
    mine = [g for g in guests if g['node'] == item['node']]
    return {'name': item['node'], 'online': online, 'cpu_cores': int(item.get('maxcpu') or 0),
            'cpu_usage': float(item.get('cpu') or 0.0), 'memory_total_bytes': mem_total,
            'memory_used_bytes': mem_used, 'memory_free_bytes': max(0, mem_total - mem_used),
            'uptime': int(item.get('uptime') or 0),
            'vms_total': len([g for g in mine if not g['template']]),
            'vms_running': len([g for g in mine if g['status'] == 'running' and not g['template']]),
            'memory_committed_bytes': sum(g['maxmem'] for g in mine if not g['template']),
            'vcpus_committed': sum(g['maxcpu'] for g in mine if not g['template']),
            'storages': [s for s in storages if s['node'] == item['node']]}


def _guest(item):
    tags = _tags.parse(item.get('tags'))
    return {'vmid': int(item['vmid']), 'name': item.get('name'), 'node': item.get('node'),
            'status': item.get('status'), 'template': bool(item.get('template')), 'pool': item.get('pool'),
            'maxmem': int(item.get('maxmem') or 0), 'maxcpu': int(item.get('maxcpu') or 0),
            'tags': tags['tags'], 'meta': tags}


def build_facts(raw):
    """Everything the assessment plans capacity with, from the raw read."""
    cluster = next((s for s in raw['status'] if s.get('type') == 'cluster'), {})
    members = [s for s in raw['status'] if s.get('type') == 'node']
    resources = raw['resources']
    guests = [_guest(r) for r in resources if r.get('type') == 'qemu']
    storages = [_storage(r) for r in resources if r.get('type') == 'storage']
    node_items = sorted((r for r in resources if r.get('type') == 'node'), key=lambda r: r['node'])
    nodes = [_node(r, storages, guests) for r in node_items]
    templates = [{'vmid': g['vmid'], 'name': g['name'], 'node': g['node'], 'tags': g['tags'],
                  'image': g['meta']['image'], 'version': g['meta']['version']}
                 for g in guests if g['template']]
    stores = {}
    for g in guests:
        code = g['meta']['store']
        if g['template'] or not g['meta']['managed'] or not code:
            continue
        entry = stores.setdefault(code, {'desktops': 0, 'running': 0, 'nodes': {}, 'images': {}})
        entry['desktops'] += 1
        entry['running'] += g['status'] == 'running'
        entry['nodes'][g['node']] = entry['nodes'].get(g['node'], 0) + 1
        version = g['meta']['version'] or 'unknown'
        entry['images'][version] = entry['images'].get(version, 0) + 1
    online = [n for n in nodes if n['online']]
    return {
        'cluster': {'name': cluster.get('name'), 'quorate': bool(cluster.get('quorate', 1)),
                    'nodes_total': len(members) or len(nodes), 'nodes_online': len(online)},
        'version': {'version': raw['version'].get('version'), 'release': raw['version'].get('release')},
        'nodes': nodes,
        'storages': storages,
        'templates': sorted(templates, key=lambda t: (t['name'] or '', t['vmid'])),
        'pools': sorted(({'poolid': p.get('poolid'), 'comment': p.get('comment')} for p in raw['pools']),
                        key=lambda p: p['poolid']),
        'stores': dict(sorted(stores.items())),
        'totals': {'cpu_cores': sum(n['cpu_cores'] for n in online),
                   'memory_total_bytes': sum(n['memory_total_bytes'] for n in online),
                   'memory_free_bytes': sum(n['memory_free_bytes'] for n in online),
                   'desktops': sum(s['desktops'] for s in stores.values()),
                   'vms': len([g for g in guests if not g['template']])},
    }

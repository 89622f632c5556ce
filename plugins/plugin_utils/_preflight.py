# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The multi-region pre-flight (private, pure): what the read-only pass over every region found, as one line per
problem naming the region, the store or setting, and the fix -- so a run stops before its first write anywhere.

Input is what the store_pool role registered: a cluster_info result per region and, when the run spans more than
one region, a check-mode desktop_pool result per region (its plan: templates, placement, push capacity).
"""

from __future__ import annotations

import re

# desktop_pool's own summary in front of its problems ("2 problem(s) in the input, nothing was changed: ...")
_LEAD = re.compile(r'^\d+ problem\(s\) in the input, nothing was changed: ')
# its problems are joined with '; ', each starting with 'store <code>: ' or a setting ('nodes: ')
_SPLIT = re.compile(r'; (?=store |nodes: |image: |push: )')
# desktop_pool's store fields that the inventory calls store_<field>
_INVENTORY_FIELD = re.compile(r'^(store \S+: )(bridge|vlan): ')


def _by_region(results):
    """{region: result} from a registered loop (each result's `item` is the region name)."""
    return dict((r.get('item'), r) for r in results or [] if isinstance(r, dict) and not r.get('skipped'))


def _node_problems(region, wanted, facts, out):
    """Placement nodes named in storedesk_regions.<region>.nodes: each a node of that cluster, and online.

    /cluster/resources gives a node `status: online` only when it is an online cluster member with fresh RRD
    data, else `unknown` (pve-manager PVE/API2Tools.pm extract_node_stats, used by PVE/API2/Cluster.pm
    resources); either way nothing can be cloned or started there."""
    field = 'region {0}: storedesk_regions.{0}.nodes'.format(region)
    if wanted is None:
        return
    if not isinstance(wanted, list) or not all(isinstance(n, str) and n for n in wanted):
        out.append('{0}: {1!r} is not a list of node names (e.g. [pve-e1, pve-e2], or leave nodes out)'.format(
            field, wanted))
        return
    nodes = dict((n.get('name'), n) for n in facts.get('nodes') or [])
    unknown = [n for n in wanted if n not in nodes]
    if unknown:
        out.append('{0}: {1} not in this cluster (its nodes: {2}) (name nodes of region {3}, or leave nodes '
                   'out)'.format(field, ', '.join(unknown), ', '.join(sorted(nodes)) or 'none', region))
    offline = [n for n in wanted if n in nodes and not nodes[n].get('online')]
    if offline:
        out.append('{0}: {1} offline (bring {2} back, or take {3} out of nodes for this run)'.format(
            field, ', '.join(offline), 'it' if len(offline) == 1 else 'them', 'it' if len(offline) == 1 else 'them'))


def _storage_problems(region, storage, wanted, facts, out):
    """The backup storage a reclaim writes vzdump archives to: on every online placement node, for backups."""
    online = [n['name'] for n in facts.get('nodes') or [] if n.get('online')]
    nodes = [n for n in (wanted if isinstance(wanted, list) else online) if n in online]
    have = dict((s.get('node'), s) for s in facts.get('storages') or [] if s.get('storage') == storage)
    missing = [n for n in nodes if n not in have or not have[n].get('active')]
    field = 'region {0}: store_pool_backup_storage'.format(region)
    if missing:
        out.append('{0}: storage {1!r} is not available on {2} (name a backup storage of every node of region '
                   '{3})'.format(field, storage, ', '.join(missing), region))
    elif nodes and any('backup' not in (have[n].get('content') or []) for n in nodes):
        out.append('{0}: storage {1!r} does not hold backups (content: {2}) (name a storage with content backup, '
                   'or enable backup on it)'.format(field, storage, ', '.join(have[nodes[0]].get('content') or [])))


def _plan_problems(region, result, out):
    """A check-mode desktop_pool run that failed: its problems, each prefixed with the region. The store network
    fields are named as the inventory names them (desktop_pool's bridge check: module_utils/_bridges.py)."""
    text = _LEAD.sub('', str(result.get('msg') or 'failed without a message'))
    for part in _SPLIT.split(text):
        if part.startswith('nodes: '):   # reported above, with the inventory's field name
            continue
        out.append('region {0}: {1}'.format(region, _INVENTORY_FIELD.sub(r'\1store_\2: ', part)))


def preflight_problems(clusters, plans=None, regions=None, backup_storage=None):
    """Every problem the read-only pass found, 'region <r>: ...' one a line; [] when every region is ready.

    clusters: registered cluster_info loop results (`item` = region); plans: registered check-mode desktop_pool
    loop results (or None); regions: storedesk_regions (its `nodes` are the placement nodes); backup_storage:
    the vzdump storage when the run backs desktops up before destroying them, else None.
    """
    regions = regions or {}
    out = []
    plans = _by_region(plans)
    for region, facts in sorted(_by_region(clusters).items()):
        if facts.get('failed'):
            out.append('region {0}: the cluster could not be read: {1} (check storedesk_regions.{0}.api_host / '
                       'api_port and the credentials)'.format(region, facts.get('msg')))
            continue
        if not (facts.get('cluster') or {}).get('quorate', True):
            out.append('region {0}: the cluster has no quorum, PVE refuses every change (bring its nodes back '
                       'first)'.format(region))
        wanted = (regions.get(region) or {}).get('nodes')
        _node_problems(region, wanted, facts, out)
        if backup_storage:
            _storage_problems(region, backup_storage, wanted, facts, out)
    for region, result in sorted(plans.items()):
        if result.get('failed'):
            _plan_problems(region, result, out)
    return out

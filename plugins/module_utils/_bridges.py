# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A NIC's bridge on its nodes (private): the one rule (`refusal`) desktop_pool applies to a store before any
change (and, through desktop_pool's check-mode run, the store_pool pre-flight), and golden_image to its build VM.

PVE accepts a netN naming any bridge and fails only at the start, inside the task: qemu-server
QemuServer.pm `print_netdevice_full` -> pve-common src/PVE/Network.pm `read_bridge_mtu`: "bridge '<b>' does
not exist". A VLAN tag on a Linux bridge that is not VLAN-aware works (Network.pm `tap_plug` ->
`activate_bridge_vlan` builds <bridge>v<tag> on its physical ports) unless the bridge has no physical port:
"no physical interface on bridge '<b>'". OVS bridges take tags as they are.
The listing (pve-manager PVE/API2/Network.pm `index`, GET /nodes/{node}/network?type=any_bridge) needs no
privilege but shows a bridge only to a user with SDN.Audit or SDN.Use on /sdn/zones/localnetwork/<bridge> (or on
one of its VLANs): a bridge the API user may not use looks missing, and would be refused at clone time anyway.
"""

from __future__ import annotations

# Actions that leave a desktop on its store's bridge and start it or keep it startable.
BRIDGE_ACTIONS = frozenset(('create', 'replace', 'adopt', 'reconfigure', 'start', 'resume'))


def read_bridges(client, nodes):
    """{node: {iface: entry}}: one GET /nodes/{node}/network?type=any_bridge per node."""
    out = {}
    for node in sorted(set(nodes)):
        listed = client.get(client.path('nodes', node, 'network'), type='any_bridge') or []
        out[node] = dict((i.get('iface'), i) for i in listed)
    return out


def _vlan_refused(entry, vlan):
    """activate_bridge_vlan's refusal: a tag on a Linux bridge, not VLAN-aware, without a physical port."""
    if not vlan or entry.get('type', 'bridge') != 'bridge':
        return False
    return not entry.get('bridge_vlan_aware') and not str(entry.get('bridge_ports') or '').split()


def refusal(bridge, vlan, nodes, by_node, guests='its desktops', rename='name a bridge of every placement node'):
    """The one rule: (field, problem, fix) when PVE would fail the start of a NIC on `bridge` (tag `vlan`) on one of
    `nodes` (read in `by_node`), else None. field: 'bridge' or 'vlan'; `guests` and `rename` word it for the caller."""
    bridge = bridge or 'vmbr0'
    nodes = sorted(n for n in nodes if n in by_node)
    missing = [n for n in nodes if bridge not in by_node[n]]
    if missing:
        seen = sorted(set.intersection(*[set(by_node[n]) for n in nodes])) if nodes else []
        there = ', '.join(seen) or 'none'
        problem = '{0!r} is not a bridge on {1} (bridges there: {2}); PVE would create {3} and fail every start ' \
                  '("bridge \'{0}\' does not exist")'.format(bridge, ', '.join(missing), there, guests)
        return ('bridge', problem,
                '{0}, create {1} on {2}, or, if it exists, give the API user SDN.Use on /sdn/zones/localnetwork/{1} '
                '(bridges it may not use are not listed)'.format(rename, bridge, 'it' if len(missing) == 1 else 'them'))
    refused = [n for n in nodes if _vlan_refused(by_node[n][bridge], vlan)]
    if refused:
        return ('vlan', 'tag {0} on bridge {1!r}, which is not VLAN-aware and has no physical port on {2}; PVE fails '
                'every start ("no physical interface on bridge \'{1}\'")'.format(vlan, bridge, ', '.join(refused)),
                'make {0} VLAN-aware (bridge-vlan-aware yes) or give it a port on those nodes, or use a VLAN-aware '
                'bridge'.format(bridge))
    return None


def bridge_problems(stores, by_node, problems):
    """Add to `problems` (a _store_rules.Problems) each store whose bridge is missing on one of its nodes, or
    whose VLAN tag PVE cannot plug there. stores: [{'code', 'bridge', 'vlan', 'nodes': [...]}]."""
    for store in stores:
        found = refusal(store.get('bridge'), store.get('vlan'), store['nodes'], by_node)
        if found:
            problems.add(store['code'], *found)


def node_refusal(client, node, bridge, vlan, guests, rename):
    """refusal() for one node, read from the API: golden_image's check of its build VM's NIC."""
    return refusal(bridge, vlan, [node], read_bridges(client, [node]), guests=guests, rename=rename)


def store_nodes(stores, ops, placement):
    """[{'code', 'bridge', 'vlan', 'nodes'}] for the stores a plan puts on their bridge: their placement nodes
    and the nodes of those ops. placement: the online nodes new desktops may go to."""
    touched = {}
    for op in ops:
        if set(op.get('actions') or ()) & BRIDGE_ACTIONS:
            touched.setdefault(op['store'], set()).update([op['node']] if op.get('node') else [])
    return [{'code': s['code'], 'bridge': s.get('bridge'), 'vlan': s.get('vlan'),
             'nodes': sorted(touched[s['code']] | set(placement))} for s in stores if s['code'] in touched]


def check(client, stores, ops, actual, nodes=None):
    """desktop_pool's check before any change: raise one InputError naming every store whose bridge (or VLAN) PVE
    would fail at start. Reads the bridges of the nodes involved only when the plan puts desktops on a bridge."""
    from ._pool_desired import Problems       # late: _pool_desired is the module's desired state

    online = set(n for n, node in actual['nodes'].items() if node.get('online'))
    placement = sorted(n for n in online if not nodes or n in nodes)
    wanted = store_nodes(stores, ops, placement)
    if not wanted:
        return
    for store in wanted:
        store['nodes'] = [n for n in store['nodes'] if n in online]
    problems = Problems()
    bridge_problems(wanted, read_bridges(client, [n for s in wanted for n in s['nodes']]), problems)
    problems.raise_if_any([s['code'] for s in wanted])

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Store rules (private, pure): the one place that says what makes a store valid and what it gets.

Used by the inventory check (plugin_utils/_estate.py: the estate role, the assessment) and by desktop_pool
(_pool_desired.py), so what the assessment reports is what the pool writes:
  code        two letters of the city, '-', four digits (sh-0001)
  subnet      a CIDR without host bits (10.21.1.0/24, not 10.21.1.5/24); no two stores overlap
  VLAN        1-4094, unique per bridge: the key is (bridge, vlan)
  link class  -> SPICE video streaming (all / filter / off), one set of thresholds (LINK_CLASSES)
  addresses   reserved = network, broadcast, gateway, printers and what the inventory reserves;
              desktop N gets the N-th address after the offset that is not reserved
The standard library's ipaddress is enough: overlap is one sorted sweep (no pairwise loops), allocation a
walk that skips a set of reserved addresses. netaddr would add a dependency for the same two lines.
"""

from __future__ import annotations

import ipaddress
import re

CODE_RE = re.compile(r'^[a-z]{2}-\d{4}$')
CODE_FIX = 'two letters of the city, "-" and four digits, e.g. sh-0001'
VLAN_RANGE = (1, 4094)
# (link class, latency below ms, bandwidth at least Mbit/s, videostreaming): the first class that fits wins.
# A missing latency counts as 0 ms, a missing bandwidth as enough.
LINK_CLASSES = (('lan', 40, 50, 'all'), ('weak', 120, 10, 'filter'), ('poor', None, None, 'off'))
SPICE_VIDEO = ('all', 'filter', 'off')


class Problems(object):
    """Problems as 'store <code>: <field>: <problem> (<fix>)'. `fields` renames the rules' field names to
    the caller's (inventory variables for the estate, module options for desktop_pool)."""

    def __init__(self, fields=None):
        self.items = []
        self.fields = fields or {}

    def add(self, store, field, problem, fix):
        self.items.append('store {0}: {1}: {2} ({3})'.format(
            store or '?', self.fields.get(field, field), problem, fix))

    def add_global(self, field, problem, fix):
        """A problem of a setting shared by every store (not of one store)."""
        self.items.append('{0}: {1} ({2})'.format(field, problem, fix))

    def __len__(self):
        return len(self.items)


def is_int(value):
    """A whole number (bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_code(code, problems):
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.add(code, 'code', '{0!r} is not a store code'.format(code), CODE_FIX)
        return False
    return True


def check_vlan(code, vlan, problems):
    """The VLAN id as an int, or None (absent or wrong)."""
    if vlan is None:
        return None
    if not is_int(vlan) or not VLAN_RANGE[0] <= vlan <= VLAN_RANGE[1]:
        problems.add(code, 'vlan', '{0!r} is outside 1-4094'.format(vlan), 'use a VLAN id from 1 to 4094')
        return None
    return vlan


def parse_subnet(code, text, problems):
    """The store subnet (strict: no host bits), or None."""
    if text in (None, ''):
        return None
    try:
        return ipaddress.ip_network(str(text), strict=True)
    except ValueError as exc:
        problems.add(code, 'subnet', str(exc), 'give the network address with its prefix, e.g. 10.21.1.0/24')
        return None


def gateway_of(code, net, given, problems):
    """The gateway: `given`, or the subnet's first host; None when it is not a host of the subnet."""
    if net is None:
        return None
    try:
        gateway = ipaddress.ip_address(str(given)) if given else net.network_address + 1
    except ValueError as exc:
        problems.add(code, 'gateway', str(exc), 'give an address of the store subnet')
        return None
    if gateway not in net or gateway in (net.network_address, net.broadcast_address):
        problems.add(code, 'gateway', '{0} is not a host of {1}'.format(gateway, net),
                     'give an address of the store subnet')
        return None
    return gateway


def check_unique(entries, problems):
    """entries: [{'code', 'vlan_key': (bridge, vlan) or None, 'net': ip_network or None}].

    Duplicate codes, VLAN keys used twice and overlapping subnets, each named against the store with the lower
    code (the lower network for subnets). Overlap is one sweep over the subnets sorted by first address: O(n log n) for any number of stores.
    """
    codes, vlans = {}, {}
    for e in sorted(entries, key=lambda e: str(e['code'])):   # the same message whatever the inventory order
        if e['code'] in codes:
            problems.add(e['code'], 'code', 'given twice', 'list each store once')
        codes.setdefault(e['code'], e)
        key = e.get('vlan_key')
        if key is not None and key[1] is not None:
            if key in vlans:
                problems.add(e['code'], 'vlan', 'VLAN {0} on {1} is also used by store {2}'.format(
                    key[1], key[0], vlans[key]), 'give every store its own VLAN')
            vlans.setdefault(key, e['code'])
    for code, net, other, onet in overlaps([(e['code'], e['net']) for e in entries if e.get('net') is not None]):
        problems.add(code, 'subnet', '{0} overlaps {1} of store {2}'.format(net, onet, other),
                     'give every store its own subnet')


def overlaps(nets):
    """(code, net, other code, other net) for every subnet inside the range of an earlier one (sorted sweep)."""
    order = sorted(nets, key=lambda cn: (cn[1].version, int(cn[1].network_address), -cn[1].num_addresses, cn[0]))
    out, cover = [], None
    for code, net in order:
        if cover is not None and cover[1].version == net.version and \
                int(net.network_address) <= int(cover[1].broadcast_address):
            out.append((code, net, cover[0], cover[1]))
            if int(net.broadcast_address) <= int(cover[1].broadcast_address):
                continue
        cover = (code, net)
    return out


def link_class(link):
    """(class, videostreaming) of a store link {bandwidth_mbps, latency_ms}."""
    link = link or {}
    latency, bandwidth = link.get('latency_ms') or 0, link.get('bandwidth_mbps')
    for name, max_latency, min_bandwidth, video in LINK_CLASSES:
        if max_latency is None or (latency < max_latency and (bandwidth is None or bandwidth >= min_bandwidth)):
            return name, video
    return LINK_CLASSES[-1][0], LINK_CLASSES[-1][3]


def check_link(code, link, problems):
    if link in (None, {}):
        return
    if not isinstance(link, dict):
        problems.add(code, 'link', '{0!r} is not a mapping'.format(link), 'give {bandwidth_mbps: 100, latency_ms: 10}')
        return
    for key in ('bandwidth_mbps', 'latency_ms'):
        value = link.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            problems.add(code, 'link', '{0} {1!r} is not a number >= 0'.format(key, value),
                         'give {0} as a number'.format(key))


def spice_video(link, override='auto'):
    """videostreaming for a store: its own choice, or by link class."""
    return override if override in SPICE_VIDEO else link_class(link)[1]


def spice_enhancements(link, override='auto'):
    """The spice_enhancements value desktop_pool writes for a store."""
    return 'foldersharing=1,videostreaming={0}'.format(spice_video(link, override))


def reserved_addresses(code, net, gateway, printers, extra, problems):
    """The addresses no desktop may take: network, broadcast, gateway, printers, `extra` (addresses the
    inventory reserves). Printers and reserved addresses must be hosts of the store subnet."""
    reserved = set([net.network_address, net.broadcast_address]) if net is not None else set()
    if gateway is not None:
        reserved.add(gateway)
    seen = {}
    for field, name, value in [('printers', p.get('name'), p.get('host')) for p in printers or []] + \
            [('reserved', None, r) for r in extra or []]:
        what = 'printer {0!r}'.format(name) if field == 'printers' else 'reserved address'
        try:
            addr = ipaddress.ip_address(str(value))
        except ValueError:
            problems.add(code, field, 'host {0!r} of {1} is not an IP address'.format(value, what),
                         'give it a fixed address in the store subnet')
            continue
        if net is not None and (addr not in net or addr in (net.network_address, net.broadcast_address)):
            problems.add(code, field, '{0} of {1} is not a host of the store subnet {2}'.format(addr, what, net),
                         'give it an address inside the store subnet')
        elif gateway is not None and addr == gateway and field == 'printers':
            problems.add(code, field, '{0} of {1} is the gateway'.format(addr, what), 'give it its own address')
        elif field == 'printers' and addr in seen:
            problems.add(code, field, '{0} of {1} is also {2}'.format(addr, what, seen[addr]),
                         'give every printer its own address')
        seen.setdefault(addr, what)
        reserved.add(addr)
    return reserved


def allocate(net, offset, reserved, count):
    """Static addresses for desktops 1..count: the hosts after network + offset, reserved ones skipped.
    Fewer than `count` when the subnet runs out."""
    out = []
    if net is None or count <= 0:
        return out
    skip = set(int(a) for a in reserved or ())
    first, last = int(net.network_address) + offset + 1, int(net.broadcast_address) - 1
    host = max(first, int(net.network_address) + 1)
    while host <= last and len(out) < count:
        if host not in skip:
            out.append(ipaddress.ip_address(host))
        host += 1
    return out

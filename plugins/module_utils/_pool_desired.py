# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's desired state (private, pure): stores normalised, validated, desktops computed.

No I/O. Every problem is collected and reported at once, each naming the store, the field and the fix.
Subnets use the standard library's ipaddress (it covers what netaddr would do here, one dependency less).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import string

from . import _tags
from ._pve_errors import InputError

POWER = ('running', 'stopped', 'hibernated')
# PVE's dns-name format (PVE::JSONSchema::pve_verify_dns_name) for VM names.
_LABEL = r'[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?'
DNS_NAME = re.compile(r'^(?:{0}\.)*{0}$'.format(_LABEL))
POOL_ID = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]*$')
PATTERN_FIELDS = ('store', 'index', 'city', 'region')
# A weak store link gets less SPICE video: (max latency ms, min bandwidth Mbit/s) -> videostreaming.
SPICE_AUTO = ((40, 50, 'all'), (120, 10, 'filter'))
STORE_DEFAULTS = ('count', 'spares', 'power', 'image', 'protection', 'addressing', 'spice_video', 'bridge')


def _fmt(pattern, **values):
    return string.Formatter().vformat(pattern, (), values)


def name_regex(pattern, store):
    """A regex matching the names `pattern` yields for store['code'], the index as group 1."""
    out, seen = [], False
    for literal, field, spec, _conv in string.Formatter().parse(pattern):
        out.append(re.escape(literal))
        if field is None:
            continue
        if field == 'index':
            out.append(r'(\d+)' if not seen else r'\d+')
            seen = True
        elif field in PATTERN_FIELDS:
            value = store.get('code' if field == 'store' else field) or ''
            out.append(re.escape(format(value, spec or '')))
        else:
            raise KeyError(field)
    return re.compile('^' + ''.join(out) + '$', re.I)


def desktop_name(pattern, store, index):
    return _fmt(pattern, store=store['code'], index=index, city=store.get('city') or '',
                region=store.get('region') or '')


def spice_profile(store):
    """spice_enhancements of a store: folder sharing on, video streaming by link quality."""
    video = store.get('spice_video') or 'auto'
    if video == 'auto':
        link = store.get('link') or {}
        latency, bandwidth = link.get('latency_ms') or 0, link.get('bandwidth_mbps')
        video = 'off'
        for max_latency, min_bw, mode in SPICE_AUTO:
            if latency < max_latency and (bandwidth is None or bandwidth >= min_bw):
                video = mode
                break
    return 'foldersharing=1,videostreaming={0}'.format(video)


def _address(net, gateway, offset, index):
    host = net.network_address + offset + index
    if host not in net or host in (net.network_address, net.broadcast_address):
        return None
    return 'ip={0}/{1},gw={2}'.format(host, net.prefixlen, gateway), str(host)


def desktop_config(store, net, index, guest_agent):
    """The config keys desktop_pool writes (net0 without MAC) and the static address, if any."""
    net0 = 'virtio,bridge={0}'.format(store['bridge'])
    if store.get('vlan'):
        net0 += ',tag={0}'.format(store['vlan'])
    config = {'net0': net0, 'vga': 'qxl', 'spice_enhancements': spice_profile(store),
              'agent': 'enabled=1,fstrim_cloned_disks=1' if guest_agent else '0',
              'protection': 1 if store.get('protection') else 0}
    ip = None
    if store.get('addressing') == 'static' and net is not None:
        found = _address(net, store['gateway'], store['address_offset'], index)
        if found:
            config['ipconfig0'], ip = found
    return config, ip


def config_hash(config):
    """8 hex digits over the written config: kept as the tag cfg-<hash>, so a rerun sees drift in one bulk read."""
    text = ';'.join('{0}={1}'.format(k, config[k]) for k in sorted(config))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _merge(store, params):
    out = dict(store)
    for key in STORE_DEFAULTS:
        if out.get(key) is None:
            out[key] = params.get(key)
    out['image'] = dict(out.get('image') or {})
    out['code'] = str(out.get('code') or '').strip().lower()
    out['address_offset'] = params.get('address_offset', 10)
    return out


class Problems(object):
    """Collects input problems; raise_if_any() raises one InputError listing them all."""

    def __init__(self):
        self.items = []

    def add(self, store, field, text, fix):
        self.items.append('store {0}: {1}: {2} ({3})'.format(store or '?', field, text, fix))

    def raise_if_any(self, stores=None):
        if self.items:
            raise InputError('{0} problem(s) in the input, nothing was changed: {1}'.format(
                len(self.items), '; '.join(self.items)), stores=stores or [])


def _check_store(s, problems):
    code = s['code']
    if not code or not _tags.TAG_RE.match('store-' + code) or not DNS_NAME.match(code):
        problems.add(code, 'code', 'not usable in tags and names', 'use letters, digits and "-", e.g. sh-0001')
    for field in ('city', 'region'):
        if s.get(field) and not _tags.TAG_RE.match(str(s[field])):
            problems.add(code, field, '{0!r} is not usable in a PVE tag'.format(s[field]),
                         'use letters, digits, "-", "_" or "."')
    count, spares = s.get('count'), s.get('spares') or 0
    if count is None:
        problems.add(code, 'count', 'not set', 'give count for the store or for the task')
    elif count < 0:
        problems.add(code, 'count', '{0} is negative'.format(count), 'use 0 to remove every desktop')
    if spares < 0:
        problems.add(code, 'spares', '{0} is negative'.format(spares), 'use 0 for no spares')
    elif count is not None and count >= 0 and spares > count:
        problems.add(code, 'spares', '{0} spares for {1} desktops'.format(spares, count),
                     'spares must not exceed count')
    if s.get('power') not in POWER:
        problems.add(code, 'power', '{0!r}'.format(s.get('power')), 'use one of ' + ', '.join(POWER))
    if not s['image'].get('name') or not s['image'].get('version'):
        problems.add(code, 'image', 'name and version are needed', 'e.g. image: {name: store, version: 1.0.0}')
    vlan = s.get('vlan')
    if vlan is not None and not 1 <= int(vlan) <= 4094:
        problems.add(code, 'vlan', '{0} is outside 1-4094'.format(vlan), 'use a VLAN id from 1 to 4094')
    net = None
    if s.get('subnet'):
        try:
            net = ipaddress.ip_network(str(s['subnet']), strict=False)
        except ValueError as exc:
            problems.add(code, 'subnet', str(exc), 'give a CIDR such as 10.21.1.0/24')
    elif s.get('addressing') == 'static':
        problems.add(code, 'subnet', 'static addressing needs the store subnet', 'set subnet or addressing: dhcp')
    if net is not None:
        try:
            gw = ipaddress.ip_address(str(s.get('gateway') or net.network_address + 1))
            if gw not in net:
                raise ValueError('{0} is not in {1}'.format(gw, net))
            s['gateway'] = str(gw)
        except ValueError as exc:
            problems.add(code, 'gateway', str(exc), 'give an address of the store subnet')
            net = None
    return net


def _check_pairs(stores, problems):
    seen, vlans, nets = {}, {}, []
    for s in stores:
        if s['code'] in seen:
            problems.add(s['code'], 'code', 'given twice', 'list each store once')
        seen[s['code']] = s
        if s.get('vlan'):
            key = (s.get('bridge'), int(s['vlan']))
            if key in vlans:
                problems.add(s['code'], 'vlan', 'VLAN {0} on {1} is also used by store {2}'.format(
                    key[1], key[0], vlans[key]), 'give every store its own VLAN')
            vlans.setdefault(key, s['code'])
        net = s.get('_net')
        if net is not None:
            for other, onet in nets:
                if net.version == onet.version and net.overlaps(onet):
                    problems.add(s['code'], 'subnet', '{0} overlaps {1} of store {2}'.format(net, onet, other),
                                 'give every store its own subnet')
            nets.append((s['code'], net))


def _check_names(s, pattern, total, problems, all_names):
    code = s['code']
    try:
        names = [desktop_name(pattern, s, i) for i in range(1, max(total, 2) + 1)]
        name_regex(pattern, s)
    except (KeyError, IndexError, ValueError) as exc:
        problems.add(code, 'name_pattern', 'cannot be filled ({0})'.format(exc),
                     'use only the fields ' + ', '.join('{%s}' % f for f in PATTERN_FIELDS))
        return []
    if len(set(n.lower() for n in names)) < len(names):
        problems.add(code, 'name_pattern', '{0!r} gives the same name to several desktops'.format(pattern),
                     'put {index} in the pattern, e.g. {store}-d{index:02d}')
        return []
    bad = [n for n in names if not DNS_NAME.match(n) or len(n) > 63]
    if bad:
        problems.add(code, 'name_pattern', '{0!r} is not a valid VM name'.format(bad[0]),
                     'PVE needs DNS names: letters, digits and "-", not at the start or end of a label')
        return []
    names = names[:total]
    for n in names:
        other = all_names.get(n.lower())
        if other and other != code:
            problems.add(code, 'name_pattern', 'name {0} is also a desktop of store {1}'.format(n, other),
                         'put {store} in the pattern')
            return []
        all_names[n.lower()] = code
    return names


def build(params):
    """The desired state: [{code, pool, names, desktops: [...], ...}] from the module parameters."""
    raw = [params['store']] if params.get('store') else list(params.get('stores') or [])
    stores = [_merge(s, params) for s in raw]
    problems = Problems()
    if not stores:
        problems.add(None, 'stores', 'no store given', 'give store or stores')
    for s in stores:
        s['_net'] = _check_store(s, problems)
    _check_pairs(stores, problems)
    all_names = {}
    for s in stores:
        total = (s.get('count') or 0) + (s.get('spares') or 0)
        s['total'] = total
        try:
            s['pool'] = _fmt(params.get('pool_pattern') or 'store-{store}', store=s['code'])
        except (KeyError, IndexError, ValueError):
            s['pool'] = ''
        if not POOL_ID.match(s['pool']):
            problems.add(s['code'], 'pool_pattern', '{0!r} is not a valid PVE pool id'.format(s['pool']),
                         'start with a letter; letters, digits, ".", "-", "_"')
        s['names'] = _check_names(s, params['name_pattern'], total, problems, all_names)
        if s['_net'] is not None and s.get('addressing') == 'static' and total:
            if _address(s['_net'], s.get('gateway') or '', s['address_offset'], total) is None:
                problems.add(s['code'], 'subnet', '{0} has no room for {1} desktops from offset {2}'.format(
                    s['_net'], total, s['address_offset']), 'use a larger subnet or a smaller address_offset')
    problems.raise_if_any([s['code'] for s in stores])
    for s in stores:
        s['name_re'] = name_regex(params['name_pattern'], s)
    return stores


def desktop_spec(store, params, index, role):
    """The desired desktop at `index` with `role` (desktop|spare): name, tags, config, address, power."""
    config, ip = desktop_config(store, store.get('_net'), index, params.get('guest_agent', True))
    digest = config_hash(config)
    tags = _tags.desktop_tags(store['code'], city=store.get('city'), region=store.get('region'),
                              image=store['image']['name'], version=store['image']['version'], role=role,
                              extra=['cfg-' + digest])
    power = 'running' if role == 'spare' else store['power']
    return {'store': store['code'], 'index': index, 'name': desktop_name(params['name_pattern'], store, index),
            'role': role, 'tags': tags, 'config': config, 'cfg': digest, 'ip': ip, 'power': power,
            'version': store['image']['version']}


def description(store, spec):
    """The description written by the clone call; it also lets a rerun recognise an untagged half-clone."""
    lines = ['storedesk desktop {0} of store {1}{2}'.format(
        spec['name'], store['code'], ' ({0})'.format(store['name']) if store.get('name') else ''),
        'storedesk:store={0};image={1};version={2};index={3}'.format(
            store['code'], store['image']['name'], spec['version'], spec['index'])]
    if spec.get('ip'):
        lines.append('address: {0}'.format(spec['config']['ipconfig0']))
    return '\n'.join(lines)


DESC_RE = re.compile(r'storedesk:store=([^;\s]+);image=([^;\s]+);version=([^;\s]+);index=(\d+)')


def parse_description(text):
    """(store, image, version, index) from a description desktop_pool wrote, or None."""
    found = DESC_RE.search(text or '')
    return (found.group(1), found.group(2), found.group(3), int(found.group(4))) if found else None

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's desired state (private, pure): stores normalised, validated, desktops computed.

No I/O. Every problem is collected and reported at once, each naming the store, the field and the fix.
The store rules (code, subnet, VLAN, overlap, SPICE by link class, reserved and static addresses) are
_store_rules.py's, shared with the inventory check.
"""

from __future__ import annotations

import hashlib
import re
import string

from . import _store_rules as rules
from . import _tags
from ._pve_errors import InputError

POWER = ('running', 'stopped', 'hibernated')
# PVE's dns-name format (PVE::JSONSchema::pve_verify_dns_name) for VM names.
_LABEL = r'[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?'
DNS_NAME = re.compile(r'^(?:{0}\.)*{0}$'.format(_LABEL))
POOL_ID = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]*$')
PATTERN_FIELDS = ('store', 'index', 'city', 'region')
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
    """spice_enhancements of a store: folder sharing on, video streaming by link class (_store_rules)."""
    return rules.spice_enhancements(store.get('link'), store.get('spice_video') or 'auto')


def address_for(store, index):
    """(ipconfig0, ip) of desktop `index` under static addressing: the index-th free address after the offset,
    reserved addresses (gateway, printers, the store's reserved list) skipped; None when the subnet is full."""
    net = store.get('_net')
    if net is None:
        return None
    cache = store.setdefault('_addresses', [])
    if len(cache) < index:
        cache[:] = rules.allocate(net, store['address_offset'], store.get('_reserved'), index)
    if len(cache) < index:
        return None
    host = cache[index - 1]
    return 'ip={0}/{1},gw={2}'.format(host, net.prefixlen, store['gateway']), str(host)


def desktop_config(store, index, guest_agent):
    """The config keys desktop_pool writes (net0 without MAC) and the static address, if any."""
    net0 = 'virtio,bridge={0}'.format(store['bridge'])
    if store.get('vlan'):
        net0 += ',tag={0}'.format(store['vlan'])
    config = {'net0': net0, 'vga': 'qxl', 'spice_enhancements': spice_profile(store),
              'agent': 'enabled=1,fstrim_cloned_disks=1' if guest_agent else '0',
              'protection': 1 if store.get('protection') else 0}
    ip = None
    if store.get('addressing') == 'static':
        found = address_for(store, index)
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


class Problems(rules.Problems):
    """Collects input problems; raise_if_any() raises one InputError listing them all."""

    def raise_if_any(self, stores=None):
        if self.items:
            raise InputError('{0} problem(s) in the input, nothing was changed: {1}'.format(
                len(self.items), '; '.join(self.items)), stores=stores or [])


def _check_store(s, problems):
    code = s['code']
    if rules.check_code(code, problems) and not _tags.TAG_RE.match('store-' + code):
        problems.add(code, 'code', 'not usable in tags and names', rules.CODE_FIX)
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
    rules.check_link(code, s.get('link'), problems)
    s['vlan'] = rules.check_vlan(code, s.get('vlan'), problems)
    net = rules.parse_subnet(code, s.get('subnet'), problems)
    if net is None and not s.get('subnet') and s.get('addressing') == 'static':
        problems.add(code, 'subnet', 'static addressing needs the store subnet', 'set subnet or addressing: dhcp')
    if net is not None:
        gateway = rules.gateway_of(code, net, s.get('gateway'), problems)
        s['gateway'] = str(gateway) if gateway else None
        s['_reserved'] = rules.reserved_addresses(code, net, gateway, [], s.get('reserved'), problems)
        net = net if gateway else None
    return net


def _check_pairs(stores, problems):
    rules.check_unique([{'code': s['code'], 'net': s.get('_net'),
                         'vlan_key': (s.get('bridge'), s['vlan']) if s.get('vlan') else None} for s in stores],
                       problems)


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
            if address_for(s, total) is None:
                start, net = int(s['_net'].network_address) + s['address_offset'], s['_net']
                taken = len([a for a in s['_reserved'] if start < int(a) < int(net.broadcast_address)])
                problems.add(s['code'], 'subnet', '{0} has no room for {1} desktops from offset {2} besides {3} '
                             'reserved address(es)'.format(net, total, s['address_offset'], taken),
                             'use a larger subnet or a smaller address_offset')
    problems.raise_if_any([s['code'] for s in stores])
    for s in stores:
        s['name_re'] = name_regex(params['name_pattern'], s)
    return stores


def desktop_spec(store, params, index, role):
    """The desired desktop at `index` with `role` (desktop|spare): name, tags, config, address, power."""
    config, ip = desktop_config(store, index, params.get('guest_agent', True))
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

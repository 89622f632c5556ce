# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""USB devices of desktops and cluster USB mappings: parsing, PVE's rules, slot plans (private, pure).

No I/O here: every function takes plain data (parameters, VM configs, mapping lists) and returns plain
data or raises InputError with a message that names the desktop and the fix. usb_device and usb_mapping
wire these into the road (desired -> actual -> plan -> apply).

PVE's rules, as qemu-server applies them:
- usb0..usb13; slots above usb4 need machine version >= 7.1 and ostype l26 or Windows 8 and newer.
- host=VVVV:PPPP / host=BUS-PORT(.PORT)* may only be set by root@pam (not its API tokens);
  mapping=<id> needs Mapping.Use on /mapping/usb/<id>; host=spice needs VM.Config.HWType only.
- A mapping is resolved on the VM's node at start: the mapping needs an entry for that node.
- A running VM takes usbN at once only when its `hotplug` option contains `usb` (default
  network,disk,usb) and the machine/ostype rule above holds; otherwise the change is pending.
"""

from __future__ import annotations

import re

from ._pve_errors import InputError

SLOTS = 14                  # usb0..usb13
LEGACY_SLOTS = 5            # usb0..usb4 without machine >= 7.1 and a modern ostype
USB_ID = re.compile(r'^(?:0x)?([0-9A-Fa-f]{4}):(?:0x)?([0-9A-Fa-f]{4})$')
BUS_PORT = re.compile(r'^\d+-\d+(?:\.\d+)*$')
MAPPING_ID = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{1,127}$')     # pve-configid (PVE allows up to 128)
MODERN_OSTYPES = ('l26', 'win8', 'w2k12', 'win10', 'w2k16', 'w2k19', 'win11', 'w2k22', 'w2k25')
DEFAULT_HOTPLUG = 'network,disk,usb'
MIGRATION_WARNING = ('{0}: host USB passthrough ({1}) pins the desktop to its node: live migration is blocked '
                     'while it is attached (use a cluster mapping on every node, or spice, to keep desktops movable)')


# ---------------------------------------------------------------- ids, paths

def usb_id(value, where='usb id'):
    """'VVVV:PPPP' in lower case (PVE's form), or InputError naming the value."""
    found = USB_ID.match(str(value or '').strip())
    if not found:
        raise InputError('{0}: {1!r} is not a USB vendor:product id'.format(where, value),
                         hint='write it as VVVV:PPPP with 4 hex digits each, e.g. 05e0:1200 (lsusb shows it)')
    return '{0}:{1}'.format(found.group(1), found.group(2)).lower()


def bus_port(value, where='usb path'):
    """'BUS-PORT(.PORT)*' as given, or InputError."""
    text = str(value or '').strip()
    if not BUS_PORT.match(text):
        raise InputError('{0}: {1!r} is not a USB bus-port path'.format(where, value),
                         hint='write it as BUS-PORT[.PORT...], e.g. 1-2 or 3-1.4 (lsusb -t shows bus and ports)')
    return text


def mapping_id(value, where='mapping'):
    text = str(value or '').strip()
    if not MAPPING_ID.match(text):
        raise InputError('{0}: {1!r} is not a valid mapping id'.format(where, value),
                         hint='a letter, then letters, digits, ".", "_" or "-" (2-128 characters)')
    return text


def parse_props(text):
    """A PVE property string as an ordered dict (a bare first value goes to 'host')."""
    out = {}
    for part in str(text or '').split(','):
        key, eq, val = part.partition('=')
        if eq:
            out[key.strip()] = val.strip()
        elif part.strip():
            out['host'] = part.strip()
    return out


# ------------------------------------------------------------------ devices

def device(spec, where='device'):
    """A desired device from a dict with exactly one of mapping / host / spice (+ usb3): normalised."""
    spec = dict(spec or {})
    kinds = [k for k in ('mapping', 'host', 'spice') if spec.get(k) not in (None, False, '')]
    if len(kinds) != 1:
        raise InputError('{0}: give exactly one of mapping, host or spice (got {1})'.format(
            where, ', '.join(kinds) or 'none'))
    usb3 = bool(spec.get('usb3'))
    if kinds[0] == 'mapping':
        return {'kind': 'mapping', 'ref': mapping_id(spec['mapping'], where), 'usb3': usb3}
    if kinds[0] == 'spice':
        return {'kind': 'spice', 'ref': 'spice', 'usb3': usb3}
    host = str(spec['host']).strip()
    if host.lower() == 'spice':
        return {'kind': 'spice', 'ref': 'spice', 'usb3': usb3}
    if ':' in host:
        return {'kind': 'host_id', 'ref': usb_id(host, where), 'usb3': usb3}
    if '-' in host:
        return {'kind': 'host_path', 'ref': bus_port(host, where), 'usb3': usb3}
    raise InputError('{0}: host {1!r} is neither a vendor:product id (VVVV:PPPP) nor a bus-port path '
                     '(BUS-PORT[.PORT])'.format(where, host), hint='or use mapping: <id> or spice: true')


def device_of_value(value):
    """The device a usbN config value holds (None for a value we do not understand)."""
    props = parse_props(value)
    usb3 = props.get('usb3') in ('1', 'yes', 'on', 'true')
    if props.get('mapping'):
        return {'kind': 'mapping', 'ref': props['mapping'], 'usb3': usb3}
    host = props.get('host') or ''
    if host.lower() == 'spice':
        return {'kind': 'spice', 'ref': 'spice', 'usb3': usb3}
    if USB_ID.match(host):
        return {'kind': 'host_id', 'ref': usb_id(host), 'usb3': usb3}
    if BUS_PORT.match(host):
        return {'kind': 'host_path', 'ref': host, 'usb3': usb3}
    return None


def value_of(dev):
    """The usbN config value of a device."""
    text = 'mapping={0}'.format(dev['ref']) if dev['kind'] == 'mapping' else 'host={0}'.format(dev['ref'])
    return text + (',usb3=1' if dev.get('usb3') else '')


def same_device(a, b):
    return a is not None and b is not None and a['kind'] == b['kind'] and a['ref'].lower() == b['ref'].lower()


def label(dev):
    return 'spice' if dev['kind'] == 'spice' else '{0}={1}'.format(
        'mapping' if dev['kind'] == 'mapping' else 'host', dev['ref'])


# ---------------------------------------------------------------- VM rules

def machine_version(machine):
    """(major, minor) of a machine type, or None for an unversioned one (= the running QEMU's, i.e. current)."""
    found = re.search(r'-(\d+)\.(\d+)', str(machine or ''))
    return (int(found.group(1)), int(found.group(2))) if found else None


def slot_limit(config):
    """(number of usable slots, reason when it is the legacy 5)."""
    ostype = str(config.get('ostype') or 'other')
    version = machine_version(config.get('machine'))
    modern_machine = version is None or version >= (7, 1)
    if modern_machine and ostype in MODERN_OSTYPES:
        return SLOTS, None
    why = 'usb5 and above need machine version >= 7.1 and a modern ostype ({0}); this desktop has machine {1} and ' \
        'ostype {2}'.format(', '.join(MODERN_OSTYPES), config.get('machine') or '(default)', ostype)
    return LEGACY_SLOTS, why


def hotplugs_usb(config):
    """True when a running VM takes usbN changes at once (PVE's vmconfig_hotplug_pending)."""
    hotplug = str(config.get('hotplug', DEFAULT_HOTPLUG) or '')
    features = set(f.strip() for f in hotplug.split(',')) if hotplug not in ('1', '0') else (
        {'network', 'disk', 'usb'} if hotplug == '1' else set())
    return 'usb' in features and slot_limit(config)[1] is None


def slots_of(config):
    """{index: value} of the usbN keys of a config (the effective config: pending values win)."""
    out = {}
    for key, value in config.items():
        found = re.match(r'^usb(\d+)$', key)
        if found and value not in (None, ''):
            out[int(found.group(1))] = str(value)
    return out


def effective_config(config, pending_rows=None):
    """The config the next start uses: /config merged with /pending rows (pending values and deletes)."""
    cfg = dict(config or {})
    for row in pending_rows or []:
        if row.get('delete'):
            cfg.pop(row['key'], None)
        elif 'pending' in row:
            cfg[row['key']] = row['pending']
    return cfg


def plan_slots(config, wanted, state='present', where='desktop'):
    """The usbN changes that make `wanted` (normalised devices) present or absent in a desktop's config.

    Existing slots are never moved: a device already in a slot stays there (its usb3 flag is updated in
    place when it differs); new devices take the lowest free slots the VM may use; unrelated slots are kept.
    Returns {'set': {key: value}, 'delete': [key], 'kept': [key]}; InputError when the slots run out.
    """
    slots = slots_of(config)
    changes = {'set': {}, 'delete': [], 'kept': []}
    taken = dict((i, device_of_value(v)) for i, v in slots.items())
    if state == 'absent':
        for index in sorted(taken):
            if any(same_device(taken[index], dev) for dev in wanted):
                changes['delete'].append('usb{0}'.format(index))
        return changes
    used = set()
    missing = []
    for dev in wanted:
        index = next((i for i in sorted(taken) if i not in used and same_device(taken[i], dev)), None)
        if index is None:
            missing.append(dev)
            continue
        used.add(index)
        key = 'usb{0}'.format(index)
        if bool(taken[index]['usb3']) != bool(dev.get('usb3')):
            changes['set'][key] = value_of(dev)
        else:
            changes['kept'].append(key)
    limit, why = slot_limit(config)
    free = [i for i in range(limit) if i not in slots]
    if len(missing) > len(free):
        busy = ', '.join('usb{0}={1}'.format(i, slots[i]) for i in sorted(slots)) or 'none'
        raise InputError('{0}: needs {1} more USB slot(s) but only {2} of usb0-usb{3} are free (in use: {4})'.format(
            where, len(missing), len(free), limit - 1, busy),
            hint=(why + '; ' if why and len(missing) <= SLOTS - len(slots) else '') +
            'free slots with state: absent, or attach fewer devices (PVE has 14 slots at most)')
    for dev, index in zip(missing, free):
        changes['set']['usb{0}'.format(index)] = value_of(dev)
    return changes


# ---------------------------------------------------------------- mappings

def map_entry(spec, where='map entry'):
    """One mapping entry {node, id, path?, description?} normalised, from a dict or 'node=..,id=..' text."""
    item = parse_props(spec) if isinstance(spec, str) else dict(spec or {})
    item.pop('host', None)
    if not item.get('node'):
        raise InputError('{0}: node is required'.format(where))
    out = {'node': str(item['node']).strip(), 'id': usb_id(item.get('id'), where)}
    if item.get('path'):
        out['path'] = bus_port(item['path'], where)
    if item.get('description'):
        out['description'] = str(item['description'])
    return out


def map_text(entry):
    return ','.join('{0}={1}'.format(k, entry[k]) for k in ('node', 'id', 'path', 'description') if entry.get(k))


def mapping_node_entry(mapping, node):
    """The entry of a mapping (as listed by /cluster/mapping/usb: {'map': [text]}) for a node, or None."""
    for text in (mapping or {}).get('map') or []:
        entry = parse_props(text)
        if entry.get('node') == node:
            return entry
    return None


def check_mapping_for(mappings, mapping, node, where):
    """InputError when the mapping is missing, or has no entry for the node the desktop runs on."""
    if mapping not in mappings:
        raise InputError('{0}: USB mapping {1!r} does not exist, or this API user lacks Mapping.Use on '
                         '/mapping/usb/{1}'.format(where, mapping),
                         hint='create it with storedesk.vdi.usb_mapping, or grant Mapping.Use on it')
    if mapping_node_entry(mappings[mapping], node) is None:
        nodes = ', '.join(sorted(parse_props(t).get('node', '?') for t in mappings[mapping].get('map') or [])) or 'none'
        raise InputError('{0}: USB mapping {1!r} has no entry for node {2}, where the desktop runs (it has: {3}); '
                         'PVE would refuse to start it'.format(where, mapping, node, nodes),
                         hint='add a map entry for {0} with storedesk.vdi.usb_mapping'.format(node))


def plan_mapping(current, wanted_entries, description=None, state='present'):
    """The change to one mapping: None, or {'action': create|update|delete, 'map': [text], 'description'}."""
    if state == 'absent':
        return {'action': 'delete'} if current is not None else None
    texts = [map_text(e) for e in sorted(wanted_entries, key=lambda e: (e['node'], e['id'], e.get('path', '')))]
    if current is None:
        return {'action': 'create', 'map': texts, 'description': description}
    have = sorted(_normal_text(t) for t in current.get('map') or [])
    change = {}
    if have != sorted(texts):
        change['map'] = texts
    if description is not None and (current.get('description') or '') != description:
        change['description'] = description
    return dict(change, action='update') if change else None


def _normal_text(text):
    """A listed map entry in our normal form (as PVE stored it when it does not parse)."""
    try:
        return map_text(map_entry(text))
    except InputError:
        return text

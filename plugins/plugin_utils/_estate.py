# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate as the inventory describes it: validation before any change, and store readiness (private, pure).

The store rules themselves (code, subnet, VLAN, overlap, link class -> SPICE, reserved addresses) are
module_utils/_store_rules.py's, the same that desktop_pool applies; this file maps inventory variables onto them.
"""

from __future__ import annotations

import time

from ansible_collections.storedesk.vdi.plugins.module_utils import _store_rules as rules
from ansible_collections.storedesk.vdi.plugins.module_utils._access_desired import parse_expiry
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.plugin_utils._kpi import threshold_errors

ROLES = ('store_clerk', 'store_manager', 'hq_operator', 'auditor')
# The rules' field names as the inventory spells them.
FIELDS = {'code': 'store_code', 'subnet': 'store_subnet', 'gateway': 'store_gateway', 'vlan': 'store_vlan',
          'link': 'store_link', 'printers': 'store_devices.printers', 'reserved': 'store_reserved_addresses'}
COUNTS = ('baseline', 'event', 'spares')
PARTIAL_FIX = ('a whole number >= 0; a host\'s store_desktops replaces the group\'s whole mapping, '
               'so give baseline, event and spares together')


def _region_problems(regions, problems):
    if not isinstance(regions, dict):
        return
    for name, region in sorted(regions.items()):
        field = 'storedesk_regions.' + str(name)
        if not isinstance(region, dict):
            problems.add_global(field, '{0!r} is not a mapping'.format(region), 'give api_host and api_port')
            continue
        if not region.get('api_host'):
            problems.add_global(field + '.api_host', 'not set', 'the PVE API host of the region')
        port = region.get('api_port', 8006)
        if not str(port).isdigit() or not 1 <= int(str(port)) <= 65535:
            problems.add_global(field + '.api_port', '{0!r} is not a port'.format(port), 'a number from 1 to 65535')
        nodes = region.get('nodes')
        if nodes is not None and (not isinstance(nodes, list) or not all(isinstance(n, str) and n for n in nodes)):
            problems.add_global(field + '.nodes', '{0!r} is not a list of node names'.format(nodes),
                                'the placement nodes of the region, e.g. [pve-e1, pve-e2], or leave nodes out')
        reserve = region.get('nodes_reserved_memory_gib', 0)
        if not rules.is_int(reserve) or reserve < 0:
            problems.add_global(field + '.nodes_reserved_memory_gib', '{0!r} is not a whole number >= 0'.format(
                reserve), 'GiB each node keeps for itself')


def _counts(code, store, problems):
    desk = store.get('desktops')
    if not isinstance(desk, dict):
        problems.add(code, 'store_desktops', '{0!r} is not a mapping'.format(desk), 'give baseline, event, spares')
        return
    for key in COUNTS:
        if not rules.is_int(desk.get(key)) or desk[key] < 0:
            problems.add(code, 'store_desktops.' + key, '{0!r} is not a count'.format(desk.get(key)), PARTIAL_FIX)
    if all(rules.is_int(desk.get(k)) for k in COUNTS):
        if desk['event'] < desk['baseline']:
            problems.add(code, 'store_desktops.event', 'event count {0} is below the baseline {1}'.format(
                desk['event'], desk['baseline']), 'raise event to at least the baseline')
        if desk['spares'] > desk['baseline']:
            problems.add(code, 'store_desktops.spares', '{0} spares for a baseline of {1}'.format(
                desk['spares'], desk['baseline']), 'spares must not exceed the baseline')
    for key in ('cores', 'memory_mib'):
        value = (store.get('profile') or {}).get(key)
        if value is not None and (not rules.is_int(value) or value <= 0):
            problems.add(code, 'store_desktop_profile.' + key, '{0!r} is not a whole number > 0'.format(value),
                         'e.g. {cores: 2, memory_mib: 4096}')


def _devices(code, store, catalog, net, gateway, problems):
    """Device models and printer drivers against the catalog (not when it is None), printer ports and names,
    and the reserved addresses (printers included) against the subnet."""
    devices = store.get('devices') or {}
    for kind in ('scanners', 'pos') if catalog is not None else ():
        for dev in devices.get(kind) or []:
            if dev.get('model') not in (catalog.get('usb_models') or {}):
                problems.add(code, 'store_devices.' + kind, 'unknown model {0!r}'.format(dev.get('model')),
                             'add it to storedesk_usb_models')
    printers = devices.get('printers') or []
    names = set()
    for prn in printers:
        if catalog is not None and prn.get('driver') not in (catalog.get('printer_drivers') or {}):
            problems.add(code, 'store_devices.printers', 'driver {0!r} of printer {1!r} is not in the catalog'.format(
                prn.get('driver'), prn.get('name')), 'add it to storedesk_printer_drivers')
        port = prn.get('port', 9100)
        if not rules.is_int(port) or not 1 <= port <= 65535:
            problems.add(code, 'store_devices.printers', 'port {0!r} of printer {1!r} is not a port'.format(
                port, prn.get('name')), 'a number from 1 to 65535, e.g. 9100')
        if prn.get('name') in names:
            problems.add(code, 'store_devices.printers', 'two printers named {0!r}'.format(prn.get('name')),
                         'name each printer once')
        names.add(prn.get('name'))
    reserved = store.get('reserved') or []
    if not isinstance(reserved, list):
        problems.add(code, 'reserved', '{0!r} is not a list'.format(reserved), 'list the addresses, e.g. [10.21.1.60]')
        reserved = []
    return rules.reserved_addresses(code, net, gateway, printers, reserved, problems)


def _staff(code, store, now, problems):
    for person in store.get('staff') or []:
        if not isinstance(person, dict) or not person.get('user'):
            problems.add(code, 'store_staff', '{0!r} has no user'.format(person), 'give user (name@realm) and role')
            continue
        if person.get('role') not in ROLES:
            problems.add(code, 'store_staff', 'role {0!r} of {1!r} is not a role template'.format(
                person.get('role'), person.get('user')), 'one of ' + ', '.join(ROLES))
        if person.get('state', 'present') != 'absent':
            try:
                parse_expiry(person.get('expires'), now, 'expires')
            except InputError as exc:
                problems.add(code, 'store_staff', '{0} of {1!r}'.format(exc.args[0], person.get('user')),
                             exc.hint or 'give YYYY-MM-DD')


# What each phase reads of a store, so what it must validate (every store, every region) before its first write.
ALL = ('place', 'network', 'counts', 'image', 'devices', 'staff', 'kpi')
POOL = ('place', 'network', 'counts', 'image')
SECTIONS = {None: ALL, 'assess': ALL, 'pilot': ALL, 'rollout': ALL, 'build_image': (),
            'scale_event': POOL, 'reclaim': POOL, 'power': ('place',), 'accounts': ('place', 'staff'),
            'review': ALL, 'inspect': ALL}


def validate(stores, catalog, waves=None, regions=None, thresholds=None, now=None, phase=None):
    """Every problem of the inventory, as 'store <code>: <field>: <problem> (<fix>)' lines; [] when it is good.

    stores: [{code, region, city, subnet, gateway, vlan, bridge, link, desktops, profile, image, devices,
    reserved, staff, kpi_thresholds}] (host vars); catalog: {image, usb_models, printer_drivers};
    waves: {wave: [host names]}; regions: storedesk_regions (or only its names); thresholds: the KPI gate's;
    phase: checks what that phase reads of every store (SECTIONS; default everything).
    """
    problems = rules.Problems(FIELDS)
    now = int(time.time()) if now is None else now
    sections = SECTIONS.get(phase, ALL)
    region_names = None if regions is None else list(regions)
    _region_problems(regions, problems)
    if thresholds is not None and 'kpi' in sections:
        for field, problem, fix in threshold_errors(thresholds, 'storedesk_kpi_thresholds', complete=True):
            problems.add_global(field, problem, fix)
    entries, known = [], set()
    for store in stores:
        code = store.get('code') or '?'
        known.add(store.get('host', code))
        if 'place' not in sections:
            continue
        rules.check_code(code, problems)
        if region_names is not None and store.get('region') not in region_names:
            problems.add(code, 'store_region', '{0!r} is not a region of storedesk_regions'.format(
                store.get('region')), 'put the store in a region_<name> group')
        if 'staff' in sections:
            _staff(code, store, now, problems)
        if 'network' not in sections:
            continue
        net = rules.parse_subnet(code, store.get('subnet'), problems)
        if net is None and not store.get('subnet'):
            problems.add(code, 'subnet', 'not set', 'give the store subnet, e.g. 10.21.1.0/24')
        gateway = rules.gateway_of(code, net, store.get('gateway'), problems)
        vlan = rules.check_vlan(code, store.get('vlan'), problems)
        if store.get('vlan') is None:
            problems.add(code, 'vlan', 'not set', 'a VLAN id from 1 to 4094')
        rules.check_link(code, store.get('link'), problems)
        entries.append({'code': code, 'net': net, 'vlan_key': (store.get('bridge'), vlan) if vlan else None})
        _counts(code, store, problems)
        image = store.get('image') or {}
        if catalog.get('image') and (image.get('name'), str(image.get('version'))) != (
                catalog['image'].get('name'), str(catalog['image'].get('version'))) and not image.get('allow_other'):
            problems.add(code, 'store_image', 'image {0} {1} is not the chain image {2} {3}'.format(
                image.get('name'), image.get('version'), catalog['image'].get('name'), catalog['image'].get('version')),
                'pin the chain image or set allow_other: true')
        _devices(code, store, catalog if 'devices' in sections else None, net, gateway, problems)
        for field, problem, fix in threshold_errors(store.get('kpi_thresholds') or {}, 'store_kpi_thresholds') \
                if 'kpi' in sections else ():
            problems.add(code, field, problem, fix)
    rules.check_unique(entries, problems)
    for wave, hosts in sorted((waves or {}).items()):
        for host in hosts:
            if host not in known:
                problems.add(host, 'wave ' + wave, 'is not a store of the inventory',
                             'add it under stores or remove it from the wave')
    return problems.items


def _plan(desktops):
    """Desktops planned for a store: baseline and spares (None when the inventory does not say)."""
    if not isinstance(desktops, dict) or not isinstance(desktops.get('baseline'), int):
        return None
    return desktops['baseline'] + (desktops.get('spares') if isinstance(desktops.get('spares'), int) else 0)


def readiness(stores, catalog, capacity, floor_mbps=2):
    """Go / no-go per store with reasons, and the SPICE settings desktop_pool will write for its link.

    capacity: {region: {'fits_event': bool, 'reason': str}}.
    """
    out = []
    for store in stores:
        reasons, notes = [], []
        link = store.get('link') or {}
        klass, video = rules.link_class(link)
        video = rules.spice_video(link, store.get('spice_video') or 'auto')
        if link.get('bandwidth_mbps', 1000) < floor_mbps:
            reasons.append('link {0} Mbit/s is below the floor of {1}'.format(link.get('bandwidth_mbps'), floor_mbps))
        if video != 'all':
            notes.append('{0} link ({1} Mbit/s, {2} ms): SPICE video streaming {3}'.format(
                klass, link.get('bandwidth_mbps'), link.get('latency_ms'), video))
        for prn in (store.get('devices') or {}).get('printers') or []:
            if prn.get('driver') not in (catalog.get('printer_drivers') or {}):
                reasons.append('no driver for printer {0}'.format(prn.get('name')))
        staff = store.get('staff') or []
        if not any(p.get('role') == 'store_manager' for p in staff):
            reasons.append('no store manager account')
        region = capacity.get(store.get('region'), {})
        if region and not region.get('fits_event', True):
            reasons.append(region.get('reason', 'region capacity'))
        out.append({'store': store.get('code'), 'region': store.get('region'), 'city': store.get('city'),
                    'link_class': klass, 'spice_video': video,
                    'spice_enhancements': rules.spice_enhancements(link, store.get('spice_video') or 'auto'),
                    'staff': len(staff), 'printers': len((store.get('devices') or {}).get('printers') or []),
                    'plan': _plan(store.get('desktops')),   # the dashboard's plan column, for every store
                    'verdict': 'NO-GO' if reasons else 'GO', 'reasons': reasons + notes})
    return out


# What each phase accepts from extra vars / an AWX survey: {variable: allowed values or a check}.
CHOICES = {'reclaim_to': ('baseline', 'zero'), 'reclaim_backup': ('none', 'snapshot', 'vzdump'),
           'power_action': ('start', 'resume', 'shutdown', 'hibernate'),
           'access_action': ('onboard', 'offboard', 'reclaim')}
PHASES = {
    'assess': {}, 'build_image': {'build_image_only': 'regions'},
    'pilot': {'stores': 'pilot_stores', 'kpi_thresholds': 'required'},
    'rollout': {'wave': 'wave', 'rollout_wave': 'wave'},
    'scale_event': {'stores': 'stores_required', 'event_hours': 'hours'},
    'reclaim': {'stores': 'stores', 'reclaim_to': 'choice', 'reclaim_backup': 'choice'},
    'accounts': {'access_stores': 'stores', 'access_action': 'choice'},
    'power': {'stores': 'stores', 'power_action': 'choice_required'},
    'review': {'stores': 'stores', 'kpi_thresholds': 'required'},
    'inspect': {'stores': 'stores'},
}


def _names(value):
    """A list of names from a list or a comma/space separated string (an AWX survey)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [v for v in value.replace(';', ',').replace(' ', ',').split(',') if v.strip()]
    return [str(v).strip() for v in value] if isinstance(value, (list, tuple)) else [value]


def _request_var(phase, name, kind, value, ctx, problems):
    fix_stores = 'inventory hosts of the group stores, e.g. -e {0}=sh-0001,sh-0002'.format(name)
    if kind in ('stores', 'stores_required', 'pilot_stores'):
        names = _names(value)
        if not names:   # not given or empty: every store, except where the phase needs them named
            if kind == 'stores_required':
                problems.add_global(name, 'not given', fix_stores)
            return
        unknown = [n for n in names if n not in ctx['stores']]
        if unknown:
            problems.add_global(name, 'unknown stores {0}'.format(unknown), fix_stores)
        outside = [n for n in names if n in ctx['stores'] and n not in ctx['groups'].get('pilot', [])]
        if kind == 'pilot_stores' and outside:
            problems.add_global(name, '{0} are not pilot stores'.format(outside), 'name stores of the group pilot')
    elif kind in ('choice', 'choice_required'):
        if value is None:
            if kind == 'choice_required':
                problems.add_global(name, 'not given', 'one of ' + ', '.join(CHOICES[name]))
        elif value not in CHOICES[name]:
            problems.add_global(name, '{0!r} is not a choice'.format(value), 'one of ' + ', '.join(CHOICES[name]))
    elif kind == 'hours' and value is not None:
        try:
            ok = 0 < float(value) <= 24 * 31 and not isinstance(value, bool)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.add_global(name, '{0!r} is not a number of hours'.format(value), 'e.g. -e event_hours=13')
    elif kind == 'wave' and value is not None and value not in ctx['waves']:
        problems.add_global(name, '{0!r} is not a wave of the inventory'.format(value),
                            'one of ' + ', '.join(sorted(ctx['waves'])))
    elif kind == 'regions' and value:
        unknown = [r for r in _names(value) if r not in ctx['regions']]
        if unknown:
            problems.add_global(name, 'unknown regions {0}'.format(unknown), 'keys of storedesk_regions')
    elif kind == 'required' and not value:
        problems.add_global('storedesk_kpi_thresholds', 'not set', 'the pilot gate needs its thresholds')


def request_problems(phase, request, groups, regions, env=None):
    """Problems of a phase's request (extra vars, survey answers) and of its credentials, as lines.

    request: {variable: value or None}; groups: the inventory's groups; regions: storedesk_regions;
    env: the controller's PROXMOX_* / STOREDESK_WINRM_* variables (None: not checked).
    """
    problems = rules.Problems()
    if phase not in PHASES:
        problems.add_global('estate_phase', '{0!r} is not a phase'.format(phase), 'one of ' + ', '.join(PHASES))
        return problems.items
    ctx = {'stores': set(groups.get('stores') or []), 'groups': groups, 'regions': set(regions or {}),
           'waves': set(g for g in groups if g.startswith('wave') and g[4:].isdigit())}
    for name, kind in PHASES[phase].items():
        _request_var(phase, name, kind, request.get(name), ctx, problems)
    if env is not None:
        token = env.get('PROXMOX_TOKEN_ID') and env.get('PROXMOX_TOKEN_SECRET')
        if not token and not env.get('PROXMOX_PASSWORD'):
            problems.add_global('PROXMOX credentials', 'neither an API token nor a password is set',
                                'set PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET (AWX: the Proxmox credential)')
        for name in env.get('missing_files') or []:   # a credential given as a file (AWX file injector)
            problems.add_global(name, 'names no readable file', 'point it at the file the credential wrote')
        if env.get('PROXMOX_CA_PATH') and not env.get('ca_exists', True):
            problems.add_global('PROXMOX_CA_PATH', '{0} does not exist'.format(env['PROXMOX_CA_PATH']),
                                'point it at the cluster CA file')
        winrm_set = env.get('STOREDESK_WINRM_USER') and env.get('STOREDESK_WINRM_PASSWORD')
        if phase in ('pilot', 'rollout', 'review', 'inspect') and not winrm_set:
            problems.add_global('WinRM credentials', 'STOREDESK_WINRM_USER or STOREDESK_WINRM_PASSWORD is not set',
                                'set both (AWX: the WinRM credential)')
    return problems.items

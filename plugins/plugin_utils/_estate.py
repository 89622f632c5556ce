# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate as the inventory describes it: validation before any change, and store readiness (private, pure)."""

from __future__ import annotations

import ipaddress
import re

CODE_RE = re.compile(r'^[a-z]{2}-\d{4}$')
ROLES = ('store_clerk', 'store_manager', 'hq_operator', 'auditor')


def _err(code, field, problem, fix):
    return '{0}: {1}: {2} ({3})'.format(code, field, problem, fix)


def validate(stores, catalog, waves=None, regions=None):
    """Every problem of the inventory, as 'store: field: problem (fix)' lines; [] when it is good.

    stores: [{code, region, city, subnet, vlan, desktops, image, devices, staff, ...}] (host vars)
    catalog: {image, usb_models, printer_drivers}; waves: {wave: [host names]}; regions: names.
    """
    errors = []
    seen_codes, nets, vlans = {}, [], {}
    known = set()
    for store in stores:
        code = store.get('code') or '?'
        known.add(code)
        if not CODE_RE.match(code):
            errors.append(_err(code, 'store_code', 'not of the form xx-0000', 'use the city prefix and a number'))
        if code in seen_codes:
            errors.append(_err(code, 'store_code', 'duplicate of host {0}'.format(seen_codes[code]),
                               'give every store its own code'))
        seen_codes[code] = store.get('host', code)
        if regions is not None and store.get('region') not in regions:
            errors.append(_err(code, 'store_region', '{0!r} is not a region of storedesk_regions'.format(
                store.get('region')), 'put the store in a region_<name> group'))
        try:
            net = ipaddress.ip_network(str(store.get('subnet')), strict=True)
            for other, other_net in nets:
                if net.overlaps(other_net):
                    errors.append(_err(code, 'store_subnet', '{0} overlaps {1} of {2}'.format(net, other_net, other),
                                       'give each store its own subnet'))
            nets.append((code, net))
        except ValueError as exc:
            errors.append(_err(code, 'store_subnet', str(exc), 'a CIDR such as 10.21.1.0/24'))
        vlan = store.get('vlan')
        if not isinstance(vlan, int) or not 1 <= vlan <= 4094:
            errors.append(_err(code, 'store_vlan', '{0!r} is outside 1-4094'.format(vlan), 'a VLAN id from 1 to 4094'))
        elif vlan in vlans:
            errors.append(_err(code, 'store_vlan', 'VLAN {0} is also used by {1}'.format(vlan, vlans[vlan]),
                               'give each store its own VLAN'))
        else:
            vlans[vlan] = code
        desk = store.get('desktops') or {}
        for key in ('baseline', 'event', 'spares'):
            if not isinstance(desk.get(key), int) or desk[key] < 0:
                errors.append(_err(code, 'store_desktops.' + key, '{0!r} is not a count'.format(desk.get(key)),
                                   'a whole number >= 0'))
        if isinstance(desk.get('event'), int) and isinstance(desk.get('baseline'), int) \
                and desk['event'] < desk['baseline']:
            errors.append(_err(code, 'store_desktops.event', 'event count {0} is below the baseline {1}'.format(
                desk['event'], desk['baseline']), 'raise event to at least the baseline'))
        image = store.get('image') or {}
        if catalog.get('image') and (image.get('name'), str(image.get('version'))) != (
                catalog['image'].get('name'), str(catalog['image'].get('version'))) and not image.get('allow_other'):
            errors.append(_err(code, 'store_image', 'image {0} {1} is not the chain image {2} {3}'.format(
                image.get('name'), image.get('version'), catalog['image'].get('name'), catalog['image'].get('version')),
                'pin the chain image or set allow_other: true'))
        devices = store.get('devices') or {}
        for kind in ('scanners', 'pos'):
            for dev in devices.get(kind) or []:
                if dev.get('model') not in (catalog.get('usb_models') or {}):
                    errors.append(_err(code, 'store_devices.{0}'.format(kind), 'unknown model {0!r}'.format(
                        dev.get('model')), 'add it to storedesk_usb_models'))
        names = set()
        for prn in devices.get('printers') or []:
            if prn.get('driver') not in (catalog.get('printer_drivers') or {}):
                errors.append(_err(code, 'store_devices.printers', 'driver {0!r} of printer {1!r} is not in the '
                                   'catalog'.format(prn.get('driver'), prn.get('name')),
                                   'add it to storedesk_printer_drivers'))
            try:
                ipaddress.ip_address(str(prn.get('host')))
            except ValueError:
                errors.append(_err(code, 'store_devices.printers', 'host {0!r} of printer {1!r} is not an IP address'
                                   .format(prn.get('host'), prn.get('name')), 'give the printer a fixed address'))
            if prn.get('name') in names:
                errors.append(_err(code, 'store_devices.printers', 'two printers named {0!r}'.format(prn.get('name')),
                                   'name each printer once'))
            names.add(prn.get('name'))
        for person in store.get('staff') or []:
            if person.get('role') not in ROLES:
                errors.append(_err(code, 'store_staff', 'role {0!r} of {1!r} is not a role template'.format(
                    person.get('role'), person.get('user')), 'one of ' + ', '.join(ROLES)))
    for wave, hosts in sorted((waves or {}).items()):
        for host in hosts:
            if host not in known:
                errors.append(_err(host, 'wave ' + wave, 'is not a store of the inventory',
                                   'add it under stores or remove it from the wave'))
    return errors


def spice_profile(link, weak):
    """The SPICE profile a store link gets: 'lan' or 'weak' (video streaming filtered, no folder sharing)."""
    link = link or {}
    if link.get('bandwidth_mbps', 1000) < weak.get('bandwidth_mbps', 20) or \
            link.get('latency_ms', 0) > weak.get('latency_ms', 100):
        return 'weak'
    return 'lan'


def readiness(stores, catalog, capacity, weak, floor_mbps):
    """Go / no-go per store with reasons. capacity: {region: {'fits_event': bool, 'reason': str}}."""
    out = []
    for store in stores:
        reasons, notes = [], []
        link = store.get('link') or {}
        profile = spice_profile(link, weak)
        if link.get('bandwidth_mbps', 1000) < floor_mbps:
            reasons.append('link {0} Mbit/s is below the floor of {1}'.format(link.get('bandwidth_mbps'), floor_mbps))
        if profile == 'weak':
            notes.append('weak link ({0} Mbit/s, {1} ms): SPICE video streaming filtered'.format(
                link.get('bandwidth_mbps'), link.get('latency_ms')))
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
                    'spice_profile': profile, 'staff': len(staff),
                    'printers': len((store.get('devices') or {}).get('printers') or []),
                    'verdict': 'NO-GO' if reasons else 'GO', 'reasons': reasons + notes})
    return out

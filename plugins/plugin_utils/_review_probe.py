# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The review's measurements across stores (private, pure): which desktops one bulk desktop_probe call covers
(every store's, or a sample per store), each store's KPIs from that one result, the image version switch time
from the last rollout reports, and the material library's freshness from the desktops' version stamps."""

from __future__ import annotations

import zlib

from ansible_collections.storedesk.vdi.plugins.plugin_utils._kpi import NOT_APPLICABLE, NOT_MEASURED


def _name(desktop):
    return desktop.get('name') or ''


def probe_targets(desktops, expect=None, sample=None, seed=''):
    """desktop_info records (every region) -> desktop_probe's `desktops`: the running desktops with an address,
    store by store, each with its store's expected USB devices. `sample`: at most that many per store, a window
    that moves with `seed` (the review id) so successive reviews cover other desktops."""
    expect = expect or {}
    by_store = {}
    for desk in desktops or []:
        if desk.get('address') and desk.get('store'):
            by_store.setdefault(desk['store'], []).append(desk)
    out = []
    for store in sorted(by_store):
        chosen = sorted(by_store[store], key=_name)
        if sample and 0 < int(sample) < len(chosen):
            start = zlib.crc32('{0}/{1}'.format(seed, store).encode('utf-8')) % len(chosen)
            chosen = sorted((chosen[start:] + chosen[:start])[:int(sample)], key=_name)
        for desk in chosen:
            out.append({'name': desk['name'], 'address': desk['address'],
                        'expect_usb': [str(v).upper() for v in expect.get(store) or []]})
    return out


def _pct(part, whole):
    return round(part * 100.0 / whole, 1) if whole else None


def store_results(partials, desktops, probe, expect=None, plans=None, switches=None, library=None):
    """The kpi role's per-store results (kpi_probe false) completed from the one bulk probe: desktops (of the
    store), probed, reachable, backend_latency_ms (worst), scanner_present_pct (n/a without scanners),
    unreachable; plus version (what the desktops' tags say), plan (baseline + spares), version_switch_seconds
    (from switch_times) and library_current_pct (from library_freshness) - 'not measured' for a store without
    a rollout report or a library stamp read (no source: neither a pass nor a miss)."""
    expect, plans, switches, library = expect or {}, plans or {}, switches or {}, library or {}
    store_of = dict((d.get('name'), d.get('store')) for d in desktops or [])
    own = {}
    for desk in desktops or []:
        own.setdefault(desk.get('store'), []).append(desk)
    probed = {}
    for record in (probe or {}).get('desktops') or []:
        probed.setdefault(store_of.get(record.get('name')), []).append(record)
    out = []
    for partial in partials or []:
        store = partial['store']
        mine = probed.get(store, [])
        reached = [r for r in mine if r.get('ok')]
        latencies = [b['latency_ms'] for r in reached for b in r.get('backends') or []
                     if b.get('ok') and b.get('latency_ms') is not None]
        versions = sorted(set(str(d['version']) for d in own.get(store, []) if d.get('version')))
        result = dict(partial)
        result.update({
            'desktops': len(own.get(store, [])),
            'probed': len(mine),
            'reachable': len(reached),
            'backend_latency_ms': max(latencies) if latencies else None,
            'scanner_present_pct': NOT_APPLICABLE if not expect.get(store) else
            _pct(sum(1 for r in reached if not (r.get('usb') or {}).get('missing')), len(reached)),
            'unreachable': [r['name'] for r in mine if not r.get('ok')],
            'version': ', '.join(versions) or None,
            'plan': plans.get(store),
        })
        result['version_switch_seconds'] = switches[store]['seconds'] if store in switches else NOT_MEASURED
        if store in switches:
            result['version_switched_to'] = switches[store].get('version')
        result['library_current_pct'] = library[store] if store in library else NOT_MEASURED
        out.append(result)
    return out


def _seconds(clock):
    h, m, s = (int(x) for x in str(clock).split(':'))
    return h * 3600 + m * 60 + s


def switch_times(reports):
    """{store: {seconds, version, at}}: how long the store's last switch to an image version took, from the
    rollout reports (oldest first, as _dashboard.load gives them; plans of check runs skipped) - the timeline rows
    with status done, finished - started (UTC clock times; a switch over midnight counts on)."""
    out = {}
    for name, phase, generated, data in reports or []:
        if phase != 'rollout' or '-plan-' in name:
            continue
        version = (data.get('image') or {}).get('version') if isinstance(data.get('image'), dict) else None
        for row in data.get('stores') or []:
            if not isinstance(row, dict) or row.get('status') != 'done' or not row.get('started') \
                    or not row.get('finished'):
                continue
            try:
                seconds = (_seconds(row['finished']) - _seconds(row['started'])) % 86400
            except ValueError:
                continue
            out[row['store']] = {'seconds': seconds, 'version': version, 'at': generated}
    return out


def library_freshness(markers, current=None):
    """{store: % of its reached desktops that see the library's current version stamp}. markers: {store:
    [{name, visible, content}]} (desktop_drive's marker per desktop); current: the stamp the source holds now
    (storedesk_library.current), else the newest stamp any desktop sees - a desktop on an older one, or that cannot
    see the stamp at all, is stale."""
    seen = [m.get('content') for ms in (markers or {}).values() for m in ms or [] if m.get('visible') and m.get('content')]
    source = current or (max(seen) if seen else None)
    out = {}
    for store, ms in (markers or {}).items():
        ms = [m for m in ms or [] if m is not None]
        if ms and source:
            out[store] = _pct(sum(1 for m in ms if m.get('visible') and m.get('content') == source), len(ms))
    return out

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_probe's logic (private): input checks, the probe run, per-desktop records and summary."""

from __future__ import annotations

import re

from ._ps_scripts import PROBE
from ._winrm_args import UNREACHABLE_CATEGORIES
from ._winrm_runner import run_on_desktops

VID_PID = re.compile(r'^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$')
FACTS = ('computer_name', 'os', 'sysprep_state', 'disks', 'printers', 'printer_drivers', 'printer_ports',
         'default_printers', 'mapped_drives', 'backends')


def _usb_ids(values, field):
    out = []
    for vid_pid in values or []:
        if not VID_PID.match(vid_pid):
            raise ValueError('{0} entries are VVVV:PPPP (hex vendor and product id), not {1!r}'.format(field, vid_pid))
        out.append(vid_pid.upper())
    return out


def check_input(desktops, backends, expect_usb):
    """(desktops, payload, expected VID:PIDs upper case); ValueError naming what is wrong.
    A desktop's own expect_usb (when given) replaces the common list for it: desktops[].expected."""
    seen = set()
    expected = _usb_ids(expect_usb, 'expect_usb')
    out = []
    for d in desktops:
        if not d.get('name') or not d.get('address'):
            raise ValueError('every entry of desktops needs name and address: {0!r}'.format(d))
        if d['name'] in seen:
            raise ValueError('desktop {0} is listed twice'.format(d['name']))
        seen.add(d['name'])
        own = d.get('expect_usb')
        out.append(dict(name=d['name'], address=d['address'],
                        expected=expected if own is None else _usb_ids(own, 'desktops[{0}].expect_usb'.format(d['name']))))
    payload = {'backends': []}
    for b in backends or []:
        if not b.get('host') or not 0 < int(b.get('port') or 0) < 65536:
            raise ValueError('every backend needs host and a port 1-65535: {0!r}'.format(b))
        payload['backends'].append({'name': b.get('name') or b['host'], 'host': b['host'], 'port': int(b['port']),
                                    'timeout_ms': int(b.get('timeout_ms') or 2000)})
    return out, payload, expected


def desktop_record(run, expected):
    """One desktop's entry in the module result, from its runner record."""
    record = dict((k, run[k]) for k in ('name', 'address', 'ok', 'attempts', 'elapsed'))
    if not run['ok']:
        record.update(error=run['error'], error_category=run['error_category'])
        return record
    facts = run['result'] or {}
    record.update((k, facts.get(k)) for k in FACTS)
    devices = facts.get('usb_devices') or []
    present_ids = set(d.get('vid_pid', '').upper() for d in devices)
    record['usb'] = {'devices': devices,
                     'present': [v for v in expected if v in present_ids],
                     'missing': [v for v in expected if v not in present_ids]}
    return record


def summarise(records):
    ok = [r for r in records if r['ok']]
    return {
        'total': len(records),
        'reachable': len(ok),
        'unreachable': len(records) - len(ok),
        'usb_missing': sum(1 for r in ok if r['usb']['missing']),
        'backend_failures': sum(1 for r in ok if any(not b.get('ok') for b in r.get('backends') or [])),
    }


def probe_desktops(options, desktops, backends=None, expect_usb=None, session_factory=None):
    """Probe every desktop; the module's result fields (desktops, unreachable, summary)."""
    desktops, payload, _expected = check_input(desktops, backends, expect_usb)
    runs = run_on_desktops(options, [dict(name=d['name'], address=d['address']) for d in desktops], PROBE, payload,
                           idempotent=True, session_factory=session_factory)
    records = [desktop_record(r, d['expected']) for r, d in zip(runs, desktops)]
    unreachable = [dict(name=r['name'], address=r['address'], error=r['error'], category=r['error_category'])
                   for r in records if not r['ok']]
    # not 'unreachable': Ansible reads a truthy top-level 'unreachable' as "the host is unreachable"
    return {'changed': False, 'desktops': records, 'unreachable_desktops': unreachable,
            'summary': summarise(records)}


def must_fail(result, fail_on_unreachable):
    """True when the task must fail: a desktop refused our credentials or certificate (auth, tls: failures, never
    'unreachable'), or any desktop could not be probed and the caller asked to fail on that."""
    bad = result['unreachable_desktops']
    return bool(bad) and (fail_on_unreachable or any(u['category'] not in UNREACHABLE_CATEGORIES for u in bad))


def failure_message(result):
    bad = result['unreachable_desktops']
    return '{0} of {1} desktops could not be probed: {2}'.format(
        len(bad), result['summary']['total'],
        '; '.join('{0} ({1}): {2}'.format(u['name'], u['address'], u['error']) for u in bad))

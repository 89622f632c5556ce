# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift (private, pure): what the device modules would change on a store's desktops, read from their check-mode
plans - so the inspection and `--check` of the phase playbooks agree on what drifted, by construction."""

from __future__ import annotations


IDLE = ('none', 'keep', '')


def pool_drift(results, fixes):
    """Drift rows from desktop_pool run in check mode (the store_pool role's registered loop results): every
    desktop whose planned action is more than none/keep - config, tags, image version, count, power."""
    out = []
    for result in (results or {}).get('results') or []:
        for record in result.get('desktops') or []:
            steps = [a for a in str(record.get('action') or '').split('+') if a not in IDLE]
            if not steps:
                continue
            detail = '+'.join(steps) + (' ({0})'.format(record['reason']) if record.get('reason') else '')
            out.append({'store': record.get('store'), 'desktop': record.get('name'), 'what': 'pool', 'detail': detail,
                        'fix': (fixes or {}).get(record.get('store'), '')})
    return out


def drift(store, usb=None, printers=None, drives=None, fix=None):
    """[{desktop, what, detail, fix}] from the registered results of usb_device, desktop_printer and desktop_drive
    run in check mode (a skipped or missing result adds nothing)."""
    out = []
    for record in (usb or {}).get('desktops') or []:
        if record.get('status') == 'planned' or record.get('set') or record.get('delete'):
            parts = ['{0}={1}'.format(k, v) for k, v in sorted((record.get('set') or {}).items())]
            parts += ['remove {0}'.format(k) for k in record.get('delete') or []]
            out.append({'desktop': record.get('name'), 'what': 'USB devices', 'detail': '; '.join(parts)})
    for what, result in (('printers', printers), ('drives', drives)):
        for record in (result or {}).get('desktops') or []:
            if record.get('status') == 'changed' or record.get('actions'):
                out.append({'desktop': record.get('name'), 'what': what,
                            'detail': '; '.join(str(a) for a in record.get('actions') or []) or 'would change'})
    command = fix or 'ansible-playbook playbooks/rollout.yml (the store\'s wave) with --check first, then without'
    for row in out:
        row['fix'] = command
        row['store'] = store
    return out

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""usb_device's road (private): desired devices -> actual configs -> per-desktop slot plans -> writes
-> what is live and what waits for a restart -> optional check inside Windows.

Reads: /cluster/resources once, /pending once per desktop (it carries the current values and the
pending ones), /cluster/mapping/usb once when mappings are involved, /pending again after a write to a
running desktop. Nothing is written before every desktop's plan is valid.
"""

from __future__ import annotations

from . import _device_targets as targets
from . import _usb_plan as up
from ._executor import run_bounded
from ._pve_errors import InputError, PveApiError, PveConnectionError, StoredeskError

ROOT_HINT = ('real host USB devices (host=VVVV:PPPP or host=BUS-PORT) can only be set or removed by root@pam '
             'logged in with its password - PVE refuses API tokens and every other user, whatever their privileges')


def desired(params):
    """The normalised devices from the module's `devices` option."""
    devices = [up.device(d, 'devices[{0}]'.format(i)) for i, d in enumerate(params['devices'] or [])]
    if not devices:
        raise InputError('devices is empty: name at least one device (mapping, host or spice)')
    return devices


def is_root_password_login(client):
    return client.token is None and client.user == 'root@pam'


def read_state(client, records, per_node=8, overall=32):
    """({vmid: {'config', 'effective', 'rows'}}, {vmid: why unreadable}) from one /pending read per desktop.

    A desktop whose config cannot be read (node offline, no permission) is reported, not planned.
    """
    def one(record):
        rows = client.get(targets.node_path(client, record) + '/pending') or []
        current = dict((r['key'], r['value']) for r in rows if 'value' in r)
        return {'config': current, 'effective': up.effective_config(current, rows), 'rows': rows}

    state, unread = {}, {}
    for outcome in run_bounded(records, one, key=lambda r: r['node'], per_key=per_node, overall=overall):
        if outcome.ok:
            state[outcome.item['vmid']] = outcome.value
        elif isinstance(outcome.error, (PveApiError, PveConnectionError)):
            unread[outcome.item['vmid']] = 'config not readable: {0}'.format(outcome.error)
        else:
            raise outcome.error
    return state, unread


def plan(records, state, devices, action, mappings, root):
    """[(record, changes)] for every desktop; InputError naming every desktop that cannot get its devices."""
    steps, problems = [], []
    for record in records:
        where = '{0} (vmid {1}, node {2})'.format(record['name'], record['vmid'], record['node'])
        cfg = state[record['vmid']]['effective']
        try:
            if action == 'present':
                for dev in devices:
                    if dev['kind'] == 'mapping':
                        up.check_mapping_for(mappings, dev['ref'], record['node'], where)
            changes = up.plan_slots(cfg, devices, action, where)
            changes['pending'] = pending_usb(state[record['vmid']].get('rows'))
            touched = [cfg.get(k) for k in changes['delete']] + [cfg.get(k) for k in changes['set']] + \
                list(changes['set'].values())
            if not root and any((up.device_of_value(v) or {}).get('kind') in ('host_id', 'host_path')
                                for v in touched if v):
                raise InputError('{0}: {1}'.format(where, ROOT_HINT),
                                 hint='use a cluster mapping (storedesk.vdi.usb_mapping) with Mapping.Use, or spice')
        except InputError as exc:
            problems.append(str(exc))
            continue
        steps.append((record, changes))
    if problems:
        raise InputError('{0} desktop(s) cannot get these USB devices, nothing was changed: {1}'.format(
            len(problems), ' | '.join(problems)))
    return steps


def pending_usb(rows):
    """usbN keys with a change waiting for the next start, from /pending rows."""
    return sorted(r['key'] for r in rows or [] if r['key'].startswith('usb') and r['key'][3:].isdigit()
                  and ('pending' in r or r.get('delete')))


def expected_ids(devices, mappings, node):
    """VID:PIDs (upper case) Windows should show for the devices; spice and bus-port ones cannot be known."""
    out = []
    for dev in devices:
        if dev['kind'] == 'host_id':
            out.append(dev['ref'].upper())
        elif dev['kind'] == 'mapping':
            entry = up.mapping_node_entry(mappings.get(dev['ref']), node)
            if entry and entry.get('id'):
                out.append(up.usb_id(entry['id']).upper())
    return out


def apply(client, steps, check_mode, per_node=4, overall=16):
    """Write every changed desktop; returns {vmid: entry} with status, and live/pending after the write."""
    entries = {}
    todo = [(rec, ch) for rec, ch in steps if ch['set'] or ch['delete']]
    for rec, ch in steps:
        entries[rec['vmid']] = {'status': 'unchanged' if (rec, ch) not in todo else
                                ('planned' if check_mode else 'ok'), 'pending': list(ch.get('pending') or [])}
    if check_mode or not todo:
        return entries

    def write(step):
        rec, ch = step
        path = targets.node_path(client, rec)
        params = dict(ch['set'])
        if ch['delete']:
            params['delete'] = ','.join(ch['delete'])
        client.put(path + '/config', **params)
        if rec['power'] != 'running':
            return []
        return pending_usb(client.get(path + '/pending'))

    for outcome in run_bounded(todo, write, key=lambda s: s[0]['node'], per_key=per_node, overall=overall):
        entry = entries[outcome.item[0]['vmid']]
        if outcome.ok:
            entry['pending'] = outcome.value
        else:
            entry.update(status='failed', error=str(outcome.error))
    return entries


def application(record, changes, entry, config):
    """How the change reaches the desktop: live, pending until restart, or at next start."""
    if not (changes['set'] or changes['delete']):
        return None
    if record['power'] != 'running':
        return 'at next start'
    if entry['status'] == 'planned':
        return 'live' if up.hotplugs_usb(config) else 'pending until restart'
    if entry['status'] != 'ok':
        return None
    return 'pending until restart' if entry.get('pending') else 'live'


def migration_warnings(steps):
    """{vmid: warning} for desktops that get a real host device."""
    out = {}
    for rec, ch in steps:
        hosts = [v for v in ch['set'].values() if (up.device_of_value(v) or {}).get('kind') in ('host_id', 'host_path')]
        if hosts:
            out[rec['vmid']] = up.MIGRATION_WARNING.format(rec['name'], ', '.join(hosts))
    return out


def verify(options, client, records, devices, mappings, entries, runner):
    """Check inside Windows (probe script) that the expected VID:PIDs are present; per-desktop results."""
    results = {}
    wanted = []
    for r in records:
        entry = entries[r['vmid']]
        if r['power'] != 'running' or entry['status'] == 'failed':
            continue
        if entry.get('pending'):
            results[r['vmid']] = {'ok': True, 'skipped': '{0} pending until restart'.format(', '.join(entry['pending']))}
            continue
        wanted.append(r)
    found = targets.addresses(client, wanted)
    reachable = [dict(name=r['name'], address=found[r['vmid']][0], vmid=r['vmid'], node=r['node'])
                 for r in wanted if found[r['vmid']][0]]
    for r in wanted:
        if not found[r['vmid']][0]:
            results[r['vmid']] = {'ok': False, 'error': found[r['vmid']][1]}
    runs = runner(options, reachable) if reachable else []
    for desktop, run in zip(reachable, runs):
        expected = expected_ids(devices, mappings, desktop['node'])
        if not run['ok']:
            results[desktop['vmid']] = {'ok': False, 'error': run['error'], 'expected': expected}
            continue
        present = set(d.get('vid_pid', '').upper() for d in (run['result'] or {}).get('usb_devices') or [])
        missing = [v for v in expected if v not in present]
        results[desktop['vmid']] = {'ok': not missing, 'expected': expected, 'missing': missing,
                                    'present': sorted(present)}
    return results


def results(steps, entries, state, migration, unread, all_records):
    """(per-desktop results, diff before, diff after): planned or written desktops, then unreadable ones."""
    out, before, after = [], {}, {}
    for rec, ch in steps:
        entry = entries[rec['vmid']]
        entry['applied'] = application(rec, ch, entry, state[rec['vmid']]['effective'])
        if ch['set'] or ch['delete']:
            old = dict((k, v) for k, v in sorted(state[rec['vmid']]['effective'].items())
                       if k.startswith('usb') and k[3:].isdigit())
            new = dict((k, v) for k, v in old.items() if k not in ch['delete'])
            new.update(ch['set'])
            before[rec['name']], after[rec['name']] = old, dict(sorted(new.items()))
        out.append(dict(entry, name=rec['name'], vmid=rec['vmid'], node=rec['node'], power=rec['power'],
                        set=ch['set'], delete=ch['delete'], kept=ch['kept'],
                        warnings=[migration[rec['vmid']]] if rec['vmid'] in migration else []))
    for vmid, why in sorted(unread.items()):
        rec = next(r for r in all_records if r['vmid'] == vmid)
        out.append(dict(name=rec['name'], vmid=vmid, node=rec['node'], power=rec['power'], set={}, delete=[],
                        kept=[], status='failed', error=why, applied=None, pending=[], warnings=[]))
    return out, before, after


def run(client, records, devices, params, check_mode, options, runner, warn):
    """The whole road for the selected desktops; the module's result. Warnings go to `warn` (module.warn)."""
    state, unread = read_state(client, records)
    readable = [r for r in records if r['vmid'] in state]
    mappings = {}
    if any(d['kind'] == 'mapping' for d in devices):
        mappings = dict((m['id'], m) for m in client.get('/cluster/mapping/usb') or [] if m.get('id'))
    steps = plan(readable, state, devices, params['state'], mappings, is_root_password_login(client))
    migration = migration_warnings(steps)
    for warning in migration.values():
        warn(warning)
    entries = apply(client, steps, check_mode, per_node=params['concurrency_per_node'])
    if options is not None:
        for vmid, res in verify(options, client, [r for r, _c in steps], devices, mappings, entries, runner).items():
            entries[vmid]['verify'] = res
    out, before, after = results(steps, entries, state, migration, unread, records)
    result = {'changed': any(e['status'] in ('ok', 'planned') and (e['set'] or e['delete']) for e in out),
              'desktops': out, 'api_requests': client.stats['requests']}
    if before:
        result['diff'] = {'before': before, 'after': after}
    pending = [e['name'] for e in out if e['applied'] == 'pending until restart']
    if pending:
        warn('USB changes are pending until restart on {0} (PVE did not hot-plug them; restart the desktops '
             'out of store hours)'.format(', '.join(pending)))
    problem = failure(out)
    if problem:
        raise UsbDeviceFailed(problem, desktops=out)
    return result


def failure(entries_list):
    failed = [e for e in entries_list if e['status'] == 'failed']
    bad = [e for e in entries_list if e.get('verify') is not None and not e['verify']['ok']]
    if not failed and not bad:
        return None
    parts = ['{0}: {1}'.format(e['name'], e['error']) for e in failed]
    parts += ['{0}: {1}'.format(e['name'], e['verify'].get('error') or 'not present in Windows: {0}'.format(
        ', '.join(e['verify']['missing']))) for e in bad]
    return '{0} desktop(s) failed: {1}'.format(len(failed) + len(bad), '; '.join(parts))


class UsbDeviceFailed(StoredeskError):
    """Some desktops failed; details carry the per-desktop results."""

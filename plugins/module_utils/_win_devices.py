# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_printer and desktop_drive (private): input checks, the desired state as one JSON document per
desktop, the fan-out, and per-desktop records.

Desktops come either as {name, address} pairs, or as a store code resolved through the Proxmox API
(one /cluster/resources read, then the guest agent of each running desktop for its address). A desktop
that is off is reported, never tried; one that does not answer is retried by the runner, then reported.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.basic import env_fallback

from . import _device_targets as targets
from . import _guest_live as guest_live
from ._pve_errors import InputError
from ._pve_module import PVE_ARGSPEC
from ._winrm_args import UNREACHABLE_CATEGORIES, winrm_argspec, winrm_options

BUILTIN_PRINTERS = ('Microsoft Print to PDF', 'Microsoft XPS Document Writer', 'Fax', 'OneNote (Desktop)',
                    'OneNote for Windows 10', 'Send To OneNote 2016', 'OneNote')
DRIVE = re.compile(r'^([A-Za-z]):?$')
UNC = re.compile(r'^\\\\[^\\/:*?"<>|]+\\[^\\/:*?"<>|]+(\\[^\\/:*?"<>|]+)*\\?$')
WINDOWS_NAME = re.compile(r'^[^\\,!]{1,220}$')      # printer names may not hold \ , or ! (Windows' rules)
SECOND_HOP_FIX = ('give share_user/share_password (an account that may read the share, from the vault) for that one '
                  'connection, an http(s) URL the desktop may read without credentials, or a controller path that is '
                  'pushed over WinRM ("Making the second hop in PowerShell Remoting")')


# ------------------------------------------------------------------ desktops

def desktops_from(params, client_factory):
    """([{name, address}], [{name, reason}]): the desktops to run on, and those left out (off, no address)."""
    if params.get('desktops'):
        seen = set()
        for d in params['desktops']:
            if d['name'] in seen:
                raise InputError('desktop {0} is listed twice'.format(d['name']))
            seen.add(d['name'])
        return [dict(name=d['name'], address=d['address']) for d in params['desktops']], []
    if not params.get('api_host'):
        raise InputError('store {0}: resolving a store needs the Proxmox API (api_host and credentials, or '
                         'module_defaults for group/storedesk.vdi.proxmox)'.format(params['store']),
                         hint='or give desktops as name/address pairs')
    client = client_factory()
    try:
        records = targets.select(guest_live.resources(client), params.get('desktop_names'), params['store'])
        found = targets.addresses(client, records)
    finally:
        client.close()
    run, left = [], []
    for r in records:
        address, reason = found[r['vmid']]
        if address:
            run.append({'name': r['name'], 'address': address})
        else:
            left.append({'name': r['name'], 'reason': reason})
    return run, left


# ------------------------------------------------------------------ printers

def port_of(printer):
    if printer['protocol'] == 'lpr':
        return 'LPR_{0}_{1}'.format(printer['host'], printer['queue'])
    return 'IP_{0}'.format(printer['host']) if printer['port'] == 9100 else 'IP_{0}_{1}'.format(
        printer['host'], printer['port'])


def printer_payload(params):
    """The JSON document of win-printer/1 from the module's options; InputError before anything runs."""
    catalog = {}
    for d in params.get('drivers') or []:
        if not d.get('inf') or not d.get('package'):
            raise InputError('drivers[{0}]: inf and package are required'.format(d.get('name')))
        package = d['package']
        if UNC.match(package):
            if not params.get('share_user') or not params.get('share_password'):
                raise InputError('drivers[{0}]: package {1!r} is a UNC path; read inside a WinRM session it fails with '
                                 'access denied (second hop: the session holds no credentials for the file '
                                 'server)'.format(d['name'], package), hint=SECOND_HOP_FIX)
        elif not (re.match(r'^https?://', package) or package.startswith('/')):
            raise InputError('drivers[{0}]: package {1!r} is neither a controller path (/srv/drivers/x.zip or a '
                             'folder), an http(s) URL of a zip, nor a UNC folder'.format(d['name'], package))
        catalog[d['name']] = {'name': d['name'], 'inf': d['inf'], 'package': package}
    wanted, absent, ports, defaults = [], [], {}, []
    for p in params.get('printers') or []:
        where = 'printers[{0}]'.format(p['name'])
        if not WINDOWS_NAME.match(p['name']):
            raise InputError('{0}: a printer name may not be empty or hold \\ , or !'.format(where))
        if p.get('state') == 'absent':
            absent.append(p['name'])
            continue
        if not p.get('driver') or not p.get('host'):
            raise InputError('{0}: driver and host are required for a printer that should be present'.format(where))
        try:
            host = str(ipaddress.ip_address(str(p['host']).strip()))
        except ValueError:
            raise InputError('{0}: host {1!r} is not an IP address'.format(where, p['host']),
                             hint='give the printer\'s IPv4 or IPv6 address, e.g. 10.21.1.50') from None
        port = int(p.get('port') or (515 if p.get('protocol') == 'lpr' else 9100))
        if not 0 < port < 65536:
            raise InputError('{0}: port {1} is not a TCP port (1-65535)'.format(where, port))
        if p.get('protocol') == 'lpr' and not p.get('queue'):
            raise InputError('{0}: protocol lpr needs queue (the LPR queue name on the printer)'.format(where))
        entry = dict(p, host=host, port=port, protocol=p.get('protocol') or 'raw')
        port_name = port_of(entry)
        ports[port_name] = {'name': port_name, 'host': host, 'protocol': entry['protocol'], 'port': port,
                            'queue': p.get('queue')}
        wanted.append({'name': p['name'], 'driver': p['driver'], 'port': port_name, 'shared': bool(p.get('shared')),
                       'share_name': p.get('share_name') or p['name'], 'comment': p.get('comment'),
                       'location': p.get('location')})
        if p.get('default'):
            defaults.append(p['name'])
    if len(defaults) > 1:
        raise InputError('more than one printer has default: true ({0}); a user has one default printer'.format(
            ', '.join(defaults)))
    used = sorted(set(w['driver'] for w in wanted))
    drivers = [catalog[n] for n in used if n in catalog]
    return {
        'check': False, 'drivers': drivers, 'ports': list(ports.values()),
        'credential': _credential(params) if any(UNC.match(d['package']) for d in drivers) else None,
        'printers': wanted, 'absent': absent, 'exclusive': bool(params.get('exclusive')),
        'builtin': list(BUILTIN_PRINTERS) + list(params.get('keep') or []),
        'default_printer': defaults[0] if defaults else None,
        'test_page': [w['name'] for w in wanted] if params.get('test_page') else [],
    }


# ------------------------------------------------------------------ drives

def drive_payload(params):
    found = DRIVE.match(str(params.get('letter') or ''))
    if not found or found.group(1).upper() in 'ABC':
        raise InputError('letter {0!r} is not a drive letter for a network drive (D: to Z:)'.format(params.get('letter')))
    unc = str(params.get('unc') or '').rstrip('\\')
    if not UNC.match(unc):
        raise InputError('unc {0!r} is not a UNC path (\\\\server\\share[\\folder])'.format(params.get('unc')))
    marker = params.get('marker')
    if marker and re.search(r'[\\/:*?"<>|]', marker):
        raise InputError('marker {0!r} must be a file name in the share, without a path'.format(marker))
    if marker and (not params.get('share_user') or not params.get('share_password')):
        raise InputError('marker {0!r}: reading {1}\\{0} inside a WinRM session fails with access denied (second hop: '
                         'the session holds no credentials for the file server)'.format(marker, unc),
                         hint='give share_user/share_password (an account that may read the share, from the vault)')
    return {'check': False, 'letter': found.group(1).upper(), 'unc': unc, 'state': params.get('state') or 'present',
            'marker': marker, 'credential': _credential(params) if marker else None}


def _credential(params):
    return {'user': params['share_user'], 'password': params['share_password']}


def pushes(payload):
    """[(package, controller path)] of the driver packages pushed over WinRM (the default way: no second hop)."""
    return [(d['package'], d['package']) for d in payload.get('drivers') or [] if d['package'].startswith('/')]


# ------------------------------------------------------------------ results

def desktop_record(run):
    """A runner record as the module returns it: status ok|changed|failed|unreachable, entries, failed entries.

    The per-item list is returned as C(entries), not C(items): Jinja's ``.items`` is the dict method."""
    record = dict((k, run.get(k)) for k in ('name', 'address', 'attempts', 'elapsed'))
    if not run['ok']:
        record.update(status='unreachable' if run['error_category'] in UNREACHABLE_CATEGORIES else 'failed',
                      error=run['error'], error_category=run['error_category'], entries=[])
        if run.get('result'):
            record['entries'] = run['result'].get('items') or []
        return record
    result = run['result'] or {}
    items = result.get('items') or []
    failed = [i for i in items if i.get('status') == 'failed']
    marker = result.get('marker')
    if marker and not marker.get('visible'):
        failed.append({'kind': 'marker', 'name': marker.get('path'), 'error': 'not visible from the desktop ({0})'
                       .format(marker.get('error') or 'not found')})
    changed = [i for i in items if i.get('status') == 'changed']
    record.update(entries=items, actions=[a for i in changed for a in i.get('actions') or []])
    for key in ('marker',):
        if key in result:
            record[key] = result[key]
    if failed:
        record.update(status='failed', error='; '.join('{0} {1}: {2}'.format(i['kind'], i['name'], i['error'])
                                                       for i in failed), error_category='script')
        if changed:
            record['error'] += ' (done before or besides: {0})'.format(
                '; '.join(a for i in changed for a in i.get('actions') or []))
    else:
        record['status'] = 'changed' if changed else 'ok'
    return record


def summary(records, left_out):
    count = dict((s, sum(1 for r in records if r['status'] == s)) for s in ('ok', 'changed', 'failed', 'unreachable'))
    count.update(total=len(records) + len(left_out), off=len(left_out))
    return count


def diff_text(records, left_out):
    lines = []
    for r in records:
        for action in r.get('actions') or []:
            lines.append('{0}: {1}'.format(r['name'], action))
    lines.extend('{0}: left out ({1})'.format(o['name'], o['reason']) for o in left_out)
    return '\n'.join(lines) + ('\n' if lines else '')


# ------------------------------------------------------------------ module wiring

TARGET_ARGSPEC = dict(
    desktops=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        address=dict(type='str', required=True))),
    store=dict(type='str'),
    desktop_names=dict(type='list', elements='str'),
    fail_on_unreachable=dict(type='bool', default=False),
    share_user=dict(type='str', fallback=(env_fallback, ['STOREDESK_SHARE_USER'])),
    share_password=dict(type='str', no_log=True, fallback=(env_fallback, ['STOREDESK_SHARE_PASSWORD'])),
)


def argspec(**extra):
    """WinRM options, the Proxmox options (optional: only a store needs them), the target options, extra."""
    spec = dict(PVE_ARGSPEC)
    spec['api_host'] = dict(PVE_ARGSPEC['api_host'], required=False)
    spec.update(winrm_argspec(**TARGET_ARGSPEC))
    spec.update(extra)
    return spec


MODULE_KWARGS = dict(supports_check_mode=True, required_one_of=[('desktops', 'store')],
                     mutually_exclusive=[('desktops', 'store'), ('desktops', 'desktop_names')],
                     required_together=[('api_token_id', 'api_token_secret')])


def execute(module, client, script, build_payload, runner=None):
    """The module's execute (see _pve_module.run_module): payload, desktops, fan-out, records; returns the result.

    client: a PVE client or None (optional_client), used only to resolve a store. Desktops that failed end in
    fail_json with the whole result."""
    p = module.params
    try:
        options = winrm_options(p)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    payload = dict(build_payload(p), check=module.check_mode)
    desktops, left = desktops_from(p, lambda: client)
    pushed = pushes(payload)
    if pushed and not module.check_mode:
        from ._file_push import run_after_pushes
        runs = run_after_pushes(options, desktops, script, payload, pushed)
    else:
        if runner is None:
            from ._winrm_runner import run_on_desktops as runner
        runs = runner(options, desktops, script, payload, idempotent=True) if desktops else []
    for warning in options.warnings():
        module.warn(warning)
    records = [desktop_record(r) for r in runs]
    result = {'changed': any(r['status'] == 'changed' or r.get('actions') for r in records),
              'desktops': records, 'left_out': left, 'summary': summary(records, left)}
    if module._diff:
        result['diff'] = {'prepared': diff_text(records, left)}
    for o in left:
        module.warn('{0} left out: {1}'.format(o['name'], o['reason']))
    for r in records:
        for item in r.get('entries') or []:
            if item.get('status') == 'skipped' and str(item.get('error') or '').startswith('stale profile'):
                module.warn('{0}: {1} {2} skipped - {3}'.format(r['name'], item['kind'], item['name'], item['error']))
    failed = [r for r in records if r['status'] == 'failed']
    unreachable = [r for r in records if r['status'] == 'unreachable']
    if failed or (unreachable and p['fail_on_unreachable']):
        bad = failed + (unreachable if p['fail_on_unreachable'] else [])
        module.fail_json(msg='{0} of {1} desktop(s) failed: {2}'.format(len(bad), len(records), ' | '.join(
            '{0}: {1}'.format(r['name'], r['error']) for r in bad)), **result)
    for r in unreachable:
        module.warn('{0} ({1}) not reached: {2}'.format(r['name'], r['address'], r['error']))
    return result

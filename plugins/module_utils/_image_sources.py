# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's manifest (private, pure): each entry checked, where its files come from (pushed from the
controller, http(s), a UNC share with credentials, local on the VM), and the manifest as ordered steps.

A UNC source needs share credentials: read inside a WinRM session it fails with access denied (the second
hop). The credentials go into the step's input only, never into the hash or the description.
"""

from __future__ import annotations

import re

from ._pve_errors import InputError

DRIVE_RE = re.compile(r'^[D-Zd-z]:$')
UNC_RE = re.compile(r'^\\\\[A-Za-z0-9._-]+\\[^\\/:*?"<>|]+(\\[^\\/:*?"<>|]+)*\\?$')
URL_RE = re.compile(r'^https?://[A-Za-z0-9.-]+(:\d+)?/\S*$')
LOCAL_RE = re.compile(r'^[A-Za-z]:\\')
CONTROLLER_RE = re.compile(r'^/[^\x00]+$')   # a file on the controller, pushed over WinRM
SECOND_HOP = ('a UNC path: read inside a WinRM session it fails with access denied, the session holds no credentials '
              'for the file server ("Making the second hop in PowerShell Remoting")')
SECOND_HOP_FIX = ('give share_user/share_password (from the vault) for that one connection, an http(s) URL the VM '
                  'may read without credentials, or a controller path (/srv/...) that is pushed over WinRM')
INF_RE = re.compile(r'^(?:[^\\/:*?"<>|]+\\)*[^\\/:*?"<>|]+\.inf$', re.I)   # relative to the package folder
REG_ROOTS = ('HKLM:\\', 'HKDU:\\')   # HKDU: the Default User hive (what new profiles start from)
REG_TYPES = ('String', 'ExpandString', 'DWord', 'QWord', 'MultiString', 'Binary')
SUCCESS_CODES = [0, 3010]                        # 3010: success, reboot required


def fail(field, problem, fix=None):
    raise InputError('{0}: {1}'.format(field, problem), hint=fix)


def _source_path(value, field, allow_local=True, share=None):
    value = str(value or '').strip()
    if UNC_RE.match(value):
        if not share:
            fail(field, '{0!r} is {1}'.format(value, SECOND_HOP), SECOND_HOP_FIX)
        return value
    if URL_RE.match(value) or CONTROLLER_RE.match(value) or (allow_local and LOCAL_RE.match(value)):
        return value
    fail(field, '{0!r} is not a UNC path, http(s) URL, controller path or local path'.format(value),
         r'e.g. /srv/storedesk/7zip.msi (pushed), https://repo.example/app.exe or \\hq-files.example\software\7zip.msi '
         'with share_user/share_password')


def source_kind(value):
    """How a source reaches the VM: push (controller file), http, share (UNC with credentials) or local."""
    if CONTROLLER_RE.match(value):
        return 'push'
    if URL_RE.match(value):
        return 'http'
    return 'share' if UNC_RE.match(value) else 'local'


def _software(items, share=None):
    out, names = [], set()
    for i, item in enumerate(items or []):
        field = 'manifest.software[{0}]'.format(i)
        if not item.get('name'):
            fail(field + '.name', 'every package needs a name (what Windows lists under installed programs)')
        if item['name'] in names:
            fail(field + '.name', 'package {0!r} is listed twice'.format(item['name']))
        names.add(item['name'])
        source = _source_path(item.get('source'), field + '.source', share=share)
        kind = item.get('kind') or ('msi' if source.lower().endswith('.msi') else 'exe')
        args = item.get('args')
        if args is None:
            args = ['/qn', '/norestart'] if kind == 'msi' else []
        elif isinstance(args, str):
            fail(field + '.args', 'give the arguments as a list, one per element', "e.g. ['/S', '/D=C:\\App']")
        codes = [int(c) for c in item.get('success_codes') or SUCCESS_CODES]
        out.append({'name': str(item['name']), 'version': str(item['version']) if item.get('version') else None,
                    'source': source, 'kind': kind, 'args': [str(a) for a in args], 'success_codes': codes,
                    'publisher': item.get('publisher'), 'timeout': int(item.get('timeout') or 1800)})
    return out


def _drivers(items, share=None):
    out = []
    for i, item in enumerate(items or []):
        field = 'manifest.drivers[{0}]'.format(i)
        source = _source_path(item.get('source'), field + '.source', share=share)
        inf = str(item.get('inf') or '')
        if not INF_RE.match(inf):
            fail(field + '.inf', '{0!r} is not an INF file name inside the package'.format(inf), 'e.g. ZDesigner.inf')
        out.append({'name': str(item.get('name') or inf), 'source': source, 'inf': inf})
    return out


def _registry(items):
    out = []
    for i, item in enumerate(items or []):
        field = 'manifest.registry[{0}]'.format(i)
        path = str(item.get('path') or '')
        if not path.upper().startswith(REG_ROOTS):
            fail(field + '.path', '{0!r} must start with HKLM:\\ or HKDU:\\ (the Default User hive)'.format(path))
        kind = item.get('type') or 'String'
        if kind not in REG_TYPES:
            fail(field + '.type', '{0!r} is not one of {1}'.format(kind, ', '.join(REG_TYPES)))
        value = item.get('value')
        if kind in ('DWord', 'QWord'):
            try:
                value = int(value)
            except (TypeError, ValueError):
                fail(field + '.value', '{0} needs an integer, not {1!r}'.format(kind, value))
        elif kind == 'MultiString':
            value = [str(v) for v in (value if isinstance(value, list) else [value])]
        elif kind == 'Binary':
            if not re.match(r'^([0-9a-fA-F]{2})*$', str(value or '')):
                fail(field + '.value', 'Binary takes hex bytes, e.g. 0a0b0c')
            value = str(value).lower()
        else:
            value = '' if value is None else str(value)
        out.append({'path': path[:4].upper() + path[4:], 'name': str(item.get('name') or ''), 'type': kind,
                    'value': value})
    return out


def _files(items, share=None):
    out = []
    for i, item in enumerate(items or []):
        field = 'manifest.files[{0}]'.format(i)
        dest = str(item.get('dest') or '')
        if not LOCAL_RE.match(dest) or dest.endswith('\\'):
            fail(field + '.dest', '{0!r} is not an absolute file path on the VM'.format(dest), r'e.g. C:\Store\pos.ini')
        if (item.get('content') is None) == (not item.get('source')):
            fail(field, 'give exactly one of content or source')
        entry = {'dest': dest, 'content': item.get('content'), 'source': None}
        if item.get('source'):
            entry['source'] = _source_path(item['source'], field + '.source', allow_local=False, share=share)
        out.append(entry)
    return out


def _library(lib):
    if not lib:
        return None
    drive = str(lib.get('drive') or '').upper()
    if not DRIVE_RE.match(drive):
        fail('manifest.library.drive', '{0!r} is not a drive letter D: to Z:'.format(lib.get('drive')))
    unc = str(lib.get('unc') or '').rstrip('\\')
    if not UNC_RE.match(unc):
        fail('manifest.library.unc', '{0!r} is not a UNC path'.format(lib.get('unc')), r'e.g. \\hq-files\materials')
    return {'drive': drive, 'unc': unc, 'label': lib.get('label')}


def normalise_manifest(man, share=None):
    man = dict(man or {})
    sysprep = dict(man.get('sysprep') or {})
    unattend = sysprep.get('unattend')
    if unattend and not LOCAL_RE.match(str(unattend)):
        fail('manifest.sysprep.unattend', 'must be a path on the VM, e.g. C:\\Windows\\Panther\\unattend.xml')
    return {'software': _software(man.get('software'), share), 'drivers': _drivers(man.get('drivers'), share),
            'registry': _registry(man.get('registry')), 'files': _files(man.get('files'), share),
            'library': _library(man.get('library')),
            'sysprep': {'mode_vm': bool(sysprep.get('mode_vm')), 'unattend': unattend or None}}


def share_credentials(params):
    """Credentials for UNC sources, used for that one connection (New-PSDrive -Credential); None without."""
    user, password = params.get('share_user'), params.get('share_password')
    if bool(user) != bool(password):
        fail('share_user' if not user else 'share_password', 'give both share_user and share_password',
             'the account that may read the software share, from the vault')
    return {'user': str(user), 'password': str(password)} if user else None


# ---------------------------------------------------------------------------- steps

def steps(spec):
    """The manifest as ordered steps, each ONE script run: {'id', 'kind', 'payload', 'timeout'}."""
    man = spec['manifest']
    out = []
    for i, pkg in enumerate(man['software']):
        out.append({'id': 'software[{0}] {1}'.format(i, pkg['name']), 'kind': 'software',
                    'payload': _with_credential(pkg, [pkg['source']], spec), 'timeout': pkg['timeout']})
    for i, drv in enumerate(man['drivers']):
        out.append({'id': 'drivers[{0}] {1}'.format(i, drv['name']), 'kind': 'driver',
                    'payload': _with_credential(drv, [drv['source']], spec), 'timeout': 600})
    if man['registry']:
        out.append({'id': 'registry ({0} settings)'.format(len(man['registry'])), 'kind': 'registry',
                    'payload': {'settings': man['registry']}, 'timeout': 300})
    if man['files']:
        out.append({'id': 'files ({0})'.format(len(man['files'])), 'kind': 'files',
                    'payload': _with_credential({'files': man['files']}, [f['source'] or '' for f in man['files']],
                                                spec), 'timeout': 600})
    if man['library']:
        out.append({'id': 'library {0}'.format(man['library']['drive']), 'kind': 'library',
                    'payload': man['library'], 'timeout': 300})
    return out


def _with_credential(payload, sources, spec):
    """The step's input, with the share credentials when one of its sources is a UNC path (never hashed)."""
    if spec.get('share') and any(source_kind(s) == 'share' for s in sources if s):
        return dict(payload, credential=dict(spec['share']))
    return payload

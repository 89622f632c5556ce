# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's desired state (private, pure): normalise and check the spec, names, tags, hash.

The manifest hash covers what makes the image what it is (hardware, source, manifest), not where it
is built (node, storage) nor how it is kept (retention, pinned). Equal hash = same image: not rebuilt.
A template's description carries a summary and the hash, so the next run can compare without WinRM.
"""

from __future__ import annotations

import hashlib
import json
import re

from . import _tags
from ._pve_errors import InputError

HASH_SCHEMA = 1
# MAJOR.MINOR.PATCH with an optional -prerelease (1.2.0, 1.3.0-rc.1); lower case (PVE lower-cases tags).
VERSION_RE = re.compile(r'^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(?:-([0-9a-z]+(?:\.[0-9a-z]+)*))?$')
NAME_RE = re.compile(r'^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$')
HASH_RE = re.compile(r'^manifest-sha256: ([0-9a-f]{64})\s*$', re.M)
BUILT_RE = re.compile(r'^built: (\S+)', re.M)
DRIVE_RE = re.compile(r'^[D-Zd-z]:$')
UNC_RE = re.compile(r'^\\\\[A-Za-z0-9._-]+\\[^\\/:*?"<>|]+(\\[^\\/:*?"<>|]+)*\\?$')
URL_RE = re.compile(r'^https?://[A-Za-z0-9.-]+(:\d+)?/\S*$')
LOCAL_RE = re.compile(r'^[A-Za-z]:\\')
CONTROLLER_RE = re.compile(r'^/[^\x00]+$')   # a file on the controller, pushed over WinRM
CIDR_RE = re.compile(r'^[0-9A-Fa-f.:]+(/\d{1,3})?$')
SECOND_HOP = ('a UNC path: read inside a WinRM session it fails with access denied, the session holds no credentials '
              'for the file server ("Making the second hop in PowerShell Remoting")')
SECOND_HOP_FIX = ('give share_user/share_password (from the vault) for that one connection, an http(s) URL the VM '
                  'may read without credentials, or a controller path (/srv/...) that is pushed over WinRM')
INF_RE = re.compile(r'^(?:[^\\/:*?"<>|]+\\)*[^\\/:*?"<>|]+\.inf$', re.I)   # relative to the package folder
REG_ROOTS = ('HKLM:\\', 'HKDU:\\')   # HKDU: the Default User hive (what new profiles start from)
REG_TYPES = ('String', 'ExpandString', 'DWord', 'QWord', 'MultiString', 'Binary')
MIN_MEMORY, MIN_CORES, MIN_DISK = 4096, 2, 64   # Windows 11: 4 GiB, 2 cores, 64 GB
SUCCESS_CODES = [0, 3010]                        # 3010: success, reboot required


def fail(field, problem, fix=None):
    raise InputError('{0}: {1}'.format(field, problem), hint=fix)


def parse_version(text, field='version'):
    """(major, minor, patch, prerelease or None); InputError for anything that is not a version."""
    found = VERSION_RE.match(str(text or ''))
    if not found:
        fail(field, '{0!r} is not a version'.format(text),
             'use MAJOR.MINOR.PATCH with an optional lower-case -prerelease, e.g. 1.2.0 or 1.3.0-rc.1; '
             'a version names one immutable build')
    return int(found.group(1)), int(found.group(2)), int(found.group(3)), found.group(4)


def version_key(text):
    """Sort key: numeric parts, then a prerelease before its release (1.2.0-rc.1 < 1.2.0). Junk sorts first."""
    try:
        major, minor, patch, pre = parse_version(text)
    except InputError:
        return (-1, -1, -1, 0, ())
    parts = tuple((0, int(p), '') if p.isdigit() else (1, 0, p) for p in (pre or '').split('.') if p)
    return (major, minor, patch, 0 if pre else 1, parts)


def template_name(image, version):
    return 'tpl-{0}-{1}'.format(image, version)


def build_name(image, version):
    return 'build-{0}-{1}'.format(image, version)


def failed_name(image, version):
    return 'failed-{0}-{1}'.format(image, version)


def template_tags(image, version, pinned=False):
    tags = [_tags.MARKER, 'image-' + image, 'v-' + version]
    return _tags.join_tags(tags + (['pinned'] if pinned else []))


BUILD_TAGS = _tags.join_tags([_tags.MARKER, 'role-build'])
FAILED_TAGS = _tags.join_tags([_tags.MARKER, 'role-build', 'failed'])


# ---------------------------------------------------------------------------- normalise

def _iso(value, storage, field):
    if not value:
        return None
    value = str(value)
    if ':' in value:
        if not re.match(r'^[a-z][a-z0-9_.-]*:iso/[^/]+\.iso$', value, re.I):
            fail(field, '{0!r} is not an ISO volume'.format(value), 'give <storage>:iso/<file>.iso or a file name')
        return value
    if '/' in value or not value.lower().endswith('.iso'):
        fail(field, '{0!r} is not an ISO file name'.format(value), 'e.g. Win11_24H2_x64.iso')
    return '{0}:iso/{1}'.format(storage, value)


def _source(src):
    src = dict(src or {})
    iso_storage = src.get('iso_storage') or 'local'
    iso, vm = src.get('iso'), src.get('vm')
    if bool(iso) == bool(vm):
        fail('source', 'give exactly one of iso (install from an ISO) or vm (clone a base VM or template)')
    if vm:
        return {'kind': 'clone', 'vm': str(vm)}
    out = {'kind': 'iso', 'iso': _iso(iso, iso_storage, 'source.iso'),
           'virtio_iso': _iso(src.get('virtio_iso'), iso_storage, 'source.virtio_iso'),
           'answer_iso': _iso(src.get('answer_iso'), iso_storage, 'source.answer_iso')}
    if not out['virtio_iso']:
        fail('source.virtio_iso', 'an ISO install needs the virtio-win ISO (drivers for virtio-scsi and the NIC, '
                                  'and the guest agent)', 'e.g. virtio_iso: virtio-win-0.1.271.iso')
    return out


def _hardware(hw):
    hw = dict(hw or {})
    out = {'memory': int(hw.get('memory') or 8192), 'cores': int(hw.get('cores') or 4),
           'sockets': int(hw.get('sockets') or 1), 'cpu': str(hw.get('cpu') or 'x86-64-v2-AES'),
           'disk_gib': int(hw.get('disk_gib') or 64), 'bridge': str(hw.get('bridge') or 'vmbr0'),
           'vlan': int(hw['vlan']) if hw.get('vlan') else None,
           'machine': 'q35', 'bios': 'ovmf', 'efidisk': 'efitype=4m,pre-enrolled-keys=1', 'tpm': 'v2.0',
           'scsihw': 'virtio-scsi-single', 'nic': 'virtio', 'vga': 'qxl', 'agent': True, 'ostype': 'win11'}
    for key, low in (('memory', MIN_MEMORY), ('cores', MIN_CORES), ('disk_gib', MIN_DISK)):
        if out[key] < low:
            fail('hardware.' + key, '{0} is below what Windows 11 needs ({1})'.format(out[key], low))
    if out['vlan'] is not None and not 1 <= out['vlan'] <= 4094:
        fail('hardware.vlan', '{0} is not a VLAN id (1-4094)'.format(out['vlan']))
    return out


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


def _manifest(man, share=None):
    man = dict(man or {})
    sysprep = dict(man.get('sysprep') or {})
    unattend = sysprep.get('unattend')
    if unattend and not LOCAL_RE.match(str(unattend)):
        fail('manifest.sysprep.unattend', 'must be a path on the VM, e.g. C:\\Windows\\Panther\\unattend.xml')
    return {'software': _software(man.get('software'), share), 'drivers': _drivers(man.get('drivers'), share),
            'registry': _registry(man.get('registry')), 'files': _files(man.get('files'), share),
            'library': _library(man.get('library')),
            'sysprep': {'mode_vm': bool(sysprep.get('mode_vm')), 'unattend': unattend or None}}


def _share(params):
    """Credentials for UNC sources, used for that one connection (New-PSDrive -Credential); None without."""
    user, password = params.get('share_user'), params.get('share_password')
    if bool(user) != bool(password):
        fail('share_user' if not user else 'share_password', 'give both share_user and share_password',
             'the account that may read the software share, from the vault')
    return {'user': str(user), 'password': str(password)} if user else None


SECRET_KEYS = ('admin_password', 'product_key')
LANG_RE = re.compile(r'^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$')
PRODUCT_KEY_RE = re.compile(r'^([A-Z0-9]{5}-){4}[A-Z0-9]{5}$')
ACCOUNT_RE = re.compile(r'^[^"/\\\[\]:;|=,+*?<>@]{1,20}$')   # local account names (20 characters, no "/\[]:;|=,+*?<>@)
COMPUTER_RE = re.compile(r'^(\*|[A-Za-z0-9-]{1,15})$')


def _unattend(params, source, manifest):
    """The answer files' settings, or None (unattend.enabled false).

    setup: generate autounattend.xml on an answer ISO (ISO builds without source.answer_iso);
    oobe: generate the unattend sysprep gives the clones (unless manifest.sysprep.unattend names one).
    The local administrator defaults to the WinRM account the build connects with.
    """
    u = dict(params.get('unattend') or {})
    if u.get('enabled') is False:
        return None
    setup = source['kind'] == 'iso' and not source.get('answer_iso')
    oobe = not manifest['sysprep']['unattend']
    if not (setup or oobe):
        return None
    out = {'setup': setup, 'oobe': oobe, 'language': str(u.get('language') or 'en-US'),
           'time_zone': str(u.get('time_zone') or 'UTC'), 'edition': str(u.get('edition') or 'Windows 11 Pro'),
           'computer_name': str(u.get('computer_name') or '*'),
           'admin_user': str(u.get('admin_user') or params.get('winrm_user') or ''),
           'admin_password': u.get('admin_password') or params.get('winrm_password'),
           'product_key': u.get('product_key') or None,
           'winrm_subnets': [str(n) for n in u.get('winrm_subnets') or []],
           'prevent_device_encryption': u.get('prevent_device_encryption') is not False}
    out['input_locale'] = str(u.get('input_locale') or out['language'])
    for key in ('language', 'input_locale'):
        if not LANG_RE.match(out[key]):
            fail('unattend.' + key, '{0!r} is not a language tag'.format(out[key]), 'e.g. en-US or de-DE')
    if not ACCOUNT_RE.match(out['admin_user']):
        fail('unattend.admin_user', '{0!r} is not a local account name'.format(out['admin_user']),
             'set winrm_user (the account the build connects with) or unattend.admin_user: up to 20 characters, '
             'none of "/\\[]:;|=,+*?<>@')
    if not out['admin_password']:
        fail('unattend.admin_password', 'the answer files create the local administrator and need its password',
             'set winrm_password (STOREDESK_WINRM_PASSWORD) or unattend.admin_password from the vault')
    if not COMPUTER_RE.match(out['computer_name']):
        fail('unattend.computer_name', '{0!r} is not * or a NetBIOS name (15 characters)'.format(out['computer_name']))
    if out['product_key'] and not PRODUCT_KEY_RE.match(str(out['product_key'])):
        fail('unattend.product_key', 'not a product key of five groups of five characters')
    if setup and not out['winrm_subnets']:
        fail('unattend.winrm_subnets', 'the WinRM firewall rule of the build VM needs the subnets the controller '
             'connects from', "e.g. ['10.20.0.0/24'] (the rule applies on every network profile)")
    for net in out['winrm_subnets']:
        if not CIDR_RE.match(net):
            fail('unattend.winrm_subnets', '{0!r} is not an address or subnet'.format(net), 'e.g. 10.20.0.0/24')
    return out


def normalise(params):
    """The desired image from module params; InputError naming the field and the fix."""
    name = str(params.get('name') or '')
    if not NAME_RE.match(name):
        fail('name', '{0!r} is not an image name'.format(name), 'lower-case letters, digits and -, e.g. store')
    version = str(params.get('version') or '')
    parse_version(version)
    pinned = []
    for v in params.get('pinned') or []:
        parse_version(v, 'pinned')
        pinned.append(str(v))
    retention = int(params.get('retention') or 0)
    if retention < 1:
        fail('retention', 'keep at least 1 version')
    share = _share(params)
    source = _source(params.get('source'))
    manifest = _manifest(params.get('manifest'), share)
    spec = {'name': name, 'version': version, 'node': params.get('node'), 'storage': params.get('storage'),
            'hardware': _hardware(params.get('hardware')), 'source': source, 'manifest': manifest,
            'unattend': _unattend(params, source, manifest), 'share': share,
            'retention': retention, 'pinned': sorted(set(pinned)),
            'on_failure': params.get('on_failure') or 'keep', 'timeouts': dict(params.get('timeouts') or {})}
    if not spec['node'] or not spec['storage']:
        fail('node' if not spec['node'] else 'storage', 'is required', 'the node that builds, and its image storage')
    spec['hash'] = manifest_hash(spec)
    spec['template_name'] = template_name(name, version)
    spec['build_name'] = build_name(name, version)
    return spec


def manifest_hash(spec):
    """sha256 over what defines the image (hardware, source, manifest), canonical JSON."""
    doc = {'schema': HASH_SCHEMA, 'hardware': spec['hardware'], 'source': spec['source'], 'manifest': spec['manifest']}
    if spec.get('unattend'):   # what the answer files make of the image; never the secrets
        doc['unattend'] = dict((k, v) for k, v in spec['unattend'].items() if k not in SECRET_KEYS)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(',', ':')).encode('utf-8')).hexdigest()


# ---------------------------------------------------------------------------- steps and description

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


def _short(items, fmt, limit=12):
    names = [fmt(i) for i in items]
    if len(names) > limit:
        names = names[:limit] + ['... {0} more'.format(len(names) - limit)]
    return '; '.join(names) or '-'


def description(spec, built):
    """The template's description: a readable summary, the manifest hash and the build time (UTC)."""
    man, src = spec['manifest'], spec['source']
    source = 'iso {0}'.format(src['iso']) if src['kind'] == 'iso' else 'clone of {0}'.format(src['vm'])
    lib = man['library']
    lines = [
        'storedesk golden image {0} {1}'.format(spec['name'], spec['version']),
        'manifest-sha256: {0}'.format(spec['hash']),
        'built: {0} by storedesk.vdi.golden_image'.format(built),
        'source: {0}'.format(source),
        'software: ' + _short(man['software'], lambda p: '{0} {1}'.format(p['name'], p['version'] or '').strip()),
        'drivers: ' + _short(man['drivers'], lambda d: '{0} ({1})'.format(d['name'], d['inf'])),
        'registry: {0} settings; files: {1}; library: {2}'.format(
            len(man['registry']), len(man['files']), '{0} -> {1}'.format(lib['drive'], lib['unc']) if lib else '-'),
        'sysprep: /generalize /oobe /shutdown /quiet{0}'.format(' /mode:vm' if man['sysprep']['mode_vm'] else ''),
    ]
    return '\n'.join(lines)


def parse_description(text):
    """{'hash': hex or None, 'built': str or None} from a template description."""
    text = str(text or '')
    found, built = HASH_RE.search(text), BUILT_RE.search(text)
    return {'hash': found.group(1) if found else None, 'built': built.group(1) if built else None}

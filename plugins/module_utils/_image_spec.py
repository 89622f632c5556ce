# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's desired state (private, pure): normalise and check the spec, versions, names, tags, hash.
The manifest's entries and their sources are checked in _image_sources.

The manifest hash covers what makes the image what it is (hardware, source, manifest), not where it
is built (node, storage) nor how it is kept (retention, pinned). Equal hash = same image: not rebuilt.
A template's description carries a summary and the hash, so the next run can compare without WinRM.
"""

from __future__ import annotations

import hashlib
import json
import re

from . import _tags
from ._image_sources import fail, normalise_manifest, share_credentials
from ._pve_errors import InputError

HASH_SCHEMA = 1
# MAJOR.MINOR.PATCH with an optional -prerelease (1.2.0, 1.3.0-rc.1); lower case (PVE lower-cases tags).
VERSION_RE = re.compile(r'^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(?:-([0-9a-z]+(?:\.[0-9a-z]+)*))?$')
NAME_RE = re.compile(r'^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$')
HASH_RE = re.compile(r'^manifest-sha256: ([0-9a-f]{64})\s*$', re.M)
BUILT_RE = re.compile(r'^built: (\S+)', re.M)
CIDR_RE = re.compile(r'^[0-9A-Fa-f.:]+(/\d{1,3})?$')
MIN_MEMORY, MIN_CORES, MIN_DISK = 4096, 2, 64   # Windows 11: 4 GiB, 2 cores, 64 GB


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
    share = share_credentials(params)
    source = _source(params.get('source'))
    manifest = normalise_manifest(params.get('manifest'), share)
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


# ---------------------------------------------------------------------------- description


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

"""The golden image's manifest steps as the fake desktop runs them (scripts of plugins/module_utils/_ps_image.py).

What the lab's file servers hold: any path on a host the desktop can resolve (its network table:
the topology's backends, e.g. hq-files.storedesk.example) or on a local drive exists, except the
paths tests put in MISSING_FILES. Installers end with exit code 0 unless INSTALL_EXIT_CODES says
otherwise; a driver package holds the INF asked for unless DRIVER_PACKAGES lists what it holds.
Keys are lower-case paths. Tests add entries with paths of their own (the lab is shared).

Sysprep changes the image state and powers the VM off through the lab's PVE side (the VM's status),
POWER_OFF_SECS real seconds after it was started, unless the desktop's fault `sysprep_hangs` is set.
"""

from __future__ import annotations

import asyncio
import re

from .contracts import PsError, contract

MISSING_FILES = set()
INSTALL_EXIT_CODES = {}
DRIVER_PACKAGES = {}
POWER_OFF_SECS = 0.2
TEMP = 'C:\\Windows\\Temp\\storedesk-image'

WIN32_MESSAGES = {
    1: 'Incorrect function.',
    2: 'The system cannot find the file specified.',
    1602: 'User cancelled installation.',
    1603: 'Fatal error during installation.',
    1618: 'Another installation is already in progress. Complete that installation before proceeding with '
          'this install.',
    1619: 'This installation package could not be opened. Verify that the package exists and that you can '
          'access it, or contact the application vendor to verify that this is a valid Windows Installer package.',
    1638: 'Another version of this product is already installed. Installation of this version cannot continue. '
          'To configure or remove the existing version of this product, use Add/Remove Programs on the Control '
          'Panel.',
    3010: 'The requested operation is successful. Changes will not be effective until the system is rebooted.',
}


def _host(path):
    found = re.match(r'^\\\\([^\\]+)\\', path) or re.match(r'^https?://([^/:]+)', path)
    return found.group(1).lower() if found else None


def _check_source(desktop, path, step):
    """Raise what the script's copy/download says when the path is not there."""
    host = _host(path)
    url = path.lower().startswith(('http://', 'https://'))
    if host is not None and host not in desktop.network:
        if url:
            raise PsError("The remote name could not be resolved: '{0}'".format(host), 'InvalidOperation', step)
        raise PsError("Cannot find path '{0}' because it does not exist.".format(path), 'ObjectNotFound', step)
    if path.lower() in MISSING_FILES:
        if url:
            raise PsError('The remote server returned an error: (404) Not Found.', 'InvalidOperation', step)
        raise PsError("Cannot find path '{0}' because it does not exist.".format(path), 'ObjectNotFound', step)


def _safe(name):
    return re.sub(r'[^A-Za-z0-9.-]', '_', str(name))


@contract('image-ready/1')
def image_ready(desktop, request, ctx):
    return {'changed': False, 'result': {
        'computer_name': desktop.computer_name,
        'os': {'caption': desktop.os_caption, 'version': desktop.os_version, 'build': desktop.os_build},
        'image_state': desktop.sysprep_state, 'reboot_pending': False}}


@contract('image-software/1')
def image_software(desktop, request, ctx):
    name, version = str(request.get('name') or ''), request.get('version')
    present = [s for s in desktop.installed_software if s.get('name') == name]
    if present and (not version or present[0].get('version') == version):
        return {'changed': False, 'result': {'name': name, 'version': present[0].get('version'), 'action': 'present',
                                             'exit_code': None, 'reboot_required': False, 'listed': True}}
    source = str(request.get('source') or '')
    _check_source(desktop, source, 'copy')
    log = '{0}\\{1}.log'.format(TEMP, _safe(name))
    code = int(INSTALL_EXIT_CODES.get(source.lower(), 0))
    if code not in [int(c) for c in request.get('success_codes') or [0]]:
        text = WIN32_MESSAGES.get(code, 'Unknown error (0x{0:x})'.format(code & 0xFFFFFFFF))
        raise PsError('installer of {0} exited with code {1} ({2}); log: {3}'.format(name, code, text, log),
                      'NotSpecified', 'install')
    desktop.installed_software = [s for s in desktop.installed_software if s.get('name') != name]
    desktop.installed_software.append({'name': name, 'version': version or '1.0.0',
                                       'publisher': request.get('publisher') or 'storedesk lab'})
    return {'changed': True, 'result': {'name': name, 'version': version or '1.0.0', 'action': 'installed',
                                        'exit_code': code, 'reboot_required': code == 3010, 'listed': True}}


@contract('image-driver/1')
def image_driver(desktop, request, ctx):
    source, inf = str(request.get('source') or ''), str(request.get('inf') or '')
    _check_source(desktop, source, 'copy')
    local = '{0}\\drivers\\{1}\\{2}'.format(TEMP, _safe(request.get('name')), inf)
    held = DRIVER_PACKAGES.get(source.lower().rstrip('\\'))
    if held is not None and inf.lower() not in [h.lower() for h in held]:
        output = ('Microsoft PnP Utility\r\n\r\nAdding driver package:  {0}\r\nFailed to add driver package: The '
                  'system cannot find the file specified.\r\n\r\nTotal driver packages:  1\r\nAdded driver packages:'
                  '  0'.format(local))
        raise PsError('pnputil /add-driver {0} failed with exit code 2: {1}'.format(inf, output), 'NotSpecified',
                      'pnputil')
    original = inf.split('\\')[-1].lower()
    for published, entry in desktop.driver_store.items():
        if entry.get('original') == original:
            return {'changed': False, 'result': {'name': request.get('name'), 'inf': inf,
                                                 'published_name': published, 'reboot_required': False}}
    numbers = [int(m.group(1)) for m in (re.match(r'^oem(\d+)\.inf$', k) for k in desktop.driver_store) if m]
    published = 'oem{0}.inf'.format(max(numbers, default=-1) + 1)
    desktop.driver_store[published] = {'original': original, 'provider': str(request.get('name') or ''),
                                       'class': 'Unknown', 'version': ''}
    return {'changed': True, 'result': {'name': request.get('name'), 'inf': inf, 'published_name': published,
                                        'reboot_required': False}}


def _reg_value(setting):
    kind, value = setting.get('type'), setting.get('value')
    if kind == 'DWord' and not -2 ** 31 <= int(value) < 2 ** 31:
        raise PsError('Cannot convert value "{0}" to type "System.Int32". Error: "Value was either too large or too '
                      'small for an Int32."'.format(value), 'InvalidArgument')
    return value


@contract('image-registry/1')
def image_registry(desktop, request, ctx):
    done, changed = [], False
    for setting in request.get('settings') or []:
        path, name = str(setting.get('path') or ''), str(setting.get('name') or '')
        step = '{0}\\{1}'.format(path, name)
        try:
            value = _reg_value(setting)
        except PsError as exc:
            raise PsError(exc.message, exc.category, step)
        key = desktop.registry.setdefault(path, {})
        same = key.get(name) == {'type': setting.get('type'), 'value': value}
        if not same:
            key[name] = {'type': setting.get('type'), 'value': value}
            changed = True
        done.append({'path': path, 'name': name, 'changed': not same})
    return {'changed': changed, 'result': {'settings': done}}


@contract('image-files/1')
def image_files(desktop, request, ctx):
    done = []
    for item in request.get('files') or []:
        dest = str(item.get('dest') or '')
        if item.get('source'):
            _check_source(desktop, str(item['source']), dest)
            size = 1024
        else:
            size = len(str(item.get('content') or '').encode('utf-8'))
        desktop.files[dest] = {'bytes': size, 'source': item.get('source'), 'content': item.get('content')}
        done.append({'dest': dest, 'bytes': size})
    return {'changed': bool(done), 'result': {'files': done}}


@contract('image-library/1')
def image_library(desktop, request, ctx):
    drive, unc = str(request.get('drive') or '').upper(), str(request.get('unc') or '')
    drives = desktop.default_user.mapped_drives
    changed = drives.get(drive) != unc
    drives[drive] = unc
    return {'changed': changed, 'result': {'drive': drive, 'unc': unc}}


@contract('image-sysprep/1')
def image_sysprep(desktop, request, ctx):
    vm = ctx.vm
    if vm is not None and (getattr(vm, 'template', False) or str(vm.config.get('template', '0')) == '1'):
        raise PsError('the VM is a Proxmox VE template (template=1); sysprep refuses to generalize it',
                      'InvalidOperation', 'check')
    unattend = request.get('unattend')
    if unattend and unattend not in desktop.files:
        raise PsError("Cannot find path '{0}' because it does not exist.".format(unattend), 'ObjectNotFound', 'check')
    line = '"C:\\Windows\\System32\\Sysprep\\sysprep.exe" /generalize /oobe /shutdown /quiet'
    line += ' /mode:vm' if request.get('mode_vm') else ''
    line += ' "/unattend:{0}"'.format(unattend) if unattend else ''
    desktop.sysprep_state = 'IMAGE_STATE_UNDEPLOYABLE'
    if not desktop.faults.take('sysprep_hangs'):
        _power_off_later(desktop, vm)
    return {'changed': True, 'result': {'process_id': 4242, 'command_line': line}}


def _power_off_later(desktop, vm):
    def off():
        desktop.sysprep_state = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
        if vm is not None:
            vm.status = vm.qmpstatus = 'stopped'
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:   # called outside the lab's event loop (unit tests): at once
        off()
        return
    loop.call_later(POWER_OFF_SECS, off)

"""Contracts of the store-device scripts (plugins/module_utils/_ps_printer.py, _ps_user_drive.py) on the desktop model.

win-printer/1: drivers (package at a UNC folder -> pnputil -> driver store -> Add-PrinterDriver), ports,
printers, removals, the default printer of every profile and the Default User hive, test pages.
win-user-drive/1: Network\\<letter> in every profile and the Default User hive; a marker file at the UNC.

Item by item, as the scripts do: a failure is recorded on its item with Windows' message and the rest
goes on; what depends on a failed driver or port is skipped. check: true computes and changes nothing.
"""

from __future__ import annotations

import hashlib

from .contracts import PsError, contract

DRIVER_NOT_IN_STORE = 'The specified driver does not exist in the driver store.'
PRINTER_DRIVER_MISSING = ('The specified driver does not exist. Use add-printerdriver to add a new driver, or specify '
                          'an existing driver.')
PRINTER_PORT_MISSING = ('The specified port does not exist. Use add-printerport to add a new port, or specify an '
                        'existing port.')
PNPUTIL_NO_FILE = 'Failed to add driver package: The system cannot find the file specified.'


def unc_folder(desktop, path):
    """The files the desktop sees at a UNC folder (or a package URL), or None."""
    wanted = str(path or '').rstrip('\\').lower()
    for folder, files in desktop.unc_files.items():
        if folder.rstrip('\\').lower() == wanted:
            return files
    return None


def _lookup(files, name):
    for key, value in (files or {}).items():
        if key.lower() == str(name or '').lower():
            return key, value
    return None, None


def _item(kind, name):
    return {'kind': kind, 'name': name, 'status': 'ok', 'actions': [], 'error': None}


def _fail(item, message):
    item.update(status='failed', error=message)


def _profiles(desktop):
    return list(desktop.profiles) + [desktop.default_user]


def _request(request):
    if not isinstance(request, dict):
        raise PsError('Cannot bind argument to parameter \'Request\' because it is null.', 'InvalidData', 'input')
    return request


# ------------------------------------------------------------------ printers

def _install_driver(desktop, driver, item, check):
    name = driver.get('name')
    if name in desktop.printer_drivers:
        return
    item['status'] = 'changed'
    item['actions'].append('stage {0} from {1} and install {2}'.format(driver.get('inf'), driver.get('package'), name))
    if check:
        return
    files = unc_folder(desktop, driver.get('package'))
    if files is None:
        return _fail(item, "Cannot find path '{0}' because it does not exist.".format(driver.get('package')))
    inf, content = _lookup(files, driver.get('inf'))
    if inf is None:
        return _fail(item, 'pnputil /add-driver {0}: {1}'.format(driver.get('inf'), PNPUTIL_NO_FILE))
    provides = list((content or {}).get('printer_drivers') or []) if isinstance(content, dict) else []
    staged = next((k for k, v in desktop.driver_store.items() if v.get('original', '').lower() == inf.lower()), None)
    if staged is None:
        staged = 'oem{0}.inf'.format(10 + len(desktop.driver_store))
        desktop.driver_store[staged] = {'original': inf, 'provider': (content or {}).get('provider', 'Vendor'),
                                        'class': 'Printer', 'version': (content or {}).get('version', '1.0.0.0'),
                                        'printer_drivers': provides}
    source = next((v for v in desktop.driver_store.values() if name in (v.get('printer_drivers') or [])), None)
    if source is None:
        return _fail(item, DRIVER_NOT_IN_STORE)
    tag = hashlib.sha1(source['original'].encode()).hexdigest()[:16]
    desktop.printer_drivers[name] = {'inf': 'C:\\Windows\\System32\\DriverStore\\FileRepository\\{0}_amd64_{1}\\{0}'
                                     .format(source['original'].lower(), tag)}


def _install_port(desktop, port, item, check):
    if port.get('name') in desktop.printer_ports:
        return
    item['status'] = 'changed'
    item['actions'].append('add port {0} -> {1}'.format(port.get('name'), port.get('host')))
    if not check:
        desktop.printer_ports[port['name']] = {'host': port.get('host'), 'protocol': port.get('protocol', 'raw'),
                                               'port': port.get('port'), 'queue': port.get('queue')}


def _install_printer(desktop, printer, item, check):
    name = printer['name']
    current = desktop.printers.get(name)
    if current is None:
        item['status'] = 'changed'
        item['actions'].append('add printer {0}'.format(name))
        if check:
            return
        if printer.get('driver') not in desktop.printer_drivers:
            return _fail(item, PRINTER_DRIVER_MISSING)
        if printer.get('port') not in desktop.printer_ports:
            return _fail(item, PRINTER_PORT_MISSING)
        desktop.printers[name] = {'driver': printer['driver'], 'port': printer['port'],
                                  'shared': bool(printer.get('shared')), 'share_name': printer.get('share_name'),
                                  'comment': printer.get('comment') or '', 'location': printer.get('location') or ''}
        return
    changes = {}
    if current.get('driver') != printer.get('driver'):
        changes['driver'] = printer.get('driver')
    if current.get('port') != printer.get('port'):
        changes['port'] = printer.get('port')
    if bool(current.get('shared')) != bool(printer.get('shared')):
        changes['shared'] = bool(printer.get('shared'))
    for key in ('comment', 'location'):
        if printer.get(key) is not None and (current.get(key) or '') != printer[key]:
            changes[key] = printer[key]
    if not changes:
        return
    item['status'] = 'changed'
    item['actions'].append('set {0} of printer {1}'.format(', '.join(sorted(changes)), name))
    if check:
        return
    if 'driver' in changes and changes['driver'] not in desktop.printer_drivers:
        return _fail(item, PRINTER_DRIVER_MISSING)
    if 'port' in changes and changes['port'] not in desktop.printer_ports:
        return _fail(item, PRINTER_PORT_MISSING)
    current.update(changes)


@contract('win-printer/1')
def desktop_printer(desktop, request, ctx):
    request = _request(request)
    check = bool(request.get('check'))
    items, bad_drivers, bad_ports, ready = [], set(), set(), set()
    for driver in request.get('drivers') or []:
        item = _item('driver', driver.get('name'))
        _install_driver(desktop, driver, item, check)
        if item['status'] == 'failed':
            bad_drivers.add(driver.get('name'))
        items.append(item)
    for port in request.get('ports') or []:
        item = _item('port', port.get('name'))
        _install_port(desktop, port, item, check)
        if item['status'] == 'failed':
            bad_ports.add(port.get('name'))
        items.append(item)
    for printer in request.get('printers') or []:
        item = _item('printer', printer.get('name'))
        if printer.get('driver') in bad_drivers or printer.get('port') in bad_ports:
            item.update(status='skipped', error='not configured: its driver or port failed above')
        else:
            _install_printer(desktop, printer, item, check)
        if item['status'] not in ('failed', 'skipped'):
            ready.add(printer['name'])
        items.append(item)
    keep = set(request.get('builtin') or []) | set(p.get('name') for p in request.get('printers') or [])
    remove = list(request.get('absent') or [])
    if request.get('exclusive'):
        remove += [n for n in desktop.printers if n not in keep]
    for name in sorted(set(remove)):
        if name not in desktop.printers:
            continue
        item = _item('removal', name)
        item.update(status='changed', actions=['remove printer {0}'.format(name)])
        if not check:
            del desktop.printers[name]
        items.append(item)
    default = request.get('default_printer')
    if default:
        for profile in _profiles(desktop):
            item = _item('default', '{0} ({1})'.format(profile.user, profile.sid))
            if default not in ready:
                item.update(status='skipped', error='printer {0} is not configured on this desktop'.format(default))
            elif profile.default_printer != default:
                item.update(status='changed', actions=['default printer {0}'.format(default)])
                if not check:
                    profile.default_printer = default
            items.append(item)
    for name in request.get('test_page') or []:
        item = _item('test_page', name)
        if check or name not in ready:
            item.update(status='skipped', error='check mode, or printer not configured')
        else:
            desktop.count('test_page:' + name)
            item['actions'].append('test page sent')
        items.append(item)
    changed = not check and any(i['status'] == 'changed' for i in items)
    return {'changed': changed, 'result': {'items': items}}


# ------------------------------------------------------------------ drives

@contract('win-user-drive/1')
def desktop_drive(desktop, request, ctx):
    request = _request(request)
    check = bool(request.get('check'))
    letter = '{0}:'.format(str(request.get('letter') or '').rstrip(':').upper())
    unc, state = request.get('unc'), request.get('state') or 'present'
    items = []
    for profile in _profiles(desktop):
        item = _item('drive', '{0} ({1})'.format(profile.user, profile.sid))
        now = next((v for k, v in profile.mapped_drives.items() if k.upper() == letter), None)
        if state == 'absent' and now is not None:
            item.update(status='changed', actions=['absent {0} {1}'.format(letter, unc)])
            if not check:
                for key in [k for k in profile.mapped_drives if k.upper() == letter]:
                    del profile.mapped_drives[key]
        elif state != 'absent' and now != unc:
            item.update(status='changed', actions=['present {0} {1}'.format(letter, unc)])
            if not check:
                profile.mapped_drives[letter] = unc
        items.append(item)
    marker = None
    if request.get('marker') and state != 'absent':
        path = '{0}\\{1}'.format(str(unc).rstrip('\\'), request['marker'])
        marker = {'path': path, 'visible': False, 'content': None, 'error': None}
        name, content = _lookup(unc_folder(desktop, unc), request['marker'])
        if name is None:
            marker['error'] = 'not found (or not readable by this session)'
        else:
            marker.update(visible=True, content=(str(content).splitlines() or [''])[0].strip())
    changed = not check and any(i['status'] == 'changed' for i in items)
    return {'changed': changed, 'result': {'items': items, 'marker': marker}}

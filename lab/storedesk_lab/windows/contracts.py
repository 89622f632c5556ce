"""What each shipped PowerShell script does, as the fake desktop executes it.

A contract is one function ``fn(desktop, request, ctx) -> {"changed": bool, "result": ...}`` registered
under the script's header name (``# storedesk-script: probe/1``). It reads and changes the desktop
model and raises PsError with Windows' own message where Windows would refuse. Adding a script =
one PS constant in plugins/module_utils/_ps_*.py + one function here.
"""

from __future__ import annotations

import re

from .model import pnp_entry, usb_devices

CONTRACTS = {}


class PsError(Exception):
    """A terminating PowerShell error: the script's catch block reports message/category/step."""

    def __init__(self, message, category='NotSpecified', step=None):
        super().__init__(message)
        self.message, self.category, self.step = message, category, step


class Context(object):
    """What a contract may need besides the desktop: the VM (config, node) and the fleet's lookups."""

    def __init__(self, vm=None, mapping_lookup=None):
        self.vm, self.mapping_lookup = vm, mapping_lookup


def contract(name):
    def register(fn):
        CONTRACTS[name] = fn
        return fn
    return register


HOST_NAME = re.compile(r'^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}'
                       r'[A-Za-z0-9])?)*$')


def tcp_connect(desktop, host, port, timeout_ms):
    """TcpClient.ConnectAsync(host, port).Wait(timeout) as the desktop's network answers it."""
    entry = {'ok': False, 'latency_ms': None, 'error': None}
    try:
        port = int(port)
    except (TypeError, ValueError):   # [int]'abc' fails inside the per-backend try
        entry['error'] = 'Input string was not in a correct format.'
        return entry
    if not 0 <= port <= 65535:
        entry['error'] = 'Specified argument was out of the range of valid values.\r\nParameter name: port'
    elif not host or not HOST_NAME.match(host) or host not in desktop.network:
        entry['error'] = 'No such host is known'
    elif desktop.network[host] is None or desktop.network[host] > timeout_ms:
        entry['error'] = 'No connection within {0} ms.'.format(timeout_ms)
    else:
        entry.update(ok=True, latency_ms=round(float(desktop.network[host]), 1))
    return entry


def _profile_facts(desktop):
    defaults, mapped = [], []
    for profile in list(desktop.profiles) + [desktop.default_user]:
        source = 'loaded' if profile.loaded else 'hive'
        defaults.append({'sid': profile.sid, 'user': profile.user, 'printer': profile.default_printer,
                         'source': source})
        for letter, path in sorted(profile.mapped_drives.items()):
            mapped.append({'sid': profile.sid, 'user': profile.user, 'letter': letter.upper(), 'path': path})
    return defaults, mapped


@contract('probe/1')
def probe(desktop, request, ctx):
    backends = request.get('backends') if isinstance(request, dict) else None
    measured = []
    for backend in backends or []:
        backend = backend if isinstance(backend, dict) else {}
        entry = {'name': str(backend.get('name') or ''), 'host': str(backend.get('host') or ''),
                 'port': backend.get('port')}
        entry.update(tcp_connect(desktop, entry['host'], backend.get('port'), int(backend.get('timeout_ms') or 2000)))
        measured.append(entry)
    defaults, mapped = _profile_facts(desktop)
    usb = [pnp_entry(d, i) for i, d in enumerate(usb_devices(desktop, ctx.vm, ctx.mapping_lookup))]
    return {'changed': False, 'result': {
        'computer_name': desktop.computer_name,
        'os': {'caption': desktop.os_caption, 'version': desktop.os_version, 'build': desktop.os_build,
               'ubr': desktop.os_ubr},
        'sysprep_state': desktop.sysprep_state,
        'disks': [{'drive': d, 'free_bytes': v['free'], 'size_bytes': v['size']} for d, v in sorted(desktop.disks.items())],
        'printers': [{'name': n, 'driver': p['driver'], 'port': p['port'], 'shared': bool(p.get('shared'))}
                     for n, p in sorted(desktop.printers.items())],
        'printer_drivers': [{'name': n, 'inf': d.get('inf', '')} for n, d in sorted(desktop.printer_drivers.items())],
        'printer_ports': [{'name': n, 'host': p.get('host', '')} for n, p in sorted(desktop.printer_ports.items())],
        'default_printers': defaults,
        'mapped_drives': mapped,
        'usb_devices': usb,
        'backends': measured,
    }}


def _load_more():
    """Contracts of other script families live in contracts_<family>.py beside this file."""
    import importlib
    import pkgutil
    from . import __path__ as here
    for info in pkgutil.iter_modules(here):
        if info.name.startswith('contracts_'):
            importlib.import_module('{0}.{1}'.format(__package__, info.name))

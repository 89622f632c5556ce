"""The run context of a script on a fake desktop, and the desktop's TCP view of its backends.

Scripts are no longer modelled one by one: psinterp.py runs their statements. ``contract`` is kept as a
no-op for old test code (a test script now runs for real in the interpreter).
"""

from __future__ import annotations

import re

CONTRACTS = {}   # empty: kept for old imports


class PsError(Exception):
    """A terminating PowerShell error: the script's catch block reports message/category/step."""

    def __init__(self, message, category='NotSpecified', step=None):
        super().__init__(message)
        self.message, self.category, self.step = message, category, step


class Context(object):
    """What a contract may need besides the desktop: the VM (config, node) and the fleet's lookups."""

    def __init__(self, vm=None, mapping_lookup=None, time_scale=0.0):
        self.vm, self.mapping_lookup, self.time_scale = vm, mapping_lookup, time_scale


def contract(name):
    """Deprecated no-op: the interpreter runs every script's statements; nothing is registered."""
    def register(fn):
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

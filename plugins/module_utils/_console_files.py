# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a terminal needs to open a desktop (private, pure): .vv and .rdp files, kiosk settings.

A .vv file is remote-viewer's INI file ([virt-viewer] section) built from PVE's spiceproxy answer;
its password is a ticket valid for about 30 seconds, so it is made right before it is opened.
An .rdp file is mstsc's `name:type:value` list; Windows App on macOS, iOS and Android reads it too.
"""

from __future__ import annotations

import os
import tempfile

from ._pve_errors import InputError

# The keys of PVE's spiceproxy answer, in the order remote-viewer documents them.
SPICE_KEYS = ('type', 'host', 'password', 'proxy', 'tls-port', 'port', 'ca', 'host-subject', 'title',
              'secure-attention', 'release-cursor', 'toggle-fullscreen', 'delete-this-file')
# A store on a weak link: USB through SPICE (the only way for mapped scanners without passthrough),
# no smartcard channel, fewer effects and colours to spare bandwidth.
SPICE_WEAK_LINK = {'enable-usbredir': 1, 'enable-usb-autoshare': 1, 'enable-smartcard': 0,
                   'disable-effects': 'wallpaper,font-smooth,animation', 'color-depth': 16}
SPICE_KIOSK = {'fullscreen': 1, 'enable-usbredir': 1, 'enable-usb-autoshare': 1}

AUDIO_MODES = {'local': 0, 'remote': 1, 'none': 2}
RDP_BASE = {'screen mode id': ('i', 2), 'use multimon': ('i', 0), 'session bpp': ('i', 32),
            'redirectprinters': ('i', 1), 'redirectclipboard': ('i', 1), 'redirectsmartcards': ('i', 0),
            'usbdevicestoredirect': ('s', '*'), 'audiomode': ('i', 0), 'prompt for credentials': ('i', 1),
            'authentication level': ('i', 2), 'autoreconnection enabled': ('i', 1)}
# Low-speed broadband profile: the client keeps to it instead of auto-detecting on a lossy link.
RDP_WEAK_LINK = {'connection type': ('i', 2), 'networkautodetect': ('i', 0), 'bandwidthautodetect': ('i', 0),
                 'session bpp': ('i', 16), 'compression': ('i', 1), 'disable wallpaper': ('i', 1),
                 'allow font smoothing': ('i', 0), 'disable full window drag': ('i', 1),
                 'disable menu anims': ('i', 1), 'disable themes': ('i', 0)}


def select(records, desktop=None, store=None, roles=('desktop',)):
    """The desktops asked for: one by name (or vmid), or a store's desktops of the given roles."""
    if desktop:
        found = [r for r in records if r['name'] == str(desktop) or str(r['vmid']) == str(desktop)]
        if not found:
            raise InputError('desktop {0} not found among the managed desktops'.format(desktop),
                             hint='check the name with storedesk.vdi.desktops inventory or cluster_info')
        return found[:1]
    found = [r for r in records if r['store'] == store and (not roles or r['role'] in roles)]
    if not found:
        raise InputError('store {0} has no desktops with role {1}'.format(store, ', '.join(roles or ['any'])),
                         hint='check the store code and that its desktops are tagged store-<code>')
    return found


def vv_content(spice, record, weak_link=False, kiosk=False, extra=None):
    """The .vv file from PVE's spiceproxy answer, with the store's settings added."""
    values = dict((k, spice[k]) for k in SPICE_KEYS if spice.get(k) not in (None, ''))
    values.setdefault('title', 'VM {0} - {1}'.format(record['vmid'], record['name']))
    values.setdefault('delete-this-file', 1)
    for add in (SPICE_WEAK_LINK if weak_link else {}, SPICE_KIOSK if kiosk else {}, extra or {}):
        values.update(add)
    lines = ['[virt-viewer]']
    for key, value in values.items():
        # PVE sends the CA with \n escaped; a real newline would end the INI value.
        lines.append('{0}={1}'.format(key, _ini_value(value)))
    return '\n'.join(lines) + '\n'


def _ini_value(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    return str(value).replace('\r', '').replace('\n', '\\n')


def rdp_content(ip, record, weak_link=False, kiosk=False, redirect_printers=True, usb_devices='*',
                audio_mode='local', extra=None):
    """An .rdp file for the desktop at `ip` (CRLF lines `name:type:value`, as mstsc writes them)."""
    settings = dict(RDP_BASE)
    settings['full address'] = ('s', ip)
    settings['alternate full address'] = ('s', ip)
    settings['redirectprinters'] = ('i', 1 if redirect_printers else 0)
    settings['usbdevicestoredirect'] = ('s', usb_devices or '')
    settings['audiomode'] = ('i', AUDIO_MODES[audio_mode])
    settings['screen mode id'] = ('i', 2 if kiosk else settings['screen mode id'][1])
    if weak_link:
        settings.update(RDP_WEAK_LINK)
    for key, value in (extra or {}).items():
        settings[key] = ('i', int(value)) if isinstance(value, (bool, int)) else ('s', str(value))
    lines = ['{0}:{1}:{2}'.format(k, t, v) for k, (t, v) in settings.items()]
    lines.append('remoteapplicationname:s:{0}'.format(record['name']))
    return '\r\n'.join(lines) + '\r\n'


def kiosk_configs(terminals, desktops, protocol, api_url, usb_autoshare=True):
    """Per thin client: which desktop it opens and how. Terminals without a desktop get one in turn."""
    out = []
    by_name = dict((d['name'], d) for d in desktops)
    free = [d for d in desktops if d['name'] not in set(t.get('desktop') for t in terminals)]
    for terminal in terminals:
        name = terminal.get('desktop')
        if name and name not in by_name:
            raise InputError('terminal {0}: desktop {1} is not among the desktops selected'.format(
                terminal['name'], name))
        if not name:
            if not free:
                raise InputError('terminal {0}: no desktop left to assign'.format(terminal['name']),
                                 hint='add desktops to the store or name a desktop per terminal')
            name = free.pop(0)['name']
        record = by_name[name]
        autoshare = terminal.get('usb_autoshare', usb_autoshare)
        viewer = 'remote-viewer --kiosk --kiosk-quit on-disconnect --full-screen' if protocol == 'spice' else \
            'xfreerdp /f /cert:tofu' + (' /usb:auto' if autoshare else '')
        out.append({'terminal': terminal['name'], 'desktop': name, 'vmid': record['vmid'], 'node': record['node'],
                    'store': record['store'], 'protocol': protocol, 'fullscreen': True, 'usb_autoshare': autoshare,
                    'api_url': api_url, 'spiceproxy_path': '/nodes/{0}/qemu/{1}/spiceproxy'.format(
                        record['node'], record['vmid']),
                    'viewer_command': viewer})
    return out


def would_change(path, content, mode=0o600):
    """True when `path` does not hold exactly `content` with `mode`."""
    try:
        with open(path, 'rb') as fh:
            return fh.read() != content.encode('utf-8') or (os.stat(path).st_mode & 0o777) != mode
    except OSError:
        return True


def write_private(path, content, mode=0o600):
    """Write atomically with `mode` from the start (no window where a ticket is world-readable).

    Returns True when the file changed."""
    if not would_change(path, content, mode):
        return False
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.storedesk-')
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as fh:
            fh.write(content.encode('utf-8'))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True

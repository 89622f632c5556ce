#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_access
short_description: Connection files (SPICE .vv, RDP) and kiosk settings for store terminals
version_added: 0.1.0
description:
  - For one desktop or every desktop of a store, writes what a terminal needs to open it.
  - C(spice) asks Proxmox VE for a SPICE ticket (C(POST /nodes/{node}/qemu/{vmid}/spiceproxy)) and writes a
    remote-viewer C(.vv) file. The ticket in it is valid for about 30 seconds and the file asks the viewer to
    delete it once read, so make it right before it is opened.
  - C(rdp) reads the desktop's address from the guest agent and writes an C(.rdp) file for mstsc or Windows App.
  - Stores on a weak link get settings that spare bandwidth; kiosk terminals open full-screen with USB
    devices shared automatically. O(terminals) also writes a JSON settings file per thin client.
  - Files are written with mode C(0600) (a C(.vv) holds a password); no password is ever returned.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: Reports the files it would write; in check mode no SPICE ticket is requested.
  diff_mode:
    support: none
    description: Files with tickets differ on every run, so no diff is shown.
options:
  desktop:
    description: Desktop name (or VMID) of a managed desktop.
    type: str
  store:
    description: Store code; every desktop of the store with a role in O(roles).
    type: str
  roles:
    description: Roles of the store's desktops to include (tag C(role-<role>)).
    type: list
    elements: str
    default: [desktop]
  protocol:
    description: C(spice) (remote-viewer C(.vv)) or C(rdp) (C(.rdp) file).
    type: str
    choices: [spice, rdp]
    default: spice
  dest:
    description: Directory the files are written to (created with mode C(0700) when missing).
    type: path
    required: true
  spice_proxy:
    description:
      - Host the viewer connects through (every PVE node runs C(spiceproxy) on port 3128).
      - Defaults to O(api_host), as the PVE web interface does.
    type: str
  weak_link:
    description:
      - The store is on a weak link. SPICE gets C(enable-usbredir=1), C(enable-usb-autoshare=1),
        C(enable-smartcard=0), fewer effects and 16-bit colour; RDP the low-speed broadband profile.
    type: bool
    default: false
  kiosk:
    description: Terminals are kiosks, so files open full-screen with USB auto-share.
    type: bool
    default: false
  spice_options:
    description: More C([virt-viewer]) keys, or keys to override (for example C(usb-filter)).
    type: dict
    default: {}
  rdp_options:
    description: More C(.rdp) settings by name, or settings to override (integers become C(:i:), the rest C(:s:)).
    type: dict
    default: {}
  redirect_printers:
    description: RDP C(redirectprinters).
    type: bool
    default: true
  usb_devices:
    description: RDP C(usbdevicestoredirect); C(*) for all, empty for none.
    type: str
    default: '*'
  audio_mode:
    description: RDP C(audiomode), play sound on the C(local) terminal, on the C(remote) desktop, or C(none).
    type: str
    choices: [local, remote, none]
    default: local
  terminals:
    description:
      - Thin clients of the store. For each, C(<dest>/kiosk-<name>.json) says which desktop it opens,
        the API path to ask for a fresh SPICE ticket, full-screen, and USB auto-share.
      - A terminal without C(desktop) gets the next desktop no other terminal names.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Terminal name (host name of the thin client).
        type: str
        required: true
      desktop:
        description: Desktop it opens.
        type: str
      usb_autoshare:
        description: Share USB devices plugged into it with the desktop automatically.
        type: bool
        default: true
  mode:
    description: File mode of the written files.
    type: raw
    default: '0600'
'''

EXAMPLES = r'''
- name: A .vv file for one desktop, right before the viewer opens it
  storedesk.vdi.desktop_access:
    desktop: sh-0001-d01
    dest: /run/user/1000/storedesk
  register: access

- name: Open it
  ansible.builtin.command: remote-viewer {{ access.files[0].path }}
  changed_when: false

- name: RDP files for every desktop of a weak-link store, kiosk terminals at the tills
  storedesk.vdi.desktop_access:
    store: cd-0204
    protocol: rdp
    weak_link: true
    kiosk: true
    dest: /srv/storedesk/terminals/cd-0204
    terminals:
      - name: cd-0204-till1
        desktop: cd-0204-d01
      - name: cd-0204-till2
'''

RETURN = r'''
files:
  description: One entry per desktop, C(desktop), C(vmid), C(node), C(protocol), C(path) and C(changed); no password.
  returned: always
  type: list
  elements: dict
  sample: [{desktop: sh-0001-d01, vmid: 101, node: pve-e1, protocol: spice, path: /tmp/sh-0001-d01.vv}]
unavailable:
  description: Desktops left out, with the reason (not running; no address from the guest agent).
  returned: always
  type: list
  elements: dict
kiosk:
  description: The settings written per terminal (C(terminal), C(desktop), C(vmid), C(node), C(spiceproxy_path)...).
  returned: always
  type: list
  elements: dict
api_requests:
  description: API requests this run made.
  returned: always
  type: int
'''

import json
import os

from ansible_collections.storedesk.vdi.plugins.module_utils import _console_files as access
from ansible_collections.storedesk.vdi.plugins.module_utils import _inventory_hosts as inv
from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as guest_live
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveApiError
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module

ARGSPEC = dict(
    desktop=dict(type='str'),
    store=dict(type='str'),
    roles=dict(type='list', elements='str', default=['desktop']),
    protocol=dict(type='str', choices=['spice', 'rdp'], default='spice'),
    dest=dict(type='path', required=True),
    spice_proxy=dict(type='str'),
    weak_link=dict(type='bool', default=False),
    kiosk=dict(type='bool', default=False),
    spice_options=dict(type='dict', default={}),
    rdp_options=dict(type='dict', default={}),
    redirect_printers=dict(type='bool', default=True),
    usb_devices=dict(type='str', default='*'),
    audio_mode=dict(type='str', choices=['local', 'remote', 'none'], default='local'),
    terminals=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True), desktop=dict(type='str'),
        usb_autoshare=dict(type='bool', default=True))),
    mode=dict(type='raw', default='0600'),
)


def connection_file(module, client, record):
    """(file name, content) for one desktop, or raises PveApiError / returns None when it cannot be made."""
    p = module.params
    node_path = client.path('nodes', record['node'], 'qemu', record['vmid'])
    if p['protocol'] == 'spice':
        if module.check_mode:
            return record['name'] + '.vv', None
        spice = client.post(node_path + '/spiceproxy', proxy=p['spice_proxy'] or p['api_host'])
        return record['name'] + '.vv', access.vv_content(spice or {}, record, p['weak_link'], p['kiosk'],
                                                         p['spice_options'])
    answer = client.get(node_path + '/agent/network-get-interfaces')
    ip = inv.first_ipv4(answer or {})
    if not ip:
        return None
    return record['name'] + '.rdp', access.rdp_content(
        ip, record, p['weak_link'], p['kiosk'], p['redirect_printers'], p['usb_devices'], p['audio_mode'],
        p['rdp_options'])


def execute(module, client):
    p = module.params
    mode = int(str(p['mode']), 8) if not isinstance(p['mode'], int) else p['mode']
    records = inv.desktops(guest_live.resources(client, inv.is_managed), region=None)
    chosen = access.select(records, p['desktop'], p['store'], p['roles'])
    if not module.check_mode and not os.path.isdir(p['dest']):
        os.makedirs(p['dest'], 0o700)
    files, unavailable, changed = [], [], False
    for record in chosen:
        entry = {'desktop': record['name'], 'vmid': record['vmid'], 'node': record['node'], 'protocol': p['protocol']}
        if record['status'] != 'running':
            unavailable.append(dict(entry, reason='not running ({0})'.format(record['power'])))
            continue
        try:
            made = connection_file(module, client, record)
        except PveApiError as exc:
            unavailable.append(dict(entry, reason=exc.pve_message or str(exc)))
            continue
        if made is None:
            unavailable.append(dict(entry, reason='the guest agent reports no IPv4 address yet'))
            continue
        entry['path'] = os.path.join(p['dest'], made[0])
        if module.check_mode:
            entry['changed'] = made[1] is None or access.would_change(entry['path'], made[1], mode)
        else:
            entry['changed'] = access.write_private(entry['path'], made[1], mode)
        changed = changed or entry['changed']
        files.append(entry)
    api_url = 'https://{0}:{1}/api2/json'.format(p['api_host'], p['api_port'])
    kiosk = access.kiosk_configs(p['terminals'], chosen, p['protocol'], api_url) if p['terminals'] else []
    for config in kiosk:
        path = os.path.join(p['dest'], 'kiosk-{0}.json'.format(config['terminal']))
        config['path'] = path
        content = json.dumps(config, indent=2, sort_keys=True) + '\n'
        if module.check_mode:
            changed = changed or access.would_change(path, content, mode)
        else:
            changed = access.write_private(path, content, mode) or changed
    return {'changed': changed, 'files': files,
            'unavailable': unavailable, 'kiosk': kiosk, 'api_requests': client.stats['requests']}


def main():
    module = pve_module(ARGSPEC, required_one_of=[('desktop', 'store')], mutually_exclusive=[('desktop', 'store')])
    run_module(module, execute)


if __name__ == '__main__':
    main()

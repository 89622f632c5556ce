#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: usb_device
short_description: USB devices (scanners, payment terminals) of store desktops on Proxmox VE
version_added: 0.1.0
description:
  - Attaches USB devices to desktops, or frees their slots, through the VMs' C(usb0)..C(usb13) options - for one
    desktop, a list of desktops by name, or every desktop of a store (pool C(store-<code>)). Names are resolved
    with one read of C(/cluster/resources) plus each node's live guest list (C(/nodes/{node}/qemu)); each
    desktop's config is read once (C(/pending)).
  - A device is a cluster mapping (O(devices[].mapping), least privilege - an API token with C(Mapping.Use) on
    C(/mapping/usb/<id>) is enough), a real host device by vendor:product id or bus-port (O(devices[].host);
    PVE allows these to C(root@pam) with its password only), or a SPICE redirection port (O(devices[].spice)) that
    carries whatever the store's thin client shares.
  - Idempotent - a device already in a slot stays in that slot; new devices take the lowest free slots the VM may
    use; slots holding other devices are never touched or shuffled. O(state=absent) frees the slots holding the
    given devices.
  - Knows PVE's rules before writing - C(usb5) and above need machine version 7.1 or newer and a modern ostype
    (C(l26), C(win8) and newer); a mapping needs an entry for the node the desktop runs on; real host devices need
    C(root@pam). Any such problem fails the task before anything is written, naming every desktop concerned.
  - A running desktop takes the change at once when PVE hot-plugs USB (its C(hotplug) option contains C(usb),
    the default C(network,disk,usb), with the machine/ostype rule above); otherwise the result says
    C(pending until restart), as read back from C(/pending).
  - Host passthrough blocks live migration of the desktop; the module warns when it sets such a device.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
  - storedesk.vdi.winrm
attributes:
  check_mode:
    support: full
    description: Reads everything, validates, and returns the slot plan per desktop; writes nothing.
  diff_mode:
    support: full
    description: Shows the C(usbN) options of each changed desktop before and after.
options:
  desktops:
    description:
      - Names of the desktops (VM names). With O(store), they must belong to that store.
    type: list
    elements: str
  store:
    description:
      - Store code; without O(desktops), every desktop of pool C(store-<code>) (or tagged C(store-<code>)).
    type: str
  devices:
    description:
      - The devices; each entry has exactly one of O(devices[].mapping), O(devices[].host), O(devices[].spice).
    type: list
    elements: dict
    required: true
    suboptions:
      mapping:
        description: Id of a cluster USB mapping (see M(storedesk.vdi.usb_mapping)).
        type: str
      host:
        description:
          - A real device on the node - C(VVVV:PPPP) (vendor:product id) or C(BUS-PORT[.PORT...]) (a physical port).
          - Needs O(api_user=root@pam) with O(api_password); API tokens are refused by PVE for this.
        type: str
      spice:
        description: A SPICE USB redirection port (the thin client decides which device it carries).
        type: bool
        default: false
      usb3:
        description: Attach as a USB 3 device.
        type: bool
        default: false
  state:
    description: C(present) attaches the devices; C(absent) frees the slots that hold them.
    type: str
    choices: [present, absent]
    default: present
  verify:
    description:
      - After the change, check inside Windows (WinRM, address from the guest agent) that each device whose
        vendor:product id is known (host ids, mappings) is present as a PnP device. Fails the task for a desktop
        where it is missing. Desktops that are off or whose change is pending are not checked.
    type: bool
    default: false
  concurrency_per_node:
    description: Config writes at once per node.
    type: int
    default: 4
'''

EXAMPLES = r'''
- name: Give every desktop of store sh-0001 the payment terminal (mapping) and a SPICE port for the scanner
  storedesk.vdi.usb_device:
    api_host: pve-east.example.com
    api_user: automation@pve
    api_token_id: storedesk
    api_token_secret: "{{ vault_pve_token_secret }}"
    store: sh-0001
    devices:
      - mapping: pos-ingenico-lane3000
      - spice: true
    verify: true

- name: Pass a label printer through by its port (root@pam only)
  storedesk.vdi.usb_device:
    api_host: pve-east.example.com
    api_user: root@pam
    api_password: "{{ vault_pve_root_password }}"
    desktops: [sh-0001-d01]
    devices:
      - host: 1-2.4

- name: Free the slot of the old scanner
  storedesk.vdi.usb_device:
    api_host: pve-east.example.com
    store: sh-0001
    devices:
      - mapping: scanner-old
    state: absent
'''

RETURN = r'''
desktops:
  description: Per desktop, the plan and its outcome.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: VM name., type: str, returned: always}
    vmid: {description: VMID., type: int, returned: always}
    node: {description: Node., type: str, returned: always}
    power: {description: 'running, stopped or hibernated.', type: str, returned: always}
    set: {description: usbN options written (or to write in check mode)., type: dict, returned: always}
    delete: {description: usbN options removed., type: list, elements: str, returned: always}
    kept: {description: usbN options that already held a wanted device., type: list, elements: str, returned: always}
    status: {description: 'unchanged, planned (check mode), ok or failed.', type: str, returned: always}
    applied:
      description: C(live), C(pending until restart), C(at next start), or null when nothing changed.
      type: str
      returned: always
    error: {description: Why the write failed., type: str, returned: when failed}
    pending:
      description: usbN options waiting for the next start of the desktop (after the change).
      type: list
      elements: str
      returned: always
    warnings:
      description: For example that host passthrough blocks live migration of this desktop.
      type: list
      elements: str
      returned: always
    verify:
      description: C(ok), C(expected), C(present), C(missing) VID:PIDs, or C(error).
      type: dict
      returned: when verify is true and the desktop was checked
  sample: [{name: sh-0001-d01, vmid: 4101, node: pve-e1, power: running, set: {usb1: mapping=pos-ingenico-lane3000},
            delete: [], kept: [usb0], status: ok, applied: live}]
api_requests:
  description: API requests this run made.
  returned: always
  type: int
'''

from ansible_collections.storedesk.vdi.plugins.module_utils import _device_targets as targets
from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as guest_live
from ansible_collections.storedesk.vdi.plugins.module_utils import _usb_devices as ud
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_scripts import PROBE
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_args import winrm_argspec, winrm_options

ARGSPEC = winrm_argspec(
    desktops=dict(type='list', elements='str'),
    store=dict(type='str'),
    devices=dict(type='list', elements='dict', required=True, options=dict(
        mapping=dict(type='str'),
        host=dict(type='str'),
        spice=dict(type='bool', default=False),
        usb3=dict(type='bool', default=False))),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    verify=dict(type='bool', default=False),
    concurrency_per_node=dict(type='int', default=4),
)


def probe_runner(options, desktops):
    from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import run_on_desktops
    return run_on_desktops(options, desktops, PROBE, {'backends': []}, idempotent=True)


def execute(module, client):
    p = module.params
    devices = ud.desired(p)
    options = None
    if p['verify'] and not module.check_mode:
        try:
            options = winrm_options(p)
        except ValueError as exc:
            raise InputError('verify: {0}'.format(exc)) from None
    records = targets.select(guest_live.resources(client), p['desktops'], p['store'])
    if not records:
        return {'changed': False, 'desktops': [], 'api_requests': client.stats['requests'],
                'msg': 'store {0} has no desktops'.format(p['store'])}
    result = ud.run(client, records, devices, p, module.check_mode, options, probe_runner, module.warn)
    if not module._diff:
        result.pop('diff', None)
    return result


def main():
    module = pve_module(ARGSPEC, required_one_of=[('desktops', 'store')])
    run_module(module, execute)


if __name__ == '__main__':
    main()

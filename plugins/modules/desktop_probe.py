#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_probe
short_description: Read facts from store desktops over WinRM
version_added: 0.1.0
description:
  - Runs one read-only PowerShell script on each desktop (many desktops at once) and returns per desktop
    the OS build, free disk, printers with their drivers and ports, the default printer of every user
    profile (and of the Default User hive), persistent mapped drives, present USB devices by C(VID:PID),
    and the TCP connect time from the desktop to given backends.
  - A desktop that cannot be probed is listed in RV(unreachable_desktops) with the reason. An off, booting or
    unreachable desktop fails the task only with O(fail_on_unreachable=true); rejected credentials (C(auth)) or
    an untrusted certificate (C(tls)) always fail it - they are failures, not unreachability.
  - Changes nothing, so it runs the same in check mode.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.winrm
attributes:
  check_mode:
    description: Runs in check mode and returns the same facts (it changes nothing anyway).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
options:
  desktops:
    description:
      - Desktops to probe.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the desktop (the VM name), used in results and messages.
        type: str
        required: true
      address:
        description: IP address or DNS name of the desktop's WinRM endpoint.
        type: str
        required: true
      expect_usb:
        description:
          - USB devices expected on this desktop (C(VVVV:PPPP)), instead of O(expect_usb) - so desktops of many stores,
            each with its own scanners, are probed in one call.
        type: list
        elements: str
        version_added: 0.2.0
  backends:
    description:
      - Services whose reachability from the desktop is measured (TCP connect time).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label in the result. Defaults to O(backends[].host).
        type: str
      host:
        description: Host name or address as the desktop resolves it.
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        default: 443
      timeout_ms:
        description: Milliseconds to wait for the connection.
        type: int
        default: 2000
  expect_usb:
    description:
      - USB devices (C(VVVV:PPPP), hex vendor and product id) that should be present on every desktop;
        each desktop reports which are present and which are missing.
      - A desktop's own O(desktops[].expect_usb) replaces this list for that desktop.
    type: list
    elements: str
    default: []
  fail_on_unreachable:
    description:
      - Fail the task when any desktop could not be probed, naming each one and why.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Probe the desktops of store 042
  storedesk.vdi.desktop_probe:
    desktops:
      - {name: s042-desk-01, address: 10.42.0.21}
      - {name: s042-desk-02, address: 10.42.0.22}
    backends:
      - {name: pos, host: pos.retail.example, port: 443}
      - {name: erp, host: erp.retail.example, port: 8443, timeout_ms: 1000}
    expect_usb:
      - "0A5F:0001"   # label printer
      - "04B8:0202"   # receipt printer
    winrm_user: storedesk
    winrm_password: "{{ vault_winrm_password }}"
  register: probe

- name: Probe the desktops of two stores in one fan-out, each store with its own scanner
  storedesk.vdi.desktop_probe:
    desktops:
      - {name: s042-desk-01, address: 10.42.0.21, expect_usb: ["05E0:1200"]}
      - {name: s043-desk-01, address: 10.43.0.21, expect_usb: ["0C2E:0DB3"]}
    winrm_concurrency: 50

- name: Desktops missing a peripheral
  ansible.builtin.debug:
    msg: "{{ probe.desktops | selectattr('ok') | selectattr('usb.missing') | map(attribute='name') | list }}"

- name: Probe over HTTPS with the store CA, failing when a desktop does not answer
  storedesk.vdi.desktop_probe:
    desktops: "{{ store_desktops }}"
    winrm_scheme: https
    winrm_ca_path: /etc/storedesk/winrm-ca.pem
    fail_on_unreachable: true
'''

RETURN = r'''
desktops:
  description: One entry per desktop, in the order given. Facts are present only when RV(desktops[].ok) is true.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Desktop name., type: str, returned: always}
    address: {description: Address used., type: str, returned: always}
    ok: {description: Whether the probe ran., type: bool, returned: always}
    attempts: {description: Attempts made (retries after transient failures)., type: int, returned: always}
    elapsed: {description: Seconds spent on this desktop., type: float, returned: always}
    error: {description: Why the probe failed., type: str, returned: when not ok}
    error_category:
      description: auth, unreachable, connection, timeout, tls, wsman, protocol, script or config.
      type: str
      returned: when not ok
    computer_name: {description: Windows computer name., type: str, returned: when ok}
    os:
      description: Operating system.
      type: dict
      returned: when ok
      sample: {caption: Microsoft Windows 11 Enterprise, version: 10.0.22631, build: '22631', ubr: 4460}
    sysprep_state:
      description: ImageState of Windows setup, for example C(IMAGE_STATE_COMPLETE).
      type: str
      returned: when ok
    disks:
      description: Local fixed disks.
      type: list
      elements: dict
      returned: when ok
      sample: [{drive: 'C:', free_bytes: 51539607552, size_bytes: 137438953472}]
    printers:
      description: Installed printers.
      type: list
      elements: dict
      returned: when ok
      sample: [{name: Labels, driver: ZDesigner ZD420-203dpi ZPL, port: IP_10.42.0.50, shared: false}]
    printer_drivers:
      description: Printer drivers with the INF file they were installed from.
      type: list
      elements: dict
      returned: when ok
      sample: [{name: ZDesigner ZD420-203dpi ZPL, inf: 'C:\Windows\System32\DriverStore\FileRepository\zd.inf'}]
    printer_ports:
      description: Printer ports with their printer host address (empty for local ports).
      type: list
      elements: dict
      returned: when ok
      sample: [{name: IP_10.42.0.50, host: 10.42.0.50}]
    default_printers:
      description:
        - Default printer per user profile, read for users who are logged on (C(source=loaded)).
        - A probe mounts no user hive - profiles whose user is not logged on are listed with C(source=not loaded)
          and no printer (M(storedesk.vdi.desktop_printer) sets the default in every profile).
      type: list
      elements: dict
      returned: when ok
      sample: [{sid: S-1-5-21-1-2-3-1001, user: cashier, printer: Receipts, source: loaded}]
    mapped_drives:
      description: Persistent mapped drives per user profile, for users who are logged on (a probe mounts no hive).
      type: list
      elements: dict
      returned: when ok
      sample: [{sid: S-1-5-21-1-2-3-1001, user: cashier, letter: 'S:', path: '\\\\fs042\\store'}]
    usb:
      description: Present USB devices (vid_pid, instance_id, name, status), and which of O(expect_usb) are present or missing.
      type: dict
      returned: when ok
      sample: {devices: [{vid_pid: '0A5F:0001', name: ZDesigner ZD420, status: OK}], present: ['0A5F:0001'], missing: []}
    backends:
      description: Per backend, whether the desktop could connect and how long it took.
      type: list
      elements: dict
      returned: when ok
      sample: [{name: pos, host: pos.retail.example, port: 443, ok: true, latency_ms: 23.4, error: null}]
unreachable_desktops:
  description:
    - Desktops that could not be probed, with the reason.
    - Not named C(unreachable), which Ansible reserves for the host running the module.
  returned: always
  type: list
  elements: dict
  sample: [{name: s042-desk-02, address: 10.42.0.22, category: auth, error: "credentials rejected (HTTP 401) ..."}]
summary:
  description: Counts over all desktops.
  returned: always
  type: dict
  sample: {total: 2, reachable: 1, unreachable: 1, usb_missing: 0, backend_failures: 0}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.storedesk.vdi.plugins.module_utils._probe import failure_message, must_fail, \
    probe_desktops
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_args import winrm_argspec, winrm_options
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import HAS_WINRM

ARGSPEC = dict(
    desktops=dict(type='list', elements='dict', required=True, options=dict(
        name=dict(type='str', required=True),
        address=dict(type='str', required=True),
        expect_usb=dict(type='list', elements='str'))),
    backends=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str'),
        host=dict(type='str', required=True),
        port=dict(type='int', default=443),
        timeout_ms=dict(type='int', default=2000))),
    expect_usb=dict(type='list', elements='str', default=[]),
    fail_on_unreachable=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=winrm_argspec(**ARGSPEC), supports_check_mode=True)
    if not HAS_WINRM:
        module.fail_json(msg=missing_required_lib('pywinrm'))
    p = module.params
    try:
        options = winrm_options(p)
        result = probe_desktops(options, p['desktops'], p['backends'], p['expect_usb'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    for warning in options.warnings():
        module.warn(warning)
    if must_fail(result, p['fail_on_unreachable']):
        module.fail_json(msg=failure_message(result), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_printer
short_description: Printers, drivers, ports and the staff default printer inside store desktops (WinRM)
version_added: 0.1.0
description:
  - Brings the printers of many desktops to one desired state at once - ONE PowerShell script per desktop carries
    all of it (drivers, ports, queues, removals, default printer, test pages), so a store on a slow link costs one
    WinRM command per desktop.
  - Drivers - a driver not installed yet is staged from its package into the driver store with
    C(pnputil /add-driver <inf> /install) (exit codes 0, 3010 and 259 - no present device matched, normal before the
    printer is connected - are success), then installed with C(Add-PrinterDriver). pnputil's own output and exit
    code are reported when it fails, for example when the INF is not in the package.
  - Ports - a Standard TCP/IP port per printer address, C(IP_<address>) for raw port 9100 (C(IP_<address>_<port>)
    for another port), or C(LPR_<address>_<queue>) for LPR.
  - Queues - C(Add-Printer), or C(Set-Printer) for what differs (driver, port, sharing, comment, location).
    O(printers[].state=absent) removes a printer; O(exclusive=true) also removes every printer not listed, except
    Windows' own (Microsoft Print to PDF, XPS Document Writer, Fax, OneNote) and O(keep).
  - Default printer - set for the store staff, not for the WinRM account. C(Set-Printer)/WMI's SetDefaultPrinter
    only change the default of the account that runs them, so the script writes C(Device) under
    C(Software\Microsoft\Windows NT\CurrentVersion\Windows) of every user profile's hive (C(HKU\<SID>); profiles not
    logged on are mounted with C(reg load) under a name of their own and unmounted again, checked; mounts a stopped
    run left behind are unloaded first; profiles without C(NTUSER.DAT), temporary, backup and Entra ID profiles are
    skipped with a warning; check mode mounts nothing) AND of the Default User hive, so profiles created
    later start with it. It also sets C(LegacyDefaultPrinterMode=1) there, which turns off "Let Windows manage my
    default printer" - otherwise Windows 10/11 moves the default to the last printer used.
  - Each driver, port, printer, profile and test page ends as C(ok), C(changed), C(failed) (with Windows' message)
    or C(skipped) (what depends on a failed item) - nothing is left half-configured without being reported. A
    desktop with a failed item fails the task, naming the item and what was done besides.
  - Desktops are given as name/address pairs, or as a store code resolved through the Proxmox API (the guest agent
    gives the address). Desktops that are off are reported and left out; desktops that do not answer over WinRM are
    retried (O(winrm_retries)), then reported - they fail the task only with O(fail_on_unreachable=true).
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.device_targets
  - storedesk.vdi.winrm
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: The script computes the plan on each desktop (what it would stage, add, set, remove) and changes nothing.
  diff_mode:
    support: full
    description: Lists the actions per desktop.
options:
  printers:
    description: The printers of the desktops.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Printer (queue) name as users see it.
        type: str
        required: true
      state:
        description: C(absent) removes the printer.
        type: str
        choices: [present, absent]
        default: present
      driver:
        description: Driver name, exactly as the INF names it (for example C(EPSON TM-T88VI Receipt)).
        type: str
      host:
        description: IP address of the printer (IPv4 or IPv6; a name is refused so a typo cannot resolve elsewhere).
        type: str
      port:
        description: TCP port - 9100 for raw (default), 515 for LPR (default with O(printers[].protocol=lpr)).
        type: int
      protocol:
        description: C(raw) (JetDirect/AppSocket) or C(lpr).
        type: str
        choices: [raw, lpr]
        default: raw
      queue:
        description: LPR queue name (required with O(printers[].protocol=lpr)).
        type: str
      shared:
        description: Share the printer from the desktop.
        type: bool
        default: false
      share_name:
        description: Share name, default the printer name.
        type: str
      comment:
        description: Comment of the printer (left as it is when omitted).
        type: str
      location:
        description: Location of the printer (left as it is when omitted).
        type: str
      default:
        description: The default printer of every store user (at most one printer).
        type: bool
        default: false
  drivers:
    description:
      - Where drivers not yet installed come from. Only drivers a listed printer uses are staged.
      - The WinRM session holds no credentials for a file server (the "second hop" of PowerShell remoting),
        so a package reaches the desktop one of three ways - a controller path (a zip or a folder, zipped) pushed
        over WinRM in chunks with a SHA-256 check (the default to prefer); an http(s) URL of a zip the desktop may
        read without credentials; or a UNC folder read with O(share_user)/O(share_password) for that one
        connection. A UNC package without them is refused before anything runs.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Driver name.
        type: str
        required: true
      inf:
        description: INF file name inside the package.
        type: str
        required: true
      package:
        description: Controller path of a zip or folder (C(/srv/drivers/epson)), http(s) URL of a zip, or UNC folder
          (C(\\server\share\folder), with O(share_user)) holding the INF and its files.
        type: str
        required: true
  exclusive:
    description: Remove every printer not in O(printers), except Windows' built-in ones and O(keep).
    type: bool
    default: false
  keep:
    description: Printer names O(exclusive) leaves alone.
    type: list
    elements: str
    default: []
  test_page:
    description: Print a test page on every listed printer (C(Win32_Printer.PrintTestPage)); the result is per printer.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Receipt and label printers for every desktop of store sh-0001
  storedesk.vdi.desktop_printer:
    store: sh-0001
    api_host: pve-east.example.com
    printers:
      - {name: Receipt, driver: EPSON TM-T88VI Receipt, host: 10.21.1.50, default: true}
      - {name: Labels, driver: ZDesigner ZD421-203dpi ZPL, host: 10.21.1.51}
      - {name: Old Laser, state: absent}
    drivers:
      - name: EPSON TM-T88VI Receipt
        inf: oemsetup.inf
        package: /srv/storedesk/drivers/epson-tm-t88vi        # on the controller: pushed over WinRM
      - name: ZDesigner ZD421-203dpi ZPL
        inf: ZDesigner.inf
        package: https://hq-files.example.com/drivers/zebra-zd421.zip
      - name: HP Universal Printing PCL 6
        inf: hpcu270u.inf
        package: \\hq-files.example.com\drivers\hp-upd-pcl6
    share_user: EXAMPLE\svc-storedesk-read                # the UNC package is read with this account
    share_password: "{{ vault_storedesk_share_password }}"

- name: Only these printers on two desktops given by address
  storedesk.vdi.desktop_printer:
    desktops:
      - {name: sh-0001-d01, address: 10.21.1.21}
      - {name: sh-0001-d02, address: 10.21.1.22}
    printers:
      - {name: Receipt, driver: EPSON TM-T88VI Receipt, host: 10.21.1.50, default: true}
    exclusive: true
    test_page: true
'''

RETURN = r'''
desktops:
  description: One record per desktop that was run on.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Desktop name., type: str, returned: always}
    address: {description: Address used., type: str, returned: always}
    status: {description: 'ok, changed, failed (an item failed) or unreachable.', type: str, returned: always}
    entries:
      description: Each driver, port, printer, removal, profile default and test page with C(kind), C(name), C(status), C(actions), C(error).
      type: list
      elements: dict
      returned: always
    actions: {description: What was (or in check mode would be) done., type: list, elements: str, returned: when reached}
    error: {description: Why the desktop failed., type: str, returned: when failed or unreachable}
    attempts: {description: WinRM attempts., type: int, returned: always}
  sample: [{name: sh-0001-d01, address: 10.21.1.21, status: changed, actions: ["add port IP_10.21.1.50 -> 10.21.1.50"]}]
left_out:
  description: Desktops of the store not run on, with the reason (off, no address from the guest agent).
  returned: always
  type: list
  elements: dict
  sample: [{name: sh-0001-d04, reason: the desktop is stopped}]
summary:
  description: Counts - total, ok, changed, failed, unreachable, off.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.storedesk.vdi.plugins.module_utils import _win_devices as wd
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_printer import WIN_PRINTER
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import optional_client, run_module
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import HAS_WINRM

ARGSPEC = dict(
    printers=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        driver=dict(type='str'),
        host=dict(type='str'),
        port=dict(type='int'),
        protocol=dict(type='str', default='raw', choices=['raw', 'lpr']),
        queue=dict(type='str'),
        shared=dict(type='bool', default=False),
        share_name=dict(type='str'),
        comment=dict(type='str'),
        location=dict(type='str'),
        default=dict(type='bool', default=False))),
    drivers=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        inf=dict(type='str', required=True),
        package=dict(type='str', required=True))),
    exclusive=dict(type='bool', default=False),
    keep=dict(type='list', elements='str', default=[]),
    test_page=dict(type='bool', default=False),
)


def execute(module, client):
    """client: a PVE client when api_host is set (to resolve a store), else None."""
    return wd.execute(module, client, WIN_PRINTER, wd.printer_payload)


def main():
    run_module(AnsibleModule(argument_spec=wd.argspec(**ARGSPEC), **wd.MODULE_KWARGS), execute,
               connect=optional_client, required_libs={'pywinrm': HAS_WINRM})


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Which desktops a WinRM device module works on: name/address pairs, or a store through the Proxmox API.

    List it before storedesk.vdi.proxmox in extends_documentation_fragment: its api_host (not required)
    then takes precedence over the Proxmox fragment's.
    """

    DOCUMENTATION = r'''
options:
  desktops:
    description:
      - Desktops to work on, by name and address. Mutually exclusive with O(store).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the desktop (the VM name), used in results and messages.
        type: str
        required: true
      address:
        description: IP address or DNS name of the desktop's WinRM endpoint.
        type: str
        required: true
  store:
    description:
      - Store code. Its desktops (pool C(store-<code>), or tagged C(store-<code>)) are read from the Proxmox API
        in one C(/cluster/resources) request plus each node's live guest list (C(/nodes/{node}/qemu), for the
        current names and power states), and each running desktop's address from its guest agent.
      - Needs the Proxmox connection options (O(api_host) and credentials, for example through
        C(module_defaults) of C(group/storedesk.vdi.proxmox)). Desktops that are off are reported in
        RV(left_out), not tried.
    type: str
  desktop_names:
    description: With O(store), only these desktops of the store.
    type: list
    elements: str
  fail_on_unreachable:
    description:
      - Fail the task when a desktop could not be reached over WinRM (after the retries). By default such desktops
        are reported (RV(desktops[].status=unreachable)) and the others are done.
      - Rejected credentials and untrusted TLS certificates are failures (RV(desktops[].status=failed)), not
        unreachability - they always fail the task.
    type: bool
    default: false
  share_user:
    description:
      - Account that reads UNC paths (driver packages, the library marker) inside each desktop's WinRM session, for
        that one connection (C(New-PSDrive -Credential), removed after). The session itself holds no credentials
        for a file server (the second hop of PowerShell remoting), so a UNC path without it is refused.
      - The environment variable E(STOREDESK_SHARE_USER) is used when this is not set.
    type: str
  share_password:
    description:
      - Password of O(share_user) (from the vault); never on a command line, never in results.
      - The environment variable E(STOREDESK_SHARE_PASSWORD) is used when this is not set.
    type: str
  api_host:
    description:
      - Host name or address of a node of the Proxmox VE cluster; needed only with O(store).
      - The environment variable E(PROXMOX_HOST) is used when this is not set.
    type: str
    required: false
'''

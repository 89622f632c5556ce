#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: desktop_drive
short_description: A network drive for every store user of the desktops, and a version-stamp check (WinRM)
version_added: 0.1.0
description:
  - Maps a drive letter to a UNC path (the store's material library) for the people who work on the desktops,
    persistently, and checks that a marker file (a version stamp) is visible there.
  - Named C(desktop_drive), not C(win_share) - it creates no SMB share; it maps a drive for every user, which is
    what the store needs (a mapping done over WinRM would exist only in the WinRM account's session).
  - How - the script writes the persistent-connection key C(Network\<letter>) (C(RemotePath), C(ProviderName)
    "Microsoft Windows Network", C(ConnectionType=1), C(DeferFlags=4)) into every user profile's hive (C(HKU\<SID>);
    profiles not logged on are mounted with C(reg load) under a name of their own and unmounted, checked; stale,
    temporary and Entra ID profiles are skipped with a warning) AND into the Default User hive, so profiles
    created later have it too. Windows restores it at each logon with the user's own credentials - no password is
    stored, and no logon script has to run. A user logged on while it is written sees it from the next logon.
  - The marker is read inside the WinRM session, which holds no credentials for the file server (the "second hop",
    of PowerShell remoting) - so it is read with O(share_user)/O(share_password) for that one connection
    (C(New-PSDrive -Credential), removed after); O(marker) without them is refused. A marker that is not there is
    reported as not visible with the reason.
  - One script per desktop; per profile results; idempotent; check mode computes the plan for profiles whose user
    is logged on, mounts no hive (the others are reported as skipped) and changes nothing.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.device_targets
  - storedesk.vdi.winrm
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: Computes what would change in the profiles of logged-on users (no hive is mounted), checks the marker, changes nothing.
  diff_mode:
    support: full
    description: Lists the actions per desktop.
options:
  letter:
    description: 'Drive letter, C(M) or C(M:) (D to Z).'
    type: str
    required: true
  unc:
    description: UNC path, C(\\server\share[\folder]).
    type: str
    required: true
  marker:
    description:
      - File name in O(unc) that must be visible from the desktop (for example C(promo-version.txt)); its first line
        is returned as the version. A desktop where it is not visible fails the task.
    type: str
  state:
    description: C(present) maps the drive; C(absent) removes the mapping of O(letter) from every profile.
    type: str
    choices: [present, absent]
    default: present
'''

EXAMPLES = r'''
- name: Map the material library as M for every user of store sh-0001's desktops
  storedesk.vdi.desktop_drive:
    store: sh-0001
    api_host: pve-east.example.com
    letter: "M:"
    unc: \\hq-files.example.com\materials
    marker: promo-version.txt
    share_user: EXAMPLE\svc-storedesk-read
    share_password: "{{ vault_storedesk_share_password }}"
  register: library

- name: Show the promotion version each desktop sees
  ansible.builtin.debug:
    msg: "{{ library.desktops | map(attribute='marker') | list }}"
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
    status: {description: 'ok, changed, failed or unreachable.', type: str, returned: always}
    entries: {description: One per user profile (and the Default User hive) with C(status) and C(actions)., type: list, elements: dict, returned: always}
    marker:
      description: C(path), C(visible), C(content) (first line), C(error).
      type: dict
      returned: when marker is given and the desktop was reached
      sample: {path: '\\hq-files\materials\promo-version.txt', visible: true, content: 2026.11-w48, error: null}
    error: {description: Why the desktop failed., type: str, returned: when failed or unreachable}
left_out:
  description: Desktops of the store not run on, with the reason.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts - total, ok, changed, failed, unreachable, off.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.storedesk.vdi.plugins.module_utils import _win_devices as wd
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_user_drive import WIN_USER_DRIVE
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import optional_client, run_module
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import HAS_WINRM

ARGSPEC = dict(
    letter=dict(type='str', required=True),
    unc=dict(type='str', required=True),
    marker=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
)


def execute(module, client):
    """client: a PVE client when api_host is set (to resolve a store), else None."""
    return wd.execute(module, client, WIN_USER_DRIVE, wd.drive_payload)


def main():
    run_module(AnsibleModule(argument_spec=wd.argspec(**ARGSPEC), **wd.MODULE_KWARGS), execute,
               connect=optional_client, required_libs={'pywinrm': HAS_WINRM})


if __name__ == '__main__':
    main()

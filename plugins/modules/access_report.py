#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: access_report
short_description: Who can do what on which store, from the live ACLs, groups and roles of Proxmox VE
version_added: 0.1.0
description:
  - Reads users, groups, roles, ACLs, realms and pools in six bulk requests and computes, with PVE's own
    rules, the effective privileges of every user on the desktops of every store pool (C(store-<code>))
    and on C(/), with each user's groups, enabled state and expiry.
  - The rules are those of pve-access-control - on each level of the path the user's own ACL entries,
    else its groups' entries, replace what was inherited; entries without propagation count on their own
    path only; C(NoAccess) wins; a desktop also holds the roles of its pool.
  - ACL entries on single desktops (C(/vms/<id>)) and API tokens are not part of the report.
  - Returns data for a report role to render; changes nothing.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.attributes.read_only
  - storedesk.vdi.proxmox
options:
  stores:
    description: Store codes to report on. Default - every pool named C(store-<code>).
    type: list
    elements: str
    default: []
  include_root:
    description: List C(root@pam) too (it holds every privilege everywhere).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Who can do what in the east region
  storedesk.vdi.access_report:
    api_host: pve-east.example.com
  register: east_access

- name: Write it as a report
  ansible.builtin.include_role:
    name: storedesk.vdi.report
  vars:
    report_phase: access
    report_data: {east: "{{ east_access.stores }}"}
'''

RETURN = r'''
stores:
  description:
    - Per store code, per user who holds any privilege on the store's desktops - C(privileges), C(roles),
      C(groups), C(enabled), C(expire) (epoch, 0 = never), C(expires) (ISO date or null), C(expired),
      C(active) (may log in now).
  returned: always
  type: dict
  sample:
    sh-0001:
      alice@pve: {privileges: [Pool.Audit, VM.Audit, VM.Console, VM.PowerMgmt], roles: [StoredeskStoreClerk],
                  groups: [store-sh-0001-clerk], enabled: true, expire: 0, expires: null, expired: false,
                  active: true}
users:
  description:
    - Per user - C(enabled), C(expire), C(expires), C(active), C(groups), C(managed) (carries the storedesk
      marker), C(global) (privileges on C(/)) and C(stores) (store code to privileges).
  returned: always
  type: dict
api_requests:
  description: API requests this run made.
  returned: always
  type: int
'''

import datetime
import time

from ansible_collections.storedesk.vdi.plugins.module_utils._access_model import (
    desktop_privileges, marked, normalize, path_privileges, read_access)
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module


def _when(epoch):
    if not epoch:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def build_report(actual, codes, include_root=False, now=None):
    """The report from the normal form of the access read (pure)."""
    now = now or time.time()
    codes = sorted(codes or (p[len('store-'):] for p in actual['pools'] if p.startswith('store-')))
    stores, users = dict((c, {}) for c in codes), {}
    for uid, user in sorted(actual['users'].items()):
        if uid == 'root@pam' and not include_root:
            continue
        expired = bool(user['expire'] and user['expire'] < now)
        state = {'enabled': user['enable'], 'expire': user['expire'], 'expires': _when(user['expire']),
                 'expired': expired, 'active': user['enable'] and not expired, 'groups': sorted(user['groups'])}
        top, _roles = path_privileges(actual['acl'], actual['roles'], uid, user['groups'], '/')
        entry = dict(state, managed=marked(user['comment']), stores={}, **{'global': sorted(top)})
        for code in codes:
            privs, roles = desktop_privileges(actual['acl'], actual['roles'], uid, user['groups'], 'store-' + code)
            if privs:
                entry['stores'][code] = sorted(privs)
                stores[code][uid] = dict(state, privileges=sorted(privs), roles=roles)
        users[uid] = entry
    return {'stores': stores, 'users': users}


def execute(module, client):
    actual = normalize(read_access(client))
    report = build_report(actual, module.params['stores'], module.params['include_root'])
    report.update(changed=False, api_requests=client.stats['requests'])
    return report


def main():
    run_module(pve_module(dict(stores=dict(type='list', elements='str', default=[]),
                               include_root=dict(type='bool', default=False))), execute)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: store_access
short_description: Store staff accounts, groups, roles and ACLs in Proxmox VE from role templates
version_added: 0.1.0
description:
  - Turns role templates (C(store_clerk), C(store_manager), C(hq_operator), C(auditor), or your own) into
    Proxmox VE objects for one store or many in one run, on one cluster (one region).
  - Per template one PVE role (C(Storedesk...)); per store and store template one group
    (C(store-<code>-clerk)) with one ACL entry on C(/pool/store-<code>) only; per global template one group
    (C(storedesk-hq-operator)) with an ACL entry on C(/). Also the automation role C(StoredeskAutomation)
    with exactly the privileges the collection's modules need (see docs/access.md).
  - Staff become users (realm C(pve) with an initial password, or an external realm such as AD, LDAP or
    OpenID, where they only get group membership), with an optional expiry date for temporary staff.
  - Reads the access state in six bulk requests, computes a plan (desired x actual), and applies it.
    Bad input is rejected before any change, with the store, the field and the fix.
  - Only objects carrying the storedesk marker (users and groups whose comment starts with C(storedesk:),
    roles named C(Storedesk...)) are ever disabled or removed.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: Computes the real plan (reads only) and writes nothing.
  diff_mode:
    support: full
    description: Before and after of every role, group, user and ACL entry the plan touches.
options:
  stores:
    description: Stores whose groups, ACLs and staff this run manages.
    type: list
    elements: dict
    default: []
    suboptions:
      code:
        description: Store code; its desktops are in the PVE pool C(store-<code>).
        type: str
        required: true
      state:
        description:
          - C(absent) closes the store's access - its groups and ACLs are removed and its staff leave them.
        type: str
        choices: [present, absent]
        default: present
      usb_mappings:
        description:
          - Ids of cluster USB mappings (C(/mapping/usb/<id>)) the store's groups with C(Mapping.Use) in their
            template may attach to the store's desktops.
        type: list
        elements: str
        default: []
      staff:
        description: Staff of the store.
        type: list
        elements: dict
        default: []
        suboptions: &staff
          user:
            description: User name (C(alice)) with O(stores[].staff[].realm), or a full id (C(alice@pve)).
            type: str
            required: true
          realm:
            description: Realm of the user (C(pve), or an AD/LDAP/OpenID realm that exists in PVE).
            type: str
          role:
            description: Role template (a key of the shipped templates or of O(templates)).
            type: str
            required: true
          name:
            description: Full name; the first word becomes the first name, the rest the last name.
            type: str
          email:
            description: E-mail address.
            type: str
          expires:
            description:
              - Expiry for temporary staff - C(YYYY-MM-DD) (the end of that day, UTC), an ISO time with offset,
                or epoch seconds. PVE refuses logins after it. Must lie in the future.
            type: raw
          password:
            description:
              - Initial password (8 to 64 characters), realm type C(pve) only; set when the user is created,
                never changed afterwards.
            type: str
          enabled:
            description: Whether the account may log in.
            type: bool
            default: true
          comment:
            description: Free text appended to the user's C(storedesk:) comment.
            type: str
          state:
            description: C(absent) takes the user out of the store's group (offboarding).
            type: str
            choices: [present, absent]
            default: present
  global_staff:
    description:
      - Staff of the global templates (C(hq_operator), C(auditor)). When given, the global groups' members
        are in this run's scope (see O(exclusive)); when omitted they are left alone.
    type: list
    elements: dict
    suboptions: *staff
  templates:
    description:
      - Overrides of the shipped role templates, per key, and new templates. A template has C(privileges)
        (PVE 9 names), C(scope) (C(store) or C(global)), C(role), C(group), C(one_store), C(description).
    type: dict
    default: {}
  terminals:
    description:
      - Store terminals (kiosk thin clients), each with an API token of its own that may open, wake and watch its
        desktop(s) and nothing else - role C(StoredeskTerminal) (C(VM.Console) for C(spiceproxy), C(VM.PowerMgmt)
        for C(status/start) and C(status/resume), C(VM.Audit) for C(status/current)) on C(/vms/<vmid>) of each
        desktop.
      - The tokens are privilege-separated tokens of the store's user C(storedesk-terminals-<code>@pve), which
        holds the role on the store's pool and cannot log in (no password).
      - A token's secret is returned once, in RV(terminals), when the token is made (or rotated). Register the
        result with C(no_log) and hand the secret to the terminal (the C(storedesk.vdi.thin_client) role does).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Terminal name, also the token name (C(storedesk-terminals-sh-0001@pve!sh-0001-t01)).
        type: str
        required: true
      store:
        description: Store code of the terminal; its desktops must be in the pool C(store-<code>).
        type: str
        required: true
      desktops:
        description:
          - Desktops (names or VMIDs) the terminal may open; the first is its own, the others fallbacks.
          - Each run moves the token's ACL to the desktops' current VMIDs (a re-created desktop keeps working).
        type: list
        elements: str
        default: []
      rotate:
        description: Make a new secret (the old one stops working at once). The token's ACL is set again.
        type: bool
        default: false
      state:
        description: C(absent) offboards the terminal - its token is deleted, which revokes it at once.
        type: str
        choices: [present, absent]
        default: present
  automation_acl:
    description: Users or API tokens (C(automation@pve!storedesk)) that get C(StoredeskAutomation) on C(/).
    type: list
    elements: str
    default: []
  exclusive:
    description:
      - Groups of the stores in O(stores) (and the global groups when O(global_staff) is given) hold exactly the
        listed staff - others leave them - and marked ACL entries not wanted there are removed.
    type: bool
    default: false
  reclaim:
    description:
      - Also remove marked groups of stores whose pool is gone and of templates that are gone, marked
        C(Storedesk...) roles no template uses, and expired marked users when O(reclaim_users=remove).
    type: bool
    default: false
  reclaim_users:
    description: What happens to a marked user left without any storedesk group.
    type: str
    choices: [disable, remove]
    default: disable
  parallel:
    description: API writes at once within one phase of the plan.
    type: int
    default: 4
notes:
  - A store template with C(one_store) (C(store_clerk) by default) may be held in one store only.
  - Group membership of users that exist without the marker (for example synced from a directory) is managed;
    their other attributes are never changed and they are never disabled or removed.
'''

EXAMPLES = r'''
- name: Staff of two stores, with a temporary helper for the weekend event
  storedesk.vdi.store_access:
    api_host: pve-east.example.com
    stores:
      - code: sh-0001
        staff:
          - {user: li.na, realm: pve, role: store_manager, name: Li Na, password: "{{ vault_initial_pw }}"}
          - {user: wang.wei@corp-ad, role: store_clerk}
          - {user: temp01, realm: pve, role: store_clerk, expires: "2026-12-13", password: "{{ vault_temp_pw }}"}
      - code: sh-0002
        staff:
          - {user: zhao.lei@corp-ad, role: store_clerk}
    global_staff:
      - {user: ops1@corp-ad, role: hq_operator}
      - {user: audit@corp-ad, role: auditor}
    automation_acl: [automation@pve!storedesk]

- name: Offboard - the listed staff is all there is; users left without a store are disabled
  storedesk.vdi.store_access:
    api_host: pve-east.example.com
    stores: "{{ east_stores }}"
    exclusive: true
  diff: true

- name: Tokens for two terminals of a store (the secret is only in the registered result)
  storedesk.vdi.store_access:
    api_host: pve-east.example.com
    terminals:
      - {name: sh-0001-t01, store: sh-0001, desktops: [sh-0001-d7101, sh-0001-d7102]}
      - {name: sh-0001-t02, store: sh-0001, desktops: [sh-0001-d7102]}
      - {name: sh-0001-t09, store: sh-0001, state: absent}
  register: terminal_access
  no_log: true
'''

RETURN = r'''
plan:
  description: The actions (C(op), C(id), C(store), C(detail)) in the order they are (or would be) applied.
  returned: always
  type: list
  elements: dict
summary:
  description: Count of actions per operation.
  returned: always
  type: dict
  sample: {create_group: 4, create_user: 3, add_acl: 4}
stores:
  description: Per store, the groups of each template and their members after the run.
  returned: always
  type: dict
  sample: {sh-0001: {clerk: {group: store-sh-0001-clerk, members: [wang.wei@corp-ad]}}}
terminals:
  description:
    - Per terminal its store, state, API token id and desktops (name, VMID, node). C(api_token_secret) only when
      the token was made or rotated in this run (PVE shows a secret once); never in check mode.
  returned: always
  type: dict
  sample: {sh-0001-t01: {store: sh-0001, state: present, api_token_id: "storedesk-terminals-sh-0001@pve!sh-0001-t01",
           desktops: [{name: sh-0001-d7101, vmid: 7101, node: pve-e1}]}}
api_requests:
  description: API requests this run made.
  returned: always
  type: int
'''

import time

from ansible_collections.storedesk.vdi.plugins.module_utils import (_access_apply, _access_desired, _access_plan,
                                                                    _access_terminals)
from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as guest_live
from ansible_collections.storedesk.vdi.plugins.module_utils._access_model import normalize, read_access
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module

STAFF = dict(
    user=dict(type='str', required=True), realm=dict(type='str'), role=dict(type='str', required=True),
    name=dict(type='str'), email=dict(type='str'), expires=dict(type='raw'),
    password=dict(type='str', no_log=True), enabled=dict(type='bool', default=True), comment=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent'], default='present'))

ARGSPEC = dict(
    stores=dict(type='list', elements='dict', default=[], options=dict(
        code=dict(type='str', required=True), state=dict(type='str', choices=['present', 'absent'], default='present'),
        usb_mappings=dict(type='list', elements='str', default=[]),
        staff=dict(type='list', elements='dict', default=[], options=STAFF))),
    global_staff=dict(type='list', elements='dict', options=STAFF),
    templates=dict(type='dict', default={}),
    terminals=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True), store=dict(type='str', required=True),
        desktops=dict(type='list', elements='str', default=[]), rotate=dict(type='bool', default=False),
        state=dict(type='str', choices=['present', 'absent'], default='present'))),
    automation_acl=dict(type='list', elements='str', default=[]),
    exclusive=dict(type='bool', default=False),
    reclaim=dict(type='bool', default=False),
    reclaim_users=dict(type='str', choices=['disable', 'remove'], default='disable'),
    parallel=dict(type='int', default=4),
)


def store_view(desired, actual, actions):
    """Per store: each template's group and its members once the plan is applied."""
    members = {}
    for uid, user in actual['users'].items():
        for gid in user['groups']:
            members.setdefault(gid, set()).add(uid)
    for act in actions:
        if act['op'] in ('create_user', 'update_user') and 'groups' in act['detail']:
            for gid in members:
                members[gid].discard(act['id'])
            for gid in act['detail']['groups']:
                members.setdefault(gid, set()).add(act['id'])
        elif act['op'] == 'delete_user':
            for gid in members:
                members[gid].discard(act['id'])
    out = {}
    for gid, info in desired['groups'].items():
        if info['store']:
            tpl = desired['templates'][info['template']]['group']
            out.setdefault(info['store'], {})[tpl] = {'group': gid, 'members': sorted(members.get(gid, ()))}
    return out


def execute(module, client):
    desired = _access_desired.build_desired(module.params, int(time.time()))
    actual = normalize(read_access(client))
    if desired['terminals']:
        _access_terminals.resolve(desired['terminals'], guest_live.resources(
            client, _access_terminals.in_pools(desired['terminals'])))
    actions, warnings = _access_plan.plan(desired, actual)
    for text in warnings:
        module.warn(text)
    for code, store in sorted(desired['stores'].items()):
        if store['state'] == 'present' and 'store-' + code not in actual['pools']:
            module.warn('store {0}: pool store-{0} does not exist yet; its ACL is set all the same'.format(code))
    secrets = {}
    if actions and not module.check_mode:
        passwords = dict((uid, u['password']) for uid, u in desired['users'].items() if u['password'])
        _access_apply.apply(client, actions, passwords, parallel=module.params['parallel'], secrets=secrets)
    summary = {}
    for act in actions:
        summary[act['op']] = summary.get(act['op'], 0) + 1
    result = {'changed': bool(actions), 'plan': actions, 'summary': summary,
              'stores': store_view(desired, actual, actions),
              'terminals': _access_terminals.view(desired['terminals'], secrets),
              'api_requests': client.stats['requests']}
    if module._diff:
        result['diff'] = _access_plan.diff(actions, actual)
    return result


def main():
    run_module(pve_module(ARGSPEC), execute)


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""store_access's store terminals (private, pure): one privilege-separated API token per terminal, with
StoredeskTerminal on its own desktop(s) only.

A store's terminals hang off one marked user, storedesk-terminals-<code>@pve (no password: it cannot log in),
which holds the role on /pool/store-<code>. Each token (privsep=1: the token's own ACLs intersected with its
user's, pve-access-control PVE/AccessControl.pm `roles()`) holds the role on /vms/<vmid> of its desktops, so it
can open, wake and watch those and nothing else. Deleting a token revokes it at once (PVE API2/User.pm
`remove_token`; user.cfg keeps no ACL of a token that is gone).
"""

from __future__ import annotations

import re

from ._access_templates import MARKER, pool_of
from ._pve_errors import InputError

TERMINAL_ROLE = 'StoredeskTerminal'
# Each privilege with the call that checks it (qemu-server src/PVE/API2/Qemu.pm, stable-bookworm (8.4) and
# master (9.x) alike: `check => ['perm', '/vms/{vmid}', [...]]`).
TERMINAL_PRIVILEGES = (
    ('VM.Console', 'POST /nodes/{node}/qemu/{vmid}/spiceproxy (spiceproxy): a fresh SPICE ticket per connection'),
    ('VM.PowerMgmt', 'POST .../status/start (vm_start; also resumes a desktop hibernated to disk, lock '
                     'suspended) and .../status/resume (vm_resume, a paused desktop)'),
    ('VM.Audit', 'GET .../status/current (vm_status): is the desktop up; and the desktop in /cluster/resources'),
)
# pve-access-control: token-subid is $PVE::Auth::Plugin::realm_regex.
TOKEN_RE = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]+$')
USER_PREFIX = 'storedesk-terminals-'


def terminal_user(code):
    return '{0}{1}@pve'.format(USER_PREFIX, code)


def is_terminal_user(userid, comment):
    return userid.startswith(USER_PREFIX) and str(comment or '').startswith(MARKER + ' terminals')


def desired(entries, stores_re):
    """{terminal: {...}} from the `terminals` option; every input checked before anything is read."""
    out = {}
    for pos, entry in enumerate(entries or []):
        name = str(entry.get('name') or '')
        where = 'terminals[{0}] ({1})'.format(pos, name or 'no name')
        if not TOKEN_RE.match(name):
            raise InputError("terminal name '{0}' cannot name a PVE API token".format(name), where=where + '.name',
                             hint="start with a letter; letters, digits, '.', '-' and '_' only (e.g. sh-0001-t01)")
        if name in out:
            raise InputError('the terminal is listed twice', where=where, hint='merge its entries')
        code = str(entry.get('store') or '')
        if not code or not stores_re.match(pool_of(code)):
            raise InputError("store code '{0}' cannot name a PVE pool".format(code), where=where + '.store',
                             hint='give the code of the store the terminal stands in (pool store-<code>)')
        state = entry.get('state') or 'present'
        desktops = [str(d) for d in entry.get('desktops') or []]
        if state == 'present' and not desktops:
            raise InputError('a terminal needs at least one desktop', where=where + '.desktops',
                             hint='list the desktop names (or VMIDs) of store {0} it may open; the first is its '
                                  'own, the others are fallbacks'.format(code))
        user = terminal_user(code)
        out[name] = {'store': code, 'user': user, 'token': name, 'full': '{0}!{1}'.format(user, name),
                     'desktops': desktops, 'state': state, 'rotate': bool(entry.get('rotate')), 'where': where,
                     'vmids': []}
    return out


def in_pools(terminals):
    """Which /cluster/resources guests resolve() needs live (for _guest_live.resources): those in a present
    terminal's store pool, or named by VMID. Pool membership is live there; names and template flags come from
    the RRD cache (~10 s old, none yet for a new clone: pve-manager PVE/API2Tools.pm `extract_vm_stats`)."""
    pools = set(pool_of(t['store']) for t in terminals.values() if t['state'] == 'present')
    vmids = set(d for t in terminals.values() if t['state'] == 'present' for d in t['desktops'])
    return lambda item: item.get('pool') in pools or str(item.get('vmid')) in vmids


def resolve(terminals, resources):
    """Each present terminal's desktops as VMIDs, from /cluster/resources (type vm) with live names and template
    flags (_guest_live.resources(client, in_pools(terminals))). A desktop must exist, be no template and sit in
    its store's pool: a terminal never gets a token for another store's desktop."""
    vms = [r for r in resources or [] if r.get('type', 'qemu') == 'qemu' and not r.get('template')]
    for term in terminals.values():
        if term['state'] != 'present':
            continue
        for desk in term['desktops']:
            found = [r for r in vms if r.get('name') == desk or str(r.get('vmid')) == desk]
            if not found:
                raise InputError('desktop {0} not found'.format(desk), where=term['where'] + '.desktops',
                                 hint='give the name or VMID of a desktop of store {0}'.format(term['store']))
            vm = found[0]
            if vm.get('pool') != pool_of(term['store']):
                raise InputError(
                    'desktop {0} (VMID {1}) is not in pool {2}'.format(desk, vm['vmid'], pool_of(term['store'])),
                    where=term['where'] + '.desktops', hint="a terminal may open only its own store's desktops")
            term['vmids'].append(int(vm['vmid']))
            term.setdefault('records', []).append({'name': vm.get('name'), 'vmid': int(vm['vmid']),
                                                   'node': vm.get('node')})
    return terminals


def acl_wanted(terminals):
    """The ACL entries present terminals need: the store user on the pool, each token on its desktops."""
    out = set()
    for term in terminals.values():
        if term['state'] == 'present':
            out.add(('/pool/' + pool_of(term['store']), 'user', term['user'], TERMINAL_ROLE, 1))
            out.update(('/vms/{0}'.format(v), 'token', term['full'], TERMINAL_ROLE, 1) for v in term['vmids'])
    return out


def plan(terminals, actual, action, acl_action):
    """Users, tokens and stale token ACL entries (`action`, `acl_action` make plan entries). The wanted ACL
    entries are planned with the rest: acl_wanted() is part of the desired ACL."""
    actions = []
    users = {}
    for term in terminals.values():
        if term['state'] == 'present':
            users.setdefault(term['user'], term['store'])
    for uid, code in sorted(users.items()):
        have = actual['users'].get(uid)
        if have is None:
            actions.append(action('create_user', uid, code, comment='{0} terminals store={1}'.format(MARKER, code)))
        elif not is_terminal_user(uid, have['comment']):
            raise InputError("user '{0}' exists but storedesk does not manage it".format(uid), where='store ' + code,
                             hint="delete it, or set its comment to start with '{0} terminals'".format(MARKER))
    wanted = acl_wanted(terminals)
    for name, term in sorted(terminals.items()):
        have = actual['users'].get(term['user'], {}).get('tokens', {}).get(name)
        if term['state'] == 'present' and have is None:
            actions.append(action('create_token', term['full'], term['store'], terminal=name))
        elif term['state'] == 'present' and term['rotate']:
            actions.append(action('rotate_token', term['full'], term['store'], terminal=name))
        elif term['state'] == 'absent' and have is not None:
            actions.append(action('delete_token', term['full'], term['store'], terminal=name,
                                  reason='terminal offboarded'))
        if term['state'] == 'present' and have is not None:
            for entry in sorted(actual['acl']):
                if entry[1] == 'token' and entry[2] == term['full'] and entry not in wanted:
                    actions.append(acl_action('delete_acl', entry))
    return actions


def view(terminals, secrets):
    """The module's `terminals` result: token id, desktops, and the secret of a token made in this run."""
    out = {}
    for name, term in sorted(terminals.items()):
        item = {'store': term['store'], 'state': term['state'], 'api_token_id': term['full'],
                'desktops': term.get('records', [])}
        if name in secrets:
            item['api_token_secret'] = secrets[name]
        out[name] = item
    return out

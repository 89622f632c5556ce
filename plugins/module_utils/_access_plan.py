# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""store_access's planner (private, pure): desired x actual -> ordered actions, and their diff.

Only objects carrying the storedesk marker (users and groups: comment 'storedesk:'; roles: the Storedesk
prefix) are ever disabled or removed. The plan never holds a password; apply takes it from the desired state.
"""

from __future__ import annotations

from . import _access_terminals
from ._access_model import marked, parse_marker
from ._access_templates import AUTOMATION_ROLE, MARKER, ROLE_PREFIX, pool_of
from ._pve_errors import InputError

# The order actions are applied in: a role before the ACL naming it, a group before its members.
ORDER = ('create_role', 'update_role', 'create_group', 'update_group', 'create_user', 'update_user', 'create_token',
         'rotate_token', 'add_acl', 'delete_acl', 'delete_token', 'disable_user', 'delete_user', 'delete_group',
         'delete_role')
# Roles reclaim never removes: they belong to no template.
FIXED_ROLES = (AUTOMATION_ROLE, _access_terminals.TERMINAL_ROLE)
ATTRS = ('enable', 'expire', 'firstname', 'lastname', 'email', 'comment')


def _action(op, oid, store=None, **detail):
    return {'op': op, 'id': oid, 'store': store, 'detail': detail}


def _group_meta(desired, actual, gid):
    if gid in desired['groups']:
        return desired['groups'][gid]
    comment = actual['groups'].get(gid, {}).get('comment')
    meta = parse_marker(comment)
    return {'store': meta.get('store'), 'template': meta.get('template')} if marked(comment) else None


def _gone_groups(desired, actual):
    """Our groups that go: of closed stores; with exclusive, in scope but not wanted; with reclaim, of
    stores whose pool is gone or of templates that are gone."""
    gone = {}
    for gid, info in actual['groups'].items():
        meta = _group_meta(desired, actual, gid)
        if meta is None or gid in desired['groups']:
            continue
        store, tpl = meta['store'], meta['template']
        in_scope = store in desired['stores'] if store else desired['global_scope']
        if store and desired['stores'].get(store, {}).get('state') == 'absent':
            gone[gid] = 'store {0} is closed'.format(store)
        elif desired['exclusive'] and in_scope:
            gone[gid] = 'not wanted (exclusive)'
        elif desired['reclaim'] and store and pool_of(store) not in actual['pools']:
            gone[gid] = 'pool {0} is gone'.format(pool_of(store))
        elif desired['reclaim'] and tpl not in desired['templates']:
            gone[gid] = 'template {0} is gone'.format(tpl)
    return gone


def _scoped_groups(desired, actual):
    """Our groups whose membership this run owns (exclusive mode)."""
    out = set()
    for gid in set(actual['groups']) | set(desired['groups']):
        meta = _group_meta(desired, actual, gid)
        if meta and (meta['store'] in desired['stores'] if meta['store'] else desired['global_scope']):
            out.add(gid)
    return out


# On PVE 8 every guest-agent call, exec and file-write included, checks VM.Monitor (qemu-server stable-bookworm
# src/PVE/API2/Qemu/Agent.pm `register_command`: `$perm //= 'VM.Monitor'`, and the exec/file-write/set-user-password
# handlers); PVE 9 split it into VM.GuestAgent.* (pve-access-control master src/PVE/AccessControl.pm `$privgroups`).
# So VM.Monitor is granted on PVE 8 only to roles that may run commands anyway, and to the automation role, whose
# guest-agent reads (addresses, logged-in users) the pool's in-use checks need and which configures the VMs anyway.
PVE8_MONITOR_FROM = ('VM.GuestAgent.Unrestricted', 'VM.GuestAgent.FileWrite')


def _live_privileges(role, privs, actual, warnings):
    """PVE 9 names, translated for the cluster's version. On PVE 8, VM.GuestAgent.* becomes VM.Monitor only for
    roles that hold an exec-level agent privilege; read-only roles lose guest-agent access (warned), because
    VM.Monitor would let them run commands as SYSTEM."""
    live = actual.get('privileges')
    if not live:
        return set(privs)
    out, dropped = set(), []
    where = 'role ' + role
    exec_level = role == AUTOMATION_ROLE or any(p in privs for p in PVE8_MONITOR_FROM)
    for priv in privs:
        if priv in live:
            out.add(priv)
        elif priv.startswith('VM.GuestAgent.') and 'VM.Monitor' in live:
            if exec_level:
                out.add('VM.Monitor')
            else:
                dropped.append(priv)
        else:
            raise InputError("privilege '{0}' is not known to this Proxmox VE".format(priv), where=where,
                             hint='this cluster runs an older PVE: drop the privilege from the template')
    if dropped:
        warnings.append('{0}: {1} not granted on this PVE 8 cluster: there the guest agent needs VM.Monitor, which '
                        'also allows running commands on the desktops; desktop addresses and logged-in users are '
                        'not shown to this role until PVE 9'.format(where, ', '.join(sorted(dropped))))
    return out


def _check_users(desired, actual, final):
    """Checks that need the live state: realms, passwords, one-store templates."""
    for uid, user in sorted(desired['users'].items()):
        if not user['join']:
            continue
        realm_type = actual['realms'].get(user['realm'])
        if realm_type is None:
            raise InputError("realm '{0}' does not exist".format(user['realm']), where=user['where'] + '.realm',
                             hint='use one of {0}, or add the realm (Datacenter > Permissions > Realms)'.format(
                                 ', '.join(sorted(actual['realms']))))
        if user['password'] and realm_type != 'pve':
            raise InputError("a password cannot be set for realm '{0}' (type {1})".format(user['realm'], realm_type),
                             where=user['where'] + '.password',
                             hint='the directory owns it: drop password; such users only get group membership')
        for tpl, store in user['one_store'].items():
            for gid in sorted(final.get(uid, ())):
                meta = _group_meta(desired, actual, gid)
                if meta and meta['template'] == tpl and meta['store'] not in (None, store):
                    raise InputError("user '{0}' is already {1} of store {2}, and the template allows one store"
                                     .format(uid, tpl, meta['store']), where=user['where'],
                                     hint='offboard them from store {0} first (state: absent)'.format(meta['store']))


def plan(desired, actual):
    """(actions in ORDER, warnings). Raises InputError before anything is written."""
    actions, warnings = [], []
    terminals = desired.get('terminals') or {}
    term_users = set(t['user'] for t in terminals.values()) | set(
        uid for uid, u in actual['users'].items() if _access_terminals.is_terminal_user(uid, u['comment']))
    desired = dict(desired, acl=desired['acl'] | _access_terminals.acl_wanted(terminals))
    gone = _gone_groups(desired, actual)
    scoped = _scoped_groups(desired, actual)
    ours = set(g for g in set(actual['groups']) | set(desired['groups']) if _group_meta(desired, actual, g))
    for gid in desired['groups']:
        if gid in actual['groups'] and not marked(actual['groups'][gid]['comment']):
            raise InputError("group '{0}' exists but storedesk does not manage it".format(gid), where=gid,
                             hint="rename or delete it, or set its comment to start with '{0}'".format(MARKER))
    # Final group membership of every user this run knows.
    final, lost = {}, {}
    for uid in set(actual['users']) | set(desired['users']):
        have = set(actual['users'].get(uid, {}).get('groups', ()))
        new = have - set(gone)
        want = desired['users'].get(uid)
        if want:
            new = (new - want['leave']) | want['join']
        if desired['exclusive']:
            new -= (scoped - (want['join'] if want else set()))
        final[uid] = new
        lost[uid] = (have & ours) - new
    _check_users(desired, actual, final)
    for role, privs in sorted(desired['roles'].items()):
        privs = _live_privileges(role, privs, actual, warnings)
        have = actual['roles'].get(role)
        if have is None:
            actions.append(_action('create_role', role, privs=sorted(privs)))
        elif have['privs'] != privs and not have['special']:
            actions.append(_action('update_role', role, privs=sorted(privs)))
    for gid, info in sorted(desired['groups'].items()):
        if gid not in actual['groups']:
            actions.append(_action('create_group', gid, info['store'], comment=info['comment']))
        elif actual['groups'][gid]['comment'] != info['comment']:
            actions.append(_action('update_group', gid, info['store'], comment=info['comment']))
    for uid in sorted(set(final) - term_users):
        actions.extend(_user_actions(uid, desired, actual, final[uid], lost[uid], ours, gone, warnings))
    term_actions = _access_terminals.plan(terminals, actual, _action, _acl_action)
    actions.extend(term_actions)
    # A rotated token is made anew: its ACL entries are set again.
    rotated = set(a['id'] for a in term_actions if a['op'] == 'rotate_token')
    have_acl = set(e for e in actual['acl'] if not (e[1] == 'token' and e[2] in rotated))
    for entry in sorted(desired['acl'] - have_acl):
        actions.append(_acl_action('add_acl', entry))
    actions.extend(_acl_removals(desired, actual, scoped, gone))
    for gid, why in sorted(gone.items()):
        actions.append(_action('delete_group', gid, _group_meta(desired, actual, gid)['store'], reason=why))
    if desired['reclaim']:
        for role, have in sorted(actual['roles'].items()):
            if role.startswith(ROLE_PREFIX) and not have['special'] and role not in desired['roles'] \
                    and role not in FIXED_ROLES:
                actions.append(_action('delete_role', role, reason='no template uses it'))
    actions.sort(key=lambda a: ORDER.index(a['op']))
    return actions, warnings


def _user_actions(uid, desired, actual, groups, lost, ours, gone, warnings):
    want = desired['users'].get(uid)
    have = actual['users'].get(uid)
    wanted = bool(want and want['join'])
    if have is None:
        if not wanted:
            return []
        attrs = dict((k, v) for k, v in want['attrs'].items() if v not in ('', None) and not (k == 'enable' and v))
        return [_action('create_user', uid, _store_of(want), groups=sorted(groups), initial_password=bool(
            want['password']), **attrs)]
    changes = {}
    if wanted and marked(have['comment']):
        changes = dict((k, v) for k, v in want['attrs'].items() if have.get(k, '') != v)
    elif wanted:
        warnings.append("user '{0}' exists without the '{1}' comment: only its group membership is managed"
                        .format(uid, MARKER))
    if groups != set(have['groups']) - set(gone):
        changes['groups'] = sorted(groups)
    out = [_action('update_user', uid, _store_of(want), **changes)] if changes else []
    if wanted or not marked(have['comment']):
        return out
    expired = have['expire'] and have['expire'] < desired['now']
    orphan = not (groups & ours) and (lost or desired['reclaim'])
    if desired['reclaim_users'] == 'remove' and (orphan or (desired['reclaim'] and expired)):
        return [_action('delete_user', uid, reason='expired' if expired and not orphan else 'no store left')]
    if orphan and have['enable']:
        out.append(_action('disable_user', uid, reason='no store left'))
    return out


def _store_of(want):
    stores = sorted(want['stores']) if want else []
    return stores[0] if len(stores) == 1 else None


def _acl_action(op, entry, **detail):
    path, kind, ugid, role, prop = entry
    store = path[len('/pool/store-'):] if path.startswith('/pool/store-') else None
    return _action(op, '{0} {1} {2}:{3}'.format(path, role, kind, ugid), store, path=path, type=kind, ugid=ugid,
                   role=role, propagate=prop, **detail)


def _acl_removals(desired, actual, scoped, gone):
    """ACL entries of ours that are no longer wanted (exclusive), and those naming a role that goes."""
    tpl_roles = set(t['role'] for t in desired['templates'].values())
    pools = set('/pool/' + pool_of(code) for code in desired['stores'])
    out = []
    for entry in sorted(actual['acl'] - desired['acl']):
        path, kind, ugid, role, _prop = entry
        if kind == 'group' and ugid in gone:
            continue  # goes with its group
        ours = (kind == 'group' and ugid in scoped) or (role in tpl_roles and path in pools)
        dropped_role = desired['reclaim'] and role.startswith(ROLE_PREFIX) and role not in desired['roles'] \
            and role not in FIXED_ROLES
        if (desired['exclusive'] and ours) or dropped_role:
            out.append(_acl_action('delete_acl', entry))
    return out


def diff(actions, actual):
    """Before/after of every role, group, user and ACL entry the plan touches."""
    before = {'roles': {}, 'groups': {}, 'users': {}, 'acl': [], 'tokens': {}}
    after = {'roles': {}, 'groups': {}, 'users': {}, 'acl': [], 'tokens': {}}
    for act in actions:
        op, oid, det = act['op'], act['id'], act['detail']
        if op.endswith('_token'):   # no secret in the diff: a token is there (privsep 1) or not
            if op != 'create_token':
                before['tokens'][oid] = {'privsep': 1}
            if op != 'delete_token':
                after['tokens'][oid] = {'privsep': 1, 'new_secret': True}
            continue
        kind = op.split('_', 1)[1] + 's' if op.split('_', 1)[1] != 'acl' else 'acl'
        if kind == 'acl':
            (after if op == 'add_acl' else before)['acl'].append(oid)
            continue
        old = _view(kind, actual, oid)
        if old is not None:
            before[kind][oid] = old
        if op.startswith('delete'):
            continue
        if kind == 'roles':
            after[kind][oid] = det['privs']
            continue
        new = dict(after[kind].get(oid) or old or {})
        new.update((k, v) for k, v in det.items() if k not in ('initial_password', 'reason'))
        if op == 'disable_user':
            new['enable'] = False
        after[kind][oid] = new
    return {'before': before, 'after': after}


def _view(kind, actual, oid):
    item = actual[kind].get(oid)
    if item is None:
        return None
    if kind == 'roles':
        return sorted(item['privs'])
    out = dict((k, v) for k, v in item.items() if k in ATTRS)
    if 'groups' in item:
        out['groups'] = sorted(item['groups'])
    return out

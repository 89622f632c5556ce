# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE access control as plain data (private): the one bulk read, its normal form, and PVE's
permission rules (AccessControl::roles, RPCEnvironment pool inheritance) for the access report."""

from __future__ import annotations

from ._access_templates import MARKER

READS = (('users', '/access/users', {'full': 1}), ('groups', '/access/groups', {}), ('roles', '/access/roles', {}),
         ('acl', '/access/acl', {}), ('domains', '/access/domains', {}), ('pools', '/pools', {}))


def read_access(client):
    """Six bulk GETs, whatever the number of stores and users."""
    return dict((key, client.get(path, **params) or []) for key, path, params in READS)


def _split(value):
    if isinstance(value, (list, tuple, set)):
        return set(str(v) for v in value if v)
    return set(v for v in str(value or '').replace(';', ',').replace(' ', ',').split(',') if v)


def marked(comment):
    return str(comment or '').startswith(MARKER)


def parse_marker(comment):
    """'storedesk: store=sh-0001 template=store_clerk' -> {'store': 'sh-0001', 'template': 'store_clerk'}"""
    if not marked(comment):
        return {}
    out = {}
    for word in str(comment)[len(MARKER):].split():
        key, eq, value = word.partition('=')
        if eq:
            out[key] = value
    return out


def normalize(raw):
    """The raw reads as {'realms', 'roles', 'groups', 'users', 'acl', 'pools', 'privileges'}."""
    roles = {}
    for item in raw.get('roles', []):
        roles[item['roleid']] = {'privs': _split(item.get('privs')), 'special': bool(item.get('special'))}
    groups = dict((g['groupid'], {'comment': g.get('comment') or ''}) for g in raw.get('groups', []))
    users = {}
    for u in raw.get('users', []):
        users[u['userid']] = {
            'enable': bool(int(u.get('enable', 1))), 'expire': int(u.get('expire') or 0),
            'firstname': u.get('firstname') or '', 'lastname': u.get('lastname') or '',
            'email': u.get('email') or '', 'comment': u.get('comment') or '', 'groups': _split(u.get('groups')),
            # full=1 lists each user's API tokens (pve-access-control API2/User.pm `index`).
            'tokens': dict((t['tokenid'], t) for t in u.get('tokens') or [] if isinstance(t, dict))}
    acl = set()
    for e in raw.get('acl', []):
        acl.add((e['path'], e['type'], e['ugid'], e['roleid'], int(e.get('propagate', 1))))
    admin = roles.get('Administrator')
    return {'realms': dict((d['realm'], d.get('type') or d['realm']) for d in raw.get('domains', [])),
            'roles': roles, 'groups': groups, 'users': users, 'acl': acl,
            'pools': set(p['poolid'] for p in raw.get('pools', [])),
            # The live privilege list: the built-in Administrator role holds every privilege of this PVE.
            'privileges': set(admin['privs']) if admin and admin['special'] else None}


# ----------------------------------------------------------------------------- PVE's permission rules

def _acl_index(acl):
    index = {}
    for path, kind, ugid, role, prop in acl:
        index.setdefault(path, {}).setdefault((kind, ugid), {})[role] = prop
    return index


def roles_on(index, userid, groups, path):
    """AccessControl::roles(): {role: propagate} for a user on a path. On every level from / down, the
    user's own entries, else the union of its groups' entries, replace what was inherited; entries that do
    not propagate count on their own path only; NoAccess wins."""
    parts = [p for p in path.split('/') if p]
    held = {}
    for depth in range(len(parts) + 1):
        node = index.get('/' + '/'.join(parts[:depth]), {})
        final = depth == len(parts)
        for kind, ids in (('user', [userid]), ('group', sorted(groups))):
            new = {}
            for ugid in ids:
                for role, prop in node.get((kind, ugid), {}).items():
                    if final or prop:
                        new[role] = max(prop, new.get(role, 0))
            if new:
                held = new
                break
    return {'NoAccess': 0} if 'NoAccess' in held else held


def desktop_privileges(acl, roles, userid, groups, pool):
    """What a user may do on a desktop of the pool (no VM-specific ACLs): roles on /vms/<id> plus the
    roles of the pool path, as RPCEnvironment::compile_acl_path does. Returns (privileges, roles)."""
    index = _acl_index(acl)
    held = dict(roles_on(index, userid, groups, '/vms/0'))
    pool_roles = roles_on(index, userid, groups, '/pool/' + pool)
    if 'NoAccess' in held or 'NoAccess' in pool_roles:
        return set(), ['NoAccess']
    held.update(pool_roles)
    privs = set()
    for role in held:
        privs |= roles.get(role, {}).get('privs', set())
    return privs, sorted(held)


def path_privileges(acl, roles, userid, groups, path):
    held = roles_on(_acl_index(acl), userid, groups, path)
    privs = set()
    for role in held:
        privs |= roles.get(role, {}).get('privs', set())
    return privs, sorted(held)

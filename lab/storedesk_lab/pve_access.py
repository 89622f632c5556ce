"""Stateful PVE access control for the lab: realms, users, groups, roles, API tokens and ACLs.

A mixin of FakePve (fakepve keeps no state under /access). Modelled on pve-access-control
(PVE/AccessControl.pm, PVE/RPCEnvironment.pm, PVE/API2/{User,Group,Role,ACL}.pm):

- Privileges: the served release's (pve_versions.py: PVE 9 by default, VM.Monitor gone and VM.GuestAgent.*
  added; PVE 8 the other way round). Built-in roles are computed as AccessControl.pm's create_roles()
  does from its privilege groups; they are `special` and immutable.
- permissions(user, path): PVE's roles() walk from / to the path. On each level a token's, else the
  user's own, else the union of the user's groups' entries replace what was inherited; propagate=0
  entries count only on their own path; NoAccess wins. A VM or storage also gets the roles its pool
  path gives (exact member path only). A privsep=1 token holds its own ACLs intersected with its
  user's; privsep=0 holds its user's. root@pam holds everything.
- Logins: disabled or expired users (and expired tokens) are refused with 401; tickets and tokens of
  such users stop working on the next request, as PVE's auth handler re-checks the user.
- Errors carry PVE's wording ("create user failed: user 'x@pve' already exists", ...).

Not modelled: TFA, realm sync, POST/PUT /access/domains (use add_realm()), and the "perm-modify"
subset rule (PUT /access/acl needs Permissions.Modify on the path, fakepve's rule).
`strict_realms` (default True) also refuses users of an unknown realm created without a password,
which PVE accepts (it only checks the realm when storing a password).
fakepve's own grant() keeps working: its grants are added (propagating) to what the ACLs give.
"""

import re
import time
import uuid

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, die, param_error, split_list

from .pve_versions import PRIVGROUPS, create_roles

__all__ = ['AccessControlApi', 'BUILTIN_ROLES', 'PRIVILEGES']

# PVE 9's (the default); an instance serving PVE 8 holds its own (pve_versions.py).
PRIVILEGES, BUILTIN_ROLES = create_roles(PRIVGROUPS[9])
# get_effective_permissions(): the paths always listed.
DEFAULT_PATHS = ('/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms')
# AccessControl::check_path (pools may nest).
ACL_PATH = re.compile(r'^(/|/access|/access/groups(/[\w.-]+)?|/access/realm(/[\w.-]+)?|/nodes(/[\w.-]+)?'
                      r'|/pool(/[\w.-]+)*|/sdn(/zones(/[\w.-]+(/[\w.-]+(/[1-9][0-9]{0,3})?)?)?)?'
                      r'|/storage(/[\w.-]+)?|/vms(/[1-9][0-9]{2,})?|/mapping(/[\w.-]+){0,2})$', re.A)
DEFAULT_REALMS = {'pam': {'type': 'pam', 'comment': 'Linux PAM standard authentication'},
                  'pve': {'type': 'pve', 'comment': 'Proxmox VE authentication server'}}
USER_FIELDS = ('firstname', 'lastname', 'email', 'comment', 'keys')


def normalize_path(path):
    """AccessControl::normalize_path: None for a path PVE refuses."""
    if not path:
        return None
    path = re.sub('/+', '/', str(path)).rstrip('/') or '/'
    path = path if path.startswith('/') else '/' + path
    return path if re.fullmatch(r'[A-Za-z0-9._/-]+', path) else None


def _realm(userid):
    return userid.rpartition('@')[2]


class _FlatAcl(dict):
    """fakepve's flat ACL (userid -> [(path, privs)]). fakepve rewrites an entry without a path when it
    destroys a VM, a pool or a storage; the ACL entries on that path go too (PVE's remove_vm_access)."""

    def __init__(self, owner, data=()):
        super().__init__(data)
        self.owner = owner

    def __setitem__(self, key, value):
        gone = set(p for p, _ in self.get(key, ())) - set(p for p, _ in value)
        super().__setitem__(key, value)
        for path in gone:
            self.owner.acl_entries.pop(path, None)


class AccessControlApi(StatefulRoutes):
    """Mixin of FakePve: /access/{users,groups,roles,acl,domains} with PVE's permission semantics."""

    strict_realms = True
    privileges, builtin_roles = PRIVILEGES, BUILTIN_ROLES   # the release's (pve_versions.py)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.realms = dict((k, dict(v)) for k, v in DEFAULT_REALMS.items())
        # userid -> {'enable', 'expire', 'groups': set, 'tokens': {name: {'privsep', 'expire', 'comment'}}, ...}
        self.lab_users = {'root@pam': {'enable': 1, 'expire': 0, 'groups': set(), 'tokens': {}}}
        self.lab_groups = {}  # groupid -> {'comment': str}
        self.roles = {}  # custom roleid -> set(privs)
        # path -> {(kind, ugid): {roleid: propagate}}; kind is 'user', 'group' or 'token'
        self.acl_entries = {}
        self._grants = {}  # fakepve grant(): ugid -> [(path, privs)]

    # ------------------------------------------------------------ lab helpers

    def add_realm(self, name, type='ad', comment=''):
        """Add an authentication realm (e.g. an AD domain); pam and pve always exist."""
        self.realms[name] = {'type': type, 'comment': comment}
        self._recompute()

    def add_group(self, groupid, comment=''):
        self.lab_groups.setdefault(groupid, {'comment': comment})
        self._recompute()

    def add_role(self, roleid, privs):
        bad = [p for p in privs if p not in self.privileges]
        if bad:
            raise ValueError("invalid privilege '{0}'".format(bad[0]))
        self.roles[roleid] = set(privs)
        self._recompute()

    def add_user(self, userid, password=None, groups=(), **attrs):
        """A user (its realm must exist); missing groups are created. A password works for any realm
        here (the lab stands in for PAM or the directory). attrs: enable, expire, firstname, ..."""
        if _realm(userid) not in self.realms:
            raise ValueError("auth domain '{0}' does not exist".format(_realm(userid)))
        for group in groups:
            self.lab_groups.setdefault(group, {'comment': ''})
        user = {'enable': int(attrs.pop('enable', 1)), 'expire': int(attrs.pop('expire', 0)),
                'groups': set(groups), 'tokens': {}}
        user.update((k, v) for k, v in attrs.items() if k in USER_FIELDS)
        self.lab_users[userid] = user
        if password is not None:
            self.users[userid] = password
        self._recompute()
        return userid

    def add_token(self, userid, tokenid, secret, privsep=0, expire=0, comment=''):
        """An API token of an existing user; returns the full id 'user@realm!tokenid'."""
        self._user(userid)['tokens'][tokenid] = {'privsep': int(privsep), 'expire': int(expire), 'comment': comment}
        full = '{0}!{1}'.format(userid, tokenid)
        self.apitokens[full] = secret
        self._recompute()
        return full

    def set_acl(self, path, roleid, users=(), groups=(), tokens=(), propagate=True):
        """Add an ACL entry (as PUT /access/acl does)."""
        if roleid not in self._all_roles():
            raise ValueError("role '{0}' does not exist".format(roleid))
        node = self.acl_entries.setdefault(normalize_path(path), {})
        for kind, ids in (('user', users), ('group', groups), ('token', tokens)):
            for ugid in ids:
                node.setdefault((kind, ugid), {})[roleid] = 1 if propagate else 0
        self._recompute()

    def grant(self, user, path, *privs):
        """fakepve's grant(): privileges added on top of the ACLs, propagating."""
        self._grants.setdefault(user, []).append((normalize_path(path) or '/', set(privs)))
        self._recompute()

    # ------------------------------------------------------------ state

    def _all_roles(self):
        return dict(self.builtin_roles, **self.roles)

    def _user(self, userid):
        user = self.lab_users.get(userid)
        if user is None:
            raise die("no such user ('{0}')".format(userid))
        return user

    def _known(self, userid):
        """A user PVE would find in user.cfg: the lab's, or one fakepve knows a password for."""
        return userid in self.lab_users or userid in self.users or userid == self.user

    def _token(self, tokenid):
        """The token's settings: the lab's, or privsep=0 for one only fakepve's apitokens knows."""
        userid, _, name = tokenid.partition('!')
        info = self.lab_users.get(userid, {}).get('tokens', {}).get(name)
        if info is None and tokenid in self.apitokens:
            return {'privsep': 0, 'expire': 0}
        return info

    def _groups_of(self, userid):
        return sorted(self.lab_users.get(userid, {}).get('groups', ()))

    def _recompute(self):
        """Rebuild fakepve's flat self.acl (userid or tokenid -> [(path, privs)]); it is a dict from now on,
        so fakepve enforces permissions."""
        roles = self._all_roles()
        flat = {}
        for path, node in self.acl_entries.items():
            for (kind, ugid), given in node.items():
                # a group's entries also stand under '@<group>', so fakepve's clean-ups reach them
                who = [u for u, d in self.lab_users.items() if ugid in d['groups']] + ['@' + ugid] \
                    if kind == 'group' else [ugid]
                for name in who:
                    for role in given:
                        flat.setdefault(name, []).append((path, set(roles.get(role, ()))))
        for name, entries in self._grants.items():
            flat.setdefault(name, []).extend(entries)
        self.acl = _FlatAcl(self, flat)

    def _check_active(self, userid):
        """AccessControl::check_user_enabled: the message PVE refuses a disabled or expired user with."""
        user = self.lab_users.get(userid)
        if user is None:
            return None if self._known(userid) else "no such user ('{0}')".format(userid)
        if not user.get('enable', 1):
            return "user '{0}' is disabled".format(userid)
        if user.get('expire') and user['expire'] < time.time():
            return "user '{0}' access expired".format(userid)
        return None

    # ------------------------------------------------------------ authentication

    def check_password(self, user, password):
        if self.acl is not None and (self._check_active(user) or _realm(user) not in self.realms):
            return False
        return super().check_password(user, password)

    def _authenticate(self, request):
        who = super()._authenticate(request)
        if who is None or self.acl is None:
            return who
        userid, _, token = who.partition('!')
        why = self._check_active(userid)
        if not why and token:
            info = self._token(who)
            if info is None:
                why = "no such token '{0}' for user '{1}'".format(token, userid)
            elif info.get('expire') and info['expire'] < time.time():
                why = "token '{0}' access expired".format(token)
        if why:
            raise PveError(401, why)
        return who

    # ------------------------------------------------------------ permissions

    def _roles(self, who, path):
        """AccessControl::roles(): {roleid: propagate} of who (a user or a token) on a normalised path."""
        roles = {}
        parts = path.split('/')[1:] if path != '/' else []
        groups = self._groups_of(who) if '!' not in who else []
        for depth in range(len(parts) + 1):
            node = self.acl_entries.get('/' + '/'.join(parts[:depth]), {})
            final = depth == len(parts)
            for kind, ids in (('token', [who]), ('user', [who]), ('group', groups)):
                new = {}
                for ugid in ids:
                    for role, prop in node.get((kind, ugid), {}).items():
                        if final or prop:
                            new[role] = max(prop, new.get(role, 0))
                if new:
                    roles = new
                    break
        if 'NoAccess' in roles:
            return {'NoAccess': roles['NoAccess']}
        return roles

    def _compile(self, who, path):
        """RPCEnvironment's compile_acl_path: roles with those inherited from pools, as {priv: propagate}."""
        roles = self._roles(who, path)
        member = re.fullmatch(r'/(vms|storage)/([^/]+)', path)
        if member and 'NoAccess' not in roles:
            for pool in sorted(self.pools):
                if member.group(1) == 'vms':
                    inside = member.group(2).isdigit() and int(member.group(2)) in self.pools[pool]
                else:
                    inside = member.group(2) in self.pool_info.get(pool, {}).get('storage', ())
                pool_roles = self._roles(who, '/pool/' + pool) if inside else {}
                if 'NoAccess' in pool_roles:
                    roles = {'NoAccess': 0}
                    break
                roles.update(dict.fromkeys(pool_roles, 1))
        privs = {}
        known = self._all_roles()
        for role, prop in roles.items():
            for priv in known.get(role, ()):
                privs[priv] = max(prop, privs.get(priv, 0))
        for granted, extra in self._grants.get(who, ()):
            if granted == '/' or path == granted or path.startswith(granted + '/') or (
                    member and member.group(1) == 'vms' and member.group(2).isdigit()
                    and granted.startswith('/pool/') and int(member.group(2)) in self.pools.get(granted[6:], ())):
                privs.update(dict.fromkeys(extra, 1))
        return privs

    def permissions(self, who, path):
        """RPCEnvironment::permissions(): {privilege: propagate} who holds on path."""
        path = normalize_path(path) or path
        if who == 'root@pam':
            return dict.fromkeys(self.privileges, 1)
        userid, _, token = who.partition('!')
        if token:
            info = self._token(who)
            if info is None:
                return {}
            mine = self.permissions(userid, path)
            if not info.get('privsep'):
                return mine
            return dict((p, v) for p, v in self._compile(who, path).items() if p in mine)
        return self._compile(who, path)

    def allowed(self, user, path, priv):
        """fakepve's check, with PVE's semantics once access control is in use."""
        if self.acl is None:
            return True
        return priv in self.permissions(user, path)

    def _effective_paths(self):
        paths = set(DEFAULT_PATHS) | set(self.acl_entries)
        for pool, ids in self.pools.items():
            paths.update('/vms/{0}'.format(i) for i in ids)
            paths.update('/storage/' + s for s in self.pool_info.get(pool, {}).get('storage', ()))
        return sorted(paths)

    async def _permissions(self, v, user):
        """GET /access/permissions (fakepve's own route): PVE's answer from permissions()."""
        if self.acl is None:
            return await super()._permissions(v, user)
        who = v.get('userid') or user
        if who != user and who.split('!')[0] != user:
            self.require(user, '/access', 'Sys.Audit')
        if v.get('path') is not None:
            return {v['path']: self.permissions(who, v['path'])}
        out = {}
        for path in self._effective_paths():
            held = self.permissions(who, path)
            if held:
                out[path] = held
        return out

    # ------------------------------------------------------------ routes

    def _routes_lab_access(self):
        users, user, token = '/access/users', '/access/users/{userid}', '/access/users/{userid}/token/{tokenid}'
        return [('GET', users, self._ac_users), ('POST', users, self._ac_user_create),
                ('GET', user, self._ac_user_read), ('PUT', user, self._ac_user_update),
                ('DELETE', user, self._ac_user_delete),
                ('GET', user + '/token', self._ac_tokens), ('GET', token, self._ac_token_read),
                ('POST', token, self._ac_token_create), ('PUT', token, self._ac_token_update),
                ('DELETE', token, self._ac_token_delete),
                ('GET', '/access/groups', self._ac_groups), ('POST', '/access/groups', self._ac_group_create),
                ('GET', '/access/groups/{groupid}', self._ac_group_read),
                ('PUT', '/access/groups/{groupid}', self._ac_group_update),
                ('DELETE', '/access/groups/{groupid}', self._ac_group_delete),
                ('GET', '/access/roles', self._ac_roles), ('POST', '/access/roles', self._ac_role_create),
                ('GET', '/access/roles/{roleid}', self._ac_role_read),
                ('PUT', '/access/roles/{roleid}', self._ac_role_update),
                ('DELETE', '/access/roles/{roleid}', self._ac_role_delete),
                ('GET', '/access/acl', self._ac_acl), ('PUT', '/access/acl', self._ac_acl_update),
                ('GET', '/access/domains', self._ac_domains)]

    # users

    def _user_view(self, userid, full):
        data = self.lab_users[userid]
        out = {'enable': data.get('enable', 1), 'expire': data.get('expire', 0)}
        out.update((k, data[k]) for k in USER_FIELDS if data.get(k))
        if full:
            out['groups'] = sorted(data['groups'])
            if data['tokens']:
                out['tokens'] = dict((k, dict(t)) for k, t in data['tokens'].items())
        return out

    def _may_see_user(self, user, userid):
        privs = ('User.Modify', 'Sys.Audit')
        if userid == user.split('!')[0] or any(self.allowed(user, '/access/groups', p) for p in privs):
            return True
        return any(self.allowed(user, '/access/groups/' + g, p) for g in self._groups_of(userid) for p in privs)

    async def _ac_users(self, v, user):
        out = []
        for userid in sorted(self.lab_users):
            if not self._may_see_user(user, userid):
                continue
            entry = self._user_view(userid, v.get('full'))
            if v.get('enabled') is not None and bool(entry['enable']) != bool(v['enabled']):
                continue
            if 'groups' in entry:
                entry['groups'] = ','.join(entry['groups'])
            if 'tokens' in entry:
                entry['tokens'] = [dict(t, tokenid=k) for k, t in sorted(entry['tokens'].items())]
            if _realm(userid) in self.realms:
                entry['realm-type'] = self.realms[_realm(userid)]['type']
            entry['userid'] = userid
            out.append(entry)
        return out

    def _set_groups(self, data, groups, fail):
        for group in split_list(groups):
            if group not in self.lab_groups:
                raise die("{0}: no such group '{1}'".format(fail, group))
            data['groups'].add(group)

    async def _ac_user_create(self, v, user):
        fail = 'create user failed'
        userid, realm = v['userid'], _realm(v['userid'])
        if userid in self.lab_users:
            raise die("{0}: user '{1}' already exists".format(fail, userid))
        if realm not in self.realms and (self.strict_realms or v.get('password') is not None):
            raise die("{0}: auth domain '{1}' does not exist".format(fail, realm))
        if v.get('password') is not None and self.realms[realm]['type'] not in ('pve', 'pam'):
            raise die("{0}: can't set password on auth type '{1}'".format(fail, self.realms[realm]['type']))
        data = {'enable': 1 if v.get('enable') is None else v['enable'], 'expire': v.get('expire') or 0,
                'groups': set(), 'tokens': {}}
        self._set_groups(data, v.get('groups'), fail)
        data.update((k, v[k]) for k in USER_FIELDS if v.get(k))
        self.lab_users[userid] = data
        if v.get('password') is not None:
            self.users[userid] = v['password']
        self._recompute()

    async def _ac_user_read(self, v, user):
        self._user(v['userid'])
        return self._user_view(v['userid'], True)

    async def _ac_user_update(self, v, user):
        fail = 'update user failed'
        data = self.lab_users.get(v['userid'])
        if data is None:
            raise die("{0}: no such user ('{1}')".format(fail, v['userid']))
        for key in ('enable', 'expire') + USER_FIELDS:
            if v.get(key) is not None:
                data[key] = v[key]
        if v.get('groups') is not None and not v.get('append'):
            data['groups'] = set()
        self._set_groups(data, v.get('groups'), fail)
        self._recompute()

    def _drop_acl(self, kind, ugid):
        for node in self.acl_entries.values():
            node.pop((kind, ugid), None)

    async def _ac_user_delete(self, v, user):
        userid = v['userid']  # PVE deletes a user that does not exist without complaint
        data = self.lab_users.pop(userid, None) or {'tokens': {}}
        self.users.pop(userid, None)
        for name in data['tokens']:
            self.apitokens.pop('{0}!{1}'.format(userid, name), None)
            self._drop_acl('token', '{0}!{1}'.format(userid, name))
        self._drop_acl('user', userid)
        self._recompute()

    # tokens

    def _token_of(self, v, fail=None):
        tokens = self._user(v['userid'])['tokens']
        if v['tokenid'] not in tokens:
            msg = "no such token '{0}' for user '{1}'".format(v['tokenid'], v['userid'])
            raise die('{0}: {1}'.format(fail, msg) if fail else msg)
        return tokens[v['tokenid']]

    @staticmethod
    def _token_view(info):
        return dict((k, info[k]) for k in ('privsep', 'expire', 'comment') if info.get(k) not in (None, ''))

    async def _ac_tokens(self, v, user):
        tokens = self._user(v['userid'])['tokens']
        return [dict(self._token_view(t), tokenid=k) for k, t in sorted(tokens.items())]

    async def _ac_token_read(self, v, user):
        return self._token_view(self._token_of(v))

    async def _ac_token_create(self, v, user):
        data = self._user(v['userid'])
        if v['tokenid'] in data['tokens']:
            raise die('generating token failed: Token already exists.')
        info = {'privsep': 1 if v.get('privsep') is None else v['privsep'],
                'expire': data.get('expire', 0) if v.get('expire') is None else v['expire']}
        if v.get('comment'):
            info['comment'] = v['comment']
        data['tokens'][v['tokenid']] = info
        full = '{0}!{1}'.format(v['userid'], v['tokenid'])
        self.apitokens[full] = str(uuid.uuid4())
        self._recompute()
        return {'full-tokenid': full, 'info': self._token_view(info), 'value': self.apitokens[full]}

    async def _ac_token_update(self, v, user):
        info = self._token_of(v, 'updating token failed')
        for key in ('privsep', 'expire', 'comment'):
            if v.get(key) is not None:
                info[key] = v[key]
        for key in split_list(v.get('delete')):
            info.pop(key, None)
        out = self._token_view(info)
        if v.get('regenerate'):
            full = '{0}!{1}'.format(v['userid'], v['tokenid'])
            self.apitokens[full] = str(uuid.uuid4())
            out.update({'full-tokenid': full, 'value': self.apitokens[full]})
        self._recompute()
        return out

    async def _ac_token_delete(self, v, user):
        self._token_of(v, 'deleting token failed')
        del self.lab_users[v['userid']]['tokens'][v['tokenid']]
        full = '{0}!{1}'.format(v['userid'], v['tokenid'])
        self.apitokens.pop(full, None)
        self._drop_acl('token', full)
        self._recompute()

    # groups

    def _group_members(self, groupid):
        return sorted(u for u, d in self.lab_users.items() if groupid in d['groups'])

    async def _ac_groups(self, v, user):
        privs = ('User.Modify', 'Sys.Audit')
        out = []
        for gid in sorted(self.lab_groups):
            if not any(self.allowed(user, path, p) for path in ('/access/groups', '/access/groups/' + gid)
                       for p in privs):
                continue
            entry = {'groupid': gid, 'users': ','.join(self._group_members(gid))}
            if self.lab_groups[gid].get('comment'):
                entry['comment'] = self.lab_groups[gid]['comment']
            out.append(entry)
        return out

    async def _ac_group_create(self, v, user):
        if v['groupid'] in self.lab_groups:
            raise die("create group failed: group '{0}' already exists".format(v['groupid']))
        self.lab_groups[v['groupid']] = {'comment': v.get('comment') or ''}
        self._recompute()

    async def _ac_group_read(self, v, user):
        if v['groupid'] not in self.lab_groups:
            raise die("group '{0}' does not exist".format(v['groupid']))
        out = {'members': self._group_members(v["groupid"])}
        if self.lab_groups[v['groupid']].get('comment'):
            out['comment'] = self.lab_groups[v['groupid']]['comment']
        return out

    async def _ac_group_update(self, v, user):
        if v['groupid'] not in self.lab_groups:
            raise die("update group failed: group '{0}' does not exist".format(v['groupid']))
        if v.get('comment') is not None:
            self.lab_groups[v['groupid']]['comment'] = v['comment']

    async def _ac_group_delete(self, v, user):
        gid = v['groupid']
        if gid not in self.lab_groups:
            raise die("delete group failed: group '{0}' does not exist".format(gid))
        del self.lab_groups[gid]
        for data in self.lab_users.values():
            data['groups'].discard(gid)
        self._drop_acl('group', gid)
        self._recompute()

    # roles

    def _check_privs(self, privs):
        for priv in split_list(privs):
            if priv not in self.privileges:
                raise param_error(privs="invalid format - invalid privilege '{0}'".format(priv))
        return set(split_list(privs))

    async def _ac_roles(self, v, user):
        out = []
        for roleid, privs in sorted(self._all_roles().items()):
            entry = {'roleid': roleid, 'privs': ','.join(sorted(privs))}
            if roleid in self.builtin_roles:
                entry['special'] = 1
            out.append(entry)
        return out

    async def _ac_role_create(self, v, user):
        roleid = v['roleid']
        privs = self._check_privs(v.get('privs'))
        if roleid.upper().startswith('PVE'):
            raise param_error(roleid="cannot use role ID starting with the (case-insensitive) 'PVE' namespace")
        if roleid in self._all_roles():
            raise die("create role failed: role '{0}' already exists".format(roleid))
        self.roles[roleid] = privs
        self._recompute()

    async def _ac_role_read(self, v, user):
        privs = self._all_roles().get(v['roleid'])
        if privs is None:
            raise die("role '{0}' does not exist".format(v['roleid']))
        return dict.fromkeys(sorted(privs), 1)

    async def _ac_role_update(self, v, user):
        roleid = v['roleid']
        if roleid in self.builtin_roles:
            raise die("auto-generated role '{0}' cannot be modified".format(roleid))
        privs = self._check_privs(v.get('privs'))
        if roleid not in self.roles:
            raise die("update role failed: role '{0}' does not exist".format(roleid))
        self.roles[roleid] = (self.roles[roleid] if v.get('append') else set()) | privs
        self._recompute()

    async def _ac_role_delete(self, v, user):
        roleid = v['roleid']
        if roleid in self.builtin_roles:
            raise die("auto-generated role '{0}' cannot be deleted".format(roleid))
        if roleid not in self.roles:
            raise die("delete role failed: role '{0}' does not exist".format(roleid))
        del self.roles[roleid]  # PVE leaves ACL entries naming it; they grant nothing
        self._recompute()

    # ACLs

    async def _ac_acl(self, v, user):
        audit = self.allowed(user, '/access', 'Sys.Audit')
        out = []
        for path in sorted(self.acl_entries):
            if not (audit or self.allowed(user, path, 'Permissions.Modify')):
                continue
            for (kind, ugid), given in sorted(self.acl_entries[path].items()):
                out.extend({'path': path, 'type': kind, 'ugid': ugid, 'roleid': role, 'propagate': prop}
                           for role, prop in sorted(given.items()))
        return out

    async def _ac_acl_update(self, v, user):
        if not (v.get('users') or v.get('groups') or v.get('tokens')):
            raise param_error(**dict.fromkeys(('users', 'groups', 'tokens'),
                                              "either 'users', 'groups' or 'tokens' is required."))
        path = normalize_path(v['path'])
        if not path or (not v.get('delete') and not ACL_PATH.match(path)):
            raise param_error(path="invalid ACL path '{0}'".format(v['path']))
        fail = 'ACL update failed'
        prop = 1 if v.get('propagate') is None else int(v['propagate'])
        changes = []  # checked first: PVE writes user.cfg only when every name is known
        for role in split_list(v['roles']):
            if role not in self._all_roles():
                raise die("{0}: role '{1}' does not exist".format(fail, role))
            for group in split_list(v.get('groups')):
                if group not in self.lab_groups:
                    raise die("{0}: group '{1}' does not exist".format(fail, group))
                changes.append((('group', group), role))
            for userid in split_list(v.get('users')):
                if userid not in self.lab_users:
                    raise die("{0}: user '{1}' does not exist".format(fail, userid))
                changes.append((('user', userid), role))
            for tokenid in split_list(v.get('tokens')):
                userid, _, name = tokenid.partition('!')
                if userid not in self.lab_users:
                    raise die("{0}: no such user ('{1}')".format(fail, userid))
                if name not in self.lab_users[userid]['tokens']:
                    raise die("{0}: no such token '{1}' for user '{2}'".format(fail, name, userid))
                changes.append((('token', tokenid), role))
        node = self.acl_entries.setdefault(path, {})
        for key, role in changes:
            if v.get('delete'):
                node.get(key, {}).pop(role, None)
            else:
                node.setdefault(key, {})[role] = prop
        for key in [k for k, given in node.items() if not given]:
            del node[key]
        if not node:
            del self.acl_entries[path]
        self._recompute()

    # realms

    async def _ac_domains(self, v, user):
        return [dict({'realm': name}, **{k: x for k, x in conf.items() if x not in (None, '')})
                for name, conf in sorted(self.realms.items())]

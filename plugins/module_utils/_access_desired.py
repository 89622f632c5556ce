# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""store_access's desired state from its options (private, pure): templates merged, names computed,
every input checked before anything is read or written. Errors name the store, the field and the fix."""

from __future__ import annotations

import copy
import datetime

from ._access_templates import (AUTOMATION_ROLE, GROUPID_RE, MARKER, PVE8_ONLY, PVE9_PRIVILEGES, POOLID_RE,
                                REALM_RE, ROLE_PREFIX, ROLEID_RE, TEMPLATE_KEYS, TEMPLATES, USERNAME_BAD,
                                automation_privileges, pool_of, role_name, store_group)
from ._access_terminals import TERMINAL_PRIVILEGES, TERMINAL_ROLE, desired as desired_terminals
from ._pve_errors import InputError

USER_ATTRS = ('enable', 'expire', 'firstname', 'lastname', 'email', 'comment')


def merge_templates(overrides):
    """The shipped templates with the user's overrides (per key) and new templates."""
    out = copy.deepcopy(TEMPLATES)
    for name, over in sorted((overrides or {}).items()):
        where = 'templates.{0}'.format(name)
        if not isinstance(over, dict):
            raise InputError('must be a dict of {0}'.format(', '.join(TEMPLATE_KEYS)), where=where)
        over = dict((k, v) for k, v in over.items() if v is not None)
        unknown = sorted(set(over) - set(TEMPLATE_KEYS))
        if unknown:
            raise InputError('unknown key {0}'.format(unknown[0]), where=where,
                             hint='a template has the keys ' + ', '.join(TEMPLATE_KEYS))
        if name not in out:
            missing = [k for k in ('scope', 'privileges') if k not in over]
            if missing:
                raise InputError('a new template needs {0}'.format(' and '.join(missing)), where=where,
                                 hint='scope: store or global; privileges: a list of PVE privileges')
            out[name] = {'role': role_name(name), 'group': name.replace('_', '-'), 'one_store': False,
                         'description': ''}
        out[name].update(over)
        check_template(name, out[name])
    return out


def check_privileges(privs, where):
    for priv in privs:
        if priv in PVE8_ONLY:
            raise InputError("privilege '{0}' does not exist in PVE 9".format(priv), where=where,
                             hint=PVE8_ONLY[priv])
        if priv not in PVE9_PRIVILEGES:
            close = sorted(p for p in PVE9_PRIVILEGES if p.lower().startswith(priv.split('.')[0].lower() + '.'))
            raise InputError("'{0}' is not a PVE privilege".format(priv), where=where,
                             hint='use one of ' + ', '.join(close or sorted(PVE9_PRIVILEGES)))


def check_template(name, tpl):
    where = 'templates.{0}'.format(name)
    if tpl['scope'] not in ('store', 'global'):
        raise InputError("scope '{0}' is neither store nor global".format(tpl['scope']), where=where)
    role = str(tpl['role'])
    if not role.startswith(ROLE_PREFIX) or not ROLEID_RE.match(role) or role in (AUTOMATION_ROLE, TERMINAL_ROLE):
        raise InputError("role '{0}' is not a name store_access may manage".format(role), where=where,
                         hint="use letters, digits, '.', '-', '_' and the prefix " + ROLE_PREFIX)
    if not GROUPID_RE.match(str(tpl['group'])):
        raise InputError("group '{0}' is not a valid PVE group name".format(tpl['group']), where=where,
                         hint="letters, digits, '.', '-' and '_' only")
    if not isinstance(tpl['privileges'], (list, tuple)) or not tpl['privileges']:
        raise InputError('privileges must be a non-empty list', where=where)
    check_privileges(tpl['privileges'], where + '.privileges')


# 2100-01-01T00:00:00Z: an expiry given as epoch seconds beyond it is taken for milliseconds and refused.
EPOCH_MAX = 4102444800


def parse_expiry(value, now, where):
    """Epoch seconds (0 = never) from an int, 'YYYY-MM-DD' (the end of that day, UTC) or an ISO time."""
    if value in (None, '', 0, '0', 'never'):
        return 0
    text = str(value).strip()
    try:
        if text.isdigit():
            epoch = int(text)
            if epoch > EPOCH_MAX:   # 13 digits: epoch milliseconds, which as seconds would never expire
                raise InputError('expires {0} is after the year 2100: epoch milliseconds?'.format(text), where=where,
                                 hint='give epoch seconds ({0}), YYYY-MM-DD or an ISO time'.format(epoch // 1000))
        elif len(text) == 10:
            day = datetime.datetime.strptime(text, '%Y-%m-%d').replace(tzinfo=datetime.timezone.utc)
            epoch = int(day.timestamp()) + 86399
        else:
            moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.timezone.utc)
            epoch = int(moment.timestamp())
    except ValueError:
        raise InputError("expires '{0}' is not a date".format(text), where=where,
                         hint='write YYYY-MM-DD, an ISO time with offset (2026-12-31T22:00+08:00) or epoch seconds') \
            from None
    if epoch <= now:
        raise InputError("expires {0} is in the past".format(text), where=where,
                         hint='give a future date, or offboard the user (state: absent)')
    return epoch


def userid_of(entry, where):
    user, realm = str(entry.get('user') or '').strip(), entry.get('realm')
    if '@' in user:
        name, _at, in_id = user.rpartition('@')
        if realm and realm != in_id:
            raise InputError("user '{0}' and realm '{1}' disagree".format(user, realm), where=where,
                             hint='give the realm once')
        realm = in_id
    else:
        name = user
    if not realm:
        raise InputError("user id '{0}' has no realm".format(user), where=where + '.user',
                         hint="write {0}@pve (Proxmox user) or {0}@<your AD/LDAP/OpenID realm>, or set realm:"
                         .format(user or 'name'))
    userid = '{0}@{1}'.format(name, realm)
    if not name or USERNAME_BAD.search(name) or not REALM_RE.match(realm) or not 3 <= len(userid) <= 64:
        raise InputError("'{0}' is not a valid PVE user id".format(userid), where=where + '.user',
                         hint='name@realm, no spaces, ":" or "/", at most 64 characters')
    return userid, realm


def _staff(entry, where, templates, scope, now):
    userid, realm = userid_of(entry, where)
    tpl_name = entry.get('role')
    if tpl_name not in templates:
        raise InputError("unknown role template '{0}'".format(tpl_name), where=where + '.role',
                         hint='use one of {0}, or define it under templates:'.format(', '.join(sorted(templates))))
    if templates[tpl_name]['scope'] != scope:
        raise InputError("template '{0}' is for {1} staff".format(tpl_name, templates[tpl_name]['scope']),
                         where=where + '.role', hint='list store-wide staff under stores[].staff and hq/audit '
                                                     'staff under global_staff')
    state = entry.get('state') or 'present'
    password = entry.get('password')
    if password is not None and not 8 <= len(password) <= 64:
        raise InputError('password must have 8 to 64 characters', where=where + '.password')
    first, _sp, last = str(entry.get('name') or '').strip().partition(' ')
    attrs = {'enable': bool(entry.get('enabled', True)), 'firstname': first, 'lastname': last.strip(),
             'email': entry.get('email') or '',
             'comment': (MARKER + ' store staff ' + (entry.get('comment') or '')).strip(),
             'expire': parse_expiry(entry.get('expires'), now, where + '.expires') if state == 'present' else 0}
    return {'userid': userid, 'realm': realm, 'template': tpl_name, 'state': state, 'password': password,
            'attrs': attrs, 'where': where}


def build_desired(params, now):
    """Everything the run wants, as plain data. `params`: the module's options."""
    templates = merge_templates(params.get('templates'))
    roles = dict((t['role'], set(t['privileges'])) for t in templates.values())
    roles[AUTOMATION_ROLE] = set(automation_privileges())
    stores, staff, groups, acl = {}, [], {}, set()
    for index, store in enumerate(params.get('stores') or []):
        code = str(store.get('code') or '')
        where = 'store {0}'.format(code or '#{0}'.format(index))
        if not code or not POOLID_RE.match(pool_of(code)) or not GROUPID_RE.match(code):
            raise InputError("store code '{0}' cannot name a PVE pool".format(code), where=where + ': code',
                             hint="letters, digits, '.', '-' and '_' only (pool store-<code>)")
        if code in stores:
            raise InputError('the store is listed twice', where=where, hint='merge its entries')
        state = store.get('state') or 'present'
        stores[code] = {'state': state, 'usb_mappings': list(store.get('usb_mappings') or [])}
        for name, tpl in sorted(templates.items()):
            if tpl['scope'] != 'store':
                continue
            gid = store_group(code, tpl)
            if not GROUPID_RE.match(gid):
                raise InputError("group '{0}' is not a valid PVE group name".format(gid), where=where)
            if state == 'present':
                groups[gid] = {'comment': '{0} store={1} template={2}'.format(MARKER, code, name),
                               'store': code, 'template': name}
                acl.add(('/pool/' + pool_of(code), 'group', gid, tpl['role'], 1))
                if 'Mapping.Use' in tpl['privileges']:
                    acl.update(('/mapping/usb/' + m, 'group', gid, tpl['role'], 1)
                               for m in stores[code]['usb_mappings'])
        for pos, entry in enumerate(store.get('staff') or []):
            item = _staff(entry, '{0}: staff[{1}]'.format(where, pos), templates, 'store', now)
            if state != 'present':
                item['state'] = 'absent'
            item.update(store=code, group=store_group(code, templates[item['template']]))
            staff.append(item)
    global_scope = params.get('global_staff') is not None
    for name, tpl in sorted(templates.items()):
        if tpl['scope'] == 'global':
            groups[tpl['group']] = {'comment': '{0} template={1}'.format(MARKER, name), 'store': None,
                                    'template': name}
            acl.add(('/', 'group', tpl['group'], tpl['role'], 1))
    for pos, entry in enumerate(params.get('global_staff') or []):
        item = _staff(entry, 'global_staff[{0}]'.format(pos), templates, 'global', now)
        item.update(store=None, group=templates[item['template']]['group'])
        staff.append(item)
    for ugid in params.get('automation_acl') or []:
        acl.add(('/', 'token' if '!' in ugid else 'user', ugid, AUTOMATION_ROLE, 1))
    users = _merge_users(staff, templates)
    terminals = desired_terminals(params.get('terminals'), POOLID_RE)
    if terminals:
        roles[TERMINAL_ROLE] = set(p for p, _why in TERMINAL_PRIVILEGES)
    return {'templates': templates, 'roles': roles, 'stores': stores, 'groups': groups, 'acl': acl,
            'users': users, 'staff': staff, 'global_scope': global_scope, 'now': now, 'terminals': terminals,
            'exclusive': bool(params.get('exclusive')), 'reclaim': bool(params.get('reclaim')),
            'reclaim_users': params.get('reclaim_users') or 'disable'}


def _merge_users(staff, templates):
    """One entry per user id: the groups to join and to leave; conflicting attributes and one-store
    templates held in two stores are errors."""
    users = {}
    for item in staff:
        user = users.setdefault(item['userid'], {'join': set(), 'leave': set(), 'attrs': None, 'password': None,
                                                 'realm': item['realm'], 'where': item['where'], 'one_store': {},
                                                 'stores': set()})
        if item['state'] == 'absent':
            user['leave'].add(item['group'])
            continue
        user['join'].add(item['group'])
        if item['store']:
            user['stores'].add(item['store'])
        if user['attrs'] is not None and user['attrs'] != item['attrs']:
            raise InputError("user '{0}' is listed again with other name, email, expiry or enabled".format(
                item['userid']), where=item['where'], hint='give the same values as in ' + user['where'])
        user['attrs'], user['where'] = item['attrs'], item['where']
        user['password'] = user['password'] or item['password']
        tpl = templates[item['template']]
        if tpl['one_store'] and item['store']:
            other = user['one_store'].get(item['template'])
            if other and other != item['store']:
                raise InputError("user '{0}' is {1} in store {2} too, and the template allows one store".format(
                    item['userid'], item['template'], other), where=item['where'],
                    hint='offboard them from store {0} first (state: absent), or use a template with '
                         'one_store: false'.format(other))
            user['one_store'][item['template']] = item['store']
    for user in users.values():
        user['leave'] -= user['join']
    return users

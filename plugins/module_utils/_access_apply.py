# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""store_access's writes (private): each planned action as one API call, phase by phase in the plan's
order, a few at once within a phase. A re-run after a failure picks up what is left."""

from __future__ import annotations

from ._access_plan import ORDER
from ._executor import run_bounded
from ._pve_errors import StoredeskError

USER_FIELDS = ('enable', 'expire', 'firstname', 'lastname', 'email', 'comment')


def _fields(detail):
    out = dict((k, detail[k]) for k in USER_FIELDS if k in detail)
    if 'groups' in detail:
        # No groups: a blank, not '' (form parsers may drop empty values; PVE's split_list gives no groups).
        out['groups'] = ','.join(detail['groups']) or ' '
    return out


def _token(client, action, secrets, create=True, delete=False):
    """A terminal's API token: privilege-separated; its secret (PVE shows it once) goes to `secrets` only."""
    userid, _bang, name = action['id'].partition('!')
    where = client.path('access', 'users', userid, 'token', name)
    if delete:
        client.delete(where)
    if create:
        answer = client.post(where, privsep=1, comment='storedesk: terminal ' + name) or {}
        secrets[action['detail']['terminal']] = answer.get('value')


def call(client, action, passwords, secrets=None):
    """The API call of one action."""
    op, oid, det = action['op'], action['id'], action['detail']
    path = client.path
    if op.endswith('_token'):
        # Rotating is delete + create: PVE 8 has no `regenerate` (pve-access-control stable-bookworm User.pm).
        _token(client, action, secrets if secrets is not None else {}, create=op != 'delete_token',
               delete=op != 'create_token')
    elif op == 'create_role':
        client.post('/access/roles', roleid=oid, privs=','.join(det['privs']))
    elif op == 'update_role':
        client.put(path('access', 'roles', oid), safe=True, privs=','.join(det['privs']))
    elif op == 'delete_role':
        client.delete(path('access', 'roles', oid))
    elif op == 'create_group':
        client.post('/access/groups', groupid=oid, comment=det['comment'])
    elif op == 'update_group':
        client.put(path('access', 'groups', oid), safe=True, comment=det['comment'])
    elif op == 'delete_group':
        client.delete(path('access', 'groups', oid))
    elif op == 'create_user':
        client.post('/access/users', userid=oid, password=passwords.get(oid), **_fields(det))
    elif op == 'update_user':
        client.put(path('access', 'users', oid), safe=True, **_fields(det))
    elif op == 'disable_user':
        client.put(path('access', 'users', oid), safe=True, enable=0)
    elif op == 'delete_user':
        client.delete(path('access', 'users', oid))
    elif op in ('add_acl', 'delete_acl'):
        who = {'group': 'groups', 'user': 'users', 'token': 'tokens'}[det['type']]
        data = {'path': det['path'], 'roles': det['role'], 'propagate': det['propagate'], who: det['ugid'],
                'delete': 1 if op == 'delete_acl' else None}
        client.request('PUT', '/access/acl', data=data, safe=True)  # put() takes `path` itself
    else:  # pragma: no cover - the planner knows no other op
        raise StoredeskError('unknown action {0}'.format(op))


def apply(client, actions, passwords, parallel=4, secrets=None):
    """Run the actions; returns the ones done. On the first failure, raises with what was done. New token
    secrets land in `secrets` (terminal -> secret)."""
    done = []
    for op in ORDER:
        batch = [a for a in actions if a['op'] == op]
        if not batch:
            continue
        outcomes = run_bounded(batch, lambda a: call(client, a, passwords, secrets), overall=parallel, stop_on_error=True)
        done.extend(o.item for o in outcomes if o.ok)
        failed = [o for o in outcomes if not o.ok and not o.skipped]
        if failed:
            first = failed[0]
            where = first.item['store'] and 'store {0}'.format(first.item['store'])
            errors = [{'op': o.item['op'], 'id': o.item['id'], 'error': str(o.error)} for o in failed]
            raise StoredeskError('{0} {1} failed: {2}'.format(first.item['op'], first.item['id'], first.error),
                                 hint='fix the cause and run again: what was done stays done',
                                 where=where, plan=actions, failed=errors)
    return done

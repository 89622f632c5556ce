"""store_access's pure parts with plain data: desired state, validation messages, planner, diff, report."""

import copy

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _access_desired, _access_plan, _access_terminals
from ansible_collections.storedesk.vdi.plugins.module_utils._access_model import normalize, desktop_privileges
from ansible_collections.storedesk.vdi.plugins.module_utils._access_templates import (AUTOMATION_PRIVILEGES,
                                                                                     PVE9_PRIVILEGES, TEMPLATES)
from ansible_collections.storedesk.vdi.plugins.module_utils._access_terminals import TERMINAL_PRIVILEGES
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError
from ansible_collections.storedesk.vdi.plugins.modules.access_report import build_report

NOW = 1_800_000_000
ADMIN = {'roleid': 'Administrator', 'privs': ','.join(sorted(PVE9_PRIVILEGES)), 'special': 1}


def params(**kw):
    out = {'stores': [], 'global_staff': None, 'templates': {}, 'automation_acl': [], 'exclusive': False,
           'reclaim': False, 'reclaim_users': 'disable'}
    out.update(kw)
    return out


def staff(user, role='store_clerk', **kw):
    return dict({'user': user, 'realm': None, 'role': role, 'name': None, 'email': None, 'expires': None,
                 'password': None, 'enabled': True, 'comment': None, 'state': 'present'}, **kw)


def empty_raw(**extra):
    raw = {'users': [{'userid': 'root@pam', 'enable': 1}], 'groups': [], 'roles': [ADMIN], 'acl': [],
           'domains': [{'realm': 'pam', 'type': 'pam'}, {'realm': 'pve', 'type': 'pve'},
                       {'realm': 'corp', 'type': 'ad'}],
           'pools': [{'poolid': 'store-a'}, {'poolid': 'store-b'}]}
    raw.update(extra)
    return raw


def run(prm, raw=None):
    desired = _access_desired.build_desired(prm, NOW)
    actual = normalize(raw or empty_raw())
    return _access_plan.plan(desired, actual), desired, actual


def simulate(raw, actions):
    """The raw read after the actions (what PVE would answer next time)."""
    raw = copy.deepcopy(raw)
    users = dict((u['userid'], u) for u in raw['users'])
    for act in actions:
        op, oid, det = act['op'], act['id'], act['detail']
        if op == 'create_role':
            raw['roles'].append({'roleid': oid, 'privs': ','.join(det['privs'])})
        elif op == 'update_role':
            next(r for r in raw['roles'] if r['roleid'] == oid)['privs'] = ','.join(det['privs'])
        elif op == 'delete_role':
            raw['roles'] = [r for r in raw['roles'] if r['roleid'] != oid]
        elif op == 'create_group':
            raw['groups'].append({'groupid': oid, 'comment': det['comment']})
        elif op == 'delete_group':
            raw['groups'] = [g for g in raw['groups'] if g['groupid'] != oid]
            raw['acl'] = [e for e in raw['acl'] if not (e['type'] == 'group' and e['ugid'] == oid)]
            for u in users.values():
                u['groups'] = ','.join(g for g in str(u.get('groups') or '').split(',') if g and g != oid)
        elif op in ('create_user', 'update_user'):
            user = users.setdefault(oid, {'userid': oid, 'enable': 1})
            user.update((k, v) for k, v in det.items() if k != 'initial_password')
            if 'groups' in det:
                user['groups'] = ','.join(det['groups'])
        elif op == 'disable_user':
            users[oid]['enable'] = 0
        elif op == 'delete_user':
            users.pop(oid)
        elif op == 'add_acl':
            raw['acl'].append({'path': det['path'], 'type': det['type'], 'ugid': det['ugid'], 'roleid': det['role'],
                               'propagate': det['propagate']})
        elif op == 'delete_acl':
            raw['acl'] = [e for e in raw['acl'] if (e['path'], e['type'], e['ugid'], e['roleid']) !=
                          (det['path'], det['type'], det['ugid'], det['role'])]
    raw['users'] = list(users.values())
    return raw


TWO_STORES = params(stores=[
    {'code': 'a', 'state': 'present', 'usb_mappings': [], 'staff': [
        staff('ann@pve', password='ann-pass-1', name='Ann Lee', expires='2030-01-31'),
        staff('max', realm='pve', role='store_manager')]},
    {'code': 'b', 'state': 'present', 'usb_mappings': ['scanner'], 'staff': [staff('bo@corp')]}],
    global_staff=[staff('aud@corp', role='auditor')])


def test_fresh_cluster_plan_in_order_and_idempotent():
    (actions, warnings), _desired, _actual = run(TWO_STORES)
    assert warnings == []
    ops = [a['op'] for a in actions]
    assert ops == sorted(ops, key=_access_plan.ORDER.index)
    created = dict((a['id'], a['detail']) for a in actions if a['op'] == 'create_user')
    assert created['ann@pve'] == {'groups': ['store-a-clerk'], 'initial_password': True, 'firstname': 'Ann',
                                  'lastname': 'Lee', 'expire': 1896134399,
                                  'comment': 'storedesk: store staff'}
    assert created['aud@corp']['groups'] == ['storedesk-auditor']
    assert 'password' not in str(actions).replace('initial_password', '')
    acl = set(a['id'] for a in actions if a['op'] == 'add_acl')
    assert '/pool/store-a StoredeskStoreClerk group:store-a-clerk' in acl
    assert '/mapping/usb/scanner StoredeskStoreManager group:store-b-manager' in acl
    assert '/ StoredeskAuditor group:storedesk-auditor' in acl
    assert not [e for e in acl if 'store-a' in e and 'mapping' in e]
    after = simulate(empty_raw(), actions)
    (again, _w), _d, _a = run(TWO_STORES, after)
    assert again == []


@pytest.mark.parametrize('prm,where,words', [
    (params(stores=[{'code': 'a', 'staff': [staff('eve')]}]), 'store a: staff[0].user', ['no realm', 'eve@pve']),
    (params(stores=[{'code': 'a', 'staff': [staff('e v@pve')]}]), 'store a: staff[0].user', ['not a valid PVE user']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve', role='boss')]}]), 'store a: staff[0].role',
     ["unknown role template 'boss'", 'store_clerk']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve', role='auditor')]}]), 'store a: staff[0].role',
     ['is for global staff']),
    (params(templates={'store_clerk': {'privileges': ['VM.Frobnicate']}}), 'templates.store_clerk.privileges',
     ["'VM.Frobnicate' is not a PVE privilege", 'VM.Audit']),
    (params(templates={'store_clerk': {'privileges': ['VM.Monitor']}}), 'templates.store_clerk.privileges',
     ['does not exist in PVE 9', 'VM.GuestAgent.Audit']),
    (params(templates={'cashier': {'privileges': ['VM.Audit']}}), 'templates.cashier', ['needs scope']),
    (params(templates={'cashier': {'scope': 'store', 'privileges': ['VM.Audit'], 'group': 'cash desk'}}),
     'templates.cashier', ['not a valid PVE group name']),
    (params(templates={'cashier': {'scope': 'store', 'privileges': ['VM.Audit'], 'role': 'PVECashier'}}),
     'templates.cashier', ['not a name store_access may manage']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve', expires='2020-01-01')]}]), 'store a: staff[0].expires',
     ['in the past', 'state: absent']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve', expires='next week')]}]), 'store a: staff[0].expires',
     ['is not a date', 'YYYY-MM-DD']),
    (params(stores=[{'code': 'a b'}]), 'store a b: code', ['cannot name a PVE pool']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve')]}, {'code': 'b', 'staff': [staff('eve@pve')]}]),
     'store b: staff[0]', ['store_clerk in store a too', 'offboard them from store a first']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve', email='x@y.z'), staff('eve@pve', role='store_manager')]}]),
     'store a: staff[1]', ['listed again with other name, email']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@pve', password='short')]}]), 'store a: staff[0].password',
     ['8 to 64']),
])
def test_bad_input_names_store_field_and_fix(prm, where, words):
    with pytest.raises(InputError) as err:
        _access_desired.build_desired(prm, NOW)
    text = str(err.value)
    assert text.startswith(where + ':'), text
    for word in words:
        assert word in text


@pytest.mark.parametrize('prm,words', [
    (params(stores=[{'code': 'a', 'staff': [staff('eve@ldap')]}]), ["realm 'ldap' does not exist", 'corp, pam, pve']),
    (params(stores=[{'code': 'a', 'staff': [staff('eve@corp', password='long-enough')]}]),
     ["cannot be set for realm 'corp' (type ad)"]),
])
def test_checks_against_the_live_state(prm, words):
    with pytest.raises(InputError) as err:
        run(prm)
    for word in words:
        assert word in str(err.value)


def test_one_store_template_against_live_membership():
    (actions, _w), _d, _a = run(TWO_STORES)
    live = simulate(empty_raw(), actions)
    move = params(stores=[{'code': 'b', 'staff': [staff('ann@pve')]}])
    with pytest.raises(InputError) as err:
        run(move, live)
    assert "user 'ann@pve' is already store_clerk of store a" in str(err.value)
    # leaving store a in the same run is fine
    move['stores'].append({'code': 'a', 'staff': [staff('ann@pve', state='absent')]})
    (actions, _w), _d, _a = run(move, live)
    assert [(a['op'], a['detail'].get('groups')) for a in actions if a['id'] == 'ann@pve'] == \
        [('update_user', ['store-b-clerk'])]


def test_exclusive_touches_only_marked_objects_and_reclaim_what_is_gone():
    (actions, _w), _d, _a = run(TWO_STORES)
    live = simulate(empty_raw(), actions)
    live['users'].append({'userid': 'admin@pve', 'enable': 1, 'groups': 'store-a-clerk,it', 'comment': 'IT'})
    live['groups'].append({'groupid': 'it', 'comment': 'not ours'})
    live['roles'].append({'roleid': 'StoredeskOld', 'privs': 'VM.Audit'})
    live['acl'] += [{'path': '/pool/store-a', 'type': 'user', 'ugid': 'admin@pve', 'roleid': 'StoredeskStoreClerk'},
                    {'path': '/pool/store-a', 'type': 'group', 'ugid': 'it', 'roleid': 'PVEAuditor'}]
    only_max = params(stores=[{'code': 'a', 'staff': [staff('max@pve', role='store_manager')]}], exclusive=True)
    (actions, _w), _d, _a = run(only_max, live)
    got = sorted((a['op'], a['id']) for a in actions)
    assert got == [('delete_acl', '/pool/store-a StoredeskStoreClerk user:admin@pve'), ('disable_user', 'ann@pve'),
                   ('update_user', 'admin@pve'), ('update_user', 'ann@pve')]
    admin = [a for a in actions if a['id'] == 'admin@pve'][0]
    assert admin['detail'] == {'groups': ['it']}                 # membership only, never disabled
    live = simulate(live, actions)
    # store b's pool is gone: reclaim its groups; bo@corp is left without a store and goes; StoredeskOld goes.
    live['pools'] = [{'poolid': 'store-a'}]
    (actions, _w), _d, _a = run(params(reclaim=True, reclaim_users='remove'), live)
    got = sorted((a['op'], a['id']) for a in actions)
    assert got == [('delete_group', 'store-b-clerk'), ('delete_group', 'store-b-manager'),
                   ('delete_role', 'StoredeskOld'), ('delete_user', 'ann@pve'), ('delete_user', 'bo@corp')]
    live = simulate(live, actions)
    (actions, _w), _d, _a = run(params(reclaim=True, reclaim_users='remove'), live)
    assert actions == []


def test_closed_store_and_expired_temporary_staff():
    (actions, _w), _d, _a = run(TWO_STORES)
    live = simulate(empty_raw(), actions)
    next(u for u in live['users'] if u['userid'] == 'ann@pve')['expire'] = NOW - 10
    closed = params(stores=[{'code': 'b', 'state': 'absent'}])
    (actions, _w), _d, _a = run(closed, live)
    assert sorted((a['op'], a['id']) for a in actions) == [
        ('delete_group', 'store-b-clerk'), ('delete_group', 'store-b-manager'), ('disable_user', 'bo@corp')]
    (actions, _w), _d, _a = run(params(reclaim=True, reclaim_users='remove'), simulate(live, actions))
    assert ('delete_user', 'ann@pve') in [(a['op'], a['id']) for a in actions]


def test_unmarked_existing_user_gets_membership_only_with_a_warning():
    raw = empty_raw(users=[{'userid': 'sync@corp', 'enable': 1, 'firstname': 'From AD', 'comment': 'synced'}])
    (actions, warnings), _d, _a = run(params(stores=[{'code': 'a', 'staff': [staff('sync@corp', name='X Y')]}]), raw)
    assert [a['detail'] for a in actions if a['id'] == 'sync@corp'] == [{'groups': ['store-a-clerk']}]
    assert "user 'sync@corp' exists without the 'storedesk:' comment" in warnings[0]


def test_foreign_group_with_our_name_is_an_error():
    raw = empty_raw(groups=[{'groupid': 'store-a-clerk', 'comment': 'made by hand'}])
    with pytest.raises(InputError) as err:
        run(params(stores=[{'code': 'a'}]), raw)
    assert "group 'store-a-clerk' exists but storedesk does not manage it" in str(err.value)


def test_pve8_privileges_are_translated():
    pve8 = sorted(p for p in PVE9_PRIVILEGES if not p.startswith('VM.GuestAgent.')) + ['VM.Monitor']
    raw = empty_raw(roles=[{'roleid': 'Administrator', 'privs': ','.join(pve8), 'special': 1}])
    (actions, warnings), _d, _a = run(params(), raw)
    privs = {a['id']: a['detail']['privs'] for a in actions if a['op'] == 'create_role'}
    # VM.Monitor allows guest-agent exec on PVE 8: only the automation role (which runs commands anyway) gets it.
    assert 'VM.Monitor' in privs['StoredeskAutomation']
    assert not [r for r, p in privs.items() if r != 'StoredeskAutomation' and 'VM.Monitor' in p], privs
    assert not [r for r, p in privs.items() if any(x.startswith('VM.GuestAgent.') for x in p)], privs
    assert any('role StoredeskAuditor: VM.GuestAgent.Audit not granted on this PVE 8 cluster' in w for w in warnings)
    raw['roles'][0]['privs'] = ','.join(p for p in pve8 if p != 'Mapping.Use')
    with pytest.raises(InputError) as err:
        run(params(), raw)
    assert "privilege 'Mapping.Use' is not known to this Proxmox VE" in str(err.value)


def test_diff_before_after():
    (actions, _w), _d, _a = run(TWO_STORES)
    live = simulate(empty_raw(), actions)
    changed = copy.deepcopy(TWO_STORES)
    changed['stores'][0]['staff'][0]['name'] = 'Ann Lee-Wong'
    changed['templates'] = {'store_clerk': {'privileges': ['VM.Audit', 'VM.Console']}}
    (actions, _w), _d, actual = run(changed, live)
    d = _access_plan.diff(actions, actual)
    assert d['before']['users']['ann@pve']['lastname'] == 'Lee'
    assert d['after']['users']['ann@pve']['lastname'] == 'Lee-Wong'
    assert d['after']['roles']['StoredeskStoreClerk'] == ['VM.Audit', 'VM.Console']
    assert 'VM.PowerMgmt' in d['before']['roles']['StoredeskStoreClerk']


def test_effective_privileges_follow_pve_rules():
    roles = {'R1': {'privs': {'VM.Audit'}}, 'R2': {'privs': {'VM.Console'}}, 'NoAccess': {'privs': set()}}
    acl = {('/', 'group', 'g', 'R1', 1), ('/pool/store-a', 'group', 'g', 'R2', 1)}
    assert desktop_privileges(acl, roles, 'u@pve', {'g'}, 'store-a')[0] == {'VM.Audit', 'VM.Console'}
    assert desktop_privileges(acl, roles, 'u@pve', {'g'}, 'store-b')[0] == {'VM.Audit'}
    # the user's own entry on a level replaces the groups' entries there; one that does not propagate
    # counts on its own path only
    assert desktop_privileges(acl | {('/', 'user', 'u@pve', 'R2', 1)}, roles, 'u@pve', {'g'}, 'store-b')[0] == \
        {'VM.Console'}
    assert desktop_privileges(acl | {('/', 'user', 'u@pve', 'R2', 0)}, roles, 'u@pve', {'g'}, 'store-b')[0] == \
        {'VM.Audit'}
    assert desktop_privileges(acl | {('/pool/store-a', 'user', 'u@pve', 'NoAccess', 1)}, roles, 'u@pve', {'g'},
                              'store-a')[0] == set()


def test_report_from_plain_data():
    (actions, _w), _d, _a = run(TWO_STORES)
    actual = normalize(simulate(empty_raw(), actions))
    report = build_report(actual, [], now=NOW)
    assert sorted(report['stores']) == ['a', 'b']
    assert report['stores']['a']['ann@pve']['privileges'] == sorted(TEMPLATES['store_clerk']['privileges'])
    assert report['stores']['a']['ann@pve']['expires'] == '2030-01-31T23:59:59+00:00'
    assert 'ann@pve' not in report['stores']['b'] and 'aud@corp' in report['stores']['b']
    assert report['users']['max@pve']['managed'] is True


def test_automation_privileges_are_pve9_privileges_each_with_a_reason():
    names = [p for p, _why in AUTOMATION_PRIVILEGES]
    assert len(names) == len(set(names))
    assert set(names) <= PVE9_PRIVILEGES
    assert all(why.strip() for _p, why in AUTOMATION_PRIVILEGES)
    for tpl in TEMPLATES.values():
        assert set(tpl['privileges']) <= PVE9_PRIVILEGES
    assert 'VM.Allocate' not in TEMPLATES['hq_operator']['privileges']   # no destroy


# ----------------------------------------------------------------------------- store terminals (issue 18)

RESOURCES = [{'type': 'qemu', 'vmid': 7101, 'name': 'a-d7101', 'node': 'n1', 'pool': 'store-a'},
             {'type': 'qemu', 'vmid': 7102, 'name': 'a-d7102', 'node': 'n2', 'pool': 'store-a'},
             {'type': 'qemu', 'vmid': 7201, 'name': 'b-d7201', 'node': 'n1', 'pool': 'store-b'}]


def term_run(terminals, raw=None, **kw):
    desired = _access_desired.build_desired(params(terminals=terminals, **kw), NOW)
    _access_terminals.resolve(desired['terminals'], RESOURCES)
    actual = normalize(raw or empty_raw())
    # The shipped templates' roles and groups are planned too: keep what concerns terminals.
    return [a for a in _access_plan.plan(desired, actual)[0] if 'erminal' in a['id']]


def with_token(raw, user, token):
    raw = copy.deepcopy(raw)
    for u in raw['users']:
        if u['userid'] == user:
            u['tokens'] = [{'tokenid': token, 'privsep': 1}]
    return raw


def test_a_terminal_gets_a_token_on_its_own_desktops_only():
    actions = term_run([{'name': 't01', 'store': 'a', 'desktops': ['a-d7101', '7102']}])
    ops = [(a['op'], a['id']) for a in actions]
    user, token = 'storedesk-terminals-a@pve', 'storedesk-terminals-a@pve!t01'
    assert ('create_role', 'StoredeskTerminal') in ops and ('create_user', user) in ops
    assert next(a for a in actions if a['op'] == 'create_role' and a['id'] == 'StoredeskTerminal')['detail'][
        'privs'] == ['VM.Audit', 'VM.Console', 'VM.PowerMgmt']
    assert ops.index(('create_user', user)) < ops.index(('create_token', token))
    acl = sorted(a['id'] for a in actions if a['op'] == 'add_acl')
    assert acl == ['/pool/store-a StoredeskTerminal user:' + user, '/vms/7101 StoredeskTerminal token:' + token,
                   '/vms/7102 StoredeskTerminal token:' + token]
    assert all(ops.index(('create_token', token)) < ops.index(('add_acl', i)) for i in acl)
    # Applied, the same input plans nothing.
    raw = with_token(simulate(empty_raw(), actions), user, 't01')
    raw['users'] = [dict(u, comment='storedesk: terminals store=a') if u['userid'] == user else u
                    for u in raw['users']]
    assert term_run([{'name': 't01', 'store': 'a', 'desktops': ['a-d7101', '7102']}], raw) == []


def test_a_terminal_offboarded_loses_its_token_and_a_moved_desktop_its_acl():
    user, token = 'storedesk-terminals-a@pve', 'storedesk-terminals-a@pve!t01'
    raw = empty_raw(roles=[ADMIN, {'roleid': 'StoredeskTerminal', 'privs': 'VM.Audit,VM.Console,VM.PowerMgmt'}],
                    acl=[{'path': '/vms/7101', 'type': 'token', 'ugid': token, 'roleid': 'StoredeskTerminal',
                          'propagate': 1},
                         {'path': '/pool/store-a', 'type': 'user', 'ugid': user, 'roleid': 'StoredeskTerminal',
                          'propagate': 1}])
    raw['users'].append({'userid': user, 'enable': 1, 'comment': 'storedesk: terminals store=a',
                         'tokens': [{'tokenid': 't01', 'privsep': 1}]})
    gone = term_run([{'name': 't01', 'store': 'a', 'state': 'absent'}], raw)
    assert [(a['op'], a['id']) for a in gone] == [('delete_token', token)]
    moved = term_run([{'name': 't01', 'store': 'a', 'desktops': ['a-d7102']}], raw)
    assert sorted((a['op'], a['detail'].get('path')) for a in moved) == [('add_acl', '/vms/7102'),
                                                                         ('delete_acl', '/vms/7101')]
    rotated = term_run([{'name': 't01', 'store': 'a', 'desktops': ['a-d7101'], 'rotate': True}], raw)
    assert [(a['op'], a['detail'].get('path')) for a in rotated] == [('rotate_token', None), ('add_acl', '/vms/7101')]
    # The terminal user is never taken for staff without a store (reclaim would disable it otherwise).
    assert term_run([], raw, reclaim=True) == []


@pytest.mark.parametrize('entry, field, text', [
    ({'name': '01', 'store': 'a', 'desktops': ['a-d7101']}, 'terminals[0] (01).name', 'cannot name a PVE API token'),
    ({'name': 't1', 'store': 'a'}, 'terminals[0] (t1).desktops', 'needs at least one desktop'),
    ({'name': 't1', 'store': 'a', 'desktops': ['b-d7201']}, 'terminals[0] (t1).desktops', 'not in pool store-a'),
    ({'name': 't1', 'store': 'a', 'desktops': ['nope']}, 'terminals[0] (t1).desktops', 'desktop nope not found'),
])
def test_terminal_input_errors_name_the_terminal_and_field(entry, field, text):
    with pytest.raises(InputError) as err:
        term_run([entry])
    assert text in str(err.value) and field in str(err.value) and err.value.hint


def test_terminal_privileges_are_the_ones_the_calls_check():
    assert [p for p, _why in TERMINAL_PRIVILEGES] == ['VM.Console', 'VM.PowerMgmt', 'VM.Audit']
    assert all(p in PVE9_PRIVILEGES for p, _why in TERMINAL_PRIVILEGES)

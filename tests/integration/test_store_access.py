"""store_access and access_report on the lab: checked through the API and by logging in as the users."""

import json
import re
import time

import pytest
import requests

from conftest import api, api_get, ok, run_module, run_playbook, start_lab

NODE = 'pve-e1'
VM_A, VM_A2, VM_B = 2101, 2102, 2201
WRITES = ('POST', 'PUT', 'DELETE')


@pytest.fixture(scope='module')
def alab(tmp_path_factory):
    """A lab of this module's own (access objects are cluster-wide), with desktops in two store pools."""
    lab = start_lab(tmp_path_factory)
    root = api(lab)
    for pool in ('store-sh-0001', 'store-sh-0002', 'store-sh-0003'):
        ok(root, 'POST', '/pools', poolid=pool)
    for vmid, pool in ((VM_A, 'store-sh-0001'), (VM_A2, 'store-sh-0001'), (VM_B, 'store-sh-0002')):
        ok(root, 'POST', '/nodes/{0}/qemu/9100/clone'.format(NODE), newid=vmid, name='desk-{0}'.format(vmid),
           pool=pool)
    deadline = time.time() + 30
    while len([v for v in api_get(root, '/cluster/resources', type='vm') if v.get('pool')]) < 3:
        assert time.time() < deadline, 'clones did not finish'
        time.sleep(0.2)
    yield lab
    lab.stop()


def login(lab, user, password):
    """A plain session as the user; returns (session, login status)."""
    session = requests.Session()
    session.verify = lab.cafile
    session.base = lab.regions['east'].url + '/api2/json'
    answer = session.post(session.base + '/access/ticket', data={'username': user, 'password': password},
                          verify=lab.cafile)
    if answer.ok:
        data = answer.json()['data']
        session.cookies.set('PVEAuthCookie', data['ticket'])
        session.headers['CSRFPreventionToken'] = data['CSRFPreventionToken']
    return session, answer.status_code


def status(session, method, url, **data):
    return session.request(method, session.base + url, data=data or None, verify=session.verify).status_code


def vm(vmid, tail=''):
    return '/nodes/{0}/qemu/{1}{2}'.format(NODE, vmid, tail)


def writes(lab):
    return [r for r in lab.regions['east'].requests if r[0] in WRITES and not r[1].endswith('/access/ticket')]


STAFF = {
    'stores': [
        {'code': 'sh-0001', 'staff': [
            {'user': 'alice', 'realm': 'pve', 'role': 'store_clerk', 'name': 'Alice Wang', 'password': 'alice-pass-1'},
            {'user': 'bob@pve', 'role': 'store_manager', 'password': 'bob-pass-12'},
            {'user': 'temp1', 'realm': 'pve', 'role': 'store_clerk', 'password': 'temp-pass-1',
             'expires': '2099-12-31', 'comment': 'singles day'}]},
        {'code': 'sh-0002', 'staff': [
            {'user': 'carol', 'realm': 'pve', 'role': 'store_clerk', 'password': 'carol-pass1'}]},
    ],
    'global_staff': [{'user': 'audrey@pve', 'role': 'auditor', 'password': 'audrey-pass'},
                     {'user': 'otto@pve', 'role': 'hq_operator', 'password': 'otto-pass-1'}],
}


def test_onboard_rights_exactly_as_templated(alab):
    rc, result = run_module(alab, 'store_access', STAFF)
    assert rc == 0, result['_stdout']
    assert result['changed'] and result['api_requests'] > 6
    root = api(alab)
    roles = dict((r['roleid'], set(r['privs'].split(','))) for r in api_get(root, '/access/roles'))
    assert roles['StoredeskStoreClerk'] == {'VM.Audit', 'VM.Console', 'VM.PowerMgmt', 'Pool.Audit'}
    assert 'Permissions.Modify' in roles['StoredeskAutomation'] and 'VM.Clone' in roles['StoredeskAutomation']
    acl = set((e['path'], e['ugid'], e['roleid']) for e in api_get(root, '/access/acl'))
    assert acl == {('/pool/store-sh-0001', 'store-sh-0001-clerk', 'StoredeskStoreClerk'),
                   ('/pool/store-sh-0001', 'store-sh-0001-manager', 'StoredeskStoreManager'),
                   ('/pool/store-sh-0002', 'store-sh-0002-clerk', 'StoredeskStoreClerk'),
                   ('/pool/store-sh-0002', 'store-sh-0002-manager', 'StoredeskStoreManager'),
                   ('/', 'storedesk-auditor', 'StoredeskAuditor'), ('/', 'storedesk-hq-operator', 'StoredeskHqOperator')}
    users = dict((u['userid'], u) for u in api_get(root, '/access/users', full=1))
    assert users['alice@pve']['groups'] in ('store-sh-0001-clerk', ['store-sh-0001-clerk'])
    assert users['alice@pve']['firstname'] == 'Alice' and users['alice@pve']['comment'].startswith('storedesk:')
    assert users['temp1@pve']['expire'] == 4102444799   # 2099-12-31 23:59:59 UTC
    # The clerk of store A, logged in: own desktops yes, store B's no, destroy no.
    alice, code = login(alab, 'alice@pve', 'alice-pass-1')
    assert code == 200
    assert status(alice, 'GET', vm(VM_A, '/config')) == 200
    assert status(alice, 'POST', vm(VM_A, '/vncproxy'), websocket=1) == 200
    assert status(alice, 'POST', vm(VM_A2, '/status/start')) == 200
    assert status(alice, 'GET', vm(VM_B, '/config')) == 403
    assert status(alice, 'POST', vm(VM_B, '/vncproxy')) == 403
    assert status(alice, 'DELETE', vm(VM_A)) == 403
    # (PUT: the lab checks an async POST /config inside its task, PVE before it; PUT is checked at once by both)
    assert status(alice, 'PUT', vm(VM_A, '/config'), usb0='spice') == 403
    # The manager may add a SPICE USB redirection port, not destroy.
    bob, _ = login(alab, 'bob@pve', 'bob-pass-12')
    assert status(bob, 'PUT', vm(VM_A, '/config'), usb0='spice') == 200
    assert status(bob, 'PUT', vm(VM_A, '/config'), memory=8192) == 403
    assert status(bob, 'PUT', vm(VM_A, '/config'), usb1='host=046d:c52b') == 500   # real devices: root only
    assert status(bob, 'DELETE', vm(VM_A)) == 403
    assert status(bob, 'GET', vm(VM_B, '/config')) == 403
    # Global: the auditor reads everything and changes nothing; the HQ operator runs every store, no destroy.
    audrey, _ = login(alab, 'audrey@pve', 'audrey-pass')
    assert status(audrey, 'GET', vm(VM_B, '/config')) == 200
    assert status(audrey, 'GET', '/access/acl') == 200
    assert status(audrey, 'POST', vm(VM_B, '/status/start')) == 403
    otto, _ = login(alab, 'otto@pve', 'otto-pass-1')
    assert status(otto, 'POST', vm(VM_B, '/vncproxy'), websocket=1) == 200
    assert status(otto, 'DELETE', vm(VM_B)) == 403


def test_second_run_and_check_mode_write_nothing(alab):
    run_module(alab, 'store_access', STAFF)
    alab.regions['east'].requests.clear()
    rc, result = run_module(alab, 'store_access', STAFF)
    assert rc == 0 and result['changed'] is False and result['plan'] == []
    assert writes(alab) == []
    assert result['api_requests'] == 6     # the bulk reads, nothing per object
    changed = {'stores': [{'code': 'sh-0001', 'staff': [
        {'user': 'dave', 'realm': 'pve', 'role': 'store_clerk', 'password': 'dave-pass-1'}]}]}
    rc, result = run_module(alab, 'store_access', dict(changed, exclusive=True), check=True)
    assert rc == 0 and result['changed'], result['_stdout']
    ops = sorted(set(a['op'] for a in result['plan']))
    assert ops == ['create_user', 'disable_user', 'update_user']
    assert writes(alab) == []
    assert 'dave@pve' not in [u['userid'] for u in api_get(api(alab), '/access/users')]


def test_diff_shows_before_and_after(alab, tmp_path):
    run_module(alab, 'store_access', STAFF)
    args = {'stores': [{'code': 'sh-0001', 'staff': [
        {'user': 'alice', 'realm': 'pve', 'role': 'store_clerk', 'name': 'Alice Wang-Li'}]}]}
    out = tmp_path / 'result.json'
    play = [{'name': 'diff', 'hosts': 'localhost', 'gather_facts': False,
             'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
             'tasks': [{'storedesk.vdi.store_access': args, 'register': 'r'},
                       {'ansible.builtin.copy': {'content': '{{ r | to_json }}', 'dest': str(out)}, 'check_mode': False}]}]
    book = tmp_path / 'diff.yml'
    book.write_text(json.dumps(play))
    proc = run_playbook(alab, str(book), args=['--check', '--diff'])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-        \"lastname\": \"Wang\"" in proc.stdout or '"lastname": "Wang"' in proc.stdout
    result = json.loads(out.read_text())
    assert result['diff']['before']['users']['alice@pve']['lastname'] == 'Wang'
    assert result['diff']['after']['users']['alice@pve']['lastname'] == 'Wang-Li'


def test_exclusive_offboard_and_reclaim_touch_only_what_should_go(alab):
    run_module(alab, 'store_access', STAFF)
    root = api(alab)
    # Objects storedesk does not own: a user added to our group by hand, a group and a role of someone else,
    # and a hand-made ACL entry with our role on the store's pool.
    ok(root, 'POST', '/access/users', userid='handmade@pve', password='hand-pass-1', groups='store-sh-0001-clerk')
    ok(root, 'POST', '/access/groups', groupid='it-admins', comment='not ours')
    ok(root, 'POST', '/access/roles', roleid='ItHelpdesk', privs='VM.Audit')
    ok(root, 'PUT', '/access/acl', path='/pool/store-sh-0001', roles='StoredeskStoreClerk', users='handmade@pve')
    ok(root, 'PUT', '/access/acl', path='/pool/store-sh-0001', roles='ItHelpdesk', groups='it-admins')
    # Store sh-0001 keeps bob and temp1 only; alice is offboarded.
    keep = {'stores': [{'code': 'sh-0001', 'staff': STAFF['stores'][0]['staff'][1:]}], 'exclusive': True}
    rc, result = run_module(alab, 'store_access', keep)
    assert rc == 0, result['_stdout']
    got = sorted((a['op'], a['id']) for a in result['plan'])
    assert got == [('delete_acl', '/pool/store-sh-0001 StoredeskStoreClerk user:handmade@pve'),
                   ('disable_user', 'alice@pve'),
                   ('update_user', 'alice@pve'), ('update_user', 'handmade@pve')], got
    users = dict((u['userid'], u) for u in api_get(root, '/access/users', full=1))
    assert users['alice@pve']['enable'] == 0 and users['handmade@pve']['enable'] == 1
    assert not users['handmade@pve'].get('groups')
    assert users['carol@pve']['groups'] in ('store-sh-0002-clerk', ['store-sh-0002-clerk'])  # other store: untouched
    assert login(alab, 'alice@pve', 'alice-pass-1')[1] == 401
    # Store sh-0002 closes: its pool goes. reclaim with remove: its groups go, carol goes, nothing else.
    ok(root, 'DELETE', vm(VM_B) + '?purge=1')
    time.sleep(0.5)
    ok(root, 'DELETE', '/pools/store-sh-0002')
    rc, result = run_module(alab, 'store_access', {'reclaim': True, 'reclaim_users': 'remove'})
    assert rc == 0, result['_stdout']
    got = sorted((a['op'], a['id']) for a in result['plan'])
    assert got == [('delete_group', 'store-sh-0002-clerk'), ('delete_group', 'store-sh-0002-manager'),
                   ('delete_user', 'alice@pve'), ('delete_user', 'carol@pve')], got
    users = set(u['userid'] for u in api_get(root, '/access/users'))
    assert {'bob@pve', 'temp1@pve', 'handmade@pve', 'audrey@pve', 'otto@pve'} <= users
    assert not users & {'alice@pve', 'carol@pve'}
    assert 'it-admins' in [g['groupid'] for g in api_get(root, '/access/groups')]
    assert 'ItHelpdesk' in [r['roleid'] for r in api_get(root, '/access/roles')]
    assert ('/pool/store-sh-0001', 'it-admins') in [(e['path'], e['ugid']) for e in api_get(root, '/access/acl')]
    rc, result = run_module(alab, 'store_access', {'reclaim': True, 'reclaim_users': 'remove'})
    assert rc == 0 and result['changed'] is False, result['plan']


@pytest.mark.parametrize('args,words', [
    ({'stores': [{'code': 'sh-0001', 'staff': [{'user': 'eve', 'role': 'store_clerk'}]}]},
     ['store sh-0001: staff[0].user', "user id 'eve' has no realm", 'eve@pve']),
    ({'stores': [{'code': 'sh-0001', 'staff': [{'user': 'eve@corp-ldap', 'role': 'store_clerk'}]}]},
     ['store sh-0001: staff[0].realm', "realm 'corp-ldap' does not exist", 'pam, pve']),
    ({'stores': [{'code': 'sh-0001', 'staff': [{'user': 'eve@pve', 'role': 'cashier'}]}]},
     ['store sh-0001: staff[0].role', "unknown role template 'cashier'", 'store_clerk']),
    ({'templates': {'store_clerk': {'privileges': ['VM.Audit', 'VM.Consol']}}},
     ['templates.store_clerk.privileges', "'VM.Consol' is not a PVE privilege", 'VM.Console']),
    ({'templates': {'store_clerk': {'privileges': ['VM.Monitor']}}}, ['VM.Monitor', 'PVE 9', 'VM.GuestAgent.Audit']),
    ({'stores': [{'code': 'sh-0001', 'staff': [{'user': 'eve@pve', 'role': 'store_clerk', 'expires': '2020-01-01'}]}]},
     ['store sh-0001: staff[0].expires', 'in the past', 'state: absent']),
    ({'templates': {'store_clerk': {'group': 'clerk staff'}}}, ['templates.store_clerk', 'not a valid PVE group name']),
    ({'stores': [{'code': 'sh/1'}]}, ['store sh/1: code', 'cannot name a PVE pool']),
    ({'stores': [{'code': 'sh-0001', 'staff': [{'user': 'eve@pve', 'role': 'store_clerk'}]},
                 {'code': 'sh-0003', 'staff': [{'user': 'eve@pve', 'role': 'store_clerk'}]}]},
     ['store sh-0003: staff[0]', 'store_clerk in store sh-0001 too', 'one_store: false']),
    ({'stores': [{'code': 'sh-0003', 'staff': [{'user': 'bob@pve', 'role': 'store_clerk'}]},
                 {'code': 'sh-0001', 'staff': [{'user': 'temp1@pve', 'role': 'store_clerk'}]}],
      'templates': {}}, ["'bob@pve'"]),
])
def test_bad_input_is_rejected_before_any_change(alab, args, words):
    if words == ["'bob@pve'"]:   # a clerk already in another store, from the live state
        run_module(alab, 'store_access', {'stores': [{'code': 'sh-0001', 'staff': [
            {'user': 'bob@pve', 'role': 'store_clerk'}]}]})
        words = ["user 'bob@pve' is already store_clerk of store sh-0001", 'offboard them from store sh-0001']
    alab.regions['east'].requests.clear()
    rc, result = run_module(alab, 'store_access', args)
    assert rc != 0
    for word in words:
        assert word in result['msg'], result['msg']
    assert writes(alab) == []


def test_external_realm_users_only_get_membership(alab):
    alab.regions['east'].add_realm('corp-ad', type='ad')
    args = {'stores': [{'code': 'sh-0003', 'staff': [{'user': 'zhao@corp-ad', 'role': 'store_clerk',
                                                      'password': 'not-allowed'}]}]}
    rc, result = run_module(alab, 'store_access', args)
    assert rc != 0 and "cannot be set for realm 'corp-ad' (type ad)" in result['msg']
    del args['stores'][0]['staff'][0]['password']
    rc, result = run_module(alab, 'store_access', args)
    assert rc == 0, result['_stdout']
    user = api_get(api(alab), '/access/users/zhao@corp-ad')
    assert user['groups'] == ['store-sh-0003-clerk']


def test_access_report_matches_the_templates(alab):
    run_module(alab, 'store_access', STAFF)
    rc, report = run_module(alab, 'access_report', {'stores': ['sh-0001']})
    assert rc == 0, report['_stdout']
    temp = report['stores']['sh-0001']['temp1@pve']
    assert temp['privileges'] == ['Pool.Audit', 'VM.Audit', 'VM.Console', 'VM.PowerMgmt']
    assert temp['expires'].startswith('2099-12-31T23:59:59') and temp['active'] is True
    assert 'VM.Config.HWType' in report['stores']['sh-0001']['bob@pve']['privileges']
    assert report['users']['audrey@pve']['global'] and 'VM.PowerMgmt' not in report['users']['audrey@pve']['global']
    assert 'root@pam' not in report['users']
    # The report agrees with what PVE itself says.
    perms = ok(api(alab), 'GET', '/access/permissions', userid='temp1@pve', path='/vms/{0}'.format(VM_A))
    assert sorted(perms['/vms/{0}'.format(VM_A)]) == temp['privileges']


def test_a_token_with_only_the_automation_role_can_run_the_modules(alab):
    root = api(alab)
    ok(root, 'POST', '/access/users', userid='automation@pve', comment='automation')
    secret = ok(root, 'POST', '/access/users/automation@pve/token/storedesk', privsep=1)['value']
    rc, result = run_module(alab, 'store_access', {'automation_acl': ['automation@pve',
                                                                      'automation@pve!storedesk']})
    assert rc == 0, result['_stdout']
    env = {'PROXMOX_TOKEN_ID': 'automation@pve!storedesk', 'PROXMOX_TOKEN_SECRET': secret, 'PROXMOX_PASSWORD': ''}
    for module, args in (('store_access', STAFF), ('access_report', {}), ('cluster_info', {})):
        rc, result = run_module(alab, module, args, env=env)
        assert rc == 0, (module, result.get('msg'))
    # What the desktop pool module does with it: a linked clone into a store pool, and a config write.
    session = requests.Session()
    session.headers['Authorization'] = 'PVEAPIToken=automation@pve!storedesk=' + secret
    session.verify, session.base = alab.cafile, alab.regions['east'].url + '/api2/json'
    ok(session, 'POST', '/nodes/{0}/qemu/9100/clone'.format(NODE), newid=2301, name='desk-2301', pool='store-sh-0003')
    time.sleep(0.5)
    ok(session, 'POST', vm(2301, '/config'), tags='storedesk;store-sh-0003', usb1='spice', cores=2)
    # and no more than that: it may not touch what only root may.
    assert status(session, 'PUT', vm(2301, '/config'), usb2='host=046d:c52b') == 500   # root@pam only
    # hookscript: PVE checks the snippet exists first (400, check_hookscript), then root@pam only (500)
    assert status(session, 'PUT', vm(2301, '/config'), hookscript='local:snippets/x.pl') == 400


def test_accounts_playbook_onboard_offboard_with_survey_vars(alab, tmp_path):
    east = alab.regions['east']
    inventory = {'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                 'storedesk_regions': {'east': {'api_host': east.host, 'api_port': east.port}}},
        'children': {'stores': {'vars': {'store_code': '{{ inventory_hostname }}'}, 'children': {
            'region_east': {'vars': {'store_region': 'east'}, 'hosts': {
                'sh-0001': {'store_staff': [{'user': 'pb-clerk', 'realm': 'pve', 'role': 'store_clerk',
                                             'password': 'pb-clerk-pass', 'expires': '2099-01-01'}]},
                'sh-0003': {'store_staff': [{'user': 'pb-mgr@pve', 'role': 'store_manager'}]}}}}}}}}
    inv = tmp_path / 'hosts.yml'
    inv.write_text(json.dumps(inventory))
    reports = tmp_path / 'reports'
    base = ['-i', str(inv), '-e', 'report_dir=' + str(reports)]
    proc = run_playbook(alab, 'playbooks/accounts.yml', args=base,
                        extra_vars={'access_stores': 'sh-0001, sh-0003', 'access_action': 'onboard'})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    users = dict((u['userid'], u) for u in api_get(api(alab), '/access/users', full=1))
    assert 'store-sh-0001-clerk' in str(users['pb-clerk@pve']['groups'])
    assert len(list(reports.glob('access-*.json'))) == 1
    proc = run_playbook(alab, 'playbooks/accounts.yml', args=base,
                        extra_vars={'access_stores': ['sh-0001'], 'access_action': 'onboard'})
    assert proc.returncode == 0, proc.stdout
    assert re.search(r'Apply store access per region \(onboard\)\] \**\nok: \[localhost\]', proc.stdout), proc.stdout
    # offboard sh-0003 with an empty list: its manager leaves and is disabled
    inventory['all']['children']['stores']['children']['region_east']['hosts']['sh-0003']['store_staff'] = []
    inv.write_text(json.dumps(inventory))
    proc = run_playbook(alab, 'playbooks/accounts.yml', args=base,
                        extra_vars={'access_stores': ['sh-0003'], 'access_action': 'offboard'})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert api_get(api(alab), '/access/users/pb-mgr@pve')['enable'] == 0
    proc = run_playbook(alab, 'playbooks/accounts.yml', args=base,
                        extra_vars={'access_stores': ['nowhere-9'], 'access_action': 'onboard'})
    assert proc.returncode != 0 and 'unknown stores' in proc.stdout

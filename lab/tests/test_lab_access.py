"""The lab's access control (lab/storedesk_lab/pve_access.py), driven over HTTPS like a real client."""

import time

import pytest
from fakepve import FakePve
from served_pve import Api, message, new_pve, pki, serve  # noqa: F401 - pki is a fixture

from storedesk_lab.pve_access import BUILTIN_ROLES, AccessControlApi


class Pve(AccessControlApi, FakePve):
    pass


@pytest.fixture
def pve(pki):  # noqa: F811 - the imported fixture
    """A started Pve on its own event loop in a thread (fakepve's pytest plugin pattern), port 0."""
    pve = new_pve(Pve)
    pve.add_vm(100, 'a-desk-01', pool='store-a')
    pve.add_vm(200, 'b-desk-01', pool='store-b')
    yield from serve(pve, pki)


VM_A, VM_B = '/nodes/pve1/qemu/100', '/nodes/pve1/qemu/200'


def make_clerk(root, userid='clerk@pve', password='clerkpass1'):
    """A store clerk through the API: a role without VM.Allocate, on /pool/store-a."""
    root.ok('POST', '/access/roles', roleid='StoreClerk', privs='VM.Audit,VM.Console,VM.PowerMgmt')
    root.ok('POST', '/access/users', userid=userid, password=password, firstname='Cleo')
    root.ok('PUT', '/access/acl', path='/pool/store-a', roles='StoreClerk', users=userid)


def test_clerk_sees_only_own_store_and_cannot_destroy(pve):
    root = Api(pve)
    make_clerk(root)
    clerk = Api(pve, 'clerk@pve', 'clerkpass1')
    assert clerk.login.status_code == 200
    assert clerk('GET', VM_A + '/config').status_code == 200
    assert clerk('GET', VM_A + '/status/current').status_code == 200
    assert clerk('POST', VM_A + '/vncproxy', websocket=1).status_code == 200
    other = clerk('GET', VM_B + '/config')
    assert other.status_code == 403
    assert message(other) == 'Permission check failed (/vms/200, VM.Audit)'
    assert clerk('POST', VM_B + '/vncproxy').status_code == 403
    gone = clerk('DELETE', VM_A)
    assert (gone.status_code, message(gone)) == (403, 'Permission check failed (/vms/100, VM.Allocate)')
    assert pve.vm(100) is not None
    # /access/permissions answers from the same rules
    perms = clerk.ok('GET', '/access/permissions')
    assert perms['/vms/100'] == {'VM.Audit': 1, 'VM.Console': 1, 'VM.PowerMgmt': 1}
    assert '/vms/200' not in perms and '/' not in perms
    assert clerk.ok('GET', '/access/permissions', path='/vms/200') == {'/vms/200': {}}
    assert clerk('GET', '/access/permissions', userid='root@pam').status_code == 403
    assert root.ok('GET', '/access/permissions', userid='clerk@pve', path='/pool/store-a')['/pool/store-a'][
        'VM.Console'] == 1
    listed = root.ok('GET', '/access/acl')
    assert {'path': '/pool/store-a', 'type': 'user', 'ugid': 'clerk@pve', 'roleid': 'StoreClerk',
            'propagate': 1} in listed
    assert [u['userid'] for u in clerk.ok('GET', '/access/users')] == ['clerk@pve']


def test_group_membership_and_user_override(pve):
    root = Api(pve)
    root.ok('POST', '/access/groups', groupid='store-a-staff', comment='Store A')
    root.ok('POST', '/access/users', userid='amy@pve', password='amypass123', groups='store-a-staff')
    root.ok('PUT', '/access/acl', path='/pool/store-a', roles='PVEVMUser', groups='store-a-staff')
    amy = Api(pve, 'amy@pve', 'amypass123')
    assert amy('GET', VM_A + '/config').status_code == 200
    assert amy('POST', VM_A + '/status/start').status_code == 200
    assert root.ok('GET', '/access/groups/store-a-staff') == {'members': ['amy@pve'], 'comment': 'Store A'}
    # a user entry on the same path overrides the group's; NoAccess wins over everything inherited
    root.ok('PUT', '/access/acl', path='/pool/store-a', roles='PVEAuditor', users='amy@pve')
    assert amy('POST', VM_A + '/status/stop').status_code == 403
    assert amy('GET', VM_A + '/config').status_code == 200
    root.ok('PUT', '/access/acl', path='/vms/100', roles='NoAccess', users='amy@pve')
    assert amy('GET', VM_A + '/config').status_code == 403
    # leaving the group (and losing the user entries) takes the rights away
    root.ok('PUT', '/access/acl', path='/pool/store-a', roles='PVEAuditor', users='amy@pve', delete=1)
    root.ok('PUT', '/access/acl', path='/vms/100', roles='NoAccess', users='amy@pve', delete=1)
    assert amy('POST', VM_A + '/status/stop').status_code == 200
    root.ok('DELETE', '/access/groups/store-a-staff')
    assert amy('GET', VM_A + '/config').status_code == 403
    assert root.ok('GET', '/access/users/amy@pve')['groups'] == []


def test_disabled_and_expired_users_cannot_log_in(pve):
    root = Api(pve)
    root.ok('POST', '/access/users', userid='off@pve', password='offpass123', enable=0)
    root.ok('POST', '/access/users', userid='old@pve', password='oldpass123', expire=int(time.time()) - 60)
    root.ok('POST', '/access/users', userid='bob@pve', password='bobpass123')
    for user, password in (('off@pve', 'offpass123'), ('old@pve', 'oldpass123'), ('bob@pve', 'wrong-pass')):
        login = Api(pve, user, password).login
        assert (login.status_code, message(login)) == (401, 'authentication failure')
    bob = Api(pve, 'bob@pve', 'bobpass123')
    assert bob('GET', '/version').status_code == 200
    root.ok('PUT', '/access/users/bob@pve', enable=0)
    refused = bob('GET', '/version')
    assert (refused.status_code, message(refused)) == (401, "user 'bob@pve' is disabled")
    root.ok('PUT', '/access/users/bob@pve', enable=1, expire=int(time.time()) + 3600)
    assert bob('GET', '/version').status_code == 200
    root.ok('DELETE', '/access/users/bob@pve')
    assert bob('GET', '/version').status_code == 401
    assert Api(pve, 'bob@pve', 'bobpass123').login.status_code == 401


def test_api_token_privilege_separation(pve):
    root = Api(pve)
    root.ok('POST', '/access/users', userid='ops@pve', password='opspass123')
    root.ok('PUT', '/access/acl', path='/pool/store-a', roles='PVEVMAdmin', users='ops@pve')
    made = root.ok('POST', '/access/users/ops@pve/token/ro', comment='read only')
    assert made['full-tokenid'] == 'ops@pve!ro' and made['info']['privsep'] == 1
    root.ok('PUT', '/access/acl', path='/vms', roles='PVEAuditor', tokens='ops@pve!ro')
    ro = Api(pve, token='ops@pve!ro=' + made['value'])
    assert ro('GET', VM_A + '/config').status_code == 200       # VM.Audit: token and user hold it
    assert ro('GET', VM_B + '/config').status_code == 403       # the token does, the user does not
    assert ro('POST', VM_A + '/status/start').status_code == 403  # the user does, the token does not
    assert ro.ok('GET', '/access/permissions', path='/vms/100')['/vms/100'] == {'VM.Audit': 1,
                                                                                'VM.GuestAgent.Audit': 1}
    full = root.ok('POST', '/access/users/ops@pve/token/full', privsep=0)
    assert Api(pve, token='ops@pve!full=' + full['value'])('POST', VM_A + '/status/start').status_code == 200
    pve.add_token('ops@pve', 'helper', 'sekrit', privsep=1)
    assert Api(pve, token='ops@pve!helper=sekrit')('GET', VM_A + '/config').status_code == 403
    assert [t['tokenid'] for t in root.ok('GET', '/access/users/ops@pve/token')] == ['full', 'helper', 'ro']
    root.ok('DELETE', '/access/users/ops@pve/token/ro')
    assert ro('GET', VM_A + '/config').status_code == 401
    assert root.ok('GET', '/access/acl') == [{'path': '/pool/store-a', 'type': 'user', 'ugid': 'ops@pve',
                                              'roleid': 'PVEVMAdmin', 'propagate': 1}]


def test_propagate_zero_applies_to_its_path_only(pve):
    pve.add_user('eve@pve', 'evepass123')
    pve.set_acl('/vms', 'PVEAuditor', users=['eve@pve'], propagate=False)
    eve = Api(pve, 'eve@pve', 'evepass123')
    assert eve('GET', VM_A + '/config').status_code == 403
    assert eve.ok('GET', '/access/permissions', path='/vms')['/vms']['VM.Audit'] == 0
    pve.set_acl('/vms', 'PVEAuditor', users=['eve@pve'])
    assert eve('GET', VM_A + '/config').status_code == 200
    assert eve.ok('GET', '/access/permissions', path='/vms/100')['/vms/100']['VM.Audit'] == 1


def test_built_in_roles(pve):
    root = Api(pve)
    roles = dict((r['roleid'], r) for r in root.ok('GET', '/access/roles'))
    assert set(BUILTIN_ROLES) <= set(roles) and len(BUILTIN_ROLES) == 17
    assert roles['PVEVMUser'] == {'roleid': 'PVEVMUser', 'special': 1, 'privs': (
        'VM.Audit,VM.Backup,VM.Config.CDROM,VM.Config.Cloudinit,VM.Console,VM.GuestAgent.Audit,'
        'VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.PowerMgmt')}
    assert 'Mapping.Modify' not in roles['PVEAdmin']['privs'] and 'Sys.Modify' not in roles['PVEAdmin']['privs']
    assert roles['NoAccess']['privs'] == ''
    assert root.ok('GET', '/access/roles/PVEPoolUser') == {'Pool.Audit': 1}
    changed = root('PUT', '/access/roles/PVEVMUser', privs='VM.Allocate')
    assert (changed.status_code, message(changed)) == (500, "auto-generated role 'PVEVMUser' cannot be modified")
    gone = root('DELETE', '/access/roles/Administrator')
    assert (gone.status_code, message(gone)) == (500, "auto-generated role 'Administrator' cannot be deleted")
    again = root('POST', '/access/roles', roleid='NoAccess')
    assert (again.status_code, message(again)) == (500, "create role failed: role 'NoAccess' already exists")
    reserved = root('POST', '/access/roles', roleid='PVEClerk')
    assert reserved.status_code == 400
    assert 'PVE' in reserved.json()['errors']['roleid']
    root.ok('POST', '/access/roles', roleid='Clerk', privs='VM.Audit')
    root.ok('PUT', '/access/roles/Clerk', privs='VM.Console', append=1)
    assert root.ok('GET', '/access/roles/Clerk') == {'VM.Audit': 1, 'VM.Console': 1}
    root.ok('DELETE', '/access/roles/Clerk')


def test_bad_input_errors(pve):
    root = Api(pve)
    realm = root('POST', '/access/users', userid='kim@corp')
    assert (realm.status_code, message(realm)) == (500, "create user failed: auth domain 'corp' does not exist")
    pve.add_realm('corp', 'ad', comment='Retail AD')
    assert {'realm': 'corp', 'type': 'ad', 'comment': 'Retail AD'} in root.ok('GET', '/access/domains')
    root.ok('POST', '/access/users', userid='kim@corp', groups='')
    assert root('POST', '/access/users', userid='lee@corp', password='leepass123').json()['message'].strip() == \
        "create user failed: can't set password on auth type 'ad'"
    dup = root('POST', '/access/users', userid='kim@corp')
    assert (dup.status_code, message(dup)) == (500, "create user failed: user 'kim@corp' already exists")
    priv = root('POST', '/access/roles', roleid='Broken', privs='VM.Audit,Foo.Bar')
    assert priv.status_code == 400
    assert priv.json()['errors'] == {'privs': "invalid format - invalid privilege 'Foo.Bar'"}
    role = root('PUT', '/access/acl', path='/vms', roles='Nope', users='kim@corp')
    assert message(role) == "ACL update failed: role 'Nope' does not exist"
    who = root('PUT', '/access/acl', path='/vms', roles='PVEAuditor', users='ghost@pve')
    assert message(who) == "ACL update failed: user 'ghost@pve' does not exist"
    path = root('PUT', '/access/acl', path='/bogus/x', roles='PVEAuditor', users='kim@corp')
    assert path.json()['errors'] == {'path': "invalid ACL path '/bogus/x'"}
    nobody = root('GET', '/access/users/ghost@pve')
    assert (nobody.status_code, message(nobody)) == (500, "no such user ('ghost@pve')")
    group = root('POST', '/access/users', userid='max@pve', groups='nosuch')
    assert message(group) == "create user failed: no such group 'nosuch'"
    assert root.ok('GET', '/access/users', full=1)[0]['realm-type'] == 'ad'


def test_destroying_a_vm_drops_its_acl_entries(pve):
    pve.add_user('sam@pve', 'sampass123')
    pve.set_acl('/vms/200', 'PVEVMAdmin', users=['sam@pve'])
    pve.set_acl('/vms/100', 'PVEAuditor', users=['sam@pve'])
    root = Api(pve)
    root.ok('DELETE', VM_B)
    assert [e['path'] for e in root.ok('GET', '/access/acl')] == ['/vms/100']


def test_untouched_access_control_lets_everyone_in(pve):
    """Until the lab uses access control, fakepve's default stands: no permission checks."""
    pve.users['legacy@pam'] = 'legacypass'
    legacy = Api(pve, 'legacy@pam', 'legacypass')
    assert legacy('DELETE', VM_B).status_code == 200
    pve.grant('legacy@pam', '/pool/store-a', 'VM.Audit')   # fakepve's own grant() still works
    assert legacy('GET', VM_A + '/config').status_code == 200
    assert legacy('POST', VM_A + '/status/start').status_code == 403

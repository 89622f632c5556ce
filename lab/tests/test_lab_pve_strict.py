"""The lab as strict as PVE where storedesk.vdi depends on it (docs/fidelity.md has the upstream sources):
task listing, the lagging /cluster/resources, root-only options, the 401 text, clones in flight."""

import time

import pytest
import requests
from conftest import api, api_get, post, put, start_lab, wait_task

E1 = '/nodes/pve-e1'


@pytest.fixture
def strict_lab(tmp_path_factory):
    """A strict lab whose tasks take real time (time scale 0.05) and whose RRD refreshes every second."""
    lab = start_lab(tmp_path_factory, time_scale=0.05, strict={'resources_lag': 1.0})
    yield lab
    lab.stop()


def token_session(lab, region='east'):
    session = requests.Session()
    session.headers['Authorization'] = 'PVEAPIToken=root@pam!storedesk=' + lab.token_secret
    session.verify = lab.cafile
    session.base = lab.regions[region].url + '/api2/json'
    return session


def message(answer):
    return (answer.json().get('message') or '').strip()


# ------------------------------------------------------------------ tasks (pve-manager Tasks.pm node_tasks)

def test_running_task_is_listed_as_RUNNING_and_a_finished_one_with_its_exit_status(strict_lab):
    session = api(strict_lab)
    pve = strict_lab.regions['east']
    pve.time_model['qmclone'] = 40                 # 2 real seconds
    upid = post(session, E1 + '/qemu/9100/clone', newid=4501, name='sh-0001-d51').json()['data']
    listed = dict((t['upid'], t) for t in api_get(session, E1 + '/tasks', source='all'))
    assert listed[upid]['status'] == 'RUNNING' and 'endtime' not in listed[upid]
    assert upid not in [t['upid'] for t in api_get(session, E1 + '/tasks')]          # default source=archive
    assert [t['upid'] for t in api_get(session, E1 + '/tasks', source='active')] == [upid]
    assert upid in [t['upid'] for t in api_get(session, E1 + '/tasks', source='all', statusfilter='unknown')]
    assert upid not in [t['upid'] for t in api_get(session, E1 + '/tasks', source='all', statusfilter='ok')]
    assert api_get(session, E1 + '/tasks/' + upid + '/status')['status'] == 'running'
    wait_task(session, upid)
    done = dict((t['upid'], t) for t in api_get(session, E1 + '/tasks', source='all'))[upid]
    assert done['status'] == 'OK' and done['endtime'] >= done['starttime']
    assert upid in [t['upid'] for t in api_get(session, E1 + '/tasks', source='archive', statusfilter='ok')]


# ------------------------------------------------------- /cluster/resources (Cluster.pm, extract_vm_stats)

def test_cluster_resources_lag_behind_per_vm_reads(strict_lab):
    session = api(strict_lab)
    upid = post(session, E1 + '/qemu/9100/clone', newid=4502, name='sh-0001-d52').json()['data']
    wait_task(session, upid)
    put(session, E1 + '/qemu/4502/config', tags='storedesk;store-sh-0001').raise_for_status()
    assert api_get(session, E1 + '/qemu/4502/config')['name'] == 'sh-0001-d52'      # per-VM reads are live
    strict_lab.regions['east'].rrd_refresh()
    upid = post(session, E1 + '/qemu/4502/status/start').json()['data']
    wait_task(session, upid)
    assert api_get(session, E1 + '/qemu/4502/status/current')['status'] == 'running'
    row = [r for r in api_get(session, '/cluster/resources', type='vm') if r['vmid'] == 4502][0]
    assert row['status'] == 'stopped'                       # the RRD still has the state before the start
    assert row['tags'] == 'storedesk;store-sh-0001'          # tags (and lock) are live
    time.sleep(1.3)
    row = [r for r in api_get(session, '/cluster/resources', type='vm') if r['vmid'] == 4502][0]
    assert row['status'] == 'running' and row['name'] == 'sh-0001-d52'


def test_a_guest_without_rrd_data_is_listed_unknown_without_name(strict_lab):
    session = api(strict_lab)
    strict_lab.regions['east'].rrd_refresh()
    upid = post(session, E1 + '/qemu/9100/clone', newid=4503, name='sh-0001-d53').json()['data']
    wait_task(session, upid)
    row = [r for r in api_get(session, '/cluster/resources', type='vm') if r['vmid'] == 4503][0]
    assert row['status'] == 'unknown' and 'name' not in row and 'template' not in row
    assert row['node'] == 'pve-e1'                           # existence and node come from the live vmlist
    post(session, E1 + '/qemu/4503/status/start').raise_for_status()
    session.delete(session.base + E1 + '/qemu/4503', verify=session.verify)


# --------------------------------------------- root-only options (qemu-server $check_vm_modify_config_perm)

def test_root_only_options_are_refused_for_tokens_even_root_s(strict_lab):
    root, token = api(strict_lab), token_session(strict_lab)
    pve = strict_lab.regions['east']
    before = dict(pve.vm(9000).config)
    pve.store_file('local', 'hook.pl', 100, content='snippets')
    for key, value in (('spice_enhancements', 'foldersharing=1,videostreaming=all'), ('args', '-no-reboot'),
                       ('hookscript', 'local:snippets/hook.pl'), ('affinity', '0-3')):
        for method in (put, post):
            answer = method(token, E1 + '/qemu/9000/config', **{key: value})
            assert (answer.status_code, message(answer)) == (500, "only root can set '{0}' config".format(key))
    missing = put(token, E1 + '/qemu/9000/config', hookscript='local:snippets/x.pl')   # checked first, for all
    assert missing.status_code == 400 and missing.json()['errors'] == {
        'hookscript': "script 'local:snippets/x.pl' does not exist"}
    answer = put(token, E1 + '/qemu/9000/config', delete='spice_enhancements')
    assert (answer.status_code, message(answer)) == (500, "only root can set 'spice_enhancements' config")
    answer = put(token, E1 + '/qemu/9000/config', description='x', skiplock=1)
    assert answer.status_code == 400 and answer.json()['errors'] == {'skiplock': 'Only root may use this option.'}
    assert pve.vm(9000).config == before
    assert put(token, E1 + '/qemu/9000/config', vga='qxl', description='ok').status_code == 200
    assert put(root, E1 + '/qemu/9000/config', spice_enhancements='foldersharing=1').status_code == 200
    assert pve.vm(9000).config['spice_enhancements'] == 'foldersharing=1'


def test_root_only_options_are_refused_for_other_users(strict_lab):
    pve = strict_lab.regions['east']
    pve.add_user('ops@pve', 'opspass123')
    pve.set_acl('/vms', 'PVEVMAdmin', users=['ops@pve'])
    ops = api(strict_lab, user='ops@pve', password='opspass123')
    answer = put(ops, E1 + '/qemu/9000/config', spice_enhancements='foldersharing=1')
    assert (answer.status_code, message(answer)) == (500, "only root can set 'spice_enhancements' config")
    answer = post(ops, E1 + '/qemu', vmid=4504, name='x', spice_enhancements='foldersharing=1')
    assert (answer.status_code, message(answer)) == (500, "only root can set 'spice_enhancements' config")
    assert pve.vm(4504) is None


# ------------------------------------------------------- 401 text (pve-manager HTTPServer.pm auth_handler)

@pytest.mark.parametrize('version, text', [('9.1', 'Authentication failed!'), ('8.4', 'Authentication failed!'),
                                           ('8.4.16', 'permission denied - invalid PVE ticket')])
def test_expired_ticket_answers_pve_s_401_text(tmp_path_factory, version, text):
    lab = start_lab(tmp_path_factory, pve_version=version)
    try:
        session = api(lab)
        assert api_get(session, '/version')['version'].startswith(version)
        lab.regions['east'].age_tickets(7199)
        assert session.get(session.base + '/version', verify=lab.cafile).status_code == 200
        lab.regions['east'].age_tickets(2)                       # 2 h and a second
        answer = session.get(session.base + '/version', verify=lab.cafile)
        assert (answer.status_code, message(answer)) == (401, text)
        bad = token_session(lab)
        bad.headers['Authorization'] += 'x'
        refused = bad.get(bad.base + '/version', verify=lab.cafile)
        assert refused.status_code == 401
        assert message(refused) == ('invalid token value!' if version == '8.4.16' else 'Authentication failed!')
        anonymous = requests.get(session.base + '/cluster/resources', verify=lab.cafile)
        assert (anonymous.status_code, message(anonymous)) == (401, 'No ticket')
    finally:
        lab.stop()


# ------------------------------------------------------------- clones in flight (qemu-server clone_vm)

def test_clone_in_flight_shows_only_its_lock_and_joins_the_pool_last(strict_lab):
    session = api(strict_lab)
    pve = strict_lab.regions['east']
    post(session, '/pools', poolid='store-sh-0001').raise_for_status()
    pve.time_model['qmclone'] = 40
    upid = post(session, E1 + '/qemu/9100/clone', newid=4505, name='sh-0001-d55',
                pool='store-sh-0001').json()['data']
    config = api_get(session, E1 + '/qemu/4505/config')
    assert dict((k, v) for k, v in config.items() if k != 'digest') == {'lock': 'clone'}
    assert api_get(session, '/pools/store-sh-0001')['members'] == []
    busy = put(session, E1 + '/qemu/4505/config', description='x')
    assert (busy.status_code, message(busy)) == (500, 'VM is locked (clone)')
    taken = post(session, E1 + '/qemu/9100/clone', newid=4505, name='sh-0001-d56')
    assert (taken.status_code, message(taken)) == (500, 'unable to create VM 4505: config file already exists')
    assert wait_task(session, upid)['exitstatus'] == 'OK'
    config = api_get(session, E1 + '/qemu/4505/config')
    assert config['name'] == 'sh-0001-d55' and 'lock' not in config
    assert [m['vmid'] for m in api_get(session, '/pools/store-sh-0001')['members']] == [4505]


def test_clone_onto_a_vmid_taken_on_another_node_fails_in_the_task(strict_lab):
    session = api(strict_lab)
    upid = post(session, '/nodes/pve-e2/qemu/9100/clone', newid=9000, name='sh-0001-d57')
    assert upid.status_code == 500                    # the source lives on pve-e1: PVE's own "does not exist"
    upid = post(session, E1 + '/qemu/9100/clone', newid=4506, name='sh-0001-d58').json()['data']
    wait_task(session, upid)
    post(session, E1 + '/qemu/4506/migrate', target='pve-e2')
    pve = strict_lab.regions['east']
    pve.vm(4506).node = 'pve-e2'                      # as if migrated
    upid = post(session, E1 + '/qemu/9100/clone', newid=4506, name='sh-0001-d59').json()['data']
    status = wait_task(session, upid)
    assert status['exitstatus'] == ("close (rename) atomic file '/etc/pve/nodes/pve-e1/qemu-server/4506.conf' "
                                    "failed: File exists")
    assert pve.vm(4506).name == 'sh-0001-d58' and pve.vm(4506).node == 'pve-e2'


# ------------------------------------------------------------------ hibernate (qemu-server vm_suspend)

def test_hibernate_needs_config_disk_and_is_refused_for_ha_vms(strict_lab):
    pve = strict_lab.regions['east']
    root = api(strict_lab)
    upid = post(root, E1 + '/qemu/9100/clone', newid=4507, name='sh-0001-d60').json()['data']
    wait_task(root, upid)
    wait_task(root, post(root, E1 + '/qemu/4507/status/start').json()['data'])
    pve.add_role('PowerOnly', ['VM.Audit', 'VM.PowerMgmt'])
    pve.add_user('clerk@pve', 'clerkpass1')
    pve.set_acl('/vms/4507', 'PowerOnly', users=['clerk@pve'])
    clerk = api(strict_lab, user='clerk@pve', password='clerkpass1')
    refused = post(clerk, E1 + '/qemu/4507/status/suspend', todisk=1)
    assert (refused.status_code, message(refused)) == (403, 'Permission check failed (/vms/4507, VM.Config.Disk)')
    paused = post(clerk, E1 + '/qemu/4507/status/suspend').json()['data']
    assert ':qmpause:4507:' in paused
    wait_task(root, paused)
    wait_task(root, post(root, E1 + '/qemu/4507/status/resume').json()['data'])
    pve.vm(4507).ha_state = 'started'
    refused = post(root, E1 + '/qemu/4507/status/suspend', todisk=1)
    assert (refused.status_code, message(refused)) == (500, 'Cannot suspend HA managed VM to disk')
    pve.vm(4507).ha_state = None
    upid = post(root, E1 + '/qemu/4507/status/suspend', todisk=1).json()['data']
    assert ':qmsuspend:4507:' in upid
    wait_task(root, upid)
    assert api_get(root, E1 + '/qemu/4507/config')['lock'] == 'suspended'


# ------------------------------------------------- PVE 8.4 and 9.x (pve-manager API2.pm, AccessControl.pm)

@pytest.mark.parametrize('release', ['8.4', '9.1'])
def test_version_and_privilege_set_per_release(tmp_path_factory, release):
    lab = start_lab(tmp_path_factory, pve_version=release)
    try:
        root = api(lab)
        version = api_get(root, '/version')
        assert version['release'] == release and version['version'] == {'8.4': '8.4.21', '9.1': '9.1.6'}[release]
        assert len(version['repoid']) == 16
        roles = dict((r['roleid'], set(r['privs'].split(','))) for r in api_get(root, '/access/roles'))
        if release == '8.4':
            assert 'VM.Monitor' in roles['PVEVMAdmin'] and roles['PVEAuditor'] >= {'VM.Audit'}
            assert not any(p.startswith('VM.GuestAgent') for p in roles['Administrator'])
            assert 'VM.Replicate' not in roles['Administrator']
        else:
            assert 'VM.Monitor' not in roles['Administrator']
            assert 'VM.GuestAgent.Audit' in roles['PVEAuditor'] and 'VM.GuestAgent.Unrestricted' in roles['PVEVMAdmin']
        absent = 'VM.GuestAgent.Audit' if release == '8.4' else 'VM.Monitor'
        made = post(root, '/access/roles', roleid='Reader', privs='VM.Audit,' + absent)
        assert made.status_code == 400
        assert "invalid privilege '{0}'".format(absent) in made.json()['errors']['privs']
    finally:
        lab.stop()


def test_pve8_guest_agent_commands_need_vm_monitor(tmp_path_factory):
    lab = start_lab(tmp_path_factory, pve_version='8.4')
    try:
        pve = lab.regions['east']
        root = api(lab)
        post(root, E1 + '/qemu/9100/clone', newid=4508, name='sh-0001-d61').raise_for_status()
        put(root, E1 + '/qemu/4508/config', agent='1').raise_for_status()
        post(root, E1 + '/qemu/4508/status/start').raise_for_status()
        pve.vm(4508).started_at -= 3600                       # booted
        pve.add_role('Reader', ['VM.Audit'])
        pve.add_role('Monitor', ['VM.Audit', 'VM.Monitor'])
        pve.add_user('audit@pve', 'auditpass1')
        pve.add_user('hq@pve', 'hqpass1234')
        pve.set_acl('/vms', 'Reader', users=['audit@pve'])
        pve.set_acl('/vms', 'Monitor', users=['hq@pve'])
        path = E1 + '/qemu/4508/agent/'
        reader = api(lab, user='audit@pve', password='auditpass1')
        refused = reader.get(reader.base + path + 'network-get-interfaces', verify=lab.cafile)
        assert (refused.status_code, message(refused)) == (403, 'Permission check failed (/vms/4508, VM.Monitor)')
        hq = api(lab, user='hq@pve', password='hqpass1234')
        assert hq.get(hq.base + path + 'network-get-interfaces', verify=lab.cafile).status_code == 200
        # on PVE 8 the same privilege runs commands as SYSTEM
        assert post(hq, path + 'exec', command='whoami').status_code == 200
    finally:
        lab.stop()


def test_nic_bridge_and_vlan_need_sdn_use(strict_lab):
    pve = strict_lab.regions['east']
    pve.add_user('net@pve', 'netpass123')
    pve.set_acl('/vms', 'PVEVMAdmin', users=['net@pve'])
    ops = api(strict_lab, user='net@pve', password='netpass123')
    nic = 'virtio=BC:24:11:00:00:09,bridge=vmbr0,tag=2300'
    refused = put(ops, E1 + '/qemu/9000/config', net0=nic)
    assert (refused.status_code, message(refused)) == (
        403, 'Permission check failed (/sdn/zones/localnetwork/vmbr0/2300, SDN.Use)')
    pve.set_acl('/sdn/zones/localnetwork/vmbr0', 'PVESDNUser', users=['net@pve'])   # propagates to the VLANs
    assert put(ops, E1 + '/qemu/9000/config', net0=nic).status_code == 200

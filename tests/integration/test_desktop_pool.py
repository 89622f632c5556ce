"""desktop_pool and desktop_power against the lab; the state is checked through the API, not the module's return.

Desktop counts are small (3-12 per store, not 200) to keep the file fast; the benchmark covers 1,000.
Fault tests use a lab of their own, with time_scale > 0 only where a fault must land mid-run.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
import yaml

from conftest import ROOT, api, api_get, lab_env, run_module, run_playbook, start_lab
from storedesk_lab.faults import CLONE_ERROR

IMAGE = {'name': 'store', 'version': '1.0.0'}


def stores(*codes, vlan0=2300, **extra):
    return [dict({'code': c, 'city': 'testcity', 'region': 'east', 'subnet': '10.99.{0}.0/24'.format(i + vlan0 % 200),
                  'vlan': vlan0 + i}, **extra) for i, c in enumerate(codes)]


def pool_args(codes, count, **over):
    args = {'image': IMAGE, 'count': count, 'stores': stores(*codes, vlan0=over.pop('vlan0', 2300))}
    args.update(over)
    return args


def vms_of(lab, codes, region='east'):
    """Every VM of these stores per the API: by store tag, by pool, or by name."""
    session = api(lab, region)
    out = []
    for item in api_get(session, '/cluster/resources', type='vm'):
        if item.get('type') != 'qemu':
            continue
        # name, status and template lag in /cluster/resources (RRD cache, as on PVE): read them live per VM
        base = '/nodes/{0}/qemu/{1}'.format(item['node'], item['vmid'])
        try:
            config = api_get(session, base + '/config')
        except requests.HTTPError as err:
            if 'does not exist' not in str(err):
                raise
            continue              # destroyed between the two reads (a task PVE was still running)
        item = dict(item, name=config.get('name') or '', template=config.get('template', 0),
                    status=api_get(session, base + '/status/current').get('status'))
        if item.get('template'):
            continue
        name, tags = item.get('name') or '', item.get('tags') or ''
        if any(('store-' + c) in tags.split(';') or item.get('pool') == 'store-' + c or name.startswith(c + '-')
               for c in codes):
            out.append(item)
    return out


def check_estate(lab, codes, count, version='1.0.0', region='east', running=True):
    """0 lost, 0 duplicated, 0 orphaned half-clones; every desktop tagged, pooled and in the right state."""
    items = vms_of(lab, codes, region)
    names = [i['name'] for i in items]
    assert len(names) == len(set(names)), 'duplicated: {0}'.format(sorted(n for n in names if names.count(n) > 1))
    for item in items:
        assert item.get('lock') != 'clone', 'half-clone left locked: {0}'.format(item)
        code = item['name'].rsplit('-d', 1)[0]
        assert item.get('pool') == 'store-' + code, 'not in its pool: {0}'.format(item)
        tags = item.get('tags', '').split(';')
        assert 'storedesk' in tags and 'store-' + code in tags and 'v-' + version in tags, item
        if running:
            assert item['status'] == 'running', item
    for code in codes:
        mine = sorted(i['name'] for i in items if i['name'].startswith(code + '-'))
        assert mine == ['{0}-d{1:02d}'.format(code, n) for n in range(1, count + 1)], mine
    return items


def writes(pve):
    return [r for r in pve.requests if r[0] != 'GET' and not r[1].endswith('/access/ticket')]


def background(lab, args, env=None, region='east'):
    """A module run as a separate process (to fault the lab mid-run); returns the Popen."""
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-m', 'storedesk.vdi.desktop_pool',
           '-o', '-a', json.dumps(args)]
    full = lab_env(lab, region)
    full.update(env or {})
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full, cwd=ROOT,
                            start_new_session=True)


def result_of(proc, timeout=240):
    out, err = proc.communicate(timeout=timeout)
    start = out.find('{')
    result = json.loads(out[start:]) if start >= 0 else {}
    result.update(_stdout=out, _stderr=err)
    return proc.returncode, result


def wait_for_requests(pve, suffix, n, timeout=60):
    """Block until the lab has seen n requests ending with suffix (so a fault lands mid-run)."""
    deadline = time.time() + timeout
    while time.time() < deadline and len([r for r in list(pve.requests) if r[1].endswith(suffix)]) < n:
        time.sleep(0.02)


@pytest.fixture
def timed_lab(tmp_path_factory):
    """A lab whose tasks take time (linked clone 2 s -> 0.04 s), so faults can land mid-run."""
    lab = start_lab(tmp_path_factory, time_scale=0.02)
    yield lab
    lab.stop()


@pytest.fixture
def pvestatd_lab(tmp_path_factory):
    """/cluster/resources behind by 10 s as on PVE (RRD cache, on pvestatd's clock): a rerun lands in the window."""
    lab = start_lab(tmp_path_factory, strict={'resources_lag': 10.0})
    yield lab
    lab.stop()


# ----------------------------------------------------------------------------- the happy path


def test_deploy_rerun_check_mode_scale_and_hibernate(pvestatd_lab):
    lab = pvestatd_lab
    pve = lab.regions['east']
    codes = ['tp-0001', 'tp-0002']
    args = pool_args(codes, 3, spares=1, bridge='vmbr1')
    rc, result = run_module(lab, 'desktop_pool', args)
    assert rc == 0, result['_stdout']
    items = check_estate(lab, codes, 4)
    session = api(lab)
    for code in codes:
        mine = [i for i in items if i['name'].startswith(code)]
        assert len(set(i['node'] for i in mine)) == 3                         # spread over the 3 nodes
        spare = [i for i in mine if 'role-spare' in i['tags']]
        assert [s['name'] for s in spare] == [code + '-d04']
    conf = api_get(session, '/nodes/{0}/qemu/{1}/config'.format(items[0]['node'], items[0]['vmid']))
    assert conf['net0'].endswith(',bridge=vmbr1,tag=2300') and conf['vga'] == 'qxl'
    # spice_enhancements is root@pam-only (qemu-server check_vm_modify_config_perm); the token run leaves the
    # template's value and says so (the root@pam case: test_root_sets_spice_enhancements_a_token_cannot).
    assert conf.get('spice_enhancements') is None
    assert result['root_only_not_set']['tp-0001']['spice_enhancements'] == {
        'wanted': 'foldersharing=1,videostreaming=all', 'got': None}
    assert conf['agent'].startswith('enabled=1') and 'storedesk:store=tp-0001' in conf['description']
    assert 'store-tp-0001' in [p['poolid'] for p in api_get(session, '/pools')]

    # Rerun at once (inside /cluster/resources' RRD lag: the new desktops show no name, no status there):
    # nothing to do, no write, no lease; the two region reads plus one live guest list per node that has
    # desktops the RRD cache does not know yet (token auth: no login).
    pve.requests.clear()
    rc, result = run_module(lab, 'desktop_pool', args)
    assert rc == 0 and result['changed'] is False, result['_stdout']
    assert [r[0] for r in pve.requests] == ['GET'] * len(pve.requests), pve.requests
    assert len(pve.requests) <= 2 + 3, pve.requests
    # Rerun once the RRD cache caught up: the two region reads only.
    time.sleep(pve.resources_lag + 0.2)
    pve.requests.clear()
    rc, result = run_module(lab, 'desktop_pool', args)
    assert rc == 0 and result['changed'] is False, result['_stdout']
    assert [r[0] for r in pve.requests] == ['GET', 'GET'], pve.requests

    # Check mode: the real plan, nothing written.
    pve.requests.clear()
    rc, result = run_module(lab, 'desktop_pool', dict(args, count=5), check=True)
    assert rc == 0 and result['changed'] is True
    planned = [d for d in result['desktops'] if d['status'] == 'planned']
    assert dict((d['name'], d['action']) for d in planned if d['store'] == 'tp-0001') == {
        'tp-0001-d04': 'retag', 'tp-0001-d05': 'create+start', 'tp-0001-d06': 'create+start'}   # d04: spare -> desktop
    assert not writes(pve)
    check_estate(lab, codes, 4)

    # Scale down to 1 + 1 spare: an in-use and a protected desktop stay, whatever their index.
    tp1 = dict((i['name'], i) for i in vms_of(lab, ['tp-0001']))
    inuse, protected = tp1['tp-0001-d03'], tp1['tp-0001-d02']
    requests_session = api(lab)
    requests_session.put(requests_session.base + '/nodes/{0}/qemu/{1}/config'.format(inuse['node'], inuse['vmid']),
                         data={'tags': inuse['tags'] + ';inuse'}, verify=lab.cafile).raise_for_status()
    requests_session.put(requests_session.base + '/nodes/{0}/qemu/{1}/config'.format(
        protected['node'], protected['vmid']), data={'protection': 1}, verify=lab.cafile).raise_for_status()
    rc, result = run_module(lab, 'desktop_pool', dict(args, count=1))
    assert rc == 0, result['_stdout']
    left = dict((i['name'], i) for i in vms_of(lab, ['tp-0001']))
    assert sorted(left) == ['tp-0001-d02', 'tp-0001-d03']                    # protected, in use
    # tp-0002: all running, so the highest indexes went; d02 became the spare.
    assert sorted(i['name'] for i in vms_of(lab, ['tp-0002'])) == ['tp-0002-d01', 'tp-0002-d02']

    # Hibernate: running desktops are suspended to disk, spares keep running.
    rc, result = run_module(lab, 'desktop_pool', dict(pool_args(['tp-0002'], 1, spares=1, bridge='vmbr1',
                                                               power='hibernated', vlan0=2301)))
    assert rc == 0, result['_stdout']
    states = dict((i['name'], (i['status'], i.get('lock'))) for i in vms_of(lab, ['tp-0002']))
    roles = dict((i['name'], 'role-spare' in i['tags']) for i in vms_of(lab, ['tp-0002']))
    for name, state in states.items():
        assert state == (('running', None) if roles[name] else ('stopped', 'suspended')), (name, state)


def test_a_rerun_right_after_a_start_sends_no_second_start(lagging_lab):
    """Seconds after a start, /cluster/resources (RRD cache) still says `stopped`: the rerun confirms the power
    state live before it plans a power change, so it starts nothing, writes nothing and reports no change."""
    lab, pve = lagging_lab, lagging_lab.regions['east']
    args = pool_args(['tq-0001'], 2, power='stopped', vlan0=2340)
    rc, result = run_module(lab, 'desktop_pool', args)
    assert rc == 0, result['_stdout']
    pve.rrd_refresh()     # pvestatd's round: the cache has them, stopped (the lab's own next one is a minute away)
    rc, result = run_module(lab, 'desktop_pool', dict(args, power='running'))
    assert rc == 0 and result['changed'], result['_stdout']
    assert [i['status'] for i in api_get(api(lab), '/cluster/resources', type='vm')
            if (i.get('name') or '').startswith('tq-0001')] == ['stopped', 'stopped']     # still in the window
    pve.requests.clear()
    rc, result = run_module(lab, 'desktop_pool', dict(args, power='running'))
    assert rc == 0 and result['changed'] is False, result['_stdout']
    assert not writes(pve), pve.requests
    assert [i['status'] for i in vms_of(lab, ['tq-0001'])] == ['running', 'running']


def test_root_sets_spice_enhancements_a_token_cannot(lab):
    """qemu-server check_vm_modify_config_perm: only root@pam itself (not a token, not even root's) may set it."""
    session = api(lab)
    args = pool_args(['tq-0001'], 1, bridge='vmbr1', vlan0=2350)
    rc, result = run_module(lab, 'desktop_pool', args)               # the lab's token: root@pam!<name>
    assert rc == 0, result['_stdout']
    vm = vms_of(lab, ['tq-0001'])[0]
    path = '/nodes/{0}/qemu/{1}/config'.format(vm['node'], vm['vmid'])
    assert api_get(session, path).get('spice_enhancements') is None
    assert result['root_only_not_set']['tq-0001']['spice_enhancements']['wanted'].startswith('foldersharing=1')
    # the same store with root@pam's password: the value is written, nothing is reported
    args = pool_args(['tq-0001'], 1, bridge='vmbr1', vlan0=2350, spice_video='off')
    rc, result = run_module(lab, 'desktop_pool', args, env={'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': ''})
    assert rc == 0, result['_stdout']
    # on a running desktop PVE keeps it pending until the next start (GET .../pending)
    pending = dict((x['key'], x.get('pending', x.get('value'))) for x in api_get(session, path[:-len('config')] +
                                                                                  'pending'))
    assert pending['spice_enhancements'] == 'foldersharing=1,videostreaming=off', result['_stdout']
    assert result['root_only_not_set'] == {}


def test_desktop_power_by_store_tag_and_query(lagging_lab):
    lab = lagging_lab
    codes = ['tw-0001', 'tw-0002']
    rc, result = run_module(lab, 'desktop_pool', pool_args(codes, 2, vlan0=2400))
    assert rc == 0, result['_stdout']
    rc, result = run_module(lab, 'desktop_power', {'action': 'hibernate', 'query': "[?store=='tw-0001']"},
                            check=True)
    assert rc == 0 and [d['status'] for d in result['desktops']] == ['planned', 'planned']
    assert all(i['status'] == 'running' for i in vms_of(lab, codes))
    rc, result = run_module(lab, 'desktop_power', {'action': 'hibernate', 'stores': ['tw-0001'],
                                                   'tags': ['role-desktop']})
    assert rc == 0, result['_stdout']
    state = dict((i['name'], (i['status'], i.get('lock'))) for i in vms_of(lab, codes))
    assert state['tw-0001-d01'] == state['tw-0001-d02'] == ('stopped', 'suspended')
    assert state['tw-0002-d01'] == ('running', None)
    rc, result = run_module(lab, 'desktop_power', {'action': 'resume', 'query': "[?city=='testcity']",
                                                   'stores': codes})
    assert rc == 0 and sorted(d['operation'] for d in result['desktops']) == ['none', 'none', 'start', 'start']
    assert all(i['status'] == 'running' and not i.get('lock') for i in vms_of(lab, codes))
    rc, result = run_module(lab, 'desktop_power', {'action': 'shutdown', 'stores': ['tw-0002'],
                                                   'shutdown_timeout': 5})
    assert rc == 0 and all(i['status'] == 'stopped' for i in vms_of(lab, ['tw-0002']))
    # a start right after the shutdown: /cluster/resources still says "running" (RRD lag); the live guest list
    # of the node does not
    rc, result = run_module(lab, 'desktop_power', {'action': 'start', 'stores': ['tw-0002']})
    assert rc == 0 and [d['operation'] for d in result['desktops']] == ['start', 'start'], result['_stdout']
    assert all(i['status'] == 'running' for i in vms_of(lab, ['tw-0002']))
    rc, result = run_module(lab, 'desktop_power', {'action': 'start', 'query': "[].name"})
    assert rc != 0 and 'must return desktop records' in result['msg']


def test_bad_input_is_rejected_before_any_change(lab):
    pve = lab.regions['east']
    pve.requests.clear()
    bad = pool_args(['tv-0001', 'tv-0002'], 2)
    bad['stores'][1]['vlan'] = bad['stores'][0]['vlan']
    rc, result = run_module(lab, 'desktop_pool', bad)
    assert rc != 0 and 'store tv-0002: vlan: VLAN 2300' in result['msg'] and 'nothing was changed' in result['msg']
    rc, result = run_module(lab, 'desktop_pool', pool_args(['tv-0001'], 2, image={'name': 'store', 'version': '7.7.7'}))
    assert rc != 0 and 'store tv-0001: image.version: no template tagged image-store and v-7.7.7' in result['msg']
    rc, result = run_module(lab, 'desktop_pool', pool_args(['tv-0001'], 5000))
    assert rc != 0 and 'store tv-0001' in result['msg'] and 'more than the region has room for' in result['msg']
    assert not writes(pve) and not vms_of(lab, ['tv-0001', 'tv-0002'])


# ------------------------------------------------------------------------------- image push


def test_image_push_canary_stops_on_error_and_resumes(fresh_lab):
    pve = fresh_lab.regions['east']
    codes = ['ti-0001']
    rc, result = run_module(fresh_lab, 'desktop_pool', pool_args(codes, 5))
    assert rc == 0, result['_stdout']
    before = dict((i['name'], i['vmid']) for i in vms_of(fresh_lab, codes))
    pve.seed_image({'vmid': 9101, 'image': 'store', 'version': '1.1.0', 'node': 'pve-e1', 'storage': 'vdi-ceph'})
    inuse = [i for i in vms_of(fresh_lab, codes) if i['name'] == 'ti-0001-d04'][0]
    pve.vm(inuse['vmid']).config['tags'] += ';inuse'
    push = pool_args(codes, 5, image={'name': 'store', 'version': '1.1.0'},
                     push={'canary': 1, 'batch_size': 2})

    # The canary's clone fails (twice: clone_retries 1): nothing else is touched, nothing lost.
    pve.fail_next_task('qmclone', CLONE_ERROR.replace('{newid}', 'x'), times=2)
    rc, result = run_module(fresh_lab, 'desktop_pool', push)
    assert rc != 0 and 'ti-0001-d01' in result['msg']
    assert dict((i['name'], i['vmid']) for i in vms_of(fresh_lab, codes)) == before
    skipped = [d for d in result['desktops'] if d['status'] == 'skipped']
    assert len(skipped) == 3 and all('image push stopped' in d['reason'] for d in skipped)

    # The rerun continues: all at 1.1.0 except the desktop in use, which stays and is reported.
    rc, result = run_module(fresh_lab, 'desktop_pool', push)
    assert rc == 0, result['_stdout']
    items = dict((i['name'], i) for i in vms_of(fresh_lab, codes))
    assert sorted(items) == ['ti-0001-d0{0}'.format(n) for n in range(1, 6)]
    for name, item in items.items():
        want = 'v-1.0.0' if name == 'ti-0001-d04' else 'v-1.1.0'
        assert want in item['tags'].split(';') and item['status'] == 'running', item
        assert (item['vmid'] == before[name]) == (name == 'ti-0001-d04')
    kept = [d for d in result['desktops'] if d['name'] == 'ti-0001-d04'][0]
    assert kept['action'] == 'keep' and 'in use' in kept['reason']


# ------------------------------------------------------------------------------------ faults


def test_flaky_network_drops_and_hangs(fresh_lab):
    pve = fresh_lab.regions['east']
    codes = ['tf-0001', 'tf-0002']
    pve.flaky_network(drop_rate=0.05, hang_rate=0.01, hang_secs=4, seed=7)
    args = pool_args(codes, 6, api_timeout=2)
    rc, result = run_module(fresh_lab, 'desktop_pool', args)
    pve.flaky_network()
    for _attempt in range(2):
        if rc == 0:
            break
        rc, result = run_module(fresh_lab, 'desktop_pool', args)
    assert rc == 0, result['_stdout']
    time.sleep(4.5)                      # a hung request may still land: it must only fail
    check_estate(fresh_lab, codes, 6)
    rc, result = run_module(fresh_lab, 'desktop_pool', args)
    assert rc == 0 and result['changed'] is False


def test_backup_lock_on_a_desktop_is_waited_for(timed_lab):
    pve = timed_lab.regions['east']
    codes = ['tb-0001']
    rc, result = run_module(timed_lab, 'desktop_pool', pool_args(codes, 3))
    assert rc == 0, result['_stdout']
    victim = vms_of(timed_lab, codes)[0]
    timed_lab.call(pve.backup(victim['vmid'], secs=100))          # 2 s of lock 'backup'
    rc, result = run_module(timed_lab, 'desktop_pool', pool_args(codes, 3, spares=0, bridge='vmbr1'))
    assert rc == 0, result['_stdout']
    for item in vms_of(timed_lab, codes):     # a running VM takes a NIC change at its next start (pending)
        pending = api_get(api(timed_lab), '/nodes/{0}/qemu/{1}/pending'.format(item['node'], item['vmid']))
        net0 = [p for p in pending if p['key'] == 'net0'][0]
        assert 'bridge=vmbr1' in net0.get('pending', net0.get('value'))
    check_estate(timed_lab, codes, 3)


def test_node_offline_mid_run_reports_its_desktops_and_the_rest_finish(timed_lab):
    pve = timed_lab.regions['east']
    codes = ['to-0001', 'to-0002']
    proc = background(timed_lab, pool_args(codes, 9, concurrency_per_node=1))
    wait_for_requests(pve, '/status/start', 4)
    pve.set_node_offline('pve-e3')
    rc, result = result_of(proc)
    failed = [d for d in result.get('desktops', []) if d['status'] == 'failed']
    assert rc != 0 and failed and all(d['node'] == 'pve-e3' for d in failed), result['_stdout'][-3000:]
    assert all(d['status'] == 'ok' for d in result['desktops'] if d['node'] != 'pve-e3')
    pve.set_node_offline('pve-e3', offline=False)
    time.sleep(0.5)
    rc, result = run_module(timed_lab, 'desktop_pool', pool_args(codes, 9))
    assert rc == 0, result['_stdout']
    check_estate(timed_lab, codes, 9)


def test_lost_quorum_fails_cleanly_and_the_next_run_converges(fresh_lab):
    pve = fresh_lab.regions['east']
    codes = ['tq-0001']
    pve.lose_quorum()
    rc, result = run_module(fresh_lab, 'desktop_pool', pool_args(codes, 3))
    assert rc != 0 and 'quorum' in result['msg']
    assert not [i for i in vms_of(fresh_lab, codes) if i.get('lock') == 'clone']
    pve.regain_quorum()
    rc, result = run_module(fresh_lab, 'desktop_pool', pool_args(codes, 3))
    assert rc == 0, result['_stdout']
    check_estate(fresh_lab, codes, 3)


def test_clone_task_error_is_reported_and_retried_next_run(fresh_lab):
    pve = fresh_lab.regions['east']
    codes = ['tc-0001']
    pve.fail_next_task('qmclone', CLONE_ERROR.replace('{newid}', 'x'), times=3)
    rc, result = run_module(fresh_lab, 'desktop_pool', pool_args(codes, 4, clone_retries=0))
    assert rc != 0 and 'clone' in result['msg'] and 'Input/output error' in result['msg']
    failed = [d for d in result['desktops'] if d['status'] == 'failed']
    assert len(failed) == 3
    assert not [i for i in vms_of(fresh_lab, codes) if i.get('lock') == 'clone']
    rc, result = run_module(fresh_lab, 'desktop_pool', pool_args(codes, 4))
    assert rc == 0, result['_stdout']
    check_estate(fresh_lab, codes, 4)


def test_tickets_revoked_mid_run_log_in_again(timed_lab):
    pve = timed_lab.regions['east']
    codes = ['tt-0001']
    env = {'PROXMOX_TOKEN_ID': '', 'PROXMOX_TOKEN_SECRET': ''}
    proc = background(timed_lab, pool_args(codes, 8, concurrency_per_node=1), env=env)
    wait_for_requests(pve, '/clone', 3)
    pve.revoke_tickets()
    rc, result = result_of(proc)
    assert rc == 0, result['_stdout'][-3000:]
    assert result['logins'] == 2
    check_estate(timed_lab, codes, 8)


def test_two_runs_at_once_never_collide_on_vmids(timed_lab):
    first = background(timed_lab, pool_args(['ta-0001'], 8, vlan0=2500))
    second = background(timed_lab, pool_args(['ta-0002'], 8, vlan0=2600))
    (rc1, r1), (rc2, r2) = result_of(first), result_of(second)
    assert rc1 == 0 and rc2 == 0, (r1.get('msg'), r2.get('msg'), r1['_stdout'][-1000:], r2['_stdout'][-1000:])
    items = check_estate(timed_lab, ['ta-0001', 'ta-0002'], 8)
    assert len(set(i['vmid'] for i in items)) == 16


# ----------------------------------------------------------------------- playbooks and kill -9


def write_inventory(tmp_path, lab, codes, baseline=2, event=4):
    pve = lab.regions['east']
    hosts = dict((c, {'store_region': 'east', 'store_city': 'testcity', 'store_subnet': '10.98.{0}.0/24'.format(i),
                      'store_vlan': 2700 + i, 'store_desktops': {'baseline': baseline, 'event': event, 'spares': 0},
                      'store_image': IMAGE}) for i, c in enumerate(codes))
    inv = {'all': {'vars': {'ansible_connection': 'local',
                            'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                            'storedesk_regions': {'east': {'api_host': pve.host, 'api_port': pve.port}}},
                   'children': {'stores': {'hosts': hosts}}}}
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump(inv))
    return str(path)


def test_scale_event_then_reclaim_with_report(fresh_lab, tmp_path):
    codes = ['tr-0001', 'tr-0002']
    inv = write_inventory(tmp_path, fresh_lab, codes)
    proc = run_playbook(fresh_lab, 'playbooks/scale_event.yml', {'stores': 'tr-0001,tr-0002'}, args=['-i', inv])
    assert proc.returncode == 0, proc.stdout[-3000:]
    check_estate(fresh_lab, codes, 4)
    pve = fresh_lab.regions['east']
    keep = [i for i in vms_of(fresh_lab, ['tr-0001']) if i['name'] == 'tr-0001-d04'][0]
    pve.vm(keep['vmid']).config['tags'] += ';inuse'
    proc = run_playbook(fresh_lab, 'playbooks/reclaim.yml', {'report_dir': str(tmp_path / 'reports'),
                                                             'reclaim_backup': 'vzdump'}, args=['-i', inv])
    assert proc.returncode == 0, proc.stdout[-3000:]
    names = sorted(i['name'] for i in vms_of(fresh_lab, codes))
    assert names == ['tr-0001-d01', 'tr-0001-d04', 'tr-0002-d01', 'tr-0002-d02'], names
    reports = list((tmp_path / 'reports').glob('reclaim-*.json'))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert sorted(d['name'] for d in report['destroyed']) == ['tr-0001-d02', 'tr-0001-d03', 'tr-0002-d03',
                                                              'tr-0002-d04']
    assert all(d.get('backup') == 'vzdump' for d in report['destroyed'])
    assert [(k['name'], 'in use' in (k.get('reason') or '')) for k in report['kept']] == [('tr-0001-d04', True)], \
        report['kept']
    vzdumps = [r for r in pve.requests if r[0] == 'POST' and r[1].endswith('/vzdump')]
    assert len(vzdumps) == 4


def test_kill_9_of_ansible_playbook_mid_run_then_converge(timed_lab, tmp_path):
    codes = ['tk-0001', 'tk-0002']
    inv = write_inventory(tmp_path, timed_lab, codes, baseline=10, event=10)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'playbooks/scale_event.yml',
           '-i', inv, '-e', json.dumps({'stores': ','.join(codes), 'store_pool_concurrency_per_node': 1})]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lab_env(timed_lab), cwd=ROOT,
                            start_new_session=True)
    pve = timed_lab.regions['east']
    deadline = time.time() + 60
    while time.time() < deadline and len([r for r in pve.requests if r[1].endswith('/clone')]) < 5:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    made = vms_of(timed_lab, codes)
    assert 0 < len(made) < 20
    time.sleep(0.5)                   # PVE finishes the tasks it had started
    proc = run_playbook(timed_lab, 'playbooks/scale_event.yml', {'stores': ','.join(codes)}, args=['-i', inv])
    assert proc.returncode == 0, proc.stdout[-3000:]
    check_estate(timed_lab, codes, 10)

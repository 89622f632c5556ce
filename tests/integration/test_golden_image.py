"""golden_image and golden_image_info on the lab: two versions in two regions, idempotence, retention that spares
what is used or pinned, failed builds that leave no template, check mode, and the faults of a build."""

import time

import pytest

from conftest import api, api_get, fresh_lab, run_module, run_playbook, start_lab  # noqa: F401
from storedesk_lab.windows import contracts_image, pshost

SHARE = r'\\hq-files.storedesk.example'
WINRM_FAST = {'winrm_retries': 0, 'winrm_connection_timeout': 3}


def manifest(version):
    return {
        'software': [
            {'name': '7-Zip 24.08 (x64 edition)', 'version': '24.08.00.0', 'source': SHARE + r'\software\7z2408-x64.msi'},
            {'name': 'POS Client', 'version': version, 'source': SHARE + r'\software\pos-client-{0}.exe'.format(version),
             'args': ['/S', '/ALLUSERS']},
        ],
        'drivers': [{'name': 'Zebra ZD421', 'source': SHARE + r'\drivers\zebra-zd421', 'inf': 'ZDesigner.inf'}],
        'registry': [{'path': r'HKLM:\SOFTWARE\Storedesk', 'name': 'ImageVersion', 'value': version},
                     {'path': r'HKDU:\Software\Policies\Microsoft\Edge', 'name': 'HideFirstRunExperience',
                      'type': 'DWord', 'value': 1}],
        'files': [{'dest': r'C:\Storedesk\image.txt', 'content': 'store image ' + version}],
        'library': {'drive': 'M:', 'unc': SHARE + r'\materials', 'label': 'Materials'},
    }


def image_args(version, region='east', **over):
    args = {'name': 'store', 'version': version, 'node': 'pve-e1' if region == 'east' else 'pve-w1',
            'storage': 'vdi-ceph', 'hardware': {'memory': 8192, 'cores': 4, 'disk_gib': 64},
            'source': {'iso': 'Win11_24H2_x64.iso', 'virtio_iso': 'virtio-win-0.1.271.iso'},
            'manifest': manifest(version), 'retention': 3, 'pinned': ['1.0.0'],
            'timeouts': {'guest_ip': 10, 'winrm': 10, 'sysprep': 10, 'task': 30},
            'share_user': 'HQ\\svc-storedesk', 'share_password': 'Sh4re-Secret!',
            'unattend': {'winrm_subnets': ['127.0.0.0/8'], 'time_zone': 'W. Europe Standard Time'}}
    args.update(WINRM_FAST)
    args.update(over)
    return args


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """A lab of this file's own: retention removes templates other tests may clone from."""
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def vms(lab, region):
    """The region's guests as a user would check them: the list from /cluster/resources (existence, node, tags
    are live there), name and template from each config and power from status/current (the list's own are
    ~10 s old on PVE, and on the strict lab)."""
    session = api(lab, region)
    out = []
    for vm in api_get(session, '/cluster/resources', type='vm'):
        base = '/nodes/{0}/qemu/{1}'.format(vm['node'], vm['vmid'])
        config = api_get(session, base + '/config')
        status = api_get(session, base + '/status/current')
        out.append(dict(vm, name=config.get('name'), template=int(config.get('template') or 0),
                        status=status.get('status'), digest=config.get('digest')))
    return out


def by_name(lab, region, name):
    found = [v for v in vms(lab, region) if v.get('name') == name]
    return found[0] if found else None


def snapshot(lab, region):
    """Everything a run could change: VMs with their status and tags, and every template's config digest."""
    return dict((vm['vmid'], (vm.get('name'), vm.get('status'), vm.get('tags'), vm.get('template'), vm['digest']))
                for vm in vms(lab, region))


def writes(lab, region, since):
    return [(m, p) for m, p, _b in lab.regions[region].requests[since:] if m != 'GET']


def build_vm_hook(lab, region, action):
    """Run action(vm, desktop) on the next build VM the region creates (a fault a test injects)."""
    pve = lab.regions[region]

    async def hook(vmid, ip):
        vm = pve.vm(vmid)
        if vm is not None and str(vm.config.get('name', '')).startswith('build-'):
            action(vm, lab.fleets[region].desktop(vmid))
    pve.on_created.append(hook)
    return lambda: pve.on_created.remove(hook)


# ------------------------------------------------------------------------------------------ builds


def test_build_two_versions_in_two_regions(lab):
    began = time.monotonic()
    for region in ('east', 'west'):
        for version in ('1.1.0', '1.2.0'):
            rc, result = run_module(lab, 'golden_image', image_args(version, region), region=region)
            assert rc == 0, result['_stdout']
            assert result['changed'] and result['plan']['action'] == 'build'
            steps = [s['step'] for s in result['build']['steps']]
            assert steps == ['software[0] 7-Zip 24.08 (x64 edition)', 'software[1] POS Client',
                             'drivers[0] Zebra ZD421', 'registry (2 settings)', 'files (1)', 'library M:', 'sysprep']
            assert all(s['ok'] for s in result['build']['steps'])
            tpl = by_name(lab, region, 'tpl-store-' + version)
            assert tpl and tpl['template'] == 1
            assert tpl['tags'] == 'image-store;storedesk;v-' + version
            config = api_get(api(lab, region), '/nodes/{0}/qemu/{1}/config'.format(tpl['node'], tpl['vmid']))
            assert 'manifest-sha256: ' + result['hash'] in config['description']
            assert (config['machine'], config['bios'], config['vga'], config['scsihw']) == \
                ('q35', 'ovmf', 'qxl', 'virtio-scsi-single')
            assert 'efitype=4m' in config['efidisk0'] and 'pre-enrolled-keys=1' in config['efidisk0']
            assert 'version=v2.0' in config['tpmstate0']
            assert config['ide2'].startswith('none') and config['ide0'].startswith('none')   # ISOs ejected
            assert not [v for v in vms(lab, region) if str(v.get('name')).startswith('build-')]
            # The fake Windows of the build VM went through the manifest.
            desktop = lab.fleets[region].desktop(tpl['vmid'])
            assert {s['name'] for s in desktop.installed_software} == {'7-Zip 24.08 (x64 edition)', 'POS Client'}
            assert [d['original'].lower() for d in desktop.driver_store.values()] == ['zdesigner.inf']
            assert desktop.registry[r'HKLM:\SOFTWARE\Storedesk']['ImageVersion']['value'] == version
            assert desktop.default_user.mapped_drives['M:'] == SHARE + r'\materials'
            assert desktop.sysprep_state == 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
    assert time.monotonic() - began < 60
    # the seeded 1.0.0 template is pinned by the runs (tag), and nothing was removed (retention 3)
    assert 'pinned' in by_name(lab, 'east', 'tpl-store-1.0.0')['tags']


def test_an_iso_build_is_unattended_with_a_generated_answer_iso(fresh_lab, tmp_path):
    """Defect 3 (nothing unattended): Setup gets autounattend.xml on a CD of its own, uploaded through the API,
    attached when the build VM is created, removed from the storage when the template is done."""
    import io
    import pycdlib
    lab = fresh_lab
    pve, since = lab.regions['west'], len(lab.regions['west'].requests)
    tool = tmp_path / 'store-tool-setup.exe'
    tool.write_bytes(b'MZ' + bytes(range(256)) * 5000)          # 1.2 MB: two chunks over WinRM
    args = image_args('1.4.0', 'west')
    args['manifest']['software'].append({'name': 'Store Tool', 'version': '2.0', 'source': str(tool), 'args': ['/S']})
    rc, result = run_module(lab, 'golden_image', args, region='west')
    assert rc == 0, result['_stdout']
    name = 'storedesk-answer-store-1.4.0.iso'
    posts = [(m, p, b) for m, p, b in pve.requests[since:] if m == 'POST']
    upload = [p for m, p, b in posts if p.endswith('/storage/local/upload')]
    assert upload == ['/api2/json/nodes/pve-w1/storage/local/upload']
    assert pve.uploaded['filename'] == name and pve.uploaded['content'] == 'iso'
    assert pve.uploaded['checksum-algorithm'] == 'sha256'
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(pve.uploaded['data']))
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, joliet_path='/autounattend.xml')
    iso.close()
    answer = out.getvalue().decode('utf-8')
    assert '<TimeZone>W. Europe Standard Time</TimeZone>' in answer and '-RemoteAddress 127.0.0.0/8 -Profile Any' in answer
    assert 'Sh4re-Secret!' not in answer
    from urllib.parse import parse_qs
    create = [parse_qs(b.decode()) for m, p, b in posts if p == '/api2/json/nodes/pve-w1/qemu']
    assert create and create[-1]['sata0'] == ['local:iso/{0},media=cdrom'.format(name)]
    assert create[-1]['machine'] == ['q35'] and create[-1]['bios'] == ['ovmf']
    assert 'pre-enrolled-keys=1' in create[-1]['efidisk0'][0] and 'version=v2.0' in create[-1]['tpmstate0'][0]
    # the ISO held the admin password: gone from the storage once the template is done; the template keeps no CD
    content = api_get(api(lab, 'west'), '/nodes/pve-w1/storage/local/content', content='iso')
    assert name not in [c['volid'].split('/', 1)[-1] for c in content]
    tpl = by_name(lab, 'west', 'tpl-store-1.4.0')
    config = api_get(api(lab, 'west'), '/nodes/{0}/qemu/{1}/config'.format(tpl['node'], tpl['vmid']))
    assert config['sata0'].startswith('none')
    # the clones' OOBE is answered too: sysprep ran with the generated unattend
    desktop = lab.fleets['west'].desktop(tpl['vmid'])
    # a controller file reached the VM without a share (pushed in chunks, SHA-256 checked there) and was installed
    pushed = desktop.files['C:\\Windows\\Temp\\storedesk-push\\store-tool-setup.exe']
    assert pushed['bytes'] == tool.stat().st_size
    assert len([n for n, _r in desktop.scripts_run if n == 'file-push/1']) == 2
    assert 'Store Tool' in {s['name'] for s in desktop.installed_software}
    sysprep = [r for n, r in desktop.scripts_run if n == 'image-sysprep/1'][-1]
    assert sysprep['unattend_path'] == r'C:\Windows\System32\Sysprep\storedesk-oobe.xml'
    assert result['build']['steps'][-1]['result']['command_line'].endswith(
        '"/unattend:C:\\Windows\\System32\\Sysprep\\storedesk-oobe.xml"')


def test_second_run_changes_nothing(lab):
    before, since = snapshot(lab, 'east'), len(lab.regions['east'].requests)
    rc, result = run_module(lab, 'golden_image', image_args('1.2.0'))
    assert rc == 0, result['_stdout']
    assert not result['changed'] and result['plan']['action'] == 'up_to_date' and result['build'] is None
    assert result['template']['name'] == 'tpl-store-1.2.0' and result['template']['hash'] == result['hash']
    assert writes(lab, 'east', since) == []
    assert snapshot(lab, 'east') == before


def test_changed_manifest_under_an_existing_version_is_refused(lab):
    before = snapshot(lab, 'west')
    args = image_args('1.2.0', 'west')
    args['manifest']['registry'][0]['value'] = 'something else'
    rc, result = run_module(lab, 'golden_image', args, region='west')
    assert rc != 0
    assert 'already exists as tpl-store-1.2.0' in result['msg'] and 'versions are immutable' in result['msg']
    assert snapshot(lab, 'west') == before


def test_check_mode_shows_the_plan_and_writes_nothing(lab):
    before, since = snapshot(lab, 'east'), len(lab.regions['east'].requests)
    rc, result = run_module(lab, 'golden_image', image_args('1.3.0', retention=1, pinned=[]), check=True)
    assert rc == 0, result['_stdout']
    assert result['changed'] and result['plan']['action'] == 'build'
    assert [r['version'] for r in result['plan']['remove']] == ['1.0.0', '1.1.0', '1.2.0']
    assert result['plan']['tags'] == []          # 1.0.0 loses its pin only by going
    assert writes(lab, 'east', since) == []
    assert snapshot(lab, 'east') == before


def test_retention_never_removes_a_version_in_use_or_pinned(lab):
    session = api(lab, 'east')
    tpl = by_name(lab, 'east', 'tpl-store-1.1.0')
    upid = session.post(session.base + '/nodes/pve-e1/qemu/{0}/clone'.format(tpl['vmid']),
                        data={'newid': 4801, 'name': 'sh-0001-d01'}, verify=session.verify).json()['data']
    assert upid
    session.put(session.base + '/nodes/pve-e1/qemu/4801/config',
                data={'tags': 'storedesk;store-sh-0001;image-store;v-1.1.0;role-desktop'},
                verify=session.verify).raise_for_status()
    rc, result = run_module(lab, 'golden_image', image_args('1.3.0', retention=1, pinned=['1.0.0']))
    assert rc == 0, result['_stdout']
    assert [r['version'] for r in result['removed']] == ['1.2.0']
    kept = dict((k['version'], k['reasons']) for k in result['kept'])
    assert kept['1.0.0'] == ['pinned']
    # the name joins /cluster/resources only when pvestatd's next round has seen the clone; the VMID is always there
    assert kept['1.1.0'] in (['in use by 1 desktop(s): 4801 (sh-0001-d01)'], ['in use by 1 desktop(s): 4801'])
    assert 'requested version' in kept['1.3.0']
    names = {v.get('name') for v in vms(lab, 'east')}
    assert {'tpl-store-1.0.0', 'tpl-store-1.1.0', 'tpl-store-1.3.0', 'sh-0001-d01'} <= names
    assert 'tpl-store-1.2.0' not in names
    # the west region was not touched
    assert by_name(lab, 'west', 'tpl-store-1.2.0') is not None


def test_image_info_reports_versions_users_and_regions(lab):
    regions = [{'name': r, 'api_host': lab.regions[r].host, 'api_port': lab.regions[r].port} for r in ('east', 'west')]
    rc, result = run_module(lab, 'golden_image_info', {'name': 'store', 'regions': regions}, check=True)
    assert rc == 0, result['_stdout']
    versions = dict((v['version'], v) for v in result['images'][0]['versions'])
    assert list(versions) == ['1.3.0', '1.2.0', '1.1.0', '1.0.0']
    assert versions['1.3.0']['latest'] and versions['1.3.0']['missing_in'] == ['west']
    assert versions['1.2.0']['missing_in'] == ['east']
    v11 = versions['1.1.0']
    assert v11['hash_consistent'] and v11['rollback_candidate'] and v11['hash']
    assert v11['desktops'] == 1 and v11['stores'] == ['sh-0001'] and v11['desktops_by_region'] == {'east': 1, 'west': 0}
    assert v11['users'][0]['via'] == 'tags' and v11['users'][0]['region'] == 'east'
    assert versions['1.0.0']['pinned'] and not versions['1.0.0']['hash_consistent']   # seeded, no hash
    assert set(result['regions']) == {'east', 'west'}


def test_image_info_one_region_through_the_usual_options(lab):
    rc, result = run_module(lab, 'golden_image_info', {'region': 'west'}, region='west')
    assert rc == 0, result['_stdout']
    store = [i for i in result['images'] if i['name'] == 'store'][0]
    assert [v['version'] for v in store['versions']] == ['1.2.0', '1.1.0', '1.0.0']
    assert all(v['missing_in'] == [] and list(v['regions']) == ['west'] for v in store['versions'])
    assert result['regions']['west']['api_requests'] <= 6


# ------------------------------------------------------------------------------------------ failures


def test_failed_step_leaves_no_template_and_keeps_the_build_vm(lab):
    bad = SHARE + r'\software\pos-client-1.4.0.exe'
    pshost.INSTALLERS[bad.lower()] = {'exit_code': 1603}
    try:
        rc, result = run_module(lab, 'golden_image', image_args('1.4.0', on_failure='keep'))
    finally:
        pshost.INSTALLERS.pop(bad.lower())
    assert rc != 0
    assert "manifest step 'software[1] POS Client' (install) failed" in result['msg']
    assert 'exited with code 1603 (Fatal error during installation.)' in result['msg']
    assert 'kept for inspection as failed-store-1.4.0' in result['msg']
    assert result['plan']['failure']['step'] == 'software[1] POS Client'
    assert [s['ok'] for s in result['plan']['failure']['steps']] == [True, False]
    kept = by_name(lab, 'east', 'failed-store-1.4.0')
    assert kept and not kept.get('template') and 'failed' in kept['tags'] and 'image-store' not in kept['tags']
    assert not [v for v in vms(lab, 'east') if 'v-1.4.0' in str(v.get('tags'))]
    # the next run says the failed build is there, and plans normally
    rc, result = run_module(lab, 'golden_image', image_args('1.4.0'), check=True)
    assert rc == 0 and any('failed-store-1.4.0' in w for w in result['plan']['warnings']), result['_stdout']


def test_missing_driver_inf_removes_the_build_vm_when_asked(lab):
    package = SHARE + r'\drivers\zebra-zd421-v2'
    contracts_image.DRIVER_PACKAGES[package.lower()] = ['ZDesigner64.inf']
    args = image_args('1.5.0', 'west', on_failure='remove')
    args['manifest']['drivers'][0]['source'] = package
    try:
        rc, result = run_module(lab, 'golden_image', args, region='west')
    finally:
        contracts_image.DRIVER_PACKAGES.pop(package.lower())
    assert rc != 0
    assert "manifest step 'drivers[0] Zebra ZD421' (pnputil)" in result['msg']
    assert 'Failed to add driver package: The system cannot find the file specified.' in result['msg']
    assert 'removed (on_failure=remove)' in result['msg']
    assert result['plan']['failure']['build_vm']['outcome'] == 'removed'
    assert not [v for v in vms(lab, 'west') if '1.5.0' in str(v.get('name')) or 'v-1.5.0' in str(v.get('tags'))]


def test_missing_installer_names_the_path(lab):
    args = image_args('1.5.1', 'west', on_failure='remove')
    args['manifest']['software'][0].update(name='Tool 1.5.1', source=r'\\no-such-server\software\7z.msi')
    rc, result = run_module(lab, 'golden_image', args, region='west')
    assert rc != 0
    assert r"Cannot find path '\\no-such-server\software\7z.msi' because it does not exist." in result['msg']
    assert "software[0]" in result['msg'] and '(copy)' in result['msg']


def test_build_vm_without_guest_agent_times_out_naming_the_agent(lab):
    undo = build_vm_hook(lab, 'east', lambda vm, desktop: vm.config.update(agent='0'))
    try:
        rc, result = run_module(lab, 'golden_image', image_args('1.6.0', on_failure='remove',
                                                               timeouts={'guest_ip': 2, 'task': 30}))
    finally:
        undo()
    assert rc != 0
    assert 'got no IP address from the QEMU guest agent within 2s' in result['msg']
    assert 'guest agent is missing or not running' in result['msg']
    assert result['plan']['failure']['stage'] == 'wait for guest agent IP'
    assert by_name(lab, 'east', 'build-store-1.6.0') is None and by_name(lab, 'east', 'tpl-store-1.6.0') is None


def test_sysprep_that_does_not_power_off_times_out(lab):
    undo = build_vm_hook(lab, 'west', lambda vm, desktop: setattr(desktop.faults, 'sysprep_hangs', 1))
    try:
        rc, result = run_module(lab, 'golden_image', image_args('1.7.0', 'west', on_failure='keep',
                                                               timeouts={'sysprep': 2, 'task': 30}), region='west')
    finally:
        undo()
    assert rc != 0
    assert 'sysprep did not power off build VM build-store-1.7.0' in result['msg']
    kept = by_name(lab, 'west', 'failed-store-1.7.0')
    assert kept and kept['status'] == 'running' and not kept.get('template')
    assert by_name(lab, 'west', 'tpl-store-1.7.0') is None


@pytest.mark.parametrize('over,text', [
    ({'version': 'latest'}, "version: 'latest' is not a version"),
    ({'source': {'iso': 'Win10.iso', 'virtio_iso': 'virtio-win-0.1.271.iso'}},
     'source.iso: ISO local:iso/Win10.iso not found on node pve-e1'),
    ({'storage': 'no-such-storage'}, "storage: unknown storage 'no-such-storage'"),
    ({'node': 'pve-e9'}, "node 'pve-e9' is not in this cluster"),
    ({'source': {'vm': 'no-such-base'}}, "source.vm: no VM or template 'no-such-base'"),
])
def test_bad_input_fails_before_anything_is_written(lab, over, text):
    since = len(lab.regions['east'].requests)
    args = image_args('1.8.0')
    args.update(over)
    rc, result = run_module(lab, 'golden_image', args)
    assert rc != 0 and text in result['msg'], result['msg']
    assert writes(lab, 'east', since) == []


def test_node_without_the_storage(lab):
    session = api(lab, 'east')
    session.post(session.base + '/storage', data={'storage': 'e1-local', 'type': 'dir', 'path': '/var/lib/e1',
                                                  'content': 'images', 'nodes': 'pve-e1'},
                 verify=session.verify).raise_for_status()
    rc, result = run_module(lab, 'golden_image', image_args('1.8.0', node='pve-e2', storage='e1-local'))
    assert rc != 0
    assert "storage: node pve-e2 has no storage 'e1-local'" in result['msg'], result['msg']


def test_clone_source_builds_from_the_base_vm(lab):
    args = image_args('2.0.0', 'west', source={'vm': 'win11-base'}, retention=10,
                      manifest={'registry': [{'path': r'HKLM:\SOFTWARE\Storedesk', 'name': 'ImageVersion',
                                              'value': '2.0.0'}]})
    rc, result = run_module(lab, 'golden_image', args, region='west')
    assert rc == 0, result['_stdout']
    tpl = by_name(lab, 'west', 'tpl-store-2.0.0')
    assert tpl['template'] == 1 and tpl['tags'] == 'image-store;storedesk;v-2.0.0'
    assert by_name(lab, 'west', 'win11-base')['template'] == 0      # the source is untouched


# ------------------------------------------------------------------------------------------ PVE as it answers


@pytest.fixture(scope='module')
def lagging(tmp_path_factory):
    """A lab whose /cluster/resources names and template flags stay as they were at its start (PVE: ~10 s)."""
    lab = start_lab(tmp_path_factory, strict={'resources_lag': 600.0})
    yield lab
    lab.stop()


def base_args(version, **over):
    return image_args(version, 'west', source={'vm': '9000'}, retention=10, manifest={'registry': [
        {'path': r'HKLM:\SOFTWARE\Storedesk', 'name': 'ImageVersion', 'value': version}]}, **over)


def on_request(pve, action):
    """Call action(method, path, body) as each request reaches the region (before PVE answers it)."""
    record = pve._record

    def hooked(request, body):
        record(request, body)
        action(request.method, request.path, body)
    pve._record = hooked
    return lambda: pve.__dict__.pop('_record', None)


def test_a_rerun_right_after_a_build_finds_the_new_version(lagging):
    """/cluster/resources still lists the new template without name or template flag: a rerun must not build
    it again, and golden_image_info lists it."""
    rc, result = run_module(lagging, 'golden_image', base_args('2.1.0'), region='west')
    assert rc == 0 and result['plan']['action'] == 'build', result['_stdout']
    cached = [v for v in api_get(api(lagging, 'west'), '/cluster/resources', type='vm')
              if v['vmid'] == result['build']['vm']['vmid']]
    assert cached and not cached[0].get('template')           # what a read-by-the-list would go by
    since = len(lagging.regions['west'].requests)
    rc, again = run_module(lagging, 'golden_image', base_args('2.1.0'), region='west')
    assert rc == 0 and again['plan']['action'] == 'up_to_date' and not again['changed'], again['_stdout']
    assert writes(lagging, 'west', since) == []
    assert [v['vmid'] for v in vms(lagging, 'west') if v['name'] == 'tpl-store-2.1.0' and v['template']] == \
        [result['build']['vm']['vmid']]
    rc, info = run_module(lagging, 'golden_image_info', {'region': 'west'}, region='west')
    assert rc == 0, info['_stdout']
    store = [i for i in info['images'] if i['name'] == 'store'][0]
    assert [v['version'] for v in store['versions']] == ['2.1.0', '1.0.0']
    assert store['versions'][0]['desktops'] == 0              # the template is not its own user


def test_a_vmid_held_on_another_node_moves_the_build_to_the_next_vmid(lagging):
    """Another team's VM on pve-w2 takes the VMID between nextid and the clone: PVE fails the clone task with
    "close (rename) atomic file ... File exists"; the build goes on under the next VMID."""
    pve, taken = lagging.regions['west'], []

    def collide(method, path, body):
        if method == 'POST' and path.endswith('/clone') and not taken:
            newid = int(dict(x.split('=', 1) for x in body.decode().split('&'))['newid'])
            pve.add_vm(newid, 'other-team-{0}'.format(newid), node='pve-w2')
            taken.append(newid)
    undo = on_request(pve, collide)
    try:
        rc, result = run_module(lagging, 'golden_image', base_args('2.2.0'), region='west')
    finally:
        undo()
    assert rc == 0, result.get('msg') or result['_stdout']
    assert taken and result['build']['vm']['vmid'] != taken[0]
    mine = by_name(lagging, 'west', 'tpl-store-2.2.0')
    other = [v for v in vms(lagging, 'west') if v['vmid'] == taken[0]][0]
    assert mine['template'] and mine['vmid'] == result['build']['vm']['vmid']
    assert (other['node'], other['name'], other['template']) == ('pve-w2', 'other-team-{0}'.format(taken[0]), 0)


def test_a_build_still_being_cloned_under_a_lower_vmid_goes_first(lagging):
    """Another run's build VM is still in its clone task (config: only `lock: clone`, no name anywhere):
    this run waits until its name is written, sees the same version, and removes its own build VM."""
    pve = lagging.regions['west']
    rival = int(api_get(api(lagging, 'west'), '/cluster/nextid'))
    vm = pve.add_vm(rival, 'VM {0}'.format(rival), node='pve-w1', lock='clone')
    vm.config = {'lock': 'clone'}
    reads = []

    def clone_done(method, path, body):      # the rival's first disk is copied after our first look at it
        if method == 'GET' and path.endswith('/qemu/{0}/config'.format(rival)):
            reads.append(path)
            if len(reads) == 2:
                vm.config, vm.name, vm.lock = {'name': 'build-store-2.3.0', 'tags': 'role-build;storedesk',
                                               'lock': 'clone'}, 'build-store-2.3.0', 'clone'
    undo = on_request(pve, clone_done)
    try:
        rc, result = run_module(lagging, 'golden_image', base_args('2.3.0'), region='west')
    finally:
        undo()
    assert rc != 0
    assert 'another run started building this version first (build VM vmid {0})'.format(rival) in result['msg']
    assert len(reads) >= 2
    named = [v['vmid'] for v in vms(lagging, 'west') if str(v['name']).endswith('store-2.3.0')]
    assert named == [rival]                    # ours is gone, the rival untouched


# ------------------------------------------------------------------------------------------ the playbook


def write_inventory(lab, path, west_override=None):
    import json
    (path / 'group_vars' / 'all').mkdir(parents=True, exist_ok=True)
    (path / 'hosts.yml').write_text(json.dumps({'all': {'children': {'stores': {'children': {
        'region_east': {'hosts': {'sh-0001': {}}}, 'region_west': {'hosts': {'cd-0201': {}}}}}}}}))
    regions = dict((r, {'api_host': lab.regions[r].host, 'api_port': lab.regions[r].port,
                        'image_node': node, 'image_storage': 'vdi-ceph'})
                   for r, node in (('east', 'pve-e1'), ('west', 'pve-w1')))
    definition = {'name': 'store', 'version': '3.0.0', 'retention': 10, 'pinned': ['1.0.0'],
                  'source': {'iso': 'Win11_24H2_x64.iso', 'virtio_iso': 'virtio-win-0.1.271.iso'},
                  'manifest': manifest('3.0.0'), 'timeouts': {'guest_ip': 10, 'winrm': 10, 'sysprep': 10},
                  'unattend': {'winrm_subnets': ['127.0.0.0/8']}}
    (path / 'group_vars' / 'all' / 'main.yml').write_text(json.dumps({
        'storedesk_regions': regions, 'storedesk_image_manifest': definition,
        'storedesk_share_user': 'HQ\\svc-storedesk', 'storedesk_share_password': 'Sh4re-Secret!',
        'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'}))
    if west_override is not None:
        (path / 'group_vars' / 'region_west').mkdir(parents=True, exist_ok=True)
        changed = dict(definition, manifest=dict(definition['manifest'], **west_override))
        (path / 'group_vars' / 'region_west' / 'main.yml').write_text(json.dumps({'storedesk_image_manifest': changed}))
    return str(path / 'hosts.yml')


def test_playbook_refuses_regions_with_conflicting_manifests(lab, tmp_path):
    inventory = write_inventory(lab, tmp_path, west_override={'files': []})
    proc = run_playbook(lab, 'playbooks/build_image.yml', args=['-i', inventory])
    assert proc.returncode != 0
    assert 'regions are given conflicting image definitions' in proc.stdout, proc.stdout
    assert 'east: store 3.0.0' in proc.stdout and 'west: store 3.0.0' in proc.stdout
    assert by_name(lab, 'east', 'tpl-store-3.0.0') is None and by_name(lab, 'west', 'tpl-store-3.0.0') is None


def test_playbook_builds_one_version_in_every_region_in_parallel(lab, tmp_path):
    inventory = write_inventory(lab, tmp_path)
    proc = run_playbook(lab, 'playbooks/build_image.yml', args=['-i', inventory])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'east: build tpl-store-3.0.0' in proc.stdout and 'west: build tpl-store-3.0.0' in proc.stdout
    assert 'Sh4re-Secret!' not in proc.stdout + proc.stderr       # share password: no_log
    hashes = set()
    for region in ('east', 'west'):
        tpl = by_name(lab, region, 'tpl-store-3.0.0')
        config = api_get(api(lab, region), '/nodes/{0}/qemu/{1}/config'.format(tpl['node'], tpl['vmid']))
        hashes.add(config['description'].split('manifest-sha256: ')[1].split()[0])
    assert len(hashes) == 1       # one manifest, one hash, every region
    proc = run_playbook(lab, 'playbooks/build_image.yml', args=['-i', inventory])
    assert proc.returncode == 0 and 'changed=0' in proc.stdout, proc.stdout
    assert 'east: up_to_date tpl-store-3.0.0' in proc.stdout

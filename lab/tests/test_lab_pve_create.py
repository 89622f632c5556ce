"""A VM being created (POST /nodes/{node}/qemu) as PVE shows it while the create task runs: a config holding only
`lock: create`, no name, no tags, not yet in its pool (qemu-server API2/Qemu.pm create_vm)."""

import pytest
from conftest import api, api_get, start_lab, wait_task

E1 = '/nodes/pve-e1'


@pytest.fixture
def slow_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory, time_scale=0.05, strict=True)
    lab.regions['east'].time_model['qmcreate'] = 40          # 2 real seconds
    yield lab
    lab.stop()


def test_a_vm_being_created_holds_only_its_lock_until_the_worker_writes_its_config(slow_lab):
    session = api(slow_lab)
    session.post(session.base + '/pools', data={'poolid': 'images'}, verify=session.verify).raise_for_status()
    answer = session.post(session.base + E1 + '/qemu', verify=session.verify, data={
        'vmid': 4601, 'name': 'build-store-1-4-0', 'tags': 'storedesk;image-store', 'memory': 4096,
        'pool': 'images'})
    assert answer.status_code == 200, answer.text
    config = api_get(session, E1 + '/qemu/4601/config')
    assert dict((k, v) for k, v in config.items() if k != 'digest') == {'lock': 'create'}
    listed = dict((g['vmid'], g) for g in api_get(session, E1 + '/qemu'))[4601]
    assert listed['name'] == 'VM 4601' and listed.get('lock') == 'create' and not listed.get('tags')
    assert api_get(session, '/pools/images')['members'] == []
    assert wait_task(session, answer.json()['data'])['exitstatus'] == 'OK'
    config = api_get(session, E1 + '/qemu/4601/config')
    assert config['name'] == 'build-store-1-4-0' and 'lock' not in config
    listed = dict((g['vmid'], g) for g in api_get(session, E1 + '/qemu'))[4601]
    assert listed['name'] == 'build-store-1-4-0'
    assert [m['vmid'] for m in api_get(session, '/pools/images')['members']] == [4601]

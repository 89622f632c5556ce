"""The lab checks a CD-ROM drive in a config write as PVE does (lab/storedesk_lab/pve_cdrom.py; qemu-server
src/PVE/API2/Qemu.pm `update_vm_api`, `$check_drive_perms`): VM.Config.CDROM on any bus, not VM.Config.Disk, and
a running VM has its CD ejected at once (QemuServer.pm `vmconfig_update_disk`, cdrom branch), not left pending."""

import pytest
from conftest import api, api_get, put, start_lab, wait_task

E1 = '/nodes/pve-e1'


@pytest.fixture(scope='module')
def cd_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def test_a_cd_on_sata_needs_config_cdrom_and_is_ejected_at_once_from_a_running_vm(cd_lab):
    pve, root = cd_lab.regions['east'], api(cd_lab)
    wait_task(root, root.post(root.base + E1 + '/qemu/9100/clone', data={'newid': 4601, 'name': 'cd-4601'},
                              verify=root.verify).json()['data'])
    assert put(root, E1 + '/qemu/4601/config', sata0='local:iso/virtio-win-0.1.271.iso,media=cdrom').ok
    wait_task(root, root.post(root.base + E1 + '/qemu/4601/status/start', verify=root.verify).json()['data'])
    pve.add_role('CdOnly', ['VM.Audit', 'VM.Config.CDROM'])
    pve.add_role('DiskOnly', ['VM.Audit', 'VM.Config.Disk'])
    pve.add_user('cd@pve', 'cdpass1234')
    pve.add_user('disk@pve', 'diskpass12')
    pve.set_acl('/vms/4601', 'CdOnly', users=['cd@pve'])
    pve.set_acl('/vms/4601', 'DiskOnly', users=['disk@pve'])
    disk = api(cd_lab, user='disk@pve', password='diskpass12')
    refused = put(disk, E1 + '/qemu/4601/config', sata0='none,media=cdrom')
    assert refused.status_code == 403 and 'VM.Config.CDROM' in refused.json().get('message', ''), refused.text
    cd = api(cd_lab, user='cd@pve', password='cdpass1234')
    assert put(cd, E1 + '/qemu/4601/config', sata0='none,media=cdrom').ok
    assert api_get(root, E1 + '/qemu/4601/config')['sata0'].startswith('none')        # ejected, not pending
    assert api_get(root, E1 + '/qemu/4601/status/current')['status'] == 'running'
    refused = put(cd, E1 + '/qemu/4601/config', scsi1='vdi-ceph:1')                   # a disk still needs Disk
    assert refused.status_code == 403 and 'VM.Config.Disk' in refused.json().get('message', ''), refused.text

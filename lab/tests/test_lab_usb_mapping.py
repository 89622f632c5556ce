"""The lab's USB mappings and usbN rules (lab/storedesk_lab/pve_usb_mapping.py), over HTTPS."""


import pytest
from fakepve import FakePve
from served_pve import Api, message, new_pve, pki, serve  # noqa: F401 - pki is a fixture

from storedesk_lab.pve_access import AccessControlApi
from storedesk_lab.pve_usb_mapping import UsbMappingApi, check_usb_config


class Pve(UsbMappingApi, AccessControlApi, FakePve):
    pass


@pytest.fixture
def pve(pki):  # noqa: F811 - the imported fixture
    """A started Pve (two nodes, a clerk with VM.Config.HWType on store-a) on its own loop, port 0."""
    pve = new_pve(Pve)
    pve.add_node('pve2')
    pve.add_vm(100, 'a-desk-01', pool='store-a')
    pve.add_vm(101, 'a-desk-02', node='pve2', pool='store-a')
    pve.add_role('DeskTech', ['VM.Audit', 'VM.Config.HWType', 'VM.PowerMgmt'])
    pve.add_user('tech@pve', 'techpass123')
    pve.set_acl('/pool/store-a', 'DeskTech', users=['tech@pve'])
    yield from serve(pve, pki)


MAPS = '/cluster/mapping/usb'
CONFIG = '/nodes/pve1/qemu/100/config'


def test_mapping_crud_with_digest(pve):
    root = Api(pve)
    root.ok('POST', MAPS, id='scanner', description='Till scanner', map=['node=pve1,id=05e0:1200,path=1-2.3'])
    listed = root.ok('GET', MAPS)
    assert [(m['id'], m['map'], m['description']) for m in listed] == [
        ('scanner', ['node=pve1,id=05e0:1200,path=1-2.3'], 'Till scanner')]
    one = root.ok('GET', MAPS + '/scanner')
    assert one['map'] == listed[0]['map'] and one['digest'] == listed[0]['digest']
    stale = root('PUT', MAPS + '/scanner', map='node=pve1,id=05e0:1200', digest='0' * 40)
    assert (stale.status_code, message(stale)) == (
        500, 'update hardware mapping failed: detected modified configuration - file changed by other user? '
             'Try again.')
    root.ok('PUT', MAPS + '/scanner', map=['node=pve1,id=05e0:1200', 'node=pve2,id=05e0:1200'],
            digest=one['digest'], delete='description')
    assert root.ok('GET', MAPS + '/scanner')['map'] == ['node=pve1,id=05e0:1200', 'node=pve2,id=05e0:1200']
    assert pve.usb_mappings['scanner']['description'] == ''
    assert pve.usb_mapping_device('scanner', 'pve2') == '05e0:1200'
    assert pve.usb_mapping_device('scanner', 'pve3') is None
    both = root('PUT', MAPS + '/scanner', map='node=pve1,id=05e0:1200', description='x', delete='description')
    assert message(both) == ("update hardware mapping failed: cannot set and delete property 'description' "
                             "at the same time!")
    dup = root('POST', MAPS, id='scanner', map='node=pve1,id=05e0:1200')
    assert (dup.status_code, message(dup)) == (500, "create hardware mapping failed: usb ID 'scanner' already defined")
    missing = root('PUT', MAPS + '/nosuch', map='node=pve1,id=05e0:1200')
    assert message(missing) == "update hardware mapping failed: usb ID 'nosuch' does not exist"
    root.ok('DELETE', MAPS + '/scanner')
    assert root.ok('GET', MAPS) == []
    gone = root('GET', MAPS + '/scanner')
    assert (gone.status_code, message(gone)) == (500, "mapping 'scanner' not found")


def test_mapping_validation(pve):
    root = Api(pve)
    bad_id = root('POST', MAPS, id='scanner', map=['node=pve1,id=05e0:1200', 'node=pve2,id=5e0:12000'])
    assert bad_id.status_code == 400
    assert bad_id.json()['errors'] == {
        'map[1]': 'invalid format - format error\nmap[1].id: value does not match the regex pattern\n'}
    bad_path = root('POST', MAPS, id='scanner', map='node=pve1,id=05e0:1200,path=1-x')
    assert 'map[0].path: value does not match the regex pattern' in bad_path.json()['errors']['map[0]']
    assert root('POST', MAPS, id='scanner', map='id=05e0:1200').status_code == 400   # node is required
    assert root('POST', MAPS, id='scanner', map='node=pve1,id=05e0:1200,speed=9').status_code == 400
    assert root('POST', MAPS, id='x', map='node=pve1,id=05e0:1200').status_code == 400  # pve-configid
    assert pve.usb_mappings == {}
    # an entry for a node the cluster lacks is accepted, as in PVE; check-node reports what PVE reports
    root.ok('POST', MAPS, id='scanner', map='node=pve9,id=05e0:1200')
    checked = root.ok('GET', MAPS, **{'check-node': 'pve1'})
    assert checked[0]['errors'] == [{'severity': 'warning', 'message': 'No mapping for node pve1.'}]
    pve.usb_host_devices['pve9'] = [{'id': '046d:c52b', 'path': '1-1'}]
    pve.add_node('pve9')
    assert root.ok('GET', MAPS, **{'check-node': 'pve9'})[0]['errors'] == [
        {'severity': 'error', 'message': "Invalid configuration: usb device '05e0:1200' not found"}]


def test_mapping_visibility_and_modify_rights(pve):
    Api(pve).ok('POST', MAPS, id='scanner', map='node=pve1,id=05e0:1200')
    tech = Api(pve, 'tech@pve', 'techpass123')
    assert tech.ok('GET', MAPS) == []
    assert tech('GET', MAPS + '/scanner').status_code == 403
    assert tech('POST', MAPS, id='printer', map='node=pve1,id=04b8:0202').status_code == 403
    pve.set_acl('/mapping/usb/scanner', 'PVEMappingUser', users=['tech@pve'])
    assert [m['id'] for m in tech.ok('GET', MAPS)] == ['scanner']
    assert tech('PUT', MAPS + '/scanner', map='node=pve1,id=05e0:1201').status_code == 403


def test_host_devices_are_root_only(pve):
    tech = Api(pve, 'tech@pve', 'techpass123')
    for value in ('host=05e0:1200', '05e0:1200', 'host=1-2.3'):
        refused = tech('PUT', CONFIG, usb0=value)
        assert (refused.status_code, message(refused)) == (500, "only root can set 'usb0' config for real devices")
    assert 'usb0' not in pve.vm(100).config
    tech.ok('PUT', CONFIG, usb1='spice,usb3=1')
    Api(pve).ok('PUT', CONFIG, usb0='host=05e0:1200')
    # replacing or deleting root's device is root's business too
    assert message(tech('PUT', CONFIG, usb0='spice')) == "only root can set 'usb0' config for real devices"
    assert message(tech('PUT', CONFIG, delete='usb0')) == "only root can set 'usb0' config for real devices"
    neither = tech('PUT', CONFIG, usb2='usb3=1')
    assert message(neither) == "either 'host' or 'mapping' must be set."
    bad = Api(pve)('PUT', CONFIG, usb3='host=zz')
    assert bad.status_code == 400
    assert bad.json()['errors']['usb3'].startswith('invalid format - format error\nusb3.host:')
    # PVE compares the user with 'root@pam': root's API tokens are refused too
    pve.add_token('root@pam', 'ci', 'cisecret', privsep=0)
    token = Api(pve, token='root@pam!ci=cisecret')
    assert message(token('PUT', CONFIG, usb4='host=05e0:1200')) == "only root can set 'usb4' config for real devices"
    # the asynchronous form fails its task with the same message
    upid = tech.ok('POST', CONFIG, usb5='host=05e0:1200')
    assert pve.tasks[upid]['exitstatus'] == "only root can set 'usb5' config for real devices"
    # no VM.Config.HWType: refused before the device is looked at
    pve.add_user('viewer@pve', 'viewpass123')
    pve.set_acl('/vms/100', 'PVEAuditor', users=['viewer@pve'])
    denied = Api(pve, 'viewer@pve', 'viewpass123')('PUT', CONFIG, usb6='spice')
    assert (denied.status_code, message(denied)) == (403, 'Permission check failed (/vms/100, VM.Config.HWType)')


def test_mapped_devices_need_mapping_use(pve):
    pve.add_usb_mapping('scanner', ['node=pve1,id=05e0:1200'])
    tech = Api(pve, 'tech@pve', 'techpass123')
    refused = tech('PUT', CONFIG, usb0='mapping=scanner')
    assert (refused.status_code, message(refused)) == (
        403, 'Permission check failed (/mapping/usb/scanner, Mapping.Use)')
    pve.set_acl('/mapping/usb/scanner', 'PVEMappingUser', users=['tech@pve'])
    tech.ok('PUT', CONFIG, usb0='mapping=scanner')
    assert pve.vm(100).config['usb0'] == 'mapping=scanner'
    # create with a mapped device: the same checks
    pve.set_acl('/pool/store-a', 'PVEVMAdmin', users=['tech@pve'])
    pve.set_acl('/storage', 'PVEDatastoreUser', users=['tech@pve'])
    made = tech('POST', '/nodes/pve1/qemu', vmid=102, pool='store-a', usb0='mapping=printer')
    assert (made.status_code, message(made)) == (403, 'Permission check failed (/mapping/usb/printer, Mapping.Use)')
    tech.ok('POST', '/nodes/pve1/qemu', vmid=103, pool='store-a', usb0='mapping=scanner')
    assert pve.vm(103).config['usb0'] == 'mapping=scanner'


def test_start_resolves_the_mapping_on_the_vm_node(pve):
    pve.add_usb_mapping('scanner', ['node=pve1,id=05e0:1200'])
    root = Api(pve)
    root.ok('PUT', '/nodes/pve2/qemu/101/config', usb0='mapping=scanner')
    upid = root.ok('POST', '/nodes/pve2/qemu/101/status/start')
    assert pve.tasks[upid]['exitstatus'] == "USB device mapping not found for 'scanner'"
    assert pve.vm(101).status == 'stopped'
    root.ok('PUT', CONFIG, usb0='mapping=scanner')
    pve.usb_host_devices['pve1'] = []
    upid = root.ok('POST', '/nodes/pve1/qemu/100/status/start')
    assert pve.tasks[upid]['exitstatus'] == ("USB Mapping invalid (hardware probably changed): "
                                             "usb device '05e0:1200' not found")
    pve.usb_host_devices['pve1'] = [{'id': '05e0:1200', 'path': '1-2'}]
    upid = root.ok('POST', '/nodes/pve1/qemu/100/status/start')
    assert pve.tasks[upid]['exitstatus'] == 'OK' and pve.vm(100).status == 'running'


def test_check_usb_config_function(pve):
    """The hook for a class that cannot use the mixin."""
    vm = pve.vm(100)
    check_usb_config(pve, vm, 'root@pam', {'usb0': 'host=05e0:1200'})
    check_usb_config(pve, vm, 'tech@pve', {'usb0': 'spice'})
    with pytest.raises(Exception) as caught:
        check_usb_config(pve, vm, 'tech@pve', {'usb0': 'mapping=scanner'})
    assert (caught.value.status, caught.value.message) == (
        403, 'Permission check failed (/mapping/usb/scanner, Mapping.Use)')

"""golden_image's build watching sysprep: a sysprep that ends without powering the VM off, or never finishes, fails
the build with the tail of its own logs (fake PVE client and fake script runner, no lab)."""

from __future__ import annotations

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _image_build as build_mod
from ansible_collections.storedesk.vdi.plugins.module_utils import _image_vm as vm_mod
from ansible_collections.storedesk.vdi.plugins.module_utils._image_build import ImageBuild, StepError
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveTimeoutError

SPEC = {'name': 'store', 'version': '1.1.0', 'node': 'pve-e1', 'manifest': {'sysprep': {'mode_vm': False}},
        'unattend': None}
LOG = {'setuperr.log': '2026-11-29 16:02:11, Error SYSPRP Package Contoso.App_1.0 was installed for a user, but '
                       'not provisioned for all users.', 'setupact.log': 'SYSPRP ActionPlatform::LaunchModule failed'}


class Client(object):
    def __init__(self):
        self.stats = {'requests': 0}

    def get(self, path, **params):
        return {'status': 'running'}

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(p) for p in parts)


def builder(sysprep_facts, timeout):
    def run_script(options, desktop, script, payload, idempotent):
        assert payload == {'sysprep': True}
        return {'ok': True, 'result': {'sysprep': sysprep_facts}}
    b = ImageBuild(Client(), SPEC, winrm_options=_Options(), run_script=run_script, poll=0.01,
                   timeouts={'sysprep': timeout})
    b.vm, b.address = {'vmid': 104, 'node': 'pve-e1', 'name': 'build-store-1.1.0'}, '10.0.0.5'
    return b


class _Options(object):
    operation_timeout, retries = 60, 0


def test_a_sysprep_that_ended_without_powering_off_fails_with_its_log(monkeypatch):
    monkeypatch.setattr(build_mod, 'SYSPREP_LOOK', 0)
    with pytest.raises(StepError) as err:
        builder({'running': False, 'log': LOG}, timeout=5)._wait_off()
    text = str(err.value)
    assert 'sysprep ended on build VM build-store-1.1.0 (vmid 104) without powering it off' in text
    assert 'setuperr.log (last lines):' in text and 'not provisioned for all users' in text


def test_a_sysprep_still_running_at_the_deadline_times_out_with_its_log(monkeypatch):
    monkeypatch.setattr(build_mod, 'SYSPREP_LOOK', 0)
    with pytest.raises(PveTimeoutError) as err:
        builder({'running': True, 'log': LOG}, timeout=0.3)._wait_off()
    text = str(err.value)
    assert 'sysprep did not power off build VM build-store-1.1.0 (vmid 104) within 0.3s' in text
    assert 'LaunchModule failed' in text


class RegionClient(Client):
    """/cluster/resources as PVE serves it right after a create/clone (no cached name), and live configs; each
    config read of a guest still in creation moves it one step on."""

    def __init__(self, resources, configs):
        super().__init__()
        self.resources, self.configs, self.reads = resources, configs, []

    def get(self, path, **params):
        if path == '/cluster/resources':
            return self.resources
        vmid = int(path.split('/')[4])
        self.reads.append(vmid)
        steps = self.configs[vmid]
        return steps.pop(0) if len(steps) > 1 else steps[0]


def first_builder(resources, configs, vmid=120):
    client = RegionClient(resources, configs)
    b = ImageBuild(client, SPEC, winrm_options=_Options(), poll=0.01, timeouts={'task': 5})
    b._first_builder('build-store-1.1.0', vmid)
    return client


def test_a_rival_build_vm_still_in_its_clone_is_awaited_and_wins():
    resources = [{'type': 'qemu', 'vmid': 110, 'node': 'pve-e1', 'status': 'unknown', 'lock': 'clone'},
                 {'type': 'qemu', 'vmid': 120, 'node': 'pve-e1', 'status': 'unknown', 'tags': 'role-build;storedesk'}]
    configs = {110: [{'lock': 'clone'}, {'lock': 'clone'}, {'name': 'build-store-1.1.0', 'lock': 'clone'}]}
    with pytest.raises(build_mod.StoredeskError) as err:
        first_builder(resources, configs)
    assert 'another run started building this version first (build VM vmid 110)' in str(err.value)


def test_other_guests_and_higher_vmids_do_not_stop_a_build():
    resources = [{'type': 'qemu', 'vmid': 101, 'node': 'pve-e1', 'name': 'sh-0001-d01', 'status': 'running',
                  'tags': 'role-desktop;storedesk'},                                       # named in the cache: no read
                 {'type': 'qemu', 'vmid': 105, 'node': 'pve-e1', 'status': 'unknown', 'lock': 'create'},
                 {'type': 'qemu', 'vmid': 130, 'node': 'pve-e1', 'status': 'unknown', 'lock': 'clone'}]
    client = first_builder(resources, {105: [{'lock': 'create'}, {'name': 'build-kiosk-2.0.0'}]})
    assert client.reads == [105, 105]


def test_a_vmid_held_on_another_node_counts_as_taken():
    from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveTaskError
    held = PveTaskError("clone failed: close (rename) atomic file '/etc/pve/nodes/pve-e1/qemu-server/120.conf' "
                        "failed: File exists")
    assert vm_mod.vmid_taken(held)
    assert not vm_mod.vmid_taken(PveTaskError('clone failed: rbd error: no space left'))

"""Product defects the fidelity audit found (docs/fidelity.md, "Product defects"): the collection against the
strict lab where PVE would refuse or answer differently. Each test asserts what a user would notice and is
expected to fail until its owner fixes the product: xfail(strict=True) turns red then - remove the marker."""

import pytest
from conftest import api, api_get, run_module, start_lab

E1 = '/nodes/pve-e1'


def test_clone_collision_on_another_node_moves_to_the_next_vmid(tmp_path_factory):
    lab = start_lab(tmp_path_factory, strict={'resources_lag': 0.0, 'root_only_options': False})
    try:
        pve = lab.regions['east']
        for vmid in range(1000, 1004):                  # another team's VMs on pve-e2, invisible to the token
            pve.add_vm(vmid, 'other-team-{0}'.format(vmid), node='pve-e2')
        pve.add_token('root@pam', 'limited', 'limited-secret', privsep=1)
        pve.set_acl('/', 'Administrator', tokens=['root@pam!limited'])
        for vmid in range(1000, 1004):
            pve.set_acl('/vms/{0}'.format(vmid), 'NoAccess', tokens=['root@pam!limited'])
        env = {'PROXMOX_TOKEN_ID': 'root@pam!limited', 'PROXMOX_TOKEN_SECRET': 'limited-secret',
               'PROXMOX_PASSWORD': ''}
        rc, result = run_module(lab, 'desktop_pool', {
            'image': {'name': 'store', 'version': '1.0.0'}, 'count': 2,
            'stores': [{'code': 'tz-0001', 'city': 'testcity', 'region': 'east', 'subnet': '10.98.1.0/24',
                        'vlan': 2390}]}, env=env)
        session = api(lab)
        members = api_get(session, '/pools/store-tz-0001')['members'] if rc == 0 else []
        assert rc == 0 and len(members) == 2, result.get('msg') or result['_stdout'][-600:]
        assert all(pve.vm(v).node == 'pve-e2' for v in range(1000, 1004))
    finally:
        lab.stop()


def test_image_version_is_seen_right_after_its_template_conversion(tmp_path_factory):
    lab = start_lab(tmp_path_factory, strict={'resources_lag': 30.0})   # the cache refreshes once, at the start
    try:
        root, pve, verify = api(lab), lab.regions['east'], lab.cafile
        root.post(root.base + E1 + '/qemu/9100/clone', data={'newid': 9200, 'name': 'tpl-store-1.2.0', 'full': 1},
                  verify=verify).raise_for_status()
        root.put(root.base + E1 + '/qemu/9200/config', data={'tags': 'image-store;storedesk;v-1.2.0'},
                 verify=verify).raise_for_status()
        pve.rrd_refresh()
        root.post(root.base + E1 + '/qemu/9200/template', verify=verify).raise_for_status()
        assert api_get(root, E1 + '/qemu/9200/config')['template'] == 1            # live: it is a template
        rc, result = run_module(lab, 'golden_image_info', {'name': 'store'})
        assert rc == 0, result['_stdout']
        versions = [v['version'] for i in result['images'] for v in i['versions']]
        assert '1.2.0' in versions, versions
    finally:
        lab.stop()

"""store_access on PVE 8.4: no read-only role may run commands on the desktops.

On PVE 8 every guest-agent call checks VM.Monitor, exec included (qemu-server stable-bookworm
src/PVE/API2/Qemu/Agent.pm `register_command`); the lab serves 8.4's privileges and checks (lab/storedesk_lab/pve_versions.py).
"""

from conftest import api, run_module, start_lab

E1 = '/nodes/pve-e1'


def test_pve8_auditor_cannot_run_commands_on_desktops(tmp_path_factory):
    lab = start_lab(tmp_path_factory, pve_version='8.4')
    try:
        pve, root = lab.regions['east'], api(lab)
        root.post(root.base + '/pools', data={'poolid': 'store-sh-0001'}, verify=lab.cafile).raise_for_status()
        root.post(root.base + E1 + '/qemu/9100/clone', data={'newid': 2601, 'name': 'sh-0001-d01',
                                                            'pool': 'store-sh-0001'}, verify=lab.cafile)
        root.put(root.base + E1 + '/qemu/2601/config', data={'agent': '1'}, verify=lab.cafile).raise_for_status()
        root.post(root.base + E1 + '/qemu/2601/status/start', verify=lab.cafile).raise_for_status()
        pve.vm(2601).started_at -= 3600
        rc, result = run_module(lab, 'store_access', {
            'stores': [{'code': 'sh-0001', 'staff': []}],
            'global_staff': [{'user': 'audrey@pve', 'role': 'auditor', 'password': 'audrey-pass'}]})
        assert rc == 0, result['_stdout']
        audrey = api(lab, user='audrey@pve', password='audrey-pass')
        assert audrey.get(audrey.base + '/cluster/resources', verify=lab.cafile).status_code == 200
        ran = audrey.post(audrey.base + E1 + '/qemu/2601/agent/exec', data={'command': 'whoami'}, verify=lab.cafile)
        assert ran.status_code == 403, 'the read-only auditor ran a command as SYSTEM: {0}'.format(ran.text)
    finally:
        lab.stop()

"""The thin_client role on a real Debian: a bookworm root filesystem built with debootstrap from Debian's
archive, reached with Ansible's chroot connection (community.general.chroot, from the `ansible` package of
requirements-dev.txt). The token comes from store_access against the lab. Needs root, debootstrap and the
network to deb.debian.org; the rootfs tarball and the downloaded .debs are cached under /var/cache/storedesk/
(first run ~5 min, later runs ~2 min).
"""

import configparser
import json
import os
import shutil
import stat
import subprocess
import time

import pytest

from conftest import ROOT, api, api_get, run_playbook, start_lab

CACHE = os.environ.get('STOREDESK_ROOTFS_CACHE', '/var/cache/storedesk')
SUITE, MIRROR = 'bookworm', 'http://deb.debian.org/debian'
# What a Debian thin client installed from the netinst image has that the role relies on: systemd and Python.
INCLUDE = 'systemd,systemd-sysv,python3,python3-apt,ca-certificates'
STORE, TERMINAL, OWN, OTHER = 'sh-0001', 'sh-0001-t01', 7101, 7201
NODE = 'pve-e1'


def rootfs_tarball():
    """The cached minbase rootfs (built once with debootstrap; its build time is printed)."""
    path = os.path.join(CACHE, 'debian-{0}-thin-client-base.tar'.format(SUITE))
    if os.path.exists(path):
        return path
    if os.geteuid() != 0 or not shutil.which('debootstrap'):
        pytest.skip('needs root and debootstrap (apt-get install debootstrap)')
    os.makedirs(CACHE, exist_ok=True)
    build = path + '.build'
    shutil.rmtree(build, ignore_errors=True)
    started = time.monotonic()
    subprocess.run(['debootstrap', '--variant=minbase', '--include=' + INCLUDE, SUITE, build, MIRROR], check=True,
                   capture_output=True)
    shutil.rmtree(os.path.join(build, 'var', 'cache', 'apt', 'archives'), ignore_errors=True)
    subprocess.run(['tar', '-C', build, '-cf', path + '.part', '.'], check=True)
    os.rename(path + '.part', path)
    shutil.rmtree(build, ignore_errors=True)
    print('debootstrap {0} rootfs built in {1:.0f} s'.format(SUITE, time.monotonic() - started))
    return path


@pytest.fixture(scope='module')
def rootfs(tmp_path_factory):
    tarball = rootfs_tarball()
    root = str(tmp_path_factory.mktemp('terminal-root'))
    subprocess.run(['tar', '-C', root, '-xf', tarball], check=True)
    shutil.copy('/etc/resolv.conf', os.path.join(root, 'etc', 'resolv.conf'))
    debs = os.path.join(CACHE, 'apt-archives')   # the .debs the role installs, kept between runs
    archives = os.path.join(root, 'var', 'cache', 'apt', 'archives')
    os.makedirs(os.path.join(archives, 'partial'), exist_ok=True)
    if os.path.isdir(debs):
        for name in os.listdir(debs):
            shutil.copy(os.path.join(debs, name), archives)
    yield root
    os.makedirs(debs, exist_ok=True)
    for name in os.listdir(archives):
        if name.endswith('.deb') and not os.path.exists(os.path.join(debs, name)):
            shutil.copy(os.path.join(archives, name), debs)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope='module')
def rlab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    root = api(lab)
    for pool in ('store-' + STORE, 'store-sh-0002'):
        root.post(root.base + '/pools', data={'poolid': pool}, verify=lab.cafile).raise_for_status()
    for vmid, code in ((OWN, STORE), (OTHER, 'sh-0002')):
        root.post(root.base + '/nodes/{0}/qemu/9100/clone'.format(NODE), verify=lab.cafile,
                  data={'newid': vmid, 'name': '{0}-d{1}'.format(code, vmid), 'pool': 'store-' + code}
                  ).raise_for_status()
    deadline = time.time() + 30
    while len([v for v in api_get(root, '/cluster/resources', type='vm') if v.get('pool')]) < 2:
        assert time.time() < deadline
        time.sleep(0.2)
    yield lab
    lab.stop()


def converge(lab, rootfs, tmp_path, name, extra=None, args=()):
    """The lab inventory's terminal host, pointed at this rootfs; returns (rc, recap, output)."""
    playbook = tmp_path / '{0}.yml'.format(name)
    playbook.write_text('- hosts: terminals\n  gather_facts: false\n  roles: [storedesk.vdi.thin_client]\n')
    with open(lab.cafile) as fh:
        ca = fh.read()
    pve = lab.regions['east']
    extra_vars = dict({'thin_client_api_host': pve.host, 'thin_client_api_port': pve.port,
                       'thin_client_ca_pem': ca, 'thin_client_desktops': ['{0}-d{1}'.format(STORE, OWN)]},
                      **(extra or {}))
    env = {'STOREDESK_TERMINAL_ROOT': rootfs, 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json',
           'STOREDESK_AUDIT_LOG': str(tmp_path / 'audit.jsonl')}
    proc = run_playbook(lab, str(playbook), extra_vars=extra_vars, env=env,
                        args=['-i', os.path.join(ROOT, 'inventories', 'lab'), '--limit', TERMINAL] + list(args))
    out = proc.stdout + proc.stderr
    recap = {}
    for line in proc.stdout.splitlines():
        if line.startswith(TERMINAL) and 'changed=' in line:
            recap = dict((k, int(v)) for k, v in (w.split('=') for w in line.split(':', 1)[1].split()))
    return proc.returncode, recap, out


def test_a_terminal_converges_on_debian_idempotently_and_gets_only_its_token(rlab, rootfs, tmp_path):
    started = time.monotonic()
    rc, recap, out = converge(rlab, rootfs, tmp_path, 'first')
    first = time.monotonic() - started
    assert rc == 0, out[-6000:]
    assert recap['changed'] > 0 and recap['failed'] == 0
    # Debian's packages are really there, and the launcher imports Debian's proxmoxer.
    for binary in ('usr/bin/remote-viewer', 'usr/bin/xinit', 'usr/bin/xset', 'usr/bin/xmessage'):
        assert os.path.exists(os.path.join(rootfs, binary)), binary
    check = subprocess.run(['chroot', rootfs, 'python3', '-c', 'import proxmoxer; print(proxmoxer.__version__)'],
                           capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == '1.2.0', check.stderr
    syntax = subprocess.run(['chroot', rootfs, 'python3', '-m', 'py_compile', '/usr/local/bin/storedesk-launcher'],
                            capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    # The secret: the kiosk user's only, mode 0600; and it is the token's (it opens the terminal's desktop).
    token = os.path.join(rootfs, 'etc', 'storedesk', 'terminal.token')
    info = os.stat(token)
    assert stat.S_IMODE(info.st_mode) == 0o600
    with open(os.path.join(rootfs, 'etc', 'passwd')) as fh:
        kiosk = [line.split(':') for line in fh if line.startswith('kiosk:')][0]
    assert info.st_uid == int(kiosk[2])
    with open(token) as fh:
        secret = fh.read()
    assert secret and secret not in out
    with open(str(tmp_path / 'audit.jsonl')) as fh:
        audit = fh.read()
    assert 'storedesk.vdi.store_access' in audit and 'ansible.builtin.copy' in audit and secret not in audit
    with open(os.path.join(rootfs, 'etc', 'storedesk', 'launcher.json')) as fh:
        conf = json.load(fh)
    assert conf['desktops'] == [{'name': '{0}-d{1}'.format(STORE, OWN), 'vmid': OWN}] and conf['ca_file']
    import requests
    session = requests.Session()
    session.headers['Authorization'] = 'PVEAPIToken={0}={1}'.format(conf['api_token_id'], secret)
    base = rlab.regions['east'].url + '/api2/json/nodes/{0}/qemu/'.format(NODE)
    assert session.get(base + '{0}/status/current'.format(OWN), verify=rlab.cafile).status_code == 200
    assert session.get(base + '{0}/status/current'.format(OTHER), verify=rlab.cafile).status_code == 403
    # The kiosk: unit enabled for the graphical target, which is the default; no blanking.
    wants = os.path.join(rootfs, 'etc', 'systemd', 'system', 'graphical.target.wants', 'storedesk-kiosk.service')
    assert os.readlink(wants) == '/etc/systemd/system/storedesk-kiosk.service'
    assert os.readlink(os.path.join(rootfs, 'etc', 'systemd', 'system', 'default.target')).endswith(
        'graphical.target')
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(os.path.join(rootfs, 'etc', 'systemd', 'system', 'storedesk-kiosk.service'))
    assert (unit['Service']['User'], unit['Service']['PAMName'], unit['Service']['Restart']) == ('kiosk', 'login',
                                                                                                'always')
    assert unit['Service']['ExecStart'].startswith('/usr/bin/xinit /etc/storedesk/kiosk-session -- :0 vt7')
    assert ' -s 0 -dpms' in unit['Service']['ExecStart'] and unit['Install']['WantedBy'] == 'graphical.target'
    for binary in unit['Service']['ExecStart'].split()[:2]:
        assert os.access(os.path.join(rootfs, binary.lstrip('/')), os.X_OK), binary
    with open(os.path.join(rootfs, 'etc', 'storedesk', 'kiosk-session')) as fh:
        session_text = fh.read()
    assert 'xset s off' in session_text and 'xset -dpms' in session_text

    # Second run: nothing changes; check mode with diff agrees.
    rc, recap, out = converge(rlab, rootfs, tmp_path, 'second')
    assert rc == 0 and recap['changed'] == 0, out[-6000:]
    rc, recap, out = converge(rlab, rootfs, tmp_path, 'check', args=['--check', '--diff'])
    assert rc == 0 and recap['changed'] == 0, out[-6000:]
    print('thin_client first converge {0:.0f} s'.format(first))


def test_bad_terminal_settings_fail_naming_field_and_terminal(rlab, rootfs, tmp_path):
    rc, _recap, out = converge(rlab, rootfs, tmp_path, 'bad', extra={'thin_client_desktops': []})
    assert rc != 0 and 'thin_client_desktops' in out and TERMINAL in out


def test_offboarding_the_terminal_revokes_its_token(rlab, rootfs, tmp_path):
    with open(os.path.join(rootfs, 'etc', 'storedesk', 'launcher.json')) as fh:
        token_id = json.load(fh)['api_token_id']
    rc, _recap, out = converge(rlab, rootfs, tmp_path, 'absent', extra={'thin_client_state': 'absent'})
    assert rc == 0, out[-6000:]
    assert not os.path.exists(os.path.join(rootfs, 'etc', 'storedesk', 'terminal.token'))
    user, _b, name = token_id.partition('!')
    tokens = api_get(api(rlab), '/access/users/{0}/token'.format(user))
    assert name not in [t['tokenid'] for t in tokens]

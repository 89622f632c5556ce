"""The execution environment: meta/execution-environment.yml builds a context from the INSTALLED collection alone,
and ansible-builder's introspection of the installed collection finds the same Python and system needs.

No container engine here: the build context (`ansible-builder create`) and ansible-builder's own introspection
are checked instead of an image. The top-level execution-environment.yml (a checkout's EE for AWX, the collection
from its built tarball) is checked too.
"""

import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLUGIN_DEPS = ('requests', 'pywinrm', 'jmespath')
# Every documented WinRM transport: NTLM (pywinrm itself), Kerberos and CredSSP (its extras).
PYWINRM_EXTRAS = {'kerberos', 'credssp'}
TEST_ONLY = ('fakepve', 'pytest', 'molecule', 'testinfra', 'ansible-lint', 'tree-sitter', 'antsibull',
             'ansible-builder', 'psutil', 'pyyaml', 'storedesk-lab', 'storedesk_lab', 'galaxy-importer')
DEV_FILES = ('Makefile', 'ansible.cfg', 'requirements-dev.txt', 'conftest.py', '.ansible-lint', 'pytest.ini',
             'inventories/lab', 'inventories/lab.desktops.yml', 'lab', 'tests', 'bench', 'molecule', 'scripts',
             'changelogs/fragments', 'execution-environment.yml')


def names(requirement_lines):
    out = []
    for line in requirement_lines:
        line = line.split('#')[0].strip()
        if line:
            out.append(line.split('[')[0].split('>')[0].split('=')[0].split('<')[0].strip().lower())
    return out


def extras_of(requirement_lines, name):
    for line in requirement_lines:
        line = line.split('#')[0].strip()
        if line.lower().startswith(name + '[') and ']' in line:
            return set(e.strip() for e in line[len(name) + 1:line.index(']')].split(','))
    return set()


def run(cmd, **kwargs):
    env = dict(os.environ)
    env.pop('ANSIBLE_CONFIG', None)
    env['ANSIBLE_COLLECTIONS_PATH'] = kwargs.pop('collections', '/nonexistent')
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, **kwargs)
    assert proc.returncode == 0, ' '.join(cmd) + '\n' + proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    if not os.path.exists(os.path.join(BIN, 'ansible-builder')):
        pytest.skip('ansible-builder is not installed (requirements-dev.txt)')
    work = tmp_path_factory.mktemp('ee')
    (work / 'build').mkdir()
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(work / 'build'),
         ROOT], cwd=str(work))
    tarball = next((work / 'build').glob('storedesk-vdi-*.tar.gz'))
    colls = work / 'collections'
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--no-deps', '-p', str(colls),
         str(tarball)], cwd=str(work), collections=str(colls))
    return work, tarball, colls / 'ansible_collections' / 'storedesk' / 'vdi'


def test_the_tarball_ships_the_ee_inputs_and_no_developer_file(built):
    _work, tarball, _installed = built
    with tarfile.open(str(tarball)) as tar:
        members = set(m.name for m in tar.getmembers())
    for name in ('requirements.txt', 'bindep.txt', 'requirements.yml', 'meta/execution-environment.yml',
                 'meta/requirements.txt', 'meta/bindep.txt'):
        assert name in members, name
    leaked = sorted(m for m in members if any(m == d or m.startswith(d + '/') for d in DEV_FILES))
    assert not leaked, leaked


def test_meta_definition_takes_a_current_core_and_every_transport():
    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml')) as fh:
        ee = yaml.safe_load(fh)
    assert ee['version'] == 3
    deps = ee['dependencies']
    assert deps['python'] == 'requirements.txt' and deps['system'] == 'bindep.txt'
    # Paths are relative to meta/ for `ansible-builder create` and to the collection root for introspection.
    # (the files live in meta/; the root's requirements.txt and bindep.txt link to them).
    assert os.readlink(os.path.join(ROOT, 'requirements.txt')) == 'meta/requirements.txt'
    assert os.readlink(os.path.join(ROOT, 'bindep.txt')) == 'meta/bindep.txt'
    assert deps['ansible_core']['package_pip'].startswith('ansible-core>=2.20')   # 2.20/2.21 need Python 3.12+
    assert deps['python_interpreter']['python_path'] in ('/usr/bin/python3.12', '/usr/bin/python3.13')
    with open(os.path.join(ROOT, 'requirements.txt')) as fh:
        lines = fh.read().splitlines()
    assert set(PLUGIN_DEPS) <= set(names(lines))
    assert PYWINRM_EXTRAS <= extras_of(lines, 'pywinrm')


def test_context_builds_from_the_installed_collection_alone(built, tmp_path):
    _work, _tarball, installed = built
    elsewhere = tmp_path / 'cwd'
    elsewhere.mkdir()
    run([os.path.join(BIN, 'ansible-builder'), 'create', '--file', str(installed / 'meta' / 'execution-environment.yml'),
         '--context', str(tmp_path / 'context'), '--output-filename', 'Containerfile'], cwd=str(elsewhere))
    build = tmp_path / 'context' / '_build'
    pip_lines = (build / 'requirements.txt').read_text().splitlines()
    pip = names(pip_lines)
    assert set(PLUGIN_DEPS) <= set(pip)
    assert PYWINRM_EXTRAS <= extras_of(pip_lines, 'pywinrm')
    assert not [n for n in pip if any(t in n for t in TEST_ONLY)], pip
    assert 'ansible' not in pip                 # the big package is a test baseline only
    bindep = (build / 'bindep.txt').read_text()
    for package in ('krb5-workstation', 'krb5-devel', 'gcc', 'python3.12-devel'):
        assert package in bindep, package
    galaxy = yaml.safe_load((build / 'requirements.yml').read_text())
    assert {'storedesk.vdi', 'awx.awx'} <= set(c['name'] for c in galaxy['collections'])
    containerfile = (tmp_path / 'context' / 'Containerfile').read_text()
    assert 'ansible-core>=2.20' in containerfile
    assert 'introspect' in containerfile        # the installed collections' needs are read in the build


def test_introspection_of_the_installed_collection_finds_kerberos_and_no_test_dependency(built, tmp_path):
    _work, _tarball, installed = built
    pip_out, bindep_out = tmp_path / 'pip.txt', tmp_path / 'bindep.txt'
    run([os.path.join(BIN, 'ansible-builder'), 'introspect', '--sanitize', '--write-pip', str(pip_out),
         '--write-bindep', str(bindep_out), str(installed.parent.parent.parent)])
    pip_lines = pip_out.read_text().splitlines()
    assert set(PLUGIN_DEPS) <= set(names(pip_lines))
    assert PYWINRM_EXTRAS <= extras_of(pip_lines, 'pywinrm')
    assert not [n for n in names(pip_lines) if any(t in n for t in TEST_ONLY)], pip_lines
    assert 'krb5-workstation' in bindep_out.read_text()


def test_checkout_ee_installs_the_built_tarball_and_awx(built, tmp_path):
    work, _tarball, _installed = built
    src = tmp_path / 'src'
    shutil.copytree(str(work / 'build'), str(src / 'build'))
    for name in ('execution-environment.yml', 'requirements.yml'):
        shutil.copy(os.path.join(ROOT, name), str(src / name))
    run([os.path.join(BIN, 'ansible-builder'), 'create', '--file', 'execution-environment.yml',
         '--context', str(tmp_path / 'context'), '--output-filename', 'Containerfile'], cwd=str(src))
    build = tmp_path / 'context' / '_build'
    assert list((build / 'collections').glob('storedesk-vdi-*.tar.gz'))
    galaxy = yaml.safe_load((build / 'requirements.yml').read_text())
    assert [c['name'] for c in galaxy['collections']] == ['awx.awx']
    containerfile = (tmp_path / 'context' / 'Containerfile').read_text()
    assert 'ansible-galaxy collection install --offline --no-deps' in containerfile
    assert 'ansible-core>=2.20' in containerfile

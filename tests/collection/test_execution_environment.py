"""execution-environment.yml: ansible-builder makes a build context with the plugins' needs and nothing of the lab.

No container engine here: the build context (`ansible-builder create`) and what ansible-builder's own
introspection would install are checked instead of an image.
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
PLUGIN_DEPS = ('requests', 'pywinrm', 'pyspnego', 'netaddr', 'jmespath')
TEST_ONLY = ('fakepve', 'pytest', 'molecule', 'testinfra', 'ansible-lint', 'tree-sitter', 'antsibull',
             'ansible-builder', 'psutil', 'pyyaml', 'storedesk-lab', 'storedesk_lab')


def names(requirement_lines):
    out = []
    for line in requirement_lines:
        line = line.split('#')[0].strip()
        if line:
            out.append(line.split('[')[0].split('>')[0].split('=')[0].split('<')[0].strip().lower())
    return out


@pytest.fixture(scope='module')
def context(tmp_path_factory):
    if not os.path.exists(os.path.join(BIN, 'ansible-builder')):
        pytest.skip('ansible-builder is not installed (requirements-dev.txt)')
    work = tmp_path_factory.mktemp('ee')
    src = work / 'src'
    (src / 'build').mkdir(parents=True)
    for name in ('execution-environment.yml', 'requirements.txt', 'bindep.txt'):
        shutil.copy(os.path.join(ROOT, name), str(src / name))
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path',
                    str(src / 'build'), ROOT], check=True, capture_output=True, cwd=ROOT)
    proc = subprocess.run([os.path.join(BIN, 'ansible-builder'), 'create', '--file', 'execution-environment.yml',
                           '--context', str(work / 'context'), '--output-filename', 'Containerfile'],
                          capture_output=True, text=True, cwd=str(src))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work


def test_definition_is_v3_and_uses_the_project_requirements():
    with open(os.path.join(ROOT, 'execution-environment.yml')) as fh:
        ee = yaml.safe_load(fh)
    assert ee['version'] == 3
    assert ee['dependencies']['python'] == 'requirements.txt'
    assert ee['dependencies']['system'] == 'bindep.txt'
    with open(os.path.join(ROOT, 'requirements.txt')) as fh:
        assert set(PLUGIN_DEPS) <= set(names(fh))


def test_context_holds_the_plugin_requirements_and_no_test_dependency(context):
    build = context / 'context' / '_build'
    pip = names((build / 'requirements.txt').read_text().splitlines())
    assert set(PLUGIN_DEPS) <= set(pip)
    assert not [n for n in pip if any(t in n for t in TEST_ONLY)], pip
    assert 'ansible' not in pip                 # the big package is a test baseline only
    bindep = (build / 'bindep.txt').read_text()
    assert 'krb5-workstation' in bindep and 'fakepve' not in bindep
    galaxy = yaml.safe_load((build / 'requirements.yml').read_text())
    assert [c['name'] for c in galaxy['collections']] == ['ansible.windows']
    containerfile = (context / 'context' / 'Containerfile').read_text()
    assert 'ansible-galaxy collection install --offline --no-deps' in containerfile
    assert 'ansible-core>=2.17,<2.20' in containerfile


def test_collection_artifact_in_context_has_no_lab_or_tests(context):
    tarballs = list((context / 'context' / '_build' / 'collections').glob('storedesk-vdi-*.tar.gz'))
    assert len(tarballs) == 1
    with tarfile.open(str(tarballs[0])) as tar:
        top = set(m.name.split('/')[0] for m in tar.getmembers())
    assert {'plugins', 'roles', 'playbooks', 'meta', 'requirements.txt'} <= top
    assert not top & {'lab', 'tests', 'bench', '.venv', 'molecule'}


def test_introspection_of_the_installed_collection_adds_no_test_dependency(context):
    colls = context / 'collections'
    tarball = next((context / 'src' / 'build').glob('*.tar.gz'))
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--no-deps', '-p',
                    str(colls), str(tarball)], check=True, capture_output=True)
    out = context / 'introspect.txt'
    subprocess.run([os.path.join(BIN, 'ansible-builder'), 'introspect', '--sanitize', '--user-pip',
                    str(context / 'src' / 'requirements.txt'), '--write-pip', str(out), str(colls)],
                   check=True, capture_output=True)
    pip = names(out.read_text().splitlines())
    assert set(PLUGIN_DEPS) <= set(pip)
    assert not [n for n in pip if any(t in n for t in TEST_ONLY)], pip

"""docs/build.sh builds HTML for every plugin and fails on any documentation warning."""

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLUGIN_DIRS = {'modules': 'module', 'inventory': 'inventory', 'callback': 'callback',
               'lookup': 'lookup'}


def plugins():
    """(name, type) of every documented plugin of the collection."""
    out = []
    for directory, kind in PLUGIN_DIRS.items():
        path = os.path.join(ROOT, 'plugins', directory)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            if name.endswith('.py') and not name.startswith('_'):
                with open(os.path.join(path, name)) as fh:
                    if 'DOCUMENTATION' in fh.read():
                        out.append((name[:-3], kind))
    return out


def test_docs_build_has_a_page_per_plugin(tmp_path):
    if importlib.util.find_spec('sphinx') is None or not os.path.exists(os.path.join(BIN, 'antsibull-docs')):
        pytest.skip('Sphinx or antsibull-docs is not installed (requirements-dev.txt)')
    env = dict(os.environ, VENV=os.path.dirname(BIN))
    proc = subprocess.run(['bash', os.path.join(ROOT, 'docs', 'build.sh'), str(tmp_path / 'out')],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    pages = tmp_path / 'out' / 'html' / 'collections' / 'storedesk' / 'vdi'
    for name, kind in plugins():
        assert (pages / '{0}_{1}.html'.format(name, kind)).exists(), (name, kind)
    assert (pages / 'desktops_inventory.html').exists() and (pages / 'desktop_access_module.html').exists()

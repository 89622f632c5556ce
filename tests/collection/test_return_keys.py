"""Return values a playbook can reach with Jinja's dot notation: no key named like a dict method.

`result.desktops[0].items` is the dict method `items`, not the list the module returned (ansible-core 2.21's
validate-modules rejects such keys: bad-return-value-key). This checks every module's RETURN on any ansible-core,
and that desktop_printer / desktop_drive records carry their per-item list as `entries`.
"""

import ast
import glob
import os

import yaml

from ansible_collections.storedesk.vdi.plugins.module_utils import _win_devices

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DICT_METHODS = set(name for name in dir(dict) if not name.startswith('_'))


def return_keys(tree, path=''):
    for key, value in (tree or {}).items():
        yield path + key, key
        if isinstance(value, dict) and isinstance(value.get('contains'), dict):
            for found in return_keys(value['contains'], path + key + '.'):
                yield found


def module_returns():
    for path in sorted(glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py'))):
        with open(path) as fh:
            tree = ast.parse(fh.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'RETURN':
                yield os.path.basename(path), yaml.safe_load(node.value.value)


def test_no_module_returns_a_key_named_like_a_dict_method():
    bad = ['{0}: {1}'.format(module, dotted) for module, doc in module_returns()
           for dotted, key in return_keys(doc) if key in DICT_METHODS]
    assert not bad, bad


def test_device_records_carry_their_entries_under_a_reachable_key():
    run = {'name': 'sh-0001-d01', 'address': '10.21.1.21', 'attempts': 1, 'elapsed': 0.1, 'ok': True, 'error': None,
           'error_category': None,
           'result': {'items': [{'kind': 'port', 'name': 'IP_10.21.1.50', 'status': 'changed', 'actions': ['add port']}]}}
    record = _win_devices.desktop_record(run)
    assert 'items' not in record
    assert record['entries'][0]['name'] == 'IP_10.21.1.50'
    unreachable = _win_devices.desktop_record(dict(run, ok=False, error='timed out', error_category='timeout'))
    assert 'items' not in unreachable and unreachable['entries'] == [{'kind': 'port', 'name': 'IP_10.21.1.50',
                                                                      'status': 'changed', 'actions': ['add port']}]

"""The one entry shape (_pve_module.run_module): every module's main() opens its client(s), calls
execute(module, clients) and turns a typed error into one fail_json; the clients are closed either way."""

from __future__ import annotations

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _pve_module as pm
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError, PveApiError
from ansible_collections.storedesk.vdi.plugins.modules import golden_image_info

CONNECTION = dict(api_host='pve-east.example.com', api_port=8006, api_user='root@pam', api_password='s3cret',
                  api_token_id=None, api_token_secret=None, validate_certs=True, ca_path=None, api_timeout=30)


class Ended(SystemExit):            # AnsibleModule exits with SystemExit
    pass


class Module(object):
    check_mode, _diff = False, False

    def __init__(self, **params):
        self.params = dict(CONNECTION, **params)
        self.failed = self.exited = None

    def fail_json(self, **fields):
        self.failed = fields
        raise Ended()

    def exit_json(self, **fields):
        self.exited = fields
        raise Ended()


class FakeClient(object):
    def __init__(self, host='pve', answer=None):
        self.host, self.answer, self.closed = host, answer, False
        self.stats = {'requests': 0}

    def get(self, path, **params):
        self.stats['requests'] += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self):
        self.closed = True


def run(module, execute, **kwargs):
    with pytest.raises(Ended):
        pm.run_module(module, execute, **kwargs)
    return module


def test_the_result_of_execute_is_the_module_result_and_the_client_is_closed():
    client = FakeClient()
    module = run(Module(), lambda m, c: {'changed': True, 'seen': c is client}, connect=lambda m: client)
    assert module.exited == {'changed': True, 'seen': True} and client.closed


def test_a_typed_error_is_one_fail_json_with_its_plan_and_the_client_is_closed():
    client = FakeClient()

    def execute(module, c):
        raise InputError('count must be 0 or more', where='store ut-0001', plan={'ops': []}, secret='x')
    module = run(Module(), execute, connect=lambda m: client)
    assert module.failed == {'msg': 'store ut-0001: count must be 0 or more', 'plan': {'ops': []}}
    assert client.closed


def test_a_bug_is_one_readable_error_with_its_traceback():
    module = run(Module(), lambda m, c: {}['missing'], connect=pm.no_client)
    assert module.failed['msg'] == "unexpected error: 'missing'" and 'KeyError' in module.failed['exception']


def test_a_missing_library_fails_before_anything_is_opened():
    opened = []
    module = run(Module(), lambda m, c: {}, connect=lambda m: opened.append(1), required_libs={'pywinrm': False})
    assert module.failed == {'msg': pm.missing_required_lib('pywinrm')} and opened == []


def test_winrm_modules_get_no_client_without_api_host():
    seen = []
    run(Module(api_host=None), lambda m, c: seen.append(c) or {'changed': False}, connect=pm.optional_client)
    assert seen == [None]


def test_regions_with_the_same_name_fail_before_any_client():
    regions = [{'name': 'east', 'api_host': 'a', 'api_port': 8006}, {'name': 'east', 'api_host': 'b', 'api_port': 8006}]
    module = run(Module(regions=regions, region=None, name=None), lambda m, c: pytest.fail('ran'),
                 connect=pm.region_clients)
    assert module.failed == {'msg': 'regions: every region needs its own name (east, east)'}


def test_golden_image_info_fails_with_what_each_region_answered_when_one_is_unreadable():
    east = FakeClient('pve-east', answer=[])
    west = FakeClient('pve-west', answer=PveApiError(500, 'GET', '/cluster/resources', 'boom'))
    module = run(Module(name=None, regions=None, region=None), golden_image_info.execute,
                 connect=lambda m: {'east': east, 'west': west})
    assert module.failed['msg'].startswith('could not read every region, so no estate view: west: GET /cluster')
    assert module.failed['regions'] == {'east': {'api_host': 'pve-east', 'api_requests': east.stats['requests']},
                                        'west': {'api_host': 'pve-west', 'api_requests': 1}}
    assert east.closed and west.closed


def test_empty_token_variables_mean_the_password_is_used(monkeypatch):
    """PROXMOX_TOKEN_ID='' PROXMOX_TOKEN_SECRET='' (how a job clears an inherited token) is no token at all,
    not "a token id without its secret"."""
    import json
    import sys
    from ansible.module_utils import basic
    for name, value in (('PROXMOX_TOKEN_ID', ''), ('PROXMOX_TOKEN_SECRET', ''), ('PROXMOX_PASSWORD', 'pw')):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', None)
    monkeypatch.setattr(sys, 'argv', ['m', json.dumps({'ANSIBLE_MODULE_ARGS': {'api_host': 'pve-east'}})])
    module = pm.pve_module({})
    assert (module.params['api_token_id'], module.params['api_token_secret']) == (None, None)
    assert module.params['api_password'] == 'pw'


def test_each_region_gets_a_client_of_its_own_with_the_same_credentials():
    regions = [{'name': 'east', 'api_host': 'pve-east', 'api_port': 8006},
               {'name': 'west', 'api_host': 'pve-west', 'api_port': 18006}]
    clients = pm.region_clients(Module(regions=regions, region=None, name=None, api_host=None))
    assert dict((k, (c.netloc, c.user, c.password)) for k, c in clients.items()) == {
        'east': ('pve-east:8006', 'root@pam', 's3cret'), 'west': ('pve-west:18006', 'root@pam', 's3cret')}
    one = pm.region_clients(Module(regions=None, region='north', name=None))
    assert list(one) == ['north'] and one['north'].netloc == 'pve-east.example.com:8006'

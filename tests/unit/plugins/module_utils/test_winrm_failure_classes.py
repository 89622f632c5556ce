"""WinRM authentication and TLS failures are failures, never "unreachable"; Basic over plain HTTP is refused."""

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._probe import must_fail
from ansible_collections.storedesk.vdi.plugins.module_utils._win_devices import desktop_record
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_args import winrm_options


def run(category):
    return {'name': 'sh-0001-d01', 'address': '10.21.1.11', 'attempts': 1, 'elapsed': 0.1, 'ok': False,
            'error': 'x', 'error_category': category, 'result': None}


@pytest.mark.parametrize('category,status', [('auth', 'failed'), ('tls', 'failed'), ('wsman', 'failed'),
                                             ('unreachable', 'unreachable'), ('connection', 'unreachable'),
                                             ('timeout', 'unreachable')])
def test_device_modules_count_auth_and_tls_as_failed(category, status):
    assert desktop_record(run(category))['status'] == status


def test_the_probe_fails_on_rejected_credentials_even_without_fail_on_unreachable():
    result = {'unreachable_desktops': [{'name': 'd1', 'address': 'a', 'error': '401', 'category': 'auth'}]}
    assert must_fail(result, False)
    result['unreachable_desktops'][0]['category'] = 'tls'
    assert must_fail(result, False)
    result['unreachable_desktops'][0]['category'] = 'unreachable'
    assert not must_fail(result, False) and must_fail(result, True)
    assert not must_fail({'unreachable_desktops': []}, True)


def test_basic_over_http_is_refused_unless_allowed():
    params = {'winrm_user': 'u', 'winrm_password': 'p', 'winrm_transport': 'basic', 'winrm_scheme': 'http'}
    with pytest.raises(ValueError, match='clear text.*winrm_allow_basic_over_http=true'):
        winrm_options(params)
    assert winrm_options(dict(params, winrm_allow_basic_over_http=True)).warnings()
    assert winrm_options(dict(params, winrm_scheme='https')).warnings() == []

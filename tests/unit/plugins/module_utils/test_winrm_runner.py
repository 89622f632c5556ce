"""Unit tests of the WinRM runner: delivery, output parsing, retries, secrets (no network)."""

from __future__ import annotations

import base64
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))



import pytest  # noqa: E402
import requests  # noqa: E402
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError  # noqa: E402

from ansible_collections.storedesk.vdi.plugins.doc_fragments.winrm import ModuleDocFragment  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils import _winrm_runner as runner  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_args import WINRM_ARGSPEC, winrm_options  # noqa: E402

SECRET = 'Sup3r-Secret-Pw'


def opts(**kw):
    base = dict(user='admin', password=SECRET, retries=2, backoff=0.001, backoff_max=0.002)
    base.update(kw)
    return runner.WinrmOptions(**base).checked()


class ScriptedSession(object):
    """Stands in for one attempt's pywinrm session: each attempt pops the next outcome."""

    def __init__(self, outcomes):
        self.outcomes, self.calls = list(outcomes), []

    def __call__(self, options, address):
        session = self

        class Attempt(object):
            sent = False

            def run(self, text, deadline):
                session.calls.append(text)
                outcome = session.outcomes.pop(0)
                self.sent, value = outcome
                if isinstance(value, BaseException):
                    raise value
                return value
        return Attempt()


def ok_doc(result):
    return json.dumps({'ok': True, 'changed': False, 'result': result}).encode(), b'', 0


DESKTOP = {'name': 'd1', 'address': '10.0.0.1'}


def test_input_is_prepended_as_base64_json_and_nothing_else():
    payload = {'v': "a'b\"c`$()\n;"}
    text = runner.with_input('# storedesk-script: x/1\n', payload)
    first, rest = text.split('\n', 1)
    assert rest == '# storedesk-script: x/1\n'
    assert first.startswith("$StoredeskInput = '") and first.endswith("'")
    data = first[len("$StoredeskInput = '"):-1]
    assert set(data) <= set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')
    assert json.loads(base64.b64decode(data)) == payload


def test_delivery_uses_the_command_line_only_when_it_fits():
    short = 'x' * 2000
    command, stdin = runner.delivery(short)
    assert stdin is None and len(command) <= runner.CMD_LINE_BUDGET < runner.CMD_LINE_LIMIT
    command, stdin = runner.delivery('x' * 20000)
    assert stdin == b'x' * 20000 and len(command) < 1000
    loader = base64.b64decode(command.rsplit(' ', 1)[1]).decode('utf-16-le')
    assert 'storedesk-script: stdin-loader/1' in loader


def test_parse_output_variants():
    assert runner.parse_output(b'\xef\xbb\xbf{"ok": true}\r\n', b'', 0) == {'ok': True}
    with pytest.raises(runner.WinrmError) as err:
        runner.parse_output(b'hello', b'', 0)
    assert err.value.category == 'protocol'
    clixml = b'#< CLIXML\r\n<Objs><S S="Error">Boom &amp; bust_x000D__x000A_</S></Objs>'
    with pytest.raises(runner.WinrmError) as err:
        runner.parse_output(b'', clixml, 1)
    assert err.value.category == 'script' and 'Boom & bust' in err.value.message


def test_success_and_script_failure_records():
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=ScriptedSession([(True, ok_doc(1))]))
    assert rec['ok'] and rec['result'] == 1 and rec['attempts'] == 1 and rec['error'] is None
    fail = json.dumps({'ok': False, 'changed': False, 'error': {'message': 'Access is denied.', 'category':
                                                                  'PermissionDenied', 'step': 'printers'}}).encode()
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=ScriptedSession([(True, (fail, b'', 1))]))
    assert not rec['ok'] and rec['error'] == 'Access is denied.' and rec['error_step'] == 'printers'
    assert rec['error_category'] == 'script' and rec['attempts'] == 1


def test_transient_failures_are_retried_401_never():
    reset = requests.exceptions.ConnectionError('Connection aborted: ConnectionResetError(104)')
    factory = ScriptedSession([(True, reset), (False, WinRMTransportError('http', 503, '')), (True, ok_doc('x'))])
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=factory)
    assert rec['ok'] and rec['attempts'] == 3
    factory = ScriptedSession([(False, InvalidCredentialsError('rejected'))] * 3)
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=factory)
    assert rec['attempts'] == 1 and rec['error_category'] == 'auth'


def test_unsafe_retry_only_before_the_command_was_sent():
    reset = requests.exceptions.ConnectionError('reset')
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, idempotent=False,
                                   session_factory=ScriptedSession([(True, reset), (True, ok_doc(1))]))
    assert rec['attempts'] == 1 and rec['error_category'] == 'connection'
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, idempotent=False,
                                   session_factory=ScriptedSession([(False, reset), (True, ok_doc(1))]))
    assert rec['ok'] and rec['attempts'] == 2


def test_retries_are_bounded_and_reported():
    factory = ScriptedSession([(False, requests.exceptions.ConnectTimeout('timed out'))] * 3)
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=factory)
    assert rec['attempts'] == 3 and rec['error_category'] == 'unreachable'


def test_password_is_scrubbed_from_every_record_and_repr():
    leak = requests.exceptions.ConnectionError('proxy said user=admin password={0}'.format(SECRET))
    factory = ScriptedSession([(False, leak)] * 3)
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=factory)
    assert SECRET not in json.dumps(rec) and runner.SECRET_MASK in rec['error']
    garbage = (SECRET.encode(), b'', 0)
    [rec] = runner.run_on_desktops(opts(), [DESKTOP], 'S', {}, session_factory=ScriptedSession([(True, garbage)]))
    assert SECRET not in json.dumps(rec)
    assert SECRET not in repr(opts())


def test_fan_out_keeps_order_and_per_desktop_payloads():
    desktops = [{'name': 'd%d' % i, 'address': '10.0.0.%d' % i} for i in range(10)]
    outcomes = {}

    def factory(options, address):
        class Attempt(object):
            sent = True

            def run(self, text, deadline):
                data = text.split("'")[1]
                outcomes[address] = json.loads(base64.b64decode(data))
                return ok_doc(outcomes[address])
        return Attempt()

    recs = runner.run_on_desktops(opts(concurrency=4), desktops, 'S', lambda d: {'me': d['name']},
                                  session_factory=factory)
    assert [r['name'] for r in recs] == [d['name'] for d in desktops]
    assert all(r['result'] == {'me': r['name']} for r in recs)


def test_options_validation_and_argspec_matches_doc_fragment():
    import yaml
    with pytest.raises(ValueError, match='winrm_user and winrm_password'):
        runner.WinrmOptions(user=None, password=None).checked()
    assert runner.WinrmOptions(transport='kerberos').checked().port == 5985
    assert runner.WinrmOptions(user='u', password='p', scheme='https').checked().port == 5986
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    assert set(doc) == set(WINRM_ARGSPEC)
    for name, spec in WINRM_ARGSPEC.items():
        assert doc[name]['type'] == spec['type'], name
        assert doc[name].get('default') == spec.get('default'), name
        assert doc[name].get('choices') == spec.get('choices'), name
    assert WINRM_ARGSPEC['winrm_password']['no_log'] is True
    params = dict((k, v.get('default')) for k, v in WINRM_ARGSPEC.items())
    params.update(winrm_user='u', winrm_password='p')
    assert winrm_options(params).transport == 'ntlm'


def test_kerberos_without_its_library_is_a_clear_config_error():
    import winrm.transport
    if winrm.transport.HAVE_KERBEROS:
        pytest.skip('kerberos library installed')
    [rec] = runner.run_on_desktops(opts(transport='kerberos', retries=0), [{'name': 'k', 'address': '127.0.0.1'}],
                                   'S', {})
    assert rec['error_category'] == 'config' and 'kerberos' in rec['error']


@pytest.mark.parametrize('draw, expected', [('low', [0.0, 0.0, 0.0]), ('high', [1.0, 2.0, 2.0])])
def test_pauses_between_attempts_are_full_jitter_within_backoff_and_cap(monkeypatch, draw, expected):
    """One retry helper: sleep = random(0, min(winrm_backoff_max, winrm_backoff * 2**n))."""
    import random
    import time
    sleeps = []
    monkeypatch.setattr(time, 'sleep', sleeps.append)
    monkeypatch.setattr(random, 'uniform', lambda a, b: a if draw == 'low' else b)
    timeout = requests.exceptions.ConnectTimeout('timed out')
    factory = ScriptedSession([(False, timeout)] * 3 + [(True, ok_doc(1))])
    [rec] = runner.run_on_desktops(opts(retries=3, backoff=1.0, backoff_max=2.0), [DESKTOP], 'S', {},
                                   session_factory=factory)
    assert rec['ok'] and rec['attempts'] == 4
    assert sleeps == expected

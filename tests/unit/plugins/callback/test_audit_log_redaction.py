"""audit_log's redaction with plain data: raw no_log values never get through, even when a module echoes them."""

import json
from types import SimpleNamespace

from ansible_collections.storedesk.vdi.plugins.callback import audit_log


def fake_result(args, res):
    task = SimpleNamespace(args=args, action='store_access', resolved_action='storedesk.vdi.store_access',
                           check_mode=False, get_name=lambda: 'task')
    host = SimpleNamespace(get_name=lambda: 'sh-0001', vars={'store_code': 'sh-0001'})
    return SimpleNamespace(_result=res, _task=task, _host=host, _task_fields={'args': args})


def test_no_log_values_and_secret_keys_are_blanked(tmp_path):
    cb = audit_log.CallbackModule()
    cb.path = str(tmp_path / 'log')
    args = {'stores': [{'code': 'sh-0001', 'staff': [{'user': 'a@pve', 'role': 'store_clerk',
                                                       'password': 'Pa55-word-1'}]}],
            'opaque_option': 'echoed-secret-9', 'winrm_password': 'W1nrm-Pass'}
    shown = {'stores': [{'code': 'sh-0001', 'staff': [{'user': 'a@pve', 'password': audit_log.NO_LOG}]}],
             'opaque_option': audit_log.NO_LOG, 'winrm_password': audit_log.NO_LOG}
    res = {'changed': True, 'invocation': {'module_args': shown},
           'plan': [{'op': 'x', 'detail': {'token_secret': 'abc-def-123', 'note': 'see echoed-secret-9 and Pa55-word-1'}}]}
    cb._log(fake_result(args, res), 'ok')
    text = (tmp_path / 'log').read_text()
    for secret in ('Pa55-word-1', 'echoed-secret-9', 'W1nrm-Pass', 'abc-def-123'):
        assert secret not in text
    line = json.loads(text)
    assert line['store'] == 'sh-0001' and line['changes'][0]['detail']['note'] == 'see ******** and ********'


def test_secrets_of_walks_nested_args():
    found = audit_log.secrets_of({'a': [{'api_token_secret': 's3cr3t'}], 'b': {'passphrase': 'pp-123'}, 'c': 'x'})
    assert found == {'s3cr3t', 'pp-123'}

"""The audit_log callback: one line per changed or failed task, and never a secret."""

import json

import pytest

from conftest import run_playbook, start_lab

CLERK_PW = 'Clerk-Initial-Pw-7'
HIDDEN_PW = 'Hidden-Task-Pw-55'
WRONG_API_PW = 'Wrong-Api-Pw-3141'
WINRM_PW = 'Winrm-Secret-Pw-9'


@pytest.fixture(scope='module')
def alab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def playbook(lab):
    staff = [{'user': 'auditme', 'realm': 'pve', 'role': 'store_clerk', 'password': CLERK_PW}]
    api = {'api_password': lab.password, 'api_token_id': 'root@pam!storedesk', 'api_token_secret': lab.token_secret}
    return [{
        'name': 'Audited changes', 'hosts': 'sh-0001', 'gather_facts': False,
        'tasks': [
            {'name': 'Onboard a clerk', 'storedesk.vdi.store_access': {'stores': [{'code': 'sh-0001', 'staff': staff}]}},
            {'name': 'Again: nothing changes, no line', 'storedesk.vdi.store_access': {
                'stores': [{'code': 'sh-0001', 'staff': staff}]}},
            {'name': 'Cluster facts, with every credential given', 'storedesk.vdi.cluster_info': api,
             'changed_when': True},
            {'name': 'Wrong password fails', 'storedesk.vdi.cluster_info': {
                'api_password': WRONG_API_PW, 'api_token_id': '', 'api_token_secret': ''}, 'ignore_errors': True},
            {'name': 'Probe with a WinRM password', 'storedesk.vdi.desktop_probe': {
                'desktops': [{'name': 'nowhere', 'address': '127.0.0.2'}], 'winrm_password': WINRM_PW,
                'winrm_port': 1, 'fail_on_unreachable': True}, 'ignore_errors': True},
            {'name': 'A no_log task', 'no_log': True, 'storedesk.vdi.store_access': {'stores': [
                {'code': 'sh-0001', 'staff': [{'user': 'hidden', 'realm': 'pve', 'role': 'store_clerk',
                                               'password': HIDDEN_PW}]}]}},
            {'name': 'Bad input fails before any change', 'ignore_errors': True, 'storedesk.vdi.store_access': {
                'stores': [{'code': 'sh-0001', 'staff': [{'user': 'x', 'realm': 'pve', 'role': 'cashier',
                                                          'password': CLERK_PW}]}]}},
        ]}]


def test_changed_and_failed_tasks_are_logged_without_secrets(alab, tmp_path):
    book = tmp_path / 'audited.yml'
    book.write_text(json.dumps(playbook(alab)))
    log = tmp_path / 'audit.jsonl'
    env = {'ANSIBLE_CALLBACKS_ENABLED': 'storedesk.vdi.audit_log', 'STOREDESK_AUDIT_LOG': str(log)}
    proc = run_playbook(alab, str(book), env=env,
                        extra_vars={'awx_user_name': 'jdoe', 'awx_job_id': 4242, 'vault_unused': 'x'})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = log.read_text()
    for secret in (CLERK_PW, HIDDEN_PW, WRONG_API_PW, WINRM_PW, alab.password, alab.token_secret):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    got = [(entry['task'], entry['result']) for entry in lines]
    assert got == [('Onboard a clerk', 'ok'), ('Cluster facts, with every credential given', 'ok'),
                   ('Wrong password fails', 'failed'), ('Probe with a WinRM password', 'failed'),
                   ('A no_log task', 'ok'), ('Bad input fails before any change', 'failed')], got
    first = lines[0]
    assert first['user'] == 'jdoe' and first['job_id'] == '4242' and first['host'] == 'sh-0001'
    assert first['module'] == 'storedesk.vdi.store_access' and first['store'] == 'sh-0001'
    assert first['changed'] is True and first['check_mode'] is False
    assert 'auditme@pve' in [a['id'] for a in first['changes']]
    assert lines[1]['store'] == 'sh-0001'     # from the host's store_code
    assert 'authentication failure' in lines[2]['msg']
    assert lines[4]['changes'] is None        # censored by Ansible
    assert "unknown role template 'cashier'" in lines[5]['msg']


def test_check_mode_and_diff_lines(alab, tmp_path):
    book = tmp_path / 'audited.yml'
    play = playbook(alab)
    play[0]['tasks'] = [{'name': 'Onboard another', 'storedesk.vdi.store_access': {'stores': [
        {'code': 'sh-0002', 'staff': [{'user': 'other', 'realm': 'pve', 'role': 'store_clerk', 'password': CLERK_PW}]}]}}]
    book.write_text(json.dumps(play))
    log = tmp_path / 'audit.jsonl'
    env = {'ANSIBLE_CALLBACKS_ENABLED': 'storedesk.vdi.audit_log', 'STOREDESK_AUDIT_LOG': str(log), 'JOB_ID': '77'}
    proc = run_playbook(alab, str(book), env=env, args=['--check', '--diff'])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert line['check_mode'] is True and line['job_id'] == '77' and line['store'] == 'sh-0002'
    assert 'other@pve' in line['changes']['after']['users']
    assert CLERK_PW not in log.read_text()

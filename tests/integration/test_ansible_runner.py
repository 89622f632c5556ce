"""Every phase playbook through ansible_runner.run(), the engine AWX runs jobs with.

As AWX lays it out: a private data dir with env/extravars (awx_job_id, tower_job_id), env/envvars
(JOB_ID, the lab's PROXMOX_* credentials), inventory/ and the project. Checks rc, status, the
artifacts (job_events, stdout) and, when the audit-log callback exists, that its lines carry the job id.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, lab_env

ansible_runner = pytest.importorskip('ansible_runner')

BIN = os.path.dirname(sys.executable)
JOB_ID = 4711
# Phase playbooks in workflow order, with the extra vars an AWX survey would give them.
PHASES = [
    ('assess.yml', {}),
    ('build_image.yml', {'image_name': 'store', 'image_version': '1.0.1'}),
    # A fresh lab has the seeded 1.0.0 image only: the phases after the build pin it, as a survey would.
    ('pilot.yml', {'stores': 'sh-0001', 'image_version': '1.0.0'}),
    ('rollout.yml', {'wave': 'wave1', 'image_version': '1.0.0'}),
    ('scale_event.yml', {'stores': 'sh-0005', 'image_version': '1.0.0'}),
    ('reclaim.yml', {'stores': 'sh-0005', 'reclaim_backup': 'none', 'image_version': '1.0.0'}),
    ('accounts.yml', {'access_stores': 'sh-0002', 'access_action': 'onboard'}),
    ('power.yml', {'stores': 'sh-0001', 'power_action': 'hibernate'}),
]
AUDIT_PLUGIN = os.path.join(ROOT, 'plugins', 'callback', 'audit_log.py')


def audit_log_options():
    """Environment that enables storedesk.vdi.audit_log and points its file option (if any) at `{path}`."""
    env = {'ANSIBLE_CALLBACKS_ENABLED': 'storedesk.vdi.audit_log'}
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'callback', '-j', 'storedesk.vdi.audit_log'],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    if proc.returncode == 0:
        options = json.loads(proc.stdout)['storedesk.vdi.audit_log']['doc'].get('options', {})
        for name, doc in options.items():
            names = [e['name'] for e in doc.get('env', [])]
            if names and (doc.get('type') == 'path' or any(w in name for w in ('path', 'file', 'dir'))):
                env[names[0]] = '{path}'
    return env


def private_data_dir(tmp_path, lab, extravars, extra_env):
    pdd = tmp_path / 'job'
    (pdd / 'env').mkdir(parents=True)
    shutil.copytree(os.path.join(ROOT, 'inventories', 'lab'), str(pdd / 'inventory'))
    env = lab_env(lab)
    env.update(JOB_ID=str(JOB_ID), PATH=BIN + os.pathsep + env.get('PATH', ''), **extra_env)
    (pdd / 'env' / 'envvars').write_text(json.dumps(env))
    (pdd / 'env' / 'extravars').write_text(json.dumps(dict(
        extravars, awx_job_id=JOB_ID, tower_job_id=JOB_ID, awx_job_template_name='test',
        report_dir=str(tmp_path / 'reports'))))
    return pdd


@pytest.mark.parametrize('playbook,extravars', PHASES, ids=[p for p, _v in PHASES])
def test_phase_runs_through_ansible_runner(fresh_lab, tmp_path, monkeypatch, playbook, extravars):
    if not os.path.exists(os.path.join(ROOT, 'playbooks', playbook)):
        pytest.skip('playbooks/{0} is not written yet'.format(playbook))
    audit_env = {}
    audit_file = tmp_path / 'audit' / 'audit.log'
    if os.path.exists(AUDIT_PLUGIN):
        audit_file.parent.mkdir()
        audit_env = dict((k, v.format(path=str(audit_file))) for k, v in audit_log_options().items())
    pdd = private_data_dir(tmp_path, fresh_lab, extravars, audit_env)
    monkeypatch.setenv('PATH', BIN + os.pathsep + os.environ.get('PATH', ''))
    runner = ansible_runner.run(private_data_dir=str(pdd), project_dir=ROOT, playbook='playbooks/' + playbook,
                                inventory=str(pdd / 'inventory'), ident='job{0}'.format(JOB_ID), quiet=True,
                                timeout=900)
    stdout = runner.stdout.read()
    assert runner.rc == 0 and runner.status == 'successful', stdout[-4000:]

    artifacts = pdd / 'artifacts' / 'job{0}'.format(JOB_ID)
    assert (artifacts / 'rc').read_text().strip() == '0'
    assert (artifacts / 'status').read_text().strip() == 'successful'
    assert (artifacts / 'stdout').exists() and 'PLAY RECAP' in (artifacts / 'stdout').read_text()
    events = list(runner.events)
    kinds = set(e['event'] for e in events)
    assert {'playbook_on_start', 'playbook_on_stats'} <= kinds
    assert not [e for e in events if e['event'] == 'runner_on_failed' and not e['event_data'].get('ignore_errors')]
    assert list((artifacts / 'job_events').glob('*.json'))
    for secret in (fresh_lab.password, fresh_lab.token_secret, fresh_lab.winrm_password):
        assert secret not in stdout

    changed = sum((runner.stats or {}).get('changed', {}).values())
    if os.path.exists(AUDIT_PLUGIN) and changed:     # the audit log has one line per changed task
        if str(audit_file) in audit_env.values():
            assert audit_file.exists(), 'storedesk.vdi.audit_log wrote nothing to ' + str(audit_file)
        text = audit_file.read_text() if audit_file.exists() else stdout
        lines = [line for line in text.splitlines() if str(JOB_ID) in line]
        assert lines, 'the audit log has no line with the job id {0}'.format(JOB_ID)

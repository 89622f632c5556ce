"""Every phase playbook through ansible_runner.run(), the engine AWX runs jobs with, laid out as AWX lays it out.

AWX (awx/main/tasks/jobs.py, BaseTask.run) passes what its credential types inject as `envvars` with
`suppress_env_files` on (settings AWX_RUNNER_OMIT_ENV_FILES, default True), the job's extra vars (awx_job_id,
tower_job_id) and the inventory. The collection's credential types (playbooks/vars/awx_objects.yml) inject every
secret with a `file` injector - a mode-0600 file in the job's private data dir - and only its path as
`<NAME>_FILE` in the environment (awx/main/models/credential.py, CredentialType.inject_credential). This test does
the same and then reads every file the job left in its private data dir - all of artifacts/ (`command`, which
ansible-runner writes with the whole process environment, job_events, stdout), env/, the fact cache - and its
reports and audit log: no secret may be in any of them, except the credential files themselves.
"""

import json
import os
import shutil
import sys

import pytest

from conftest import ROOT, lab_env

import ansible_runner

BIN = os.path.dirname(sys.executable)
JOB_ID = 4711
# Phase playbooks in workflow order, with the extra vars an AWX survey would give them, and whether the run
# changes the estate (then the audit log must have its lines, with the job id).
PHASES = [
    ('assess.yml', {}, False),
    ('build_image.yml', {'image_name': 'store', 'image_version': '1.0.1'}, True),
    # A fresh lab has the seeded 1.0.0 image only: the phases after the build pin it, as a survey would.
    ('pilot.yml', {'stores': 'sh-0001', 'image_version': '1.0.0'}, True),
    ('rollout.yml', {'wave': 'wave1', 'image_version': '1.0.0'}, True),
    ('scale_event.yml', {'stores': 'sh-0005', 'image_version': '1.0.0'}, True),
    # Each phase runs on a fresh lab: sh-0005 has no desktops to reclaim there, and sh-0001 none to hibernate.
    ('reclaim.yml', {'stores': 'sh-0005', 'reclaim_backup': 'none', 'reclaim_to': 'zero', 'image_version': '1.0.0'},
     False),
    ('accounts.yml', {'access_stores': 'sh-0002', 'access_action': 'onboard'}, True),
    ('power.yml', {'stores': 'sh-0001', 'power_action': 'hibernate'}, False),
]
# What the credentials inject: each secret as a file whose path is in <NAME>_FILE (never the value in the env).
SECRET_VARS = ('PROXMOX_PASSWORD', 'PROXMOX_TOKEN_SECRET', 'STOREDESK_WINRM_PASSWORD', 'STOREDESK_STAFF_PASSWORD')


def secrets_of(lab):
    values = [lab.password, lab.token_secret, lab.winrm_password, lab.staff_password]
    return [v for v in values if v]


def inject_as_files(env, directory):
    """AWX's file injectors: each secret into a mode-0600 file under the job's private data dir, its path as
    <NAME>_FILE; returns the files."""
    os.makedirs(directory, exist_ok=True)
    files = []
    for name in SECRET_VARS:
        value = env.pop(name, None)
        if value:
            path = os.path.join(directory, 'awx_' + name.lower())
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
                handle.write(value)
            env[name + '_FILE'] = path
            files.append(path)
    return files


def files_under(path, skip=()):
    for base, _dirs, names in os.walk(path):
        for name in names:
            full = os.path.join(base, name)
            if full not in skip:
                yield full


@pytest.mark.parametrize('playbook,extravars,changes', PHASES, ids=[p for p, _v, _c in PHASES])
def test_phase_runs_through_ansible_runner_and_leaves_no_secret(fresh_lab, tmp_path, monkeypatch, playbook,
                                                                extravars, changes):
    pdd = tmp_path / 'job'
    pdd.mkdir()
    shutil.copytree(os.path.join(ROOT, 'inventories', 'lab'), str(pdd / 'inventory'))
    audit_file = tmp_path / 'audit' / 'audit.jsonl'
    audit_file.parent.mkdir()
    env = lab_env(fresh_lab)
    env.update(JOB_ID=str(JOB_ID), PATH=BIN + os.pathsep + env.get('PATH', ''), STOREDESK_AUDIT_LOG=str(audit_file),
               STOREDESK_REPORT_DIR=str(tmp_path / 'reports'))
    monkeypatch.setenv('PATH', env['PATH'])
    credential_files = inject_as_files(env, str(pdd / 'env'))
    assert not [k for k, v in env.items() if v in secrets_of(fresh_lab)], 'a secret is still in the job environment'
    runner = ansible_runner.run(
        private_data_dir=str(pdd), project_dir=ROOT, playbook='playbooks/' + playbook,
        inventory=str(pdd / 'inventory'), ident='job{0}'.format(JOB_ID), quiet=True, timeout=900,
        envvars=env, suppress_env_files=True, fact_cache_type='jsonfile',
        extravars=dict(extravars, awx_job_id=JOB_ID, tower_job_id=JOB_ID, awx_job_template_name='test'))
    stdout = runner.stdout.read()
    assert runner.rc == 0 and runner.status == 'successful', stdout[-4000:]

    artifacts = pdd / 'artifacts' / 'job{0}'.format(JOB_ID)
    assert (artifacts / 'rc').read_text().strip() == '0'
    assert (artifacts / 'status').read_text().strip() == 'successful'
    assert 'PLAY RECAP' in (artifacts / 'stdout').read_text()
    events = list(runner.events)
    assert {'playbook_on_start', 'playbook_on_stats'} <= set(e['event'] for e in events)
    assert not [e for e in events if e['event'] == 'runner_on_failed' and not e['event_data'].get('ignore_errors')]
    assert list((artifacts / 'job_events').glob('*.json'))

    # No secret in anything the job leaves behind: all of artifacts/ (command included), env/ but the credential
    # files, the fact cache, reports, audit log.
    secrets = secrets_of(fresh_lab)
    assert len(secrets) == 4
    written = list(files_under(str(pdd), skip=set(credential_files))) + \
        list(files_under(str(tmp_path / 'reports'))) + list(files_under(str(audit_file.parent)))
    assert any('/job_events/' in f for f in written) and any(f.endswith('/stdout') for f in written)
    assert str(artifacts / 'command') in written
    for path in written:
        with open(path, 'rb') as fh:
            data = fh.read()
        for secret in secrets:
            assert secret.encode() not in data, 'a secret is in ' + os.path.relpath(path, str(tmp_path))
    assert not (pdd / 'env' / 'envvars').exists() and not (pdd / 'env' / 'extravars').exists()

    # Every changed task is one audit line carrying the AWX job id; a read-only phase changes nothing.
    changed = sum((runner.stats or {}).get('changed', {}).values())
    assert bool(changed) == changes, runner.stats
    lines = [json.loads(line) for line in audit_file.read_text().splitlines()] if audit_file.exists() else []
    if changes:
        assert lines and all(str(line.get('job_id')) == str(JOB_ID) for line in lines), lines[:3]
    else:
        assert lines == []

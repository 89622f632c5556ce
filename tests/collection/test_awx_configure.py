"""playbooks/awx_configure.yml without an AWX server.

The playbook really runs, against a stand-in awx.awx collection whose modules only record their
arguments; every recorded call is then validated against the real awx.awx module's argument spec
(from `ansible-doc -j`). The workflow graph, the surveys and the credential types are checked as data.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(ROOT, 'playbooks', 'awx_configure.yml')
VARS = os.path.join(ROOT, 'playbooks', 'vars', 'awx_objects.yml')
PHASES = ('assess.yml', 'build_image.yml', 'pilot.yml', 'rollout.yml', 'scale_event.yml', 'reclaim.yml',
          'accounts.yml', 'power.yml', 'review.yml', 'inspect.yml')
SURVEY_TYPES = ('text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect')
STUB = '''#!/usr/bin/python
import json, os, sys
from ansible.module_utils.basic import _load_params
params = dict((k, v) for k, v in _load_params().items() if not k.startswith('_ansible_'))
with open(os.environ['AWX_STUB_LOG'], 'a') as fh:
    fh.write(json.dumps({'module': '%s', 'args': params}) + '\\n')
print(json.dumps({'changed': False}))
sys.exit(0)
'''
SECRETS = {'awx_secrets': {
    'proxmox': {'api_token_id': 'automation@pve!storedesk', 'api_token_secret': 'secret-uuid', 'ca_cert': 'PEM'},
    'winrm': {'winrm_user': 'storedesk-admin', 'winrm_password': 'secret-password'}}}


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))


def objects():
    with open(VARS) as fh:
        return yaml.load(fh, Loader=_Loader)


def awx_env(tmp_path):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return env


@pytest.fixture(scope='module')
def calls(tmp_path_factory):
    """Run the playbook against the stand-in collection; the awx.awx calls it made, in order."""
    tmp = tmp_path_factory.mktemp('awx')
    modules = tmp / 'ansible_collections' / 'awx' / 'awx' / 'plugins' / 'modules'
    modules.mkdir(parents=True)
    for name in ('organization', 'execution_environment', 'project', 'credential_type', 'credential', 'inventory',
                 'inventory_source', 'job_template', 'workflow_job_template', 'schedule'):
        (modules / (name + '.py')).write_text(STUB % name)
    log = tmp / 'calls.jsonl'
    env = awx_env(tmp)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(tmp), AWX_STUB_LOG=str(log))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', PLAYBOOK,
                           '-e', json.dumps(SECRETS)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'secret-password' not in proc.stdout + proc.stderr
    return [json.loads(line) for line in log.read_text().splitlines()]


def argspec(module):
    """The real awx.awx module's argument spec, from its documentation."""
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-j', 'awx.awx.' + module], capture_output=True,
                          text=True, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=''), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return to_spec(json.loads(proc.stdout)['awx.awx.' + module]['doc']['options'])


def to_spec(options):
    spec = {}
    for name, doc in options.items():
        entry = dict((k, doc[k]) for k in ('type', 'choices', 'required', 'elements', 'aliases') if k in doc)
        if doc.get('suboptions'):
            entry['options'] = to_spec(doc['suboptions'])
        spec[name] = entry
    return spec


def test_syntax_check():
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '--syntax-check', '-i', 'localhost,', PLAYBOOK],
                          capture_output=True, text=True, env=awx_env(None), cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_awx_call_matches_the_module_argument_spec(calls):
    specs = {}
    for call in calls:
        spec = specs.setdefault(call['module'], argspec(call['module']))
        result = ArgumentSpecValidator(spec).validate(call['args'])
        assert not result.error_messages, (call['module'], call['args'].get('name'), result.error_messages)
    counts = dict((m, len([c for c in calls if c['module'] == m])) for m in set(c['module'] for c in calls))
    data = objects()
    assert counts == {'organization': 1, 'execution_environment': 1, 'project': 1, 'credential_type': 2,
                      'credential': 2, 'inventory': len(data['awx_inventories']),
                      'inventory_source': sum(len(i['sources']) for i in data['awx_inventories']),
                      'job_template': len(data['awx_job_templates']), 'workflow_job_template': 1,
                      'schedule': len(data['awx_schedules'])}


def test_credential_injectors_reach_awx_untemplated(calls):
    types = dict((c['args']['name'], c['args']) for c in calls if c['module'] == 'credential_type')
    proxmox = types['storedesk Proxmox VE API']
    # secrets as files of the job (file injectors), the environment names them: no secret in the job's env
    assert proxmox['injectors']['env'] == {
        'PROXMOX_TOKEN_ID': '{{ api_token_id }}', 'PROXMOX_TOKEN_SECRET_FILE': '{{ tower.filename.token }}',
        'PROXMOX_CA_PATH': '{{ tower.filename.ca }}', 'PROXMOX_VALIDATE_CERTS': 'true'}
    assert proxmox['injectors']['file'] == {'template.ca': '{{ ca_cert }}', 'template.token': '{{ api_token_secret }}'}
    winrm = types['storedesk WinRM']['injectors']
    assert winrm['env'] == {'STOREDESK_WINRM_USER': '{{ winrm_user }}',
                            'STOREDESK_WINRM_PASSWORD_FILE': '{{ tower.filename.password }}'}
    assert winrm['file'] == {'template.password': '{{ winrm_password }}'}
    for args in types.values():
        fields = dict((f['id'], f) for f in args['inputs']['fields'])
        used = set(re.findall(r'{{ (\w+) }}', json.dumps(args['injectors'])))
        assert used - {'tower'} <= set(fields)
        assert set(args['inputs']['required']) <= set(fields)
        assert [f for f in fields.values() if 'secret' in f['id'] or 'password' in f['id']] == \
            [f for f in fields.values() if f.get('secret')]


def test_inventory_source_uses_the_desktops_plugin_file(calls):
    sources = [c['args'] for c in calls if c['module'] == 'inventory_source']
    desktops = [s for s in sources if s['source_path'].endswith('desktops.yml')]
    assert len(desktops) == 1 and desktops[0]['credential'] == 'storedesk PVE automation token'
    # The desktops have groups region_*/city_* like the stores: never one inventory for both.
    assert len(set(s['inventory'] for s in sources)) == len(sources)
    templates = [c['args'] for c in calls if c['module'] == 'job_template']
    assert set(t['inventory'] for t in templates) == {'storedesk stores'}
    assert set(desktops[0]['source_vars']) == {'PROXMOX_HOST_EAST', 'PROXMOX_HOST_WEST'}
    assert os.path.exists(os.path.join(ROOT, desktops[0]['source_path']))


def test_job_templates_cover_every_phase_with_valid_surveys(calls):
    templates = [c['args'] for c in calls if c['module'] == 'job_template']
    assert sorted(os.path.basename(t['playbook']) for t in templates) == sorted(PHASES)
    for template in templates:
        spec = template.get('survey_spec')
        assert template['survey_enabled'] is bool(spec)
        if spec:
            check_survey(spec)


def check_survey(spec):
    """AWX's survey_spec shape: name, description, spec = [question...]."""
    assert set(spec) == {'name', 'description', 'spec'} and spec['spec']
    variables = [q['variable'] for q in spec['spec']]
    assert len(variables) == len(set(variables))
    for q in spec['spec']:
        assert q['question_name'] and re.match(r'^[a-zA-Z_]\w*$', q['variable']), q
        assert q['type'] in SURVEY_TYPES and isinstance(q['required'], bool), q
        if q['type'] in ('multiplechoice', 'multiselect'):
            assert isinstance(q['choices'], list) and q['choices']
            assert q.get('default') in (None, '') or q['default'] in q['choices']
        if q['type'] in ('integer', 'float', 'text', 'textarea', 'password'):
            assert q.get('min', 0) <= q.get('max', 1 << 30)
        if q['type'] == 'integer' and q.get('default') not in (None, ''):
            assert isinstance(q['default'], int)


def test_workflow_puts_an_approval_between_pilot_and_rollout(calls):
    workflow = [c['args'] for c in calls if c['module'] == 'workflow_job_template'][0]
    nodes = dict((n['identifier'], n) for n in workflow['workflow_nodes'])
    edges = dict((i, [s['identifier'] for s in n.get('related', {}).get('success_nodes', [])])
                 for i, n in nodes.items())
    # Every edge is a success edge; no always/failure path can skip the approval.
    for node in nodes.values():
        assert set(node.get('related', {})) <= {'success_nodes'}
    roots = set(nodes) - set(x for targets in edges.values() for x in targets)
    path, current = [], roots.pop()
    while current:
        path.append(current)
        current = edges[current][0] if edges[current] else None
    kinds = [nodes[i]['unified_job_template'].get('type') for i in path]
    names = [nodes[i]['unified_job_template']['name'] for i in path]
    assert kinds == ['job_template'] * 3 + ['workflow_approval', 'job_template']
    assert names[0].endswith('assess') and names[2].endswith('pilot') and names[4].endswith('rollout')
    assert nodes[path[3]]['unified_job_template']['timeout'] > 0
    jt_names = set(c['args']['name'] for c in calls if c['module'] == 'job_template')
    assert set(n for n, k in zip(names, kinds) if k == 'job_template') <= jt_names


def test_schedules_hibernate_after_closing_and_wake_before_opening(calls):
    schedules = dict((c['args']['extra_data']['power_action'], c['args']) for c in calls
                     if c['module'] == 'schedule' and 'power_action' in c['args']['extra_data'])
    assert set(schedules) == {'hibernate', 'start'}
    power = [c['args'] for c in calls
             if c['module'] == 'job_template' and c['args']['playbook'].endswith('power.yml')][0]
    choices = [q for q in power['survey_spec']['spec'] if q['variable'] == 'power_action'][0]['choices']
    for action, schedule in schedules.items():
        assert schedule['unified_job_template'] == power['name'] and action in choices
        assert re.match(r'^DTSTART;TZID=[\w/]+:\d{8}T\d{6} RRULE:FREQ=DAILY;INTERVAL=1$', schedule['rrule'])
    assert power['ask_variables_on_launch'] is True


def test_review_daily_while_the_desktops_are_awake_and_inspection_weekly(calls):
    templates = dict((c['args']['name'], c['args']) for c in calls if c['module'] == 'job_template')
    by_playbook = dict((os.path.basename(t['playbook']), t) for t in templates.values())
    schedules = dict((c['args']['unified_job_template'], c['args']) for c in calls if c['module'] == 'schedule')
    review, inspect = by_playbook['review.yml'], by_playbook['inspect.yml']
    run = schedules[review['name']]
    assert re.match(r'^DTSTART;TZID=[\w/]+:\d{8}T\d{6} RRULE:FREQ=DAILY;INTERVAL=1$', run['rrule'])
    # after the wake schedule and before the store opens (09:00): the desktops answer, nobody works on them yet
    wake = [c['args'] for c in calls if c['module'] == 'schedule' and c['args']['extra_data'].get('power_action') == 'start'][0]
    clock = [int(re.search(r'T(\d{4})\d{2} ', r).group(1)) for r in (wake['rrule'], run['rrule'])]
    assert clock[0] < clock[1] < 900, clock
    assert run['extra_data']['review_measure_ready'] == 'false', 'no desktop restart from a schedule'
    assert run['extra_data']['storedesk_report_dir'].startswith('/'), 'the KPI history outlives the job'
    weekly = schedules[inspect['name']]
    assert re.match(r'^DTSTART;TZID=[\w/]+:\d{8}T\d{6} RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO$', weekly['rrule'])
    questions = dict((q['variable'], q) for q in review['survey_spec']['spec'])
    assert questions['review_sample_per_store']['type'] == 'integer' and questions['review_measure_ready']['default'] == 'false'
    assert 'stores' in [q['variable'] for q in inspect['survey_spec']['spec']]


def test_credentials_only_with_secrets_and_never_in_the_output(tmp_path):
    data = objects()
    assert 'secret' not in json.dumps(data['awx_credentials'])
    with open(PLAYBOOK) as fh:
        play = yaml.safe_load(fh)[0]
    task = [t for t in play['tasks'] if 'awx.awx.credential' in t][0]
    assert task['no_log'] is True and task['when'] == 'awx_secrets is defined'

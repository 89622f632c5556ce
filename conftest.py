"""Shared fixtures: the embedded lab (in-process) and a way to run playbooks and modules against it."""

import json
import os
import random
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, 'lab'))
COLLECTIONS = os.path.join(ROOT, '.venv', 'collections')
# The repository is the collection: make `ansible_collections.storedesk.vdi` importable (make setup makes the
# same link for ansible).
_LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'storedesk', 'vdi')
if not os.path.exists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(ROOT, _LINK)
sys.path.insert(0, COLLECTIONS)

from storedesk_lab.runtime import Lab  # noqa: E402


def start_lab(tmp_path_factory, **kwargs):
    """A lab on a loopback /16 of its own (apart from `lab up` and from other test runs' labs, which may be
    running at the same time), on ports the system picks."""
    kwargs.setdefault('time_scale', 0.0)
    rng = random.Random(os.getpid() * 7919 + time.monotonic_ns())
    for attempt in range(8):
        lab = Lab(state_dir=str(tmp_path_factory.mktemp('lab')), port=0, host_offset=rng.randint(1, 239), **kwargs)
        try:
            return lab.start()
        except OSError:      # another lab holds that /16: take another
            lab.stop()
            if attempt == 7:
                raise


@pytest.fixture(scope='session')
def lab(tmp_path_factory):
    """One lab for the session (time_scale 0: tasks finish at once). Tests must not depend on others' VMs."""
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


@pytest.fixture
def fresh_lab(tmp_path_factory):
    """A lab of the test's own, for tests that break things (faults, quorum, offline nodes)."""
    lab = start_lab(tmp_path_factory)
    yield lab
    lab.stop()


def lab_env(lab, region=None):
    """The environment a playbook or module needs to reach the lab (region's host as PROXMOX_HOST)."""
    env = dict(os.environ)
    env.update(lab.env())
    if region:
        env['PROXMOX_HOST'] = lab.regions[region].host
        env['PROXMOX_PORT'] = str(lab.regions[region].port)
    env['ANSIBLE_CONFIG'] = os.path.join(ROOT, 'ansible.cfg')
    env['ANSIBLE_COLLECTIONS_PATH'] = COLLECTIONS
    env['ANSIBLE_PYTHON_INTERPRETER'] = sys.executable
    env['ANSIBLE_LOCALHOST_WARNING'] = 'false'
    env['ANSIBLE_INVENTORY_UNPARSED_WARNING'] = 'false'
    return env


def run_module(lab, module, args, region='east', check=False, env=None):
    """Run one module of the collection with ansible's `ansible localhost -m`; returns (rc, result dict)."""
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-m', 'storedesk.vdi.' + module,
           '-o'] + (['-a', json.dumps(args)] if args else []) + (['--check'] if check else [])
    full_env = lab_env(lab, region)
    full_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=600)
    out = proc.stdout
    start = out.find('{')
    result = json.loads(out[start:]) if start >= 0 else {}
    result['_stdout'] = out
    result['_stderr'] = proc.stderr
    return proc.returncode, result


def run_playbook(lab, playbook, extra_vars=None, region='east', env=None, args=(), timeout=900):
    """ansible-playbook against the lab; returns the CompletedProcess."""
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook] + list(args)
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    full_env = lab_env(lab, region)
    full_env.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=timeout)


def api(lab, region='east', user=None, password=None):
    """A plain requests session logged in to the region's API, to check the lab independently of our code."""
    import requests
    pve = lab.regions[region]
    base = pve.url + '/api2/json'
    session = requests.Session()
    session.verify = lab.cafile
    answer = session.post(base + '/access/ticket', data={'username': user or 'root@pam',
                                                         'password': password or lab.password}, verify=lab.cafile)
    answer.raise_for_status()
    data = answer.json()['data']
    session.cookies.set('PVEAuthCookie', data['ticket'])
    session.headers['CSRFPreventionToken'] = data['CSRFPreventionToken']
    session.base = base
    return session


def api_get(session, path, **params):
    answer = session.get(session.base + path, params=params, verify=session.verify)
    answer.raise_for_status()
    return answer.json()['data']


def post(session, path, **data):
    """A POST through an `api` session; the response as it came (a test may expect a refusal)."""
    return session.post(session.base + path, data=data, verify=session.verify)


def put(session, path, **data):
    """A PUT through an `api` session; the response as it came."""
    return session.put(session.base + path, data=data, verify=session.verify)


def ok(session, method, url, **data):
    """One API call (an `api` session) that must answer 200; its data. GET parameters go in the query."""
    kind = 'params' if method == 'GET' else 'data'
    answer = session.request(method, session.base + url, verify=session.verify, **{kind: data or None})
    assert answer.status_code == 200, (method, url, answer.status_code, answer.text)
    return answer.json()['data']


def wait_task(session, upid, node='pve-e1', timeout=30.0):
    """Wait until the task `upid` on `node` has stopped; its status (`exitstatus` says how it ended)."""
    deadline = time.monotonic() + timeout
    while True:
        status = api_get(session, '/nodes/{0}/tasks/{1}/status'.format(node, upid))
        if status['status'] == 'stopped':
            return status
        if time.monotonic() > deadline:
            raise AssertionError('task did not end: ' + upid)
        time.sleep(0.02)


@pytest.fixture
def lagging_lab(tmp_path_factory):
    """A lab of the test's own whose /cluster/resources RRD fields (name, status, template, maxmem) stay as
    pvestatd last broadcast them for a minute (PVE: ~10 s); the test says when with `rrd_refresh()`."""
    lab = start_lab(tmp_path_factory, strict={'resources_lag': 60.0})
    yield lab
    lab.stop()

"""`lab up / status / fault / down` as a user runs them: a background lab, its env file, faults."""

import os
import random
import subprocess
import sys

import requests

LAB = [sys.executable, '-m', 'storedesk_lab']


def lab(env, *args):
    return subprocess.run(LAB + list(args), capture_output=True, text=True, env=env, timeout=120)


def read_env(path):
    out = {}
    with open(path) as fh:
        for line in fh:
            key, _, value = line.replace('export ', '', 1).strip().partition('=')
            out[key] = value.strip("'")
    return out


def test_up_fault_status_down(tmp_path):
    env = dict(os.environ, STOREDESK_LAB_STATE=str(tmp_path),
               PYTHONPATH=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), 'lab'))
    offset = str(random.randint(150, 239))
    up = lab(env, 'up', '--time-scale', '0', '--host-offset', offset, '--port', '8006')
    try:
        assert up.returncode == 0, up.stderr
        assert 'region east' in up.stdout and 'source ' in up.stdout
        assert oct(os.stat(tmp_path / 'lab.env').st_mode & 0o777) == '0o600'
        creds = read_env(tmp_path / 'lab.env')
        url = 'https://{0}:8006/api2/json'.format(creds['PROXMOX_HOST_EAST'])
        token = {'Authorization': 'PVEAPIToken={0}={1}'.format(creds['PROXMOX_TOKEN_ID'], creds['PROXMOX_TOKEN_SECRET'])}
        assert requests.get(url + '/version', headers=token, verify=creds['PROXMOX_CA_PATH']).status_code == 200
        fault = lab(env, 'fault', 'node-offline', 'node=pve-e2', '--region', 'east')
        assert fault.returncode == 0 and 'node pve-e2 offline' in fault.stdout
        nodes = requests.get(url + '/cluster/resources', params={'type': 'node'}, headers=token,
                             verify=creds['PROXMOX_CA_PATH']).json()['data']
        assert dict((n['node'], n['status']) for n in nodes)['pve-e2'] == 'offline'
        assert 'pve-e2=offline' in lab(env, 'status').stdout
        bad = lab(env, 'fault', 'no-such-fault')
        assert bad.returncode == 2 and 'unknown fault' in bad.stderr
    finally:
        down = lab(env, 'down')
    assert 'stopped' in down.stdout
    assert lab(env, 'status').returncode == 3

"""The cluster an acceptance run talks to, from PVE_ACCEPTANCE_* environment variables, and a small raw API
client for setting up, checking and cleaning up (the flow itself goes through the collection's modules)."""

import json
import os
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUIRED = {
    'PVE_ACCEPTANCE_HOST': 'API host (name or address, optionally host:port; port 8006 by default)',
    'PVE_ACCEPTANCE_TOKEN_ID': 'a privilege-separated API token, user@realm!name (docs/acceptance.md: its ACLs)',
    'PVE_ACCEPTANCE_TOKEN_SECRET': "the token's secret",
    'PVE_ACCEPTANCE_NODE': 'the node to build on (e.g. pve1)',
    'PVE_ACCEPTANCE_TEMPLATE': 'VMID of a Windows template with the QEMU guest agent (linked clones are made of it)',
}
OPTIONAL = {
    'PVE_ACCEPTANCE_CA_PATH': "CA bundle of the API's certificate (default: the system's)",
    'PVE_ACCEPTANCE_USB_ID': 'vendor:product of a USB device plugged into the node, for the mapped-device step '
                             '(skipped without it)',
    'PVE_ACCEPTANCE_STORE': 'store code the run uses (default zz-9001); its pool store-<code> must not exist',
    'PVE_ACCEPTANCE_BRIDGE': 'bridge of the desktops (default vmbr0)',
}


def missing():
    return [k for k in REQUIRED if not os.environ.get(k)]


def needs_text():
    lines = ['make acceptance needs a Proxmox VE node (real or nested) and these environment variables:']
    lines += ['  {0:<30} {1}'.format(k, v) for k, v in REQUIRED.items()]
    lines += ['optional:'] + ['  {0:<30} {1}'.format(k, v) for k, v in OPTIONAL.items()]
    lines += ['see docs/acceptance.md']
    return '\n'.join(lines)


class Target(object):
    """Connection and names of one acceptance run."""

    def __init__(self, env=None):
        env = dict(os.environ if env is None else env)
        host = env['PVE_ACCEPTANCE_HOST']
        self.host, _, port = host.partition(':')
        self.port = int(port or env.get('PVE_ACCEPTANCE_PORT') or 8006)
        self.token_id = env['PVE_ACCEPTANCE_TOKEN_ID']
        self.token_secret = env['PVE_ACCEPTANCE_TOKEN_SECRET']
        self.node = env['PVE_ACCEPTANCE_NODE']
        self.template = int(env['PVE_ACCEPTANCE_TEMPLATE'])
        self.ca_path = env.get('PVE_ACCEPTANCE_CA_PATH') or None
        self.usb_id = env.get('PVE_ACCEPTANCE_USB_ID') or None
        self.store = env.get('PVE_ACCEPTANCE_STORE') or 'zz-9001'
        self.bridge = env.get('PVE_ACCEPTANCE_BRIDGE') or 'vmbr0'
        self.region = env.get('PVE_ACCEPTANCE_REGION') or 'acceptance'
        self.extra_env = dict((k, v) for k, v in env.items() if k.startswith(('STOREDESK_', 'ANSIBLE_')))
        self.base = 'https://{0}:{1}/api2/json'.format(self.host, self.port)
        self.session = requests.Session()
        self.session.headers['Authorization'] = 'PVEAPIToken={0}={1}'.format(self.token_id, self.token_secret)
        self.verify = self.ca_path or True

    # ------------------------------------------------------------ raw API

    def call(self, method, path, **data):
        kind = 'params' if method == 'GET' else 'data'
        answer = self.session.request(method, self.base + path, verify=self.verify, timeout=60,
                                      **{kind: data or None})
        if answer.status_code != 200:
            raise AssertionError('{0} {1}: HTTP {2} {3}'.format(method, path, answer.status_code,
                                                                (answer.json() or {}).get('message', answer.text)
                                                                if answer.content else answer.reason))
        return answer.json()['data']

    def get(self, path, **params):
        return self.call('GET', path, **params)

    def wait(self, upid, timeout=900):
        node = upid.split(':')[1]
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.get('/nodes/{0}/tasks/{1}/status'.format(node, upid))
            if status['status'] == 'stopped':
                if status.get('exitstatus') != 'OK' and not str(status.get('exitstatus')).startswith('WARNINGS'):
                    raise AssertionError('task {0} ended: {1}'.format(upid, status.get('exitstatus')))
                return status
            time.sleep(0.5)
        raise AssertionError('task {0} did not end within {1} s'.format(upid, timeout))

    def guests(self):
        """Every VM the token may see, with live name/status/lock/tags from the per-VM reads (resources lag)."""
        out = []
        for item in self.get('/cluster/resources', type='vm'):
            if item.get('type') != 'qemu':
                continue
            base = '/nodes/{0}/qemu/{1}'.format(item['node'], item['vmid'])
            try:
                config = self.get(base + '/config')
                status = self.get(base + '/status/current')
            except AssertionError:
                continue                                  # gone between the list and the read
            out.append(dict(item, name=config.get('name', ''), tags=config.get('tags', ''),
                            lock=config.get('lock'), status=status.get('status'),
                            template=int(config.get('template') or 0), config=config))
        return out

    def store_desktops(self):
        tag = 'store-' + self.store
        return sorted((g for g in self.guests() if tag in (g['tags'] or '').split(';') and not g['template']),
                      key=lambda g: g['name'])

    # ------------------------------------------------------------ the collection

    def module_env(self):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith('PROXMOX_')]:
            del env[key]
        env.update(self.extra_env)
        env.update({'PROXMOX_HOST': self.host, 'PROXMOX_PORT': str(self.port), 'PROXMOX_TOKEN_ID': self.token_id,
                    'PROXMOX_TOKEN_SECRET': self.token_secret, 'PROXMOX_VALIDATE_CERTS': 'true',
                    'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
                    'ANSIBLE_PYTHON_INTERPRETER': sys.executable, 'ANSIBLE_LOCALHOST_WARNING': 'false',
                    'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false'})
        env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.venv', 'collections'))
        if self.ca_path:
            env['PROXMOX_CA_PATH'] = self.ca_path
        return env

    def module(self, name, args, timeout=1800):
        """Run storedesk.vdi.<name> with `ansible localhost -m`; returns the result dict (rc in ['rc'])."""
        cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-m', 'storedesk.vdi.' + name,
               '-o', '-a', json.dumps(args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.module_env(), cwd=ROOT, timeout=timeout)
        start = proc.stdout.find('{')
        result = json.loads(proc.stdout[start:]) if start >= 0 else {}
        result['rc'] = proc.returncode
        result['_out'] = proc.stdout[-2000:] + proc.stderr[-1000:]
        return result

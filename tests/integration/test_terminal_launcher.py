"""The thin client's launcher (roles/thin_client/files/storedesk-launcher) against the lab, through a line that
can drop, with a stand-in viewer that checks the .vv file and holds a SPICE connection through the proxy.

The line: a TCP forwarder to the region's API (same address, another port, so TLS checks hold) and a stand-in
for PVE's spiceproxy on port 3128 that takes `CONNECT <host>:<tls-port>` (pve-http-server / pve-common
Ticket.pm verify_spice_connect_url: the lab's check_spice_connect) and then the ticket's password, and holds the
connection as a SPICE session until the line drops. The terminal's token comes from store_access.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import ROOT, api, api_get, ok, run_module, start_lab

LAUNCHER = os.path.join(ROOT, 'roles', 'thin_client', 'files', 'storedesk-launcher')
NODE, STORE, OTHER = 'pve-e1', 'sh-0001', 'sh-0002'
OWN, SPARE, UNLISTED, ELSEWHERE = 7101, 7102, 7103, 7201
TERMINAL = 'sh-0001-t01'

STANDIN_VIEWER = r'''
import configparser, hashlib, json, os, re, socket, stat, sys, time
log = os.environ['STANDIN_LOG']
def note(**kw):
    kw['t'] = time.time()
    with open(log, 'a') as fh:
        fh.write(json.dumps(kw) + '\n')
args = sys.argv[1:]
path = args[-1]
problems = []
if args[:3] != ['--kiosk', '--kiosk-quit', 'on-disconnect']:
    problems.append('arguments %r' % args[:-1])
if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
    problems.append('mode %o' % stat.S_IMODE(os.stat(path).st_mode))
vv = configparser.ConfigParser(interpolation=None)
vv.read(path)
v = vv['virt-viewer']
if v.get('delete-this-file') == '1':
    os.unlink(path)
want = {'type': r'spice', 'host': r'pvespiceproxy:[0-9a-f]{8}:\d+:[a-z0-9.-]+:\d+::[0-9a-f]{40}',
        'proxy': r'http://[0-9.]+:3128', 'tls-port': r'\d+', 'password': r'[0-9a-f]{40}',
        'ca': r'-----BEGIN CERTIFICATE-----\\n.*', 'host-subject': r'.*CN=.+', 'title': r'VM \d+ - .+',
        'secure-attention': r'Ctrl\+Alt\+Ins', 'toggle-fullscreen': r'Shift\+F11', 'release-cursor': r'Ctrl\+Alt\+R',
        'fullscreen': r'1', 'enable-usbredir': r'1', 'enable-usb-autoshare': r'1'}
for key, pattern in want.items():
    if not re.fullmatch(pattern, v.get(key, ''), re.S):
        problems.append('%s=%r' % (key, v.get(key)))
vmid = int(v['host'].split(':')[2]) if v.get('host', '').count(':') > 3 else None
if problems:
    note(event='invalid', problems=problems, vmid=vmid)
    sys.exit(3)
proxy_host, proxy_port = v['proxy'][len('http://'):].rsplit(':', 1)
ticket = hashlib.sha256(v['password'].encode()).hexdigest()[:12]
try:
    sock = socket.create_connection((proxy_host, int(proxy_port)), timeout=5)
    sock.sendall(('CONNECT %s:%s HTTP/1.0\r\n\r\n' % (v['host'], v['tls-port'])).encode())
    head = sock.recv(1024).decode()
    if not head.startswith('HTTP/1.0 200'):
        note(event='refused', vmid=vmid, answer=head.split('\r\n')[0])
        sys.exit(2)
    sock.sendall((v['password'] + '\n').encode())
    answer = sock.recv(1024).decode()
    if not answer.startswith('OK'):
        note(event='refused', vmid=vmid, answer=answer.strip())
        sys.exit(2)
    note(event='connected', vmid=vmid, ticket=ticket)
    sock.settimeout(None)
    while sock.recv(1024):
        pass
except OSError as exc:
    note(event='lost', vmid=vmid, error=str(exc))
    sys.exit(1)
note(event='disconnected', vmid=vmid)
sys.exit(1)
'''

STANDIN_MESSAGE = r'''
import json, os, signal, sys, time
with open(os.environ['STANDIN_LOG'], 'a') as fh:
    fh.write(json.dumps({'event': 'message', 'text': sys.argv[1], 't': time.time()}) + '\n')
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
time.sleep(3600)
'''


class Line(object):
    """The store's line to the data centre: the API and the spiceproxy port, which drop() cuts and restore()
    brings back."""

    def __init__(self, pve):
        self.pve, self.host = pve, pve.host
        self.api_port = self._free_port()
        self.conns, self.listeners, self.down, self.silent = [], {}, False, False
        self.lock = threading.Lock()
        self._listen()

    def _free_port(self):
        with socket.socket() as sock:
            sock.bind((self.host, 0))
            return sock.getsockname()[1]

    def _listen(self):
        for port, handler in ((self.api_port, self._forward), (3128, self._spice)):
            if port in self.listeners:
                continue
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, port))
            sock.listen(64)
            self.listeners[port] = sock
            threading.Thread(target=self._accept, args=(sock, handler), daemon=True).start()

    def _accept(self, sock, handler):
        while True:
            try:
                conn, _addr = sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _forward(self, conn):
        while self.silent:   # a lost line: the connection opens, nothing ever comes back
            time.sleep(0.05)
        try:
            upstream = socket.create_connection((self.pve.host, self.pve.port))
        except OSError:
            conn.close()
            return
        with self.lock:
            self.conns.append(upstream)
        threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()
        self._pipe(conn, upstream)

    def _spice(self, conn):
        """PVE's spiceproxy: CONNECT with the ticket as host, then the SPICE password; held until the line drops."""
        try:
            head = conn.recv(4096).decode()
            target = head.split(' ')[1] if head.startswith('CONNECT ') else ''
            if not target.startswith('pvespiceproxy:'):
                conn.sendall(b'HTTP/1.0 401 invalid ticket\r\n\r\n')
                return
            conn.sendall(b'HTTP/1.0 200 OK\r\n\r\n')
            password = conn.recv(1024).decode().strip()
            ok, why = self.pve.check_spice_connect(target, password)
            conn.sendall(('OK\n' if ok else 'DENIED ' + why + '\n').encode())
            while ok and conn.recv(1024):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    def drop(self, silent=False):
        """Cut the line: sessions end; the API refuses connections, or with `silent` takes them and never
        answers (packets lost, no reset: only a client timeout notices)."""
        self.down, self.silent = True, silent
        for port, sock in list(self.listeners.items()):
            if silent and port == self.api_port:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)   # wakes the thread in accept(); close() alone would not
            except OSError:
                pass
            sock.close()
            del self.listeners[port]
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restore(self):
        self.down, self.silent = False, False
        self._listen()

    def close(self):
        self.drop()


def wait_for(pred, timeout=30, step=0.05, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError('timed out waiting for ' + what)


def vm_state(root, vmid):
    cur = ok(root, 'GET', '/nodes/{0}/qemu/{1}/status/current'.format(NODE, vmid))
    return cur['status'], cur.get('lock')


def setup_store(lab):
    """Three desktops of store sh-0001 (the terminal's own, its spare, one not listed for it), one of sh-0002;
    the terminal's token."""
    root = api(lab)
    for pool in ('store-' + STORE, 'store-' + OTHER):
        ok(root, 'POST', '/pools', poolid=pool)
    for vmid, code in ((OWN, STORE), (SPARE, STORE), (UNLISTED, STORE), (ELSEWHERE, OTHER)):
        ok(root, 'POST', '/nodes/{0}/qemu/9100/clone'.format(NODE), newid=vmid, name='{0}-d{1}'.format(code, vmid),
           pool='store-' + code)
    wait_for(lambda: len([v for v in api_get(root, '/cluster/resources', type='vm') if v.get('pool')]) == 4,
             what='clones')
    for vmid in (OWN, SPARE, ELSEWHERE):
        ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/start'.format(NODE, vmid))
        wait_for(lambda: vm_state(root, vmid)[0] == 'running', what='start')
    rc, result = run_module(lab, 'store_access', {'terminals': [
        {'name': TERMINAL, 'store': STORE, 'desktops': ['{0}-d{1}'.format(STORE, OWN), str(SPARE)]}]})
    assert rc == 0, result['_stdout'] + result['_stderr']
    return root, result


def token_session(lab, token_id, secret):
    session = requests.Session()
    session.verify = lab.cafile
    session.base = lab.regions['east'].url + '/api2/json'
    session.headers['Authorization'] = 'PVEAPIToken={0}={1}'.format(token_id, secret)
    return session


def debian_proxmoxer(dest):
    """Debian 12's python3-proxmoxer (1.2.0) unpacked from its .deb, or None where apt cannot fetch it."""
    if not shutil.which('apt-get') or not shutil.which('dpkg-deb'):
        return None
    os.makedirs(dest, exist_ok=True)
    got = subprocess.run(['apt-get', 'download', 'python3-proxmoxer'], cwd=dest, capture_output=True, text=True)
    debs = [f for f in os.listdir(dest) if f.endswith('.deb')]
    if got.returncode or not debs:
        return None
    subprocess.run(['dpkg-deb', '-x', os.path.join(dest, debs[0]), os.path.join(dest, 'x')], check=True)
    return os.path.join(dest, 'x', 'usr', 'lib', 'python3', 'dist-packages')


class Terminal(object):
    """The launcher as the kiosk unit runs it, with stand-ins for remote-viewer and the message window."""

    def __init__(self, lab, line, token, workdir, pythonpath=None, **conf):
        self.workdir, self.log = str(workdir), os.path.join(str(workdir), 'events.jsonl')
        for name, text in (('viewer.py', STANDIN_VIEWER), ('message.py', STANDIN_MESSAGE)):
            with open(os.path.join(self.workdir, name), 'w') as fh:
                fh.write(text)
        token_file = os.path.join(self.workdir, 'terminal.token')
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as fh:
            fh.write(token['api_token_secret'])
        run_dir = os.path.join(self.workdir, 'run')
        os.makedirs(run_dir, mode=0o700, exist_ok=True)
        self.conf = dict({
            'api_host': line.host, 'api_port': line.api_port, 'ca_file': lab.cafile, 'spice_proxy': line.host,
            'api_token_id': token['api_token_id'], 'token_file': token_file,
            'desktops': [d['name'] for d in token['desktops']], 'runtime_dir': run_dir,
            'viewer': [sys.executable, os.path.join(self.workdir, 'viewer.py'), '--kiosk', '--kiosk-quit',
                       'on-disconnect'],
            'message_command': [sys.executable, os.path.join(self.workdir, 'message.py'), '{message}'],
            'poll_interval': 0.1, 'api_timeout': 3, 'backoff_first': 0.2, 'backoff_max': 1.0, 'stable_after': 2,
            'wake_timeout': 30, 'fallback_after': 2}, **conf)
        self.conf_path = os.path.join(self.workdir, 'launcher.json')
        with open(self.conf_path, 'w') as fh:
            json.dump(self.conf, fh)
        env = dict(os.environ, STANDIN_LOG=self.log, JOURNAL_STREAM='8:1')
        if pythonpath:
            env['PYTHONPATH'] = pythonpath
        self.out = open(os.path.join(self.workdir, 'launcher.out'), 'w')
        self.proc = subprocess.Popen([sys.executable, LAUNCHER, '--config', self.conf_path], stdout=self.out,
                                     stderr=subprocess.STDOUT, env=env)

    def events(self, kind=None):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as fh:
            items = [json.loads(line) for line in fh if line.strip()]
        return [e for e in items if kind is None or e['event'] == kind]

    def wait(self, kind, count=1, timeout=30, since=0.0):
        try:
            return wait_for(lambda: [e for e in self.events(kind) if e['t'] >= since][count - 1:] and
                            [e for e in self.events(kind) if e['t'] >= since][count - 1], timeout=timeout)
        except AssertionError:
            raise AssertionError('no {0} x{1}; events {2}; launcher said:\n{3}'.format(
                kind, count, self.events(), self.output())) from None

    def output(self):
        if not self.out.closed:
            self.out.flush()
        with open(self.out.name) as fh:
            return fh.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.out.close()


@pytest.fixture(scope='module')
def tlab(tmp_path_factory):
    lab = start_lab(tmp_path_factory)
    root, result = setup_store(lab)
    lab.terminal = result['terminals'][TERMINAL]
    yield lab
    lab.stop()


def test_the_token_opens_wakes_and_watches_only_its_own_desktops(tlab):
    term = tlab.terminal
    assert term['api_token_id'] == 'storedesk-terminals-{0}@pve!{1}'.format(STORE, TERMINAL)
    assert [d['vmid'] for d in term['desktops']] == [OWN, SPARE]
    root = api(tlab)
    user, _b, name = term['api_token_id'].partition('!')
    assert ok(root, 'GET', '/access/users/{0}/token/{1}'.format(user, name))['privsep'] == 1
    tok = token_session(tlab, term['api_token_id'], term['api_token_secret'])
    visible = sorted(r['vmid'] for r in api_get(tok, '/cluster/resources', type='vm'))
    assert visible == [OWN, SPARE]
    base = '/nodes/{0}/qemu/{1}/'.format(NODE, OWN)
    assert tok.post(tok.base + base + 'spiceproxy', verify=tlab.cafile).status_code == 200
    assert tok.get(tok.base + base + 'status/current', verify=tlab.cafile).status_code == 200
    for vmid in (UNLISTED, ELSEWHERE):     # another desktop of its store, a desktop of another store
        other = '/nodes/{0}/qemu/{1}/'.format(NODE, vmid)
        for method, path in (('POST', 'spiceproxy'), ('GET', 'status/current'), ('POST', 'status/start'),
                             ('POST', 'status/stop'), ('GET', 'config')):
            assert tok.request(method, tok.base + other + path, verify=tlab.cafile).status_code == 403, (vmid, path)
    # Its own desktop, but nothing beyond console, power and status: no config change, no destroy.
    assert tok.delete(tok.base + base.rstrip('/'), verify=tlab.cafile).status_code == 403
    assert tok.put(tok.base + base + 'config', data={'cores': 4}, verify=tlab.cafile).status_code == 403


def test_launcher_wakes_a_hibernated_desktop_and_gets_it_back_after_a_dropped_line(tlab, tmp_path):
    root = api(tlab)
    ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/suspend'.format(NODE, OWN), todisk=1)
    wait_for(lambda: vm_state(root, OWN) == ('stopped', 'suspended'), what='hibernate')
    line = Line(tlab.regions['east'])
    terminal = Terminal(tlab, line, tlab.terminal, tmp_path)
    try:
        first = terminal.wait('connected')
        assert first['vmid'] == OWN and vm_state(root, OWN) == ('running', None)
        assert not terminal.events('invalid') and not terminal.events('refused')
        assert os.listdir(terminal.conf['runtime_dir']) == []          # the .vv is gone once opened
        # The line drops: the session ends, PVE is unreachable, the message shows; back when the line is.
        line.drop()
        terminal.wait('disconnected')
        message = terminal.wait('message', since=first['t'])
        assert 'line to the data centre is down' in message['text']
        time.sleep(1.5)
        assert len(terminal.events('connected')) == 1
        restored = time.time()
        line.restore()
        second = terminal.wait('connected', count=2)
        assert second['vmid'] == OWN and second['ticket'] != first['ticket']     # a fresh ticket each time
        assert second['t'] - restored < 5
    finally:
        terminal.stop()
        line.close()
    logged = terminal.output()
    assert 'PVE unreachable' in logged and 'starting it' in logged and '<6>' in logged
    assert tlab.terminal['api_token_secret'] not in logged


def test_launcher_falls_back_to_the_spare_desktop(tlab, tmp_path):
    root = api(tlab)
    pve = tlab.regions['east']
    ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/stop'.format(NODE, OWN))
    wait_for(lambda: vm_state(root, OWN)[0] == 'stopped', what='stop')
    pve.vm(OWN).start_error = 'start failed: lab says the disk is gone'
    line = Line(pve)
    terminal = Terminal(tlab, line, tlab.terminal, tmp_path)
    try:
        got = terminal.wait('connected', timeout=20)
        assert got['vmid'] == SPARE
        said = terminal.output()
        assert said.count('did not start: start failed: lab says the disk is gone') == 2
        assert 'falling back to desktop {0}-d{1}'.format(STORE, SPARE) in said
    finally:
        terminal.stop()
        line.close()
        pve.vm(OWN).start_error = None


def test_launcher_finds_a_desktop_renamed_seconds_ago(tlab, tmp_path):
    """/cluster/resources names a guest from the RRD cache (seconds late, as on PVE): the launcher finds a
    desktop by its new name at once through the node's guest list, and by VMID when store_access gave one."""
    root = api(tlab)
    old, new = '{0}-d{1}'.format(STORE, OWN), '{0}-d{1}-new'.format(STORE, OWN)
    tlab.regions['east'].rrd_refresh()   # pvestatd's broadcast now: the cache names it (run alone, it had not yet)
    ok(root, 'PUT', '/nodes/{0}/qemu/{1}/config'.format(NODE, OWN), name=new)
    assert old in [v.get('name') for v in api_get(root, '/cluster/resources', type='vm')]    # the lab lags
    line = Line(tlab.regions['east'])
    for sub in ('by-name', 'by-vmid'):
        (tmp_path / sub).mkdir()
    terminals = [Terminal(tlab, line, tlab.terminal, tmp_path / 'by-name', desktops=[new]),
                 Terminal(tlab, line, tlab.terminal, tmp_path / 'by-vmid',
                          desktops=[{'name': 'renamed-elsewhere', 'vmid': OWN}])]
    try:
        for terminal in terminals:
            assert terminal.wait('connected', timeout=20)['vmid'] == OWN
            assert 'not found' not in terminal.output()
    finally:
        for terminal in terminals:
            terminal.stop()
        line.close()
        ok(root, 'PUT', '/nodes/{0}/qemu/{1}/config'.format(NODE, OWN), name=old)


def test_launcher_runs_with_debians_proxmoxer(tlab, tmp_path):
    """Debian 12 ships python3-proxmoxer 1.2.0, which sends token requests without a timeout: the launcher
    still notices a line that silently loses every packet, and comes back with it."""
    path = debian_proxmoxer(str(tmp_path / 'deb'))
    if path is None:
        pytest.skip('apt-get cannot fetch python3-proxmoxer here')
    root = api(tlab)
    if vm_state(root, OWN)[0] != 'running':
        ok(root, 'POST', '/nodes/{0}/qemu/{1}/status/start'.format(NODE, OWN))
        wait_for(lambda: vm_state(root, OWN)[0] == 'running', what='start')
    line = Line(tlab.regions['east'])
    terminal = Terminal(tlab, line, tlab.terminal, tmp_path, pythonpath=path)
    try:
        first = terminal.wait('connected')
        assert first['vmid'] == OWN
        line.drop(silent=True)
        terminal.wait('disconnected')
        terminal.wait('message', since=first['t'], timeout=15)
        line.restore()
        terminal.wait('connected', count=2)
    finally:
        terminal.stop()
        line.close()
    said = terminal.output()
    assert 'proxmoxer 1.2.0' in said and 'Timeout' in said


def test_offboarding_revokes_the_token_at_once(tlab):
    term = tlab.terminal
    rc, result = run_module(tlab, 'store_access', {'terminals': [{'name': TERMINAL, 'store': STORE,
                                                                  'state': 'absent'}]})
    assert rc == 0 and result['summary'] == {'delete_token': 1}, result['_stdout']
    tok = token_session(tlab, term['api_token_id'], term['api_token_secret'])
    answer = tok.post(tok.base + '/nodes/{0}/qemu/{1}/spiceproxy'.format(NODE, SPARE), verify=tlab.cafile)
    assert answer.status_code == 401
    assert not [e for e in api_get(api(tlab), '/access/acl') if e['ugid'] == term['api_token_id']]


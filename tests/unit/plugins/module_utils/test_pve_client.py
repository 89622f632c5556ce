"""PveClient against a fake transport: ticket renewal on PVE's 401, retries decided at one level, version().

PVE >= 8.4.17 / 9.1.5 answers every failed authentication `401 Authentication failed!` (pve-manager
PVE/HTTPServer.pm auth_handler; the HTTP reason line, no JSON body: pve-http-server AnyEvent.pm).
"""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils._pve_client import PveClient, PveVersion
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import PveApiError, PveAuthError
from ansible_collections.storedesk.vdi.plugins.module_utils._retry import decided_by_caller

PASSWORD = 'Secr3t-pw'
LOCK = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"


class Response(object):
    def __init__(self, status, data=None, reason='OK', message=None):
        self.status_code, self.reason, self._data, self._message = status, reason, data, message

    def json(self):
        if self.status_code < 400:
            return {'data': self._data}
        if self._message is None:
            raise ValueError('no JSON body')
        return {'message': self._message, 'data': None}


class Cookies(object):
    def __init__(self):
        self.values = {}

    def set(self, name, value):
        self.values[name] = value


class FakeSession(object):
    """Answers like pveproxy: tickets t1, t2, ... from POST /access/ticket; `valid` says which are accepted."""

    def __init__(self):
        self.cookies = Cookies()
        self.calls = []
        self.issued = 0
        self.valid = set()
        self.refuse_new_tickets = False
        self.answers = {}       # (method, path) -> list of Responses to give first
        self.lock = threading.Lock()
        self.login_delay = 0.0

    def request(self, method, url, headers=None, data=None, params=None, **_kw):
        path = url.split('/api2/json', 1)[1]
        if path == '/access/ticket' and self.login_delay:
            time.sleep(self.login_delay)
        with self.lock:
            self.calls.append((method, path))
            if path == '/access/ticket':
                if (data or {}).get('password') != PASSWORD:
                    return Response(401, reason='authentication failure', message='authentication failure\n')
                self.issued += 1
                ticket = 't{0}'.format(self.issued)
                if not self.refuse_new_tickets:
                    self.valid.add(ticket)
                return Response(200, {'ticket': ticket, 'CSRFPreventionToken': 'csrf{0}'.format(self.issued),
                                      'username': 'automation@pve'})
            queued = self.answers.get((method, path))
            if queued:
                return queued.pop(0)
            token = (headers or {}).get('Authorization')
            if token is None and self.cookies.values.get('PVEAuthCookie') not in self.valid:
                return Response(401, reason='Authentication failed!')
            if token is not None and token != 'PVEAPIToken=automation@pve!sd=good':
                return Response(401, reason='Authentication failed!')
            if path == '/version':
                return Response(200, {'version': '8.4.17', 'release': '8.4', 'repoid': 'c8c39014'})
            return Response(200, {'path': path})

    def mount(self, *_a):
        pass

    def close(self):
        pass


def make(**kw):
    kw.setdefault('password', PASSWORD)
    client = PveClient('pve.example', user='automation@pve', **kw)
    client.session = FakeSession()
    client.sleeps = []
    client.sleep = client.sleeps.append
    return client


def expire_all(client):
    client.session.valid.clear()


def test_ticket_refused_with_authentication_failed_is_renewed_once():
    c = make()
    assert c.get('/cluster/status') == {'path': '/cluster/status'}
    expire_all(c)
    assert c.put('/nodes/n1/qemu/100/config', description='x') == {'path': '/nodes/n1/qemu/100/config'}
    assert c.stats['logins'] == 2
    assert c.session.calls.count(('PUT', '/nodes/n1/qemu/100/config')) == 2


def test_a_fresh_ticket_refused_too_ends_with_a_clear_error_and_no_loop():
    c = make()
    c.get('/cluster/status')
    expire_all(c)
    c.session.refuse_new_tickets = True
    with pytest.raises(PveAuthError) as err:
        c.get('/cluster/resources')
    text = str(err.value)
    assert 'GET /cluster/resources' in text and 'Authentication failed!' in text and 'renewed ticket' in text
    assert 'enabled' in text and PASSWORD not in text
    assert c.stats['logins'] == 2, 'one renewal, then stop'
    assert c.session.calls.count(('GET', '/cluster/resources')) == 2


def test_token_auth_is_never_renewed():
    c = make(password=None, token_id='automation@pve!sd', token_secret='wrong')
    with pytest.raises(PveAuthError) as err:
        c.get('/version')
    assert 'PROXMOX_TOKEN_SECRET' in str(err.value) and 'wrong' not in str(err.value)
    assert c.stats['logins'] == 0 and c.session.calls == [('GET', '/version')]


def test_many_threads_share_one_renewal():
    c = make()
    c.get('/cluster/status')
    expire_all(c)
    c.session.login_delay = 0.2     # every thread meets the refused ticket before the renewal is done
    results = []
    threads = [threading.Thread(target=lambda: results.append(c.get('/cluster/status'))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16
    assert c.stats['logins'] == 2, 'one renewal for all threads that saw the refused ticket'


def test_wrong_password_at_login_names_the_fix():
    c = make(password='nope')
    with pytest.raises(PveAuthError) as err:
        c.get('/version')
    assert 'PROXMOX_PASSWORD' in str(err.value) and 'nope' not in str(err.value)


def test_lock_timeout_retried_by_the_client_alone():
    c = make(retries=3)
    c.session.answers[('PUT', '/nodes/n1/qemu/100/config')] = [Response(500, reason=LOCK, message=LOCK)] * 2
    c.put('/nodes/n1/qemu/100/config', description='x')
    assert c.stats['retries'] == 2 and len(c.sleeps) == 2


def test_lock_timeout_inside_a_callers_lock_wait_is_left_to_the_caller():
    c = make(retries=3)
    c.session.answers[('PUT', '/nodes/n1/qemu/100/config')] = [Response(500, reason=LOCK, message=LOCK)] * 2
    with decided_by_caller('lock'):
        with pytest.raises(PveApiError) as err:
            c.put('/nodes/n1/qemu/100/config', description='x')
    assert err.value.lock_timeout and c.stats['retries'] == 0


def test_a_failed_write_is_not_resent_but_a_read_is():
    c = make(retries=2)
    c.session.answers[('POST', '/nodes/n1/qemu/100/clone')] = [Response(503, reason='busy', message='busy')]
    with pytest.raises(PveApiError):
        c.post('/nodes/n1/qemu/100/clone', newid=101)
    c.session.answers[('GET', '/cluster/resources')] = [Response(503, reason='busy', message='busy')]
    assert c.get('/cluster/resources') == {'path': '/cluster/resources'}
    assert c.stats['retries'] == 1


def test_version_is_read_once_and_compares_as_a_tuple():
    c = make()
    v = c.version()
    assert c.version() is v and c.session.calls.count(('GET', '/version')) == 1
    assert (v.major, v.minor, v.release) == (8, 4, 17) and v.text == '8.4.17'
    assert v >= (8, 4, 17) and v < (9, 0, 0)


def test_version_parsing():
    assert PveVersion.parse({'version': '9.1.5', 'release': '9.1'}) == (9, 1, 5)
    assert PveVersion.parse({'release': '8.4'}) == (8, 4, 0)
    with pytest.raises(Exception) as err:
        PveVersion.parse({})
    assert 'version' in str(err.value)


def test_a_lock_timeout_under_desktop_ops_is_retried_at_one_level(monkeypatch):
    """DesktopOps.retry_locked waits for the lock; the client inside it does not retry the same error again."""
    import time as time_mod
    from ansible_collections.storedesk.vdi.plugins.module_utils._vm_ops import DesktopOps
    sleeps = []
    monkeypatch.setattr(time_mod, 'sleep', sleeps.append)
    c = make(retries=3)
    c.session.answers[('PUT', '/nodes/n1/qemu/100/config')] = [Response(500, reason=LOCK, message=LOCK)] * 3
    DesktopOps(c, lock_wait=60).put_config('n1', 100, 'desk-1', description='x')
    assert c.session.calls.count(('PUT', '/nodes/n1/qemu/100/config')) == 4
    assert c.stats['retries'] == 0 and len(sleeps) == 3, 'three waits, all by the lock wait'

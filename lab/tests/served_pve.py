"""A fakepve composed with one of the lab's mixins, served on its own event loop (fakepve's pytest-plugin
pattern, port 0), and a plain requests client: what the lab-extension tests drive over HTTPS."""

import asyncio
import threading

import pytest
import requests
from fakepve import settle
from fakepve.certs import make_cert


def make_pki(directory):
    """(certfile, keyfile) for 127.0.0.1."""
    return make_cert(str(directory), hosts=('127.0.0.1',))[:2]


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """(certfile, keyfile) for the module's served Pves (import it into the test module as a fixture)."""
    return make_pki(tmp_path_factory.mktemp('pki'))


def new_pve(cls):
    """An unstarted `cls` (a fakepve composed with lab mixins) on 127.0.0.1, port 0, PVE time unscaled."""
    pve = cls(host='127.0.0.1', port=0)
    pve.time_scale = 0
    return pve


def serve(pve, pki):
    """Start `pve` on a loop in a thread; yields it (with .cafile) and stops it after."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)
    run(pve.start(*pki))
    pve.cafile = pki[0]
    try:
        yield pve
    finally:
        run(settle())
        run(pve.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


class Api(object):
    """A plain requests client: ticket login (the answer in .login) or API token."""

    def __init__(self, pve, user='root@pam', password='secret', token=None):
        self.base = pve.url + '/api2/json'
        self.session = requests.Session()
        self.cafile = pve.cafile  # per request: REQUESTS_CA_BUNDLE would override session.verify
        self.login = None
        if token:
            self.session.headers['Authorization'] = 'PVEAPIToken=' + token
            return
        self.login = self.session.post(self.base + '/access/ticket', data={'username': user, 'password': password},
                                       verify=self.cafile)
        if self.login.ok:
            data = self.login.json()['data']
            self.session.cookies.set('PVEAuthCookie', data['ticket'])
            self.session.headers['CSRFPreventionToken'] = data['CSRFPreventionToken']

    def __call__(self, method, url, **data):
        return self.session.request(method, self.base + url, data=data or None, verify=self.cafile)

    def ok(self, method, url, **data):
        answer = self(method, url, **data)
        assert answer.status_code == 200, (answer.status_code, answer.text)
        return answer.json()['data']


def message(answer):
    return answer.json().get('message', '').strip()

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Proxmox VE API client per module process (private).

Logs in once (an API token needs no login at all), keeps one HTTP connection pool, reads /version
at most once (version(), cached), and retries only where that is safe, through _retry.retry:
reads, connection failures before a request was sent, and PVE's config-lock timeout (unless a caller's
lock wait decides that, see _retry.decided_by_caller). A password ticket that PVE stops accepting (401)
is renewed once per request, shared by all threads; a second 401 ends the request with a clear error.
"""

from __future__ import annotations

import re
import threading
import time
from collections import namedtuple
from urllib.parse import quote

try:
    import requests
    from requests.adapters import HTTPAdapter
    HAS_REQUESTS = True
except ImportError:  # reported by the module through missing_required_lib
    HAS_REQUESTS = False

from ._pve_errors import (PveApiError, PveAuthError, PveConnectionError, PvePermissionError, PveTlsError,
                          StoredeskError)
from ._retry import caller_decides, retry

HINT_AUTH = 'check api_user/api_password or api_token_id/api_token_secret (env PROXMOX_USER, PROXMOX_PASSWORD, ' \
            'PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET)'
HINT_TLS = 'give the cluster CA with ca_path (env PROXMOX_CA_PATH), or validate_certs: false for a lab only'
HINT_NET = 'check api_host/api_port and that the PVE API (port 8006) is reachable from the controller'
HINT_QUORUM = 'the cluster has lost quorum: /etc/pve is read-only until quorum returns; check corosync ' \
              '(pvecm status) before running again'
HINT_NODE = 'the node is offline or unreachable from the cluster: bring it back or leave it out ' \
            '(its desktops are reported, not changed)'
HINT_RENEWED = 'PVE refused a ticket it had just issued: check that the user is enabled and not expired ' \
               '(pveum user list), or use an API token (api_token_id, api_token_secret)'


class PveVersion(namedtuple('PveVersion', ('major', 'minor', 'release'))):
    """pve-manager's version as (major, minor, release), e.g. (8, 4, 17); compares as a tuple.

    `text` is PVE's own string (GET /version `version`, pve-manager PVE/API2.pm `version`)."""
    text = ''

    @classmethod
    def parse(cls, data):
        text = str((data or {}).get('version') or '')
        numbers = [int(n) for n in re.findall(r'\d+', text)[:3]]
        if len(numbers) < 2:
            numbers = [int(n) for n in re.findall(r'\d+', str((data or {}).get('release') or ''))[:2]]
        if len(numbers) < 2:
            raise StoredeskError('GET /version answered no PVE version ({0!r})'.format(data),
                                 hint='is api_host a Proxmox VE node?')
        version = cls(*(numbers + [0, 0])[:3])
        version.text = text or '.'.join(str(n) for n in version)
        return version


class PveClient(object):
    """A thread-safe client for one PVE cluster (one `api_host`).

    `stats` counts requests and logins; tests and benchmarks read it.
    """

    def __init__(self, host, port=8006, user='root@pam', password=None, token_id=None, token_secret=None,
                 validate_certs=True, ca_path=None, timeout=30, retries=3, pool_size=64):
        if not HAS_REQUESTS:
            raise StoredeskError('the Python library requests is not installed on the controller',
                                 hint='pip install requests (see requirements.txt)')
        self.base = 'https://{0}:{1}/api2/json'.format(host if ':' not in host else '[' + host + ']', port)
        self.host = host
        self.netloc = '{0}:{1}'.format(host, port)
        self.user = user or 'root@pam'
        self.password = password
        self.token = None
        if token_id:
            full = token_id if '!' in token_id else '{0}!{1}'.format(self.user, token_id)
            self.token = 'PVEAPIToken={0}={1}'.format(full, token_secret or '')
            self.user = full
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount('https://', adapter)
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session-level setting.
        self.verify = (ca_path or True) if validate_certs else False
        if not validate_certs:
            try:
                import urllib3
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            except ImportError:
                pass
        self.csrf = None
        self._login_lock = threading.Lock()
        self._logged_in = False
        self.stats = {'requests': 0, 'logins': 0, 'retries': 0}
        self._stats_lock = threading.Lock()
        self._ticket_gen = 0            # +1 per login: threads that saw the same refused ticket renew it once
        self._version = None
        self._version_lock = threading.Lock()
        self.sleep = time.sleep         # tests replace it

    # ------------------------------------------------------------------ auth

    def login(self):
        """Get a ticket once (no-op with a token). Thread-safe."""
        if self.token or self._logged_in:
            return
        with self._login_lock:
            if self._logged_in:
                return
            self._do_login()

    def _do_login(self):
        if not self.password:
            raise StoredeskError('no credentials for {0}'.format(self.host), hint=HINT_AUTH)
        self._count('logins')
        try:
            data = self._send('POST', '/access/ticket', {'username': self.user, 'password': self.password},
                              auth=False)
        except PveAuthError:
            raise PveAuthError(401, 'POST', '/access/ticket', 'authentication failure for {0}'.format(self.user),
                               hint=HINT_AUTH) from None
        self.session.cookies.set('PVEAuthCookie', data['ticket'])
        self.csrf = data['CSRFPreventionToken']
        self._ticket_gen += 1
        self._logged_in = True

    def _renew(self, seen_gen):
        """The ticket expired or was revoked mid-run: log in again, once for all threads that saw it refused.

        PVE >= 8.4.17 / 9.1.5 answers every failed authentication `401 Authentication failed!` (pve-manager
        PVE/HTTPServer.pm auth_handler, commits 26c10a2e / d3973e63), so any 401 counts, not only texts that
        name the ticket. The request never reached its handler (auth_handler runs first), so it may be resent."""
        with self._login_lock:
            if self._ticket_gen == seen_gen:
                self._do_login()

    def version(self):
        """The cluster's PVE version, one GET /version per client (cached): PveVersion(major, minor, release)."""
        with self._version_lock:
            if self._version is None:
                self._version = PveVersion.parse(self.get('/version'))
            return self._version

    # -------------------------------------------------------------- requests

    def get(self, path, **params):
        return self.request('GET', path, params=params)

    def post(self, path, safe=False, **data):
        return self.request('POST', path, data=data, safe=safe)

    def put(self, path, safe=False, **data):
        return self.request('PUT', path, data=data, safe=safe)

    def delete(self, path, safe=False, **params):
        return self.request('DELETE', path, params=params, safe=safe)

    def request(self, method, path, params=None, data=None, safe=None):
        """One API call; returns `data`. `safe`: a write that may be repeated (defaults to True for GET)."""
        self.login()
        safe = method == 'GET' if safe is None else safe
        values = params if method in ('GET', 'DELETE') else data
        renewed = []

        def once():
            seen_gen = self._ticket_gen
            try:
                return self._send(method, path, values)
            except PveAuthError as exc:
                if self.token or renewed:
                    raise _refused(exc, method, path, bool(renewed)) from None
            renewed.append(True)
            self._renew(seen_gen)
            try:
                return self._send(method, path, values)
            except PveAuthError as exc:
                raise _refused(exc, method, path, True) from None

        def retryable(exc):
            if isinstance(exc, PveTlsError):
                return False
            if isinstance(exc, PveConnectionError):
                return safe or not exc.sent
            if isinstance(exc, PveAuthError) or not isinstance(exc, PveApiError):
                return False
            if exc.lock_timeout:
                return not caller_decides('lock')
            return safe and exc.status in (502, 503, 504)

        return retry(once, retryable, attempts=self.retries + 1, base=0.2, cap=5.0, sleep=self.sleep,
                     on_retry=lambda _exc, _n, _pause: self._count('retries'))

    def _send(self, method, path, values=None, auth=True):
        url = self.base + path
        headers = {}
        if auth and self.token:
            headers['Authorization'] = self.token
        elif auth and method != 'GET' and self.csrf:
            headers['CSRFPreventionToken'] = self.csrf
        kwargs = {'headers': headers, 'timeout': self.timeout, 'verify': self.verify}
        values = dict((k, self._encode(v)) for k, v in (values or {}).items() if v is not None)
        if method in ('GET', 'DELETE'):
            kwargs['params'] = values
        else:
            kwargs['data'] = values
        self._count('requests')
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise PveTlsError('TLS certificate of {0} could not be verified ({1})'.format(
                self.host, _reason(exc)), hint=HINT_TLS) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise PveConnectionError('cannot connect to the PVE API at {0} ({1})'.format(self.netloc, _reason(exc)),
                                     hint=HINT_NET) from None
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc):
                raise PveConnectionError('cannot connect to the PVE API at {0} ({1})'.format(
                    self.netloc, _reason(exc)), hint=HINT_NET) from None
            raise PveConnectionError('connection to {0} lost during {1} {2} ({3})'.format(
                self.netloc, method, path, _reason(exc)), hint=HINT_NET, sent=True) from None
        except requests.exceptions.Timeout as exc:
            raise PveConnectionError('{0} {1} on {2}: no answer within {3}s'.format(
                method, path, self.host, self.timeout), hint='raise api_timeout or check the API load',
                sent=True) from None
        return self._decode(method, path, response)

    @staticmethod
    def _encode(value):
        if isinstance(value, bool):
            return 1 if value else 0
        return value

    def _decode(self, method, path, response):
        if response.status_code < 400:
            try:
                return response.json().get('data')
            except ValueError:
                raise PveApiError(response.status_code, method, path, 'answer is not JSON') from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = body.get('message') or response.reason or ''
        errors = body.get('errors')
        cls = PveApiError
        hint = None
        if response.status_code == 401:
            cls = PveAuthError
        elif response.status_code == 403:
            cls = PvePermissionError
            hint = 'grant the privilege named above to {0} (see docs/access.md for the automation role)'.format(
                self.user.split('!')[0] if self.token is None else self.user)
        elif 'no quorum' in message:
            hint = HINT_QUORUM
        elif response.status_code == 595:
            hint = HINT_NODE
        raise cls(response.status_code, method, path, message, errors, hint=hint)

    def _count(self, key):
        with self._stats_lock:
            self.stats[key] += 1

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def path(*parts):
        """An API path from parts, each URL-quoted: path('nodes', node, 'qemu', 100)."""
        return '/' + '/'.join(quote(str(p), safe='') for p in parts)

    def close(self):
        self.session.close()


def _refused(exc, method, path, renewed):
    """The 401 the caller sees: credentials to check, or a ticket refused right after its renewal."""
    if not renewed:
        return PveAuthError(exc.status, method, path, exc.pve_message, hint=HINT_AUTH)
    return PveAuthError(exc.status, method, path, '{0} (also with a renewed ticket)'.format(exc.pve_message),
                        hint=HINT_RENEWED)


def _reason(exc):
    """The innermost readable reason of a requests exception, without URLs full of parameters."""
    inner = exc
    for _depth in range(5):
        nxt = getattr(inner, 'reason', None) or (inner.args[0] if getattr(inner, 'args', None) else None)
        if nxt is None or nxt is inner or isinstance(nxt, str):
            break
        inner = nxt
    text = str(inner)
    for marker in ('[Errno', 'Errno', 'Connection refused', 'Name or service', 'certificate verify failed', 'timed out',
                   'Connection reset', 'Remote end closed', 'Connection aborted'):
        if marker in text:
            return text[text.index(marker):].split("'))", maxsplit=1)[0].rstrip(')')
    return text[:200]


def _never_sent(exc):
    """True if the connection failed before any byte of the request went out."""
    text = repr(exc)
    return any(m in text for m in ('NewConnectionError', 'Connection refused', 'Name or service not known',
                                   'No route to host', 'Failed to establish'))

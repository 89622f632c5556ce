# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Proxmox VE API client per module process (private).

Logs in once (an API token needs no login at all), keeps one HTTP connection pool,
never probes /version on its own, and retries only where that is safe:
reads, connection failures before a request was sent, and PVE's config-lock timeout.
"""

from __future__ import annotations

import random
import threading
import time
from urllib.parse import quote

try:
    import requests
    from requests.adapters import HTTPAdapter
    HAS_REQUESTS = True
except ImportError:  # reported by the module through missing_required_lib
    HAS_REQUESTS = False

from ._pve_errors import (PveApiError, PveAuthError, PveConnectionError, PvePermissionError, PveTlsError,
                          StoredeskError)

HINT_AUTH = 'check api_user/api_password or api_token_id/api_token_secret (env PROXMOX_USER, PROXMOX_PASSWORD, ' \
            'PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET)'
HINT_TLS = 'give the cluster CA with ca_path (env PROXMOX_CA_PATH), or validate_certs: false for a lab only'
HINT_NET = 'check api_host/api_port and that the PVE API (port 8006) is reachable from the controller'
HINT_QUORUM = 'the cluster has lost quorum: /etc/pve is read-only until quorum returns; check corosync ' \
              '(pvecm status) before running again'
HINT_NODE = 'the node is offline or unreachable from the cluster: bring it back or leave it out ' \
            '(its desktops are reported, not changed)'


def backoff(attempt, base=0.2, cap=5.0):
    """Full-jitter exponential backoff in seconds for retry number `attempt` (1-based)."""
    return random.uniform(0, min(cap, base * (2 ** (attempt - 1))))


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
        self._logged_in = True

    def _relogin(self, stale_csrf):
        """A ticket expired or was revoked mid-run: log in again, once per expiry."""
        with self._login_lock:
            if self.csrf == stale_csrf:
                self._do_login()

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
        attempt = 0
        reauthed = False
        while True:
            attempt += 1
            csrf = self.csrf
            try:
                return self._send(method, path, params if method in ('GET', 'DELETE') else data)
            except PveAuthError as exc:
                if self.token or reauthed or 'ticket' not in exc.pve_message:
                    raise PveAuthError(exc.status, method, path, exc.pve_message, hint=HINT_AUTH) from None
                reauthed = True
                self._relogin(csrf)
                continue
            except PveConnectionError as exc:
                if isinstance(exc, PveTlsError) or attempt > self.retries or (exc.sent and not safe):
                    raise
            except PveApiError as exc:
                retry = exc.lock_timeout or (safe and exc.status in (502, 503, 504))
                if not retry or attempt > self.retries:
                    raise
            self._count('retries')
            time.sleep(backoff(attempt))

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

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One WinRM runner for every desktop-facing module (private), on pywinrm.

``run_on_desktops(options, desktops, script, payload)`` runs one shipped PowerShell script (see
``_ps_scripts``) on many desktops at once and returns one record per desktop:
``{name, address, ok, changed, result, error, error_category, attempts, elapsed}``.

- Input reaches the script only as ``$StoredeskInput = '<base64 of UTF-8 JSON>'`` prepended to it.
- Delivery: a script whose ``powershell -EncodedCommand`` line fits cmd.exe's 8,191 characters goes
  on the command line; a longer one is fed to a small loader through stdin of the same command
  (one extra round trip, any size, nothing left on disk).
- One shell per desktop attempt: create, command, [send], receive..., delete (+3 NTLM round trips).
- Transient failures (refused/reset connections, time-outs, HTTP 5xx) are retried with jittered
  backoff; once a command was sent, only if the script is idempotent. A 401 is never retried.
- The password never appears in a record or an exception text.
- A large fan-out runs in several processes (``_process_fanout``): the client's CPU, not the network,
  limits one process past a few hundred desktops.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

from ._process_fanout import map_in_processes, worker_count
from ._ps_scripts import STDIN_LOADER
from ._retry import retry

try:
    import requests
    import winrm
    from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMOperationTimeoutError, \
        WinRMTransportError, WSManFaultError
    HAS_WINRM = True
except ImportError:  # reported by the module with missing_required_lib
    HAS_WINRM = False

CMD_LINE_LIMIT = 8191          # cmd.exe's limit on one command line
CMD_LINE_BUDGET = 8000         # what the runner allows itself below it
STDIN_CHUNK = 32 * 1024        # bytes per WS-Man Send (well below MaxEnvelopeSize)
RECEIVE_WAIT_MAX = 20          # seconds one Receive may block on the desktop (WS-Man OperationTimeout)
POWERSHELL = 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand '
SECRET_MASK = '********'
PER_PROCESS = 100              # desktops per worker process at least (a fan-out's CPU: _process_fanout)


class WinrmOptions(object):
    """Connection and fan-out options (see doc fragment storedesk.vdi.winrm)."""

    def __init__(self, user=None, password=None, transport='ntlm', scheme='http', port=None,
                 validate_certs=True, ca_path=None, connection_timeout=10, operation_timeout=120,
                 concurrency=20, retries=2, backoff=1.0, backoff_max=10.0, allow_basic_http=False):
        self.user, self.password, self.transport, self.scheme = user, password, transport, scheme
        self.allow_basic_http = allow_basic_http
        self.port = port or (5986 if scheme == 'https' else 5985)
        self.validate_certs, self.ca_path = validate_certs, ca_path
        self.connection_timeout, self.operation_timeout = connection_timeout, operation_timeout
        self.concurrency, self.retries = concurrency, retries
        self.backoff, self.backoff_max = backoff, backoff_max
        self._secret = None
        self.processes = None    # worker processes of a fan-out; None: by size and cores (_process_fanout)

    def secret(self):
        """What the session authenticates with: the password, or for NTLM its LM:NT hash pair, computed once."""
        if self._secret is None:
            self._secret = ntlm_hashes(self.password) if self.transport == 'ntlm' else self.password
        return self._secret

    def checked(self):
        if self.transport not in ('ntlm', 'kerberos', 'basic'):
            raise ValueError('winrm_transport must be ntlm, kerberos or basic, not {0!r}'.format(self.transport))
        if self.scheme not in ('http', 'https'):
            raise ValueError('winrm_scheme must be http or https, not {0!r}'.format(self.scheme))
        if self.transport == 'basic' and self.scheme == 'http' and not self.allow_basic_http:
            raise ValueError('winrm_transport=basic over winrm_scheme=http would send the password in clear text: '
                             'use winrm_scheme=https (or ntlm, which encrypts over http); only a lab may set '
                             'winrm_allow_basic_over_http=true')
        if self.transport != 'kerberos' and (not self.user or self.password is None):
            raise ValueError('winrm_user and winrm_password are required for {0} (environment '
                             'STOREDESK_WINRM_USER / STOREDESK_WINRM_PASSWORD)'.format(self.transport))
        for name in ('connection_timeout', 'operation_timeout', 'concurrency'):
            if getattr(self, name) < 1:
                raise ValueError('winrm_{0} must be at least 1'.format(name))
        if self.retries < 0:
            raise ValueError('winrm_retries must not be negative')
        return self

    def warnings(self):
        if self.transport == 'basic' and self.scheme == 'http':
            return ['winrm_transport=basic over http sends the password in clear text on every request; '
                    'use winrm_scheme=https']
        return []

    def __repr__(self):  # never shows the password
        return 'WinrmOptions(user={0!r}, transport={1}, scheme={2}, port={3})'.format(
            self.user, self.transport, self.scheme, self.port)


class WinrmError(Exception):
    """A failure on one desktop: category (auth, unreachable, connection, timeout, tls, wsman,
    protocol, script, config), whether retrying may help, and the script's step if it reported one.
    Only UNREACHABLE_CATEGORIES (_winrm_args) mean "not reached"; auth and tls are failures."""

    def __init__(self, message, category, retryable=False, step=None):
        super(WinrmError, self).__init__(message)
        self.message, self.category, self.retryable, self.step = message, category, retryable, step
        self.safe = False   # set per attempt: retrying may help AND cannot run the command twice unasked


def ntlm_hashes(password):
    """'<LM hex>:<NT hex>' for password, which pyspnego takes in place of the password (spnego/_ntlm_raw/crypto.py
    lmowfv1/ntowfv1 accept this form). pyspnego derives both from a password again for every new security context,
    the LM one with a pure-Python DES: about 2 ms of CPU per desktop, a tenth of a desktop's WinRM client CPU in a
    large fan-out. The password itself when pyspnego's functions are not there (the hashes are an optimisation)."""
    try:
        from spnego._ntlm_raw.crypto import is_ntlm_hash, lmowfv1, ntowfv1
        if not password or is_ntlm_hash(password):
            return password
        return '{0}:{1}'.format(lmowfv1(password).hex(), ntowfv1(password).hex())
    except Exception:  # noqa: BLE001 - a private API of pyspnego; any change there falls back to the password
        return password


def with_input(script, payload):
    """The script with its JSON input prepended as base64 (no quote can break out of it)."""
    data = base64.b64encode(json.dumps(payload, separators=(',', ':')).encode('utf-8')).decode('ascii')
    return "$StoredeskInput = '{0}'\n{1}".format(data, script)


def encoded_command(script):
    return POWERSHELL + base64.b64encode(script.encode('utf-16-le')).decode('ascii')


def delivery(script):
    """(command line, stdin bytes or None): on the command line when it fits, else through stdin."""
    command = encoded_command(script)
    if len(command) <= CMD_LINE_BUDGET:
        return command, None
    return encoded_command(STDIN_LOADER), script.encode('utf-8')


def clean_stderr(raw):
    """Readable text from PowerShell's CLIXML error stream (or the raw text)."""
    text = raw.decode('utf-8', 'replace')
    if text.startswith('#< CLIXML'):
        parts = re.findall(r'<S S="Error">(.*?)</S>', text, re.S)
        text = ''.join(parts).replace('_x000D__x000A_', '\n')
        text = text.replace('&lt;', '<').replace('&gt;', '>').replace('&quot;', '"').replace('&apos;', "'") \
            .replace('&amp;', '&')
    return text.strip()


def parse_output(stdout, stderr, rc):
    """The script's JSON document; WinrmError when the desktop answered anything else."""
    text = stdout.decode('utf-8', 'replace').lstrip('\ufeff').strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or 'ok' not in doc:
        detail = clean_stderr(stderr) or text
        if rc != 0 and detail:
            raise WinrmError('command failed with exit code {0}: {1}'.format(rc, detail[:500]), 'script')
        raise WinrmError('the desktop did not answer with a JSON document (exit code {0}): {1!r}'.format(
            rc, text[:200]), 'protocol')
    return doc


class _Session(object):
    """One attempt on one desktop: a pywinrm Protocol and one shell."""

    def __init__(self, options, address):
        o = options
        self.options = o
        receive_wait = max(1, min(RECEIVE_WAIT_MAX, o.operation_timeout))
        self.protocol = winrm.Protocol(
            endpoint='{0}://{1}:{2}/wsman'.format(o.scheme, _url_host(address), o.port),
            transport={'basic': 'basic'}.get(o.transport, o.transport),
            username=o.user, password=o.secret(),
            server_cert_validation='validate' if o.validate_certs else 'ignore',
            ca_trust_path=o.ca_path if o.validate_certs else None,
            read_timeout_sec=receive_wait + o.connection_timeout,
            operation_timeout_sec=receive_wait,
            message_encryption='auto', proxy=None)
        # separate connect and read time-outs: an unreachable desktop is given up after connection_timeout
        self.protocol.transport.read_timeout_sec = (o.connection_timeout, receive_wait + o.connection_timeout)
        # pywinrm builds its requests session with proxies and verify already decided (proxy=None: none; the CA of
        # ca_path); with trust_env on, requests would look up proxy variables and .netrc again on every request
        # (requests Session.send -> rebuild_proxies), a few ms of CPU per desktop under the GIL in a large fan-out.
        self.protocol.transport.build_session().trust_env = False
        self.sent = False   # True once the command may have started on the desktop

    def run(self, script_text, deadline):
        command, stdin = delivery(script_text)
        shell_id = self.protocol.open_shell(codepage=65001, noprofile=True)
        try:
            self.sent = True
            command_id = self.protocol.run_command(shell_id, command, console_mode_stdin=stdin is None)
            if stdin is not None:
                chunks = [stdin[i:i + STDIN_CHUNK] for i in range(0, len(stdin), STDIN_CHUNK)] or [b'']
                for i, chunk in enumerate(chunks):
                    self.protocol.send_command_input(shell_id, command_id, chunk, end=i == len(chunks) - 1)
            stdout, stderr, rc = self._receive(shell_id, command_id, deadline)
        except WinrmError:
            self._best_effort(self.protocol.close_shell, shell_id)
            raise
        except Exception:
            self.protocol.transport.close_session()   # a broken connection cannot be reused
            raise
        # The answer is in: deleting the shell ends the finished command too (no Signal round trip),
        # and a failing clean-up must not turn a result into a failure or a retry.
        self._best_effort(self.protocol.close_shell, shell_id)
        return stdout, stderr, rc

    def _receive(self, shell_id, command_id, deadline):
        out, err = [], []
        while True:
            try:
                stdout, stderr, rc, done = self.protocol.get_command_output_raw(shell_id, command_id)
                out.append(stdout)
                err.append(stderr)
                if done:
                    return b''.join(out), b''.join(err), rc
            except WinRMOperationTimeoutError:
                pass   # no output within one WS-Man wait: ask again until our own deadline
            if time.monotonic() > deadline:
                self._best_effort(self.protocol.cleanup_command, shell_id, command_id)
                raise WinrmError('the script did not finish within {0} s (winrm_operation_timeout); it was '
                                 'stopped'.format(self.options.operation_timeout), 'timeout')

    @staticmethod
    def _best_effort(fn, *args):
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - cleanup after a failure must not hide that failure
            pass


def _url_host(address):
    return '[{0}]'.format(address) if ':' in address and not address.startswith('[') else address


def classify(exc, sent, options):
    """A WinrmError for any exception of one attempt."""
    if isinstance(exc, WinrmError):
        return exc
    if isinstance(exc, InvalidCredentialsError):
        return WinrmError('credentials rejected (HTTP 401) for user {0!r}: check winrm_user/winrm_password, that '
                          'the account is a local administrator, and that the desktop allows {1} authentication'
                          .format(options.user, options.transport), 'auth')
    if isinstance(exc, requests.exceptions.SSLError):
        return WinrmError('TLS certificate of the desktop not accepted: {0} (set winrm_ca_path to the CA that '
                          'signed it)'.format(_first_line(exc)), 'tls')
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return WinrmError('no connection within {0} s (winrm_connection_timeout): desktop off or unreachable'
                          .format(options.connection_timeout), 'unreachable', retryable=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return WinrmError('no answer within the read time-out', 'timeout', retryable=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        if not sent:
            return WinrmError('connection refused or closed before a shell was opened: desktop off, booting or '
                              'WinRM not listening ({0})'.format(_first_line(exc)), 'unreachable', retryable=True)
        return WinrmError('connection lost during the command: {0}'.format(_first_line(exc)), 'connection',
                          retryable=True)
    if isinstance(exc, (WinRMTransportError, WSManFaultError)):
        reason = getattr(exc, 'reason', None) or exc.message
        code = getattr(exc, 'wsman_fault_code', None)
        fault = ', WSMan fault {0}'.format(code) if code else ''
        text = 'WinRM error (HTTP {0}{1}): {2}'.format(exc.code, fault, str(reason).strip()[:500])
        return WinrmError(text, 'wsman', retryable=int(exc.code or 0) >= 500)
    if isinstance(exc, WinRMError):
        return WinrmError(str(exc), 'config')
    return WinrmError('{0}: {1}'.format(type(exc).__name__, exc), 'internal')


def _first_line(exc):
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def scrub(value, secret):
    """value with every occurrence of secret masked (deep, for str/list/dict)."""
    if not secret or len(secret) < 3:
        return value
    if isinstance(value, str):
        return value.replace(secret, SECRET_MASK)
    if isinstance(value, list):
        return [scrub(v, secret) for v in value]
    if isinstance(value, dict):
        return dict((k, scrub(v, secret)) for k, v in value.items())
    return value


def run_on_desktop(options, desktop, script, payload, idempotent=True, session_factory=None):
    """Run script on one desktop {name, address} with retries; returns its record."""
    factory = session_factory or _Session
    started = time.monotonic()
    record = dict(name=desktop.get('name'), address=desktop.get('address'), ok=False, changed=False,
                  result=None, error=None, error_category=None, attempts=0, elapsed=0.0)
    text = with_input(script, payload)

    def attempt():
        record['attempts'] += 1
        session = None
        try:
            session = factory(options, desktop['address'])
            stdout, stderr, rc = session.run(text, time.monotonic() + options.operation_timeout)
            doc = parse_output(stdout, stderr, rc)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a per-desktop record
            error = classify(exc, session is not None and session.sent, options)
            error.safe = error.retryable and (idempotent or session is None or not session.sent)
            raise error from None
        record['changed'] = bool(doc.get('changed'))
        if doc.get('ok'):
            record.update(ok=True, result=doc.get('result'))
            return None
        err = doc.get('error') or {}
        record['result'] = doc.get('result')
        return WinrmError(str(err.get('message') or 'the script reported a failure').strip(), 'script',
                          step=err.get('step'))

    try:
        error = retry(attempt, lambda exc: getattr(exc, 'safe', False), attempts=options.retries + 1,
                      base=options.backoff, cap=options.backoff_max)
    except WinrmError as exc:
        error = exc
    if error is not None:
        record.update(error=error.message, error_category=error.category)
        if error.step:
            record['error_step'] = error.step
    record['elapsed'] = round(time.monotonic() - started, 3)
    return scrub(scrub(record, options.password), options.secret())


def run_on_desktops(options, desktops, script, payload=None, idempotent=True, session_factory=None):
    """Run script on every desktop, at most options.concurrency at once; records in input order.

    payload: a dict for every desktop, or a callable(desktop) -> dict.
    """
    desktops = list(desktops)
    if not desktops:
        return []

    def one(desktop):
        data = payload(desktop) if callable(payload) else (payload or {})
        return run_on_desktop(options, desktop, script, data, idempotent, session_factory)

    # pywinrm's proxy=None is proxies {'no_proxy': '*'}; requests then wraps every request in
    # utils.set_environ('no_proxy', '*'), which deletes the variable afterwards when it was unset: two threads
    # race into KeyError: 'no_proxy' (seen in the faults scenario). An empty no_proxy means the same as an unset
    # one (urllib's getproxies_environment skips empty values) and is restored instead of deleted.
    os.environ.setdefault('no_proxy', '')
    options.secret()   # once, before the threads and worker processes
    workers = options.processes or worker_count(len(desktops), PER_PROCESS, limit=options.concurrency)
    per_process = -(-options.concurrency // workers)   # together, at most options.concurrency at once

    def share(part):
        with ThreadPoolExecutor(max_workers=min(per_process, len(part))) as pool:
            return list(pool.map(one, part))

    def lost(desktop, reason):
        return dict(name=desktop.get('name'), address=desktop.get('address'), ok=False, changed=False, result=None,
                    error='no result, outcome unknown: {0}'.format(reason), error_category='internal', attempts=0,
                    elapsed=0.0)

    return map_in_processes(share, desktops, workers, lost)

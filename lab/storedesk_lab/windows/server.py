"""The WinRM service of one fake desktop: HTTP/1.1 on asyncio, auth, and the shell resource.

One ``Endpoint`` per attached VM listens on its own loopback address. Per TCP connection it keeps
the NTLM context (NTLM authenticates the connection, and seals every message after it over http);
shells and commands live on the desktop and survive connections, as on Windows.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import uuid

from . import auth, wsman
from .contracts import Context
from .powershell import Execution, run_command_line, run_script

MAX_SHELLS_PER_USER = 30
# MaxEnvelopeSizekb: 150 KB documented (MicrosoftDocs/win32 desktop-src/WinRM/installation-and-configuration-for-
# windows-remote-management.md); Windows 10 / Server 2019 and later ship 500. A larger SOAP message is answered
# HTTP 413 with no fault (ansible-collections/ansible.windows#391, masterzen/winrm#156: not in MicrosoftDocs).
MAX_ENVELOPE_BYTES = 150 * 1024
AFTER_UNREAD_SECS = 30.0   # real seconds
RESET = object()   # answer: abort the TCP connection


class Command(object):
    def __init__(self, command_id):
        self.id = command_id
        self.out, self.err, self.rc = bytearray(), bytearray(), 0
        self.pos = 0
        self.done = False
        self.needs_stdin = False
        self.after = None           # runs once the answer has been read (sysprep powering off, say)
        self.script = ''
        self.stdin = bytearray()
        self.event = asyncio.Event()

    def apply(self, execution, scale=0.0):
        """Take a finished execution; work that takes Windows minutes ends seconds x scale later."""
        if execution.seconds and scale and not (execution.needs_stdin or execution.hang):
            execution.seconds, delay = 0.0, execution.seconds * scale
            asyncio.get_running_loop().call_later(delay, self.apply, execution)
            return
        self.after = execution.after
        if self.after is not None:     # nobody reads the answer: what it started runs on all the same
            asyncio.get_running_loop().call_later(AFTER_UNREAD_SECS, self.finish)
        self.out += execution.stdout
        self.err += execution.stderr
        self.rc = execution.rc
        self.needs_stdin = execution.needs_stdin
        self.script = execution.script
        self.done = not (execution.needs_stdin or execution.hang)
        self.event.set()

    def finish(self):
        after, self.after = self.after, None
        if after is not None:
            after()

    def has_output(self):
        return self.done or self.pos < len(self.out)


class Shell(object):
    def __init__(self, shell_id, user, codepage):
        self.id, self.user, self.codepage = shell_id, user, codepage
        self.commands = {}


class Connection(object):
    def __init__(self, tls):
        self.tls = tls
        self.ntlm = None          # pyspnego acceptor while authenticating / once authenticated
        self.user = None          # authenticated user of this connection (NTLM)


class Endpoint(object):
    """Serves one desktop; fleet supplies reachability, users, latency and the VM context."""

    def __init__(self, fleet, vmid, desktop, ip):
        self.fleet, self.vmid, self.desktop, self.ip = fleet, vmid, desktop, ip
        self.servers = []
        self.shells = {}
        self.writers = set()      # open client connections, closed with the endpoint
        self.boot_mark = None

    async def start(self, port, tls_port=None, ssl_context=None):
        self.servers.append(await asyncio.start_server(
            lambda r, w: self._serve(r, w, False), self.ip, port, reuse_address=True))
        if ssl_context is not None:
            self.servers.append(await asyncio.start_server(
                lambda r, w: self._serve(r, w, True), self.ip, tls_port, ssl=ssl_context, reuse_address=True))

    async def stop(self):
        for server in self.servers:
            server.close()
        for writer in list(self.writers):   # wait_closed() does not close kept-alive connections
            writer.close()
        for server in self.servers:
            await server.wait_closed()
        self.servers = []
        await asyncio.sleep(0)              # let their handlers see the close

    # -- HTTP -----------------------------------------------------------------------------
    async def _serve(self, reader, writer, tls):
        conn = Connection(tls)
        self.writers.add(writer)
        try:
            while True:
                if not self._answers():
                    return _reset(writer)
                request = await _read_request(reader)
                if request is None:
                    break
                if not self._answers():
                    return _reset(writer)
                self.desktop.count('http_requests')
                self.fleet.http_requests += 1
                latency = self.desktop.latency if self.desktop.latency is not None else self.fleet.latency
                if latency:
                    await asyncio.sleep(latency)
                answer = await self._answer(conn, *request)
                if answer is RESET:
                    return _reset(writer)
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    def _answers(self):
        up, mark = self.fleet.answers(self.vmid)
        if up and mark != self.boot_mark:    # Windows (re)booted since we last looked: no shells survive
            self.shells.clear()
            self.boot_mark = mark
        return up

    async def _answer(self, conn, method, headers, body):
        challenge = [('WWW-Authenticate', 'Negotiate')]
        if self.desktop.allow_basic:
            challenge.append(('WWW-Authenticate', 'Basic realm="WSMAN"'))
        if method != 'POST':
            return _http(405, b'', [('Allow', 'POST')])
        scheme, _, token = headers.get('authorization', '').partition(' ')
        scheme = scheme.lower()
        user = conn.user
        if scheme == 'basic':
            user = self._basic_user(conn, token)
            if user is None:
                return _http(401, b'', challenge)
        elif scheme in ('negotiate', 'ntlm'):
            conn.user = None
            if conn.ntlm is None or conn.ntlm.complete:
                conn.ntlm = auth.ntlm_acceptor(self.fleet.channel_bindings if conn.tls else None)
            try:
                out = conn.ntlm.step(base64.b64decode(token))
            except Exception:  # noqa: BLE001 - any NTLM failure is a 401, as on Windows
                conn.ntlm = None
                return _http(401, b'', challenge)
            if not conn.ntlm.complete:
                return _http(401, b'', [('WWW-Authenticate', '{0} {1}'.format(
                    'NTLM' if scheme == 'ntlm' else 'Negotiate', base64.b64encode(out).decode()))])
            name = auth.bare_user(conn.ntlm.client_principal)
            if name not in self.fleet.user_passwords():
                conn.ntlm = None
                return _http(401, b'', challenge)
            user = conn.user = name
        elif user is None:
            return _http(401, b'', challenge)

        encrypted = headers.get('content-type', '').lower().startswith('multipart/encrypted')
        if encrypted:
            if conn.ntlm is None or not conn.ntlm.complete:
                return _http(401, b'', challenge)
            try:
                body = auth.decrypt(conn.ntlm, body)
            except Exception:  # noqa: BLE001 - tampered or out-of-sequence message
                return _http(400, b'')
            self.desktop.count('soap_encrypted')
        elif body and not conn.tls and not self.desktop.allow_unencrypted:
            return _http(401, b'', challenge)      # AllowUnencrypted=false: clear-text SOAP over http refused
        if not body:
            return _http(200, b'')                 # pywinrm's empty request that sets up encryption
        if len(body) > MAX_ENVELOPE_BYTES:
            return _http(413, b'')
        if not encrypted:
            self.desktop.count('soap_plain')

        status, payload = await self._soap(user, body)
        if payload is RESET:
            return RESET
        if encrypted:
            return _http(status, auth.encrypt(conn.ntlm, payload), content_type=auth.ENCRYPTED_TYPE)
        return _http(status, payload)

    def _basic_user(self, conn, token):
        if not self.desktop.allow_basic or (not conn.tls and not self.desktop.allow_unencrypted):
            return None
        user, password = auth.basic_credentials(token)
        name = auth.bare_user(user)
        return name if user and self.fleet.user_passwords().get(name) == password else None

    # -- WS-Management shell resource ----------------------------------------------------
    async def _soap(self, user, body):
        relates = ''
        try:
            req = wsman.parse(body)
            relates = req.message_id
            handler = {wsman.ACT_CREATE: self._create, wsman.ACT_COMMAND: self._command,
                       wsman.ACT_SEND: self._send, wsman.ACT_RECEIVE: self._receive,
                       wsman.ACT_SIGNAL: self._signal, wsman.ACT_DELETE: self._delete}.get(req.action)
            if handler is None:
                raise wsman.SoapError(500, 's:Sender', 'a:ActionNotSupported', wsman.ACTION_NOT_SUPPORTED,
                                      'The action is not supported by the service.')
            if req.action != wsman.ACT_CREATE and (req.shell_id not in self.shells or
                                                  self.shells[req.shell_id].user != user):
                raise wsman.shell_not_found(req.shell_id)
            if self.desktop.faults.take('http_500'):
                raise wsman.SoapError(500, 's:Receiver', 'w:InternalError', wsman.INTERNAL_ERROR,
                                      'The WS-Management service cannot process the request because of an '
                                      'internal error.')
            self.desktop.count('wsman:' + req.action.rsplit('/', 1)[-1])
            answer = await handler(req, user)
            if answer is RESET:
                return 200, RESET
            action, xml = answer
            return 200, wsman.envelope(action, relates, xml)
        except wsman.SoapError as err:
            return err.status, wsman.fault(err, relates, self.desktop.computer_name)

    async def _create(self, req, user):
        if sum(1 for s in self.shells.values() if s.user == user) >= MAX_SHELLS_PER_USER:
            raise wsman.SoapError(500, 's:Receiver', 'w:QuotaLimit', wsman.SHELL_QUOTA,
                                  'The WS-Management service cannot process the request. This user is allowed a '
                                  'maximum number of {0} concurrent shells, which has been exceeded. Close existing '
                                  'shells or raise the quota for this user. '.format(MAX_SHELLS_PER_USER))
        codepage = int(req.options.get('WINRS_CODEPAGE') or 437)
        shell = Shell(str(uuid.uuid4()).upper(), user, codepage)
        self.shells[shell.id] = shell
        address = 'http://{0}:{1}/wsman'.format(self.ip, self.fleet.port)
        return wsman.ACT_CREATE + 'Response', wsman.created(shell.id, address)

    async def _command(self, req, user):
        shell = self.shells[req.shell_id]
        line = req.body.find('rsp:Command', wsman.NS) if req.body is not None else None
        args = req.body.find('rsp:Arguments', wsman.NS) if req.body is not None else None
        command = Command(str(uuid.uuid4()).upper())
        shell.commands[command.id] = command
        skip = req.options.get('WINRS_SKIP_CMD_SHELL', 'FALSE').upper() == 'TRUE'
        command.apply(run_command_line(self.desktop, (line.text or '') if line is not None else '',
                                       (args.text or '') if args is not None else '', skip, self._context()),
                      self._scale())
        return wsman.ACT_COMMAND + 'Response', wsman.command_response(command.id)

    async def _send(self, req, user):
        shell = self.shells[req.shell_id]
        stream = req.body.find('rsp:Stream', wsman.NS) if req.body is not None else None
        command = shell.commands.get(stream.get('CommandId', '').upper()) if stream is not None else None
        if command is None:
            raise wsman.SoapError(500, 's:Sender', 'w:InvalidParameter', 2150858778,
                                  'The parameter is incorrect. (CommandId)')
        command.stdin += base64.b64decode(stream.text or '')
        if stream.get('End', 'false').lower() == 'true' and command.needs_stdin:
            encoding = 'utf-8' if shell.codepage == 65001 else 'cp{0}'.format(shell.codepage)
            text = bytes(command.stdin).decode(encoding, 'replace')
            execution = run_script(self.desktop, command.script, self._context(), stdin=text)
            command.apply(execution if not execution.needs_stdin else Execution(), self._scale())
        return wsman.ACT_SEND + 'Response', '<rsp:SendResponse/>'

    async def _receive(self, req, user):
        shell = self.shells[req.shell_id]
        stream = req.body.find('rsp:DesiredStream', wsman.NS) if req.body is not None else None
        command = shell.commands.get((stream.get('CommandId') or '').upper()) if stream is not None else None
        if command is None:
            raise wsman.SoapError(500, 's:Sender', 'w:InvalidParameter', 2150858778,
                                  'The parameter is incorrect. (CommandId)')
        if self.desktop.faults.take('reset_mid_command'):
            return RESET
        if not command.has_output():
            command.event.clear()
            try:
                await asyncio.wait_for(command.event.wait(), req.operation_timeout)
            except asyncio.TimeoutError:
                raise wsman.operation_timeout()
            if not command.has_output():
                raise wsman.operation_timeout()
        chunk = bytes(command.out[command.pos:command.pos + self.desktop.receive_chunk])
        command.pos += len(chunk)
        done = command.done and command.pos >= len(command.out)
        stderr = [bytes(command.err)] if done and command.err else []
        xml = wsman.receive_response(command.id, [chunk] if chunk else [], stderr, done, command.rc)
        if done:
            command.finish()
        return wsman.ACT_RECEIVE + 'Response', xml

    async def _signal(self, req, user):
        shell = self.shells[req.shell_id]
        signal = req.body if req.body is not None else None
        command_id = (signal.get('CommandId') or '').upper() if signal is not None else ''
        command = shell.commands.pop(command_id, None)
        if command is not None:
            command.finish()
            command.done = True
            command.event.set()
        return wsman.ACT_SIGNAL + 'Response', '<rsp:SignalResponse/>'

    async def _delete(self, req, user):
        shell = self.shells.pop(req.shell_id, None)
        for command in (shell.commands.values() if shell is not None else []):
            command.finish()
        return wsman.ACT_DELETE + 'Response', ''

    def _context(self):
        return Context(vm=self.fleet.pve.vm(self.vmid), mapping_lookup=self.fleet.usb_mapping_lookup,
                       time_scale=self._scale())

    def _scale(self):
        return float(getattr(self.fleet.pve, 'time_scale', 0) or 0)


async def _read_request(reader):
    """(method, headers (lower-case names), body) of the next request; None at a clean EOF."""
    try:
        head = await reader.readuntil(b'\r\n\r\n')
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    lines = head.decode('latin-1').split('\r\n')
    method = lines[0].split(' ', 1)[0]
    headers = {}
    for line in lines[1:]:
        if ':' in line:
            name, _, value = line.partition(':')
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get('content-length') or 0)
    body = await reader.readexactly(length) if length else b''
    return method, headers, body


REASONS = {200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 405: 'Method Not Allowed', 413: 'Request Entity Too Large',
           500: 'Internal Server Error'}


def _http(status, body, headers=(), content_type='application/soap+xml;charset=UTF-8'):
    lines = ['HTTP/1.1 {0} {1}'.format(status, REASONS.get(status, 'Error')), 'Server: Microsoft-HTTPAPI/2.0']
    if body:
        lines.append('Content-Type: ' + content_type)
    lines.extend('{0}: {1}'.format(k, v) for k, v in headers)
    lines.append('Content-Length: {0}'.format(len(body)))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body


def _reset(writer):
    """Drop the connection with a TCP RST, as a powered-off or crashing host looks to a client."""
    sock = writer.get_extra_info('socket')
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
    writer.transport.abort()

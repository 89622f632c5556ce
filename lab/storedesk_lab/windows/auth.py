"""Authentication and message encryption of the fake WinRM service.

NTLM is accepted by pyspnego, which reads users from the file named by NTLM_USER_FILE (process-global):
every fleet of the process registers its users in one file. The lines are in smbpasswd form with the LM and
NT hashes computed once here (pyspnego spnego/_ntlm.py ``_get_credential`` reads both forms; from a
``DOMAIN:user:password`` line it derives the LM hash with a pure-Python DES on every authentication, a tenth of
a fake desktop's CPU in a large fan-out). What the client must send is the same either way.
Encrypted messages use MS-WSMV's multipart/encrypted framing exactly as pywinrm's encryption.py
builds and parses it.
"""

from __future__ import annotations

import base64
import os
import struct
import tempfile
import threading

import spnego
from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1

BOUNDARY = b'--Encrypted Boundary'
PROTOCOL = b'application/HTTP-SPNEGO-session-encrypted'
ENCRYPTED_TYPE = 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'

_lock = threading.Lock()
_entries = []   # (domain, user, password)
_lines = {}     # entry -> its smbpasswd line (the hashes cost a pure-Python DES each: computed once per entry)
_path = None


def register_users(users, domains=('', '.')):
    """Add local accounts (user -> password) for the given domain prefixes to the NTLM user file."""
    global _path
    with _lock:
        if _path is None:
            fd, _path = tempfile.mkstemp(prefix='storedesk-ntlm-users-')
            os.close(fd)
            previous = os.environ.get('NTLM_USER_FILE')
            if previous and os.path.isfile(previous):   # keep what someone else of this process registered
                with open(previous) as fh:
                    for line in fh.read().splitlines():
                        parts = line.split(':')
                        if len(parts) == 3:
                            _entries.append(tuple(parts))
        for user, password in users.items():
            for domain in domains:
                entry = (domain, user, password)
                if entry not in _entries:
                    _entries.append(entry)
        with open(_path, 'w') as fh:
            fh.write(''.join(_smbpasswd_line(*e) for e in _entries))
        os.environ['NTLM_USER_FILE'] = _path


def _smbpasswd_line(domain, user, password):
    key = (domain, user, password)
    if key not in _lines:
        _lines[key] = _hashed_line(domain, user, password)
    return _lines[key]


def _hashed_line(domain, user, password):
    name = '{0}\\{1}'.format(domain, user) if domain else user
    lm, nt = lmowfv1(password).hex().upper(), ntowfv1(password).hex().upper()
    return '{0}:1000:{1}:{2}:[U]:LCT-00000000\n'.format(name, lm, nt)


def bare_user(name):
    """'DOMAIN\\user', '.\\user', 'user@domain' -> 'user' (lower case)."""
    name = name or ''
    name = name.split('\\')[-1]
    return name.split('@')[0].lower()


def basic_credentials(header_value):
    try:
        user, _, password = base64.b64decode(header_value.strip()).decode('utf-8').partition(':')
        return user, password
    except (ValueError, UnicodeDecodeError):
        return None, None


def ntlm_acceptor(channel_bindings=None):
    return spnego.server(service='http', protocol='ntlm', options=spnego.NegotiateOptions.use_ntlm,
                         channel_bindings=channel_bindings)


def decrypt(context, body):
    """SOAP bytes of an MS-WSMV encrypted request; ValueError when framing or signature is wrong."""
    if body.endswith(BOUNDARY + b'--\r\n'):
        body = body[:-len(BOUNDARY + b'--\r\n')]
    parts = [p for p in body.split(BOUNDARY + b'\r\n') if p]
    if len(parts) != 2 or b'Length=' not in parts[0]:
        raise ValueError('bad multipart/encrypted framing')
    expected = int(parts[0].split(b'Length=')[1].strip())
    marker = b'\tContent-Type: application/octet-stream\r\n'
    if not parts[1].startswith(marker):
        raise ValueError('bad multipart/encrypted framing')
    data = parts[1][len(marker):]
    sig_len = struct.unpack('<i', data[:4])[0]
    message = context.unwrap(data[4:4 + sig_len] + data[4 + sig_len:]).data
    if len(message) != expected:
        raise ValueError('encrypted length does not match')
    return message


def encrypt(context, message):
    """The multipart/encrypted body carrying message, as Windows answers an encrypted request."""
    wrapped = context.wrap(message, encrypt=True).data
    signature, sealed = wrapped[:16], wrapped[16:]
    return (BOUNDARY + b'\r\n\tContent-Type: ' + PROTOCOL + b'\r\n'
            b'\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=' + str(len(message)).encode() +
            b'\r\n' + BOUNDARY + b'\r\n\tContent-Type: application/octet-stream\r\n' +
            struct.pack('<i', len(signature)) + signature + sealed + BOUNDARY + b'--\r\n')

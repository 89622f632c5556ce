"""Helpers for tests and benchmarks: a stub Proxmox, a fleet on a background event loop, a TLS cert."""

from __future__ import annotations

import asyncio
import datetime
import os
import threading
import time

from .fleet import WindowsFleet


class StubVm(object):
    def __init__(self, vmid, name, status='running', node='pve1', config=None):
        self.vmid, self.node, self.status, self.lock = vmid, node, status, None
        self.config = dict(config or {}, name=name)
        self.started_at = time.time() - 3600 if status == 'running' else None

    def start(self):
        self.status, self.started_at = 'running', time.time()

    def stop(self):
        self.status, self.started_at = 'stopped', None


class StubPve(object):
    """What WindowsFleet needs of the lab's FakePve: .vm(vmid) and .time_scale."""

    def __init__(self, time_scale=0.0):
        self.vms, self.time_scale = {}, time_scale

    def add(self, vmid, name, **kwargs):
        self.vms[vmid] = StubVm(vmid, name, **kwargs)
        return self.vms[vmid]

    def vm(self, vmid):
        return self.vms.get(vmid)


class FleetThread(object):
    """A WindowsFleet on its own event loop thread, driven from synchronous code."""

    def __init__(self, pve, **kwargs):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name='windows-fleet', daemon=True)
        self.thread.start()
        self.fleet = self.call(self._make(pve, kwargs))

    @staticmethod
    async def _make(pve, kwargs):
        return WindowsFleet(pve, **kwargs)

    def call(self, coro, timeout=60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def attach(self, vmid, ip):
        self.call(self.fleet.attach(vmid, ip))

    def detach(self, vmid):
        self.call(self.fleet.detach(vmid))

    def desktop(self, vmid):
        return self.fleet.desktop(vmid)

    def close(self):
        self.call(self.fleet.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def self_signed_cert(directory, hosts=('127.0.0.1',)):
    """(certfile, keyfile) of a self-signed certificate for the given IP addresses (it is its own CA)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'storedesk-lab-desktops')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(h)) for h in hosts]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = os.path.join(directory, 'winrm.pem'), os.path.join(directory, 'winrm.key')
    with open(certfile, 'wb') as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyfile, 'wb') as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return certfile, keyfile

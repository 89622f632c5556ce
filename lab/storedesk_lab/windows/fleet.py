"""WindowsFleet: the fake Windows desktops of the lab, one WinRM endpoint per VM.

Reachability follows the VM in the lab's fake Proxmox: a stopped or hibernated VM drops every
connection (TCP RST); a started one answers once ``boot_secs`` PVE seconds (× pve.time_scale) have
passed since it started.
"""

from __future__ import annotations

import re
import ssl
import time

from . import auth
from .model import WindowsDesktop
from .server import Endpoint

DEFAULT_USERS = {'storedesk': 'Store-Desk-Lab-1!'}


class WindowsFleet(object):
    def __init__(self, pve, *, boot_secs=30.0, users=None, port=5985, tls=None, latency=0.0,
                 usb_mapping_lookup=None, tls_port=5986):
        """pve: object with .vm(vmid) and .time_scale. users: {'user': 'password'} local admins.
        tls: (certfile, keyfile) or an ssl.SSLContext to also listen on tls_port.
        latency: seconds added to every HTTP answer. usb_mapping_lookup(mapping_id, node) -> 'VVVV:PPPP'."""
        self.pve, self.boot_secs, self.port, self.tls_port = pve, boot_secs, port, tls_port
        self.users = dict(users or DEFAULT_USERS)
        self.latency, self.usb_mapping_lookup = latency, usb_mapping_lookup
        self.ssl_context, self.channel_bindings = _tls(tls)
        self.desktops = {}      # vmid -> WindowsDesktop (kept across detach/attach, like a disk)
        self.endpoints = {}     # vmid -> Endpoint
        self.http_requests = 0
        auth.register_users(self.users)

    async def attach(self, vmid: int, ip: str) -> None:
        """Start answering on ip:port (and ip:tls_port with tls) for this VM."""
        await self.detach(vmid)
        desktop = self.desktops.get(vmid)
        if desktop is None:
            desktop = self.desktops[vmid] = WindowsDesktop(vmid=vmid, computer_name=self._computer_name(vmid))
        auth.register_users(self.users, domains=(desktop.computer_name,))
        endpoint = Endpoint(self, vmid, desktop, ip)
        await endpoint.start(self.port, self.tls_port, self.ssl_context)
        self.endpoints[vmid] = endpoint

    async def detach(self, vmid: int) -> None:
        endpoint = self.endpoints.pop(vmid, None)
        if endpoint is not None:
            await endpoint.stop()

    def desktop(self, vmid: int) -> WindowsDesktop:
        return self.desktops[vmid]

    async def close(self) -> None:
        for vmid in list(self.endpoints):
            await self.detach(vmid)

    # -- what the endpoints ask --------------------------------------------------------------
    def answers(self, vmid):
        """(reachable, boot mark): the mark changes with every boot, so shells die with a reboot."""
        vm = self.pve.vm(vmid)
        if vm is None or getattr(vm, 'status', None) != 'running' or getattr(vm, 'lock', None) == 'suspended':
            return False, None
        started = getattr(vm, 'started_at', None)
        boot = self.boot_secs * (getattr(self.pve, 'time_scale', 0) or 0)
        if started is not None and time.time() - started < boot:
            return False, None
        return True, started

    def user_passwords(self):
        return dict((k.lower(), v) for k, v in self.users.items())

    def share_spice(self, vmid, vid_pid, shared=True):
        """A thin client starts (or stops) redirecting a USB device into the VM's SPICE ports."""
        devices = self.desktop(vmid).spice_shared
        if shared and vid_pid.upper() not in devices:
            devices.append(vid_pid.upper())
        elif not shared and vid_pid.upper() in devices:
            devices.remove(vid_pid.upper())

    def reset_stats(self):
        self.http_requests = 0
        for desktop in self.desktops.values():
            desktop.stats.clear()

    def _computer_name(self, vmid):
        vm = self.pve.vm(vmid)
        name = (getattr(vm, 'config', {}) or {}).get('name') if vm is not None else None
        name = re.sub(r'[^A-Za-z0-9-]', '-', name or 'DESKTOP-{0}'.format(vmid)).upper()
        return name[:15].rstrip('-') or 'DESKTOP-{0}'.format(vmid)


def _tls(tls):
    """(server SSLContext, NTLM channel bindings of its certificate) from (certfile, keyfile) or a context."""
    if tls is None:
        return None, None
    if isinstance(tls, ssl.SSLContext):
        return tls, None
    certfile, keyfile = tls
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context, _channel_bindings(certfile)


def _channel_bindings(certfile):
    """tls-server-end-point bindings (RFC 5929), as Windows checks them with CbtHardeningLevel."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from spnego.channel_bindings import GssChannelBindings

    with open(certfile, 'rb') as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or algorithm.name in ('md5', 'sha1'):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(serialization_der()))
    return GssChannelBindings(application_data=b'tls-server-end-point:' + digest.finalize())


def serialization_der():
    from cryptography.hazmat.primitives.serialization import Encoding
    return Encoding.DER

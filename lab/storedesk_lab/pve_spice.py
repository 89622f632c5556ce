"""SPICE tickets for the lab: POST /nodes/{node}/qemu/{vmid}/spiceproxy and the check PVE's spiceproxy makes.

A mixin of FakePve (fakepve answers spiceproxy with placeholder values, for any VM). Modelled on:
- qemu-server src/PVE/API2/Qemu.pm `spiceproxy` (stable-bookworm = 8.4 and master = 9.x alike): permission
  VM.Console on /vms/{vmid} (fakepve checks the schema's rule first); load_config on the node (a VM elsewhere:
  "Configuration file ... does not exist"); the ticket is set with QMP `set_password`, which needs a running
  QEMU ("VM {vmid} not running"), and expires after 30 s (`expire_password` time "+30").
- pve-access-control src/PVE/AccessControl.pm `remote_viewer_config`: the answer's keys (type, title, host,
  proxy "http://<proxy>:3128", tls-port, host-subject, ca with escaped newlines, password, delete-this-file,
  secure-attention, toggle-fullscreen, release-cursor).
- pve-common src/PVE/Ticket.pm `assemble_spice_ticket` (host = "pvespiceproxy:<hex time>:<vmid>:<node>:<port>::
  <40 hex sig>", password = 40 hex) and `verify_spice_connect_url` (the proxy accepts a CONNECT to
  "<host>:<port>" while the ticket is -20..40 s old and the signature holds).

check_spice_connect(connect, password) is what a test's stand-in spiceproxy asks: True while the CONNECT target
and the password are a ticket this lab issued, the password is not older than 30 s and the VM still runs.
"""

import hashlib
import hmac
import os
import re
import time

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes

__all__ = ['SpiceProxyApi']

CONNECT = re.compile(r'^pvespiceproxy:([a-z0-9]{8}):(\d+):(\S+):(\d+)::([a-z0-9]{40}):(\d+)$')
SPICE_PORT = 61000   # qemu-server PVE::QemuServer::spice_port: the first free port from 61000
PASSWORD_SECS = 30


class SpiceProxyApi(StatefulRoutes):

    async def start(self, certfile, keyfile):
        self.spice_cafile = certfile
        return await super().start(certfile, keyfile)

    def _spice_secret(self):
        if not getattr(self, '_spice_key', None):
            self._spice_key = os.urandom(20)
            self.spice_passwords = {}   # proxyticket -> (password, vmid, issued at)
        return self._spice_key

    def _routes_lab_spice(self):
        return [('POST', '/nodes/{node}/qemu/{vmid}/spiceproxy', self._spiceproxy)]

    async def _spiceproxy(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        if vm.status != 'running':
            raise PveError(500, 'VM {0} not running'.format(vm.vmid))
        secret = self._spice_secret()
        now = time.time()
        plain = 'pvespiceproxy:{0:08x}:{1}:{2}:{3}'.format(int(now), vm.vmid, vm.node.lower(), SPICE_PORT)
        proxyticket = '{0}::{1}'.format(plain, hmac.new(secret, plain.encode(), hashlib.sha1).hexdigest())
        password = hashlib.sha1(os.urandom(20)).hexdigest()
        self.spice_passwords[proxyticket] = (password, vm.vmid, now)
        ca = ''
        if getattr(self, 'spice_cafile', None):
            with open(self.spice_cafile) as fh:
                ca = fh.read().replace('\n', '\\n')
        title = 'VM {0}'.format(vm.vmid) + (' - ' + vm.name if vm.name else '')
        return {'secure-attention': 'Ctrl+Alt+Ins', 'toggle-fullscreen': 'Shift+F11', 'release-cursor': 'Ctrl+Alt+R',
                'type': 'spice', 'title': title, 'host': proxyticket,
                'proxy': 'http://{0}:3128'.format(v.get('proxy') or self.host), 'tls-port': SPICE_PORT,
                'host-subject': 'OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN={0}'.format(vm.node),
                'ca': ca, 'password': password, 'delete-this-file': 1}

    def check_spice_connect(self, connect, password):
        """(ok, why): may a viewer holding `password` open the CONNECT target `connect` now?"""
        found = CONNECT.match(connect or '')
        if not found:
            return False, 'not a spice ticket'
        stamp, vmid, node, signed_port, sig, port = found.groups()
        age = time.time() - int(stamp, 16)
        if not -20 < age < 40 or signed_port != port:
            return False, 'ticket expired'
        plain = 'pvespiceproxy:{0}:{1}:{2}:{3}'.format(stamp, vmid, node, port)
        if not hmac.compare_digest(hmac.new(self._spice_secret(), plain.encode(), hashlib.sha1).hexdigest(), sig):
            return False, 'bad signature'
        issued = self.spice_passwords.get(connect.rsplit(':', 1)[0])
        if not issued or issued[0] != password:
            return False, 'wrong password'
        if time.time() - issued[2] > PASSWORD_SECS:
            return False, 'password expired'
        vm = self.vm(int(vmid))
        if vm is None or vm.status != 'running':
            return False, 'VM {0} not running'.format(vmid)
        return True, 'VM {0}'.format(vmid)

"""A running lab: one LabPve per region on its own loopback address, a control API, state files.

Runs on a private event loop in a thread, so the same code serves `lab up` (a background process)
and the pytest fixtures (in the test process, with port 0 so nothing collides with a running lab).
"""

import asyncio
import copy
import json
import os
import secrets
import threading

from aiohttp import web
from fakepve.certs import make_cert

from . import faults, topology
from .pve import LENIENT, STRICT, LabPve
from .store_network import StoreNetwork, StoreThinClient

STATE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.state')
TOKEN_NAME = 'storedesk'
# pyspnego's NTLM acceptor reads one user file per process (NTLM_USER_FILE), so every lab of a
# process shares the desktops' admin password.
WINRM_PASSWORD = secrets.token_urlsafe(15)


# The strict features on by default: those the product's pool, image, access and USB suites pass with
# (docs/fidelity.md, "Strict switches"); `resources_lag` at pve.STRICT's value (a few real seconds: pve_rrd.py).
# Task listing, the 401 texts and the privilege sets are PVE facts and always on.
DEFAULT_STRICT = ('resources_lag', 'root_only_options', 'clone_inflight')
_NO = ('0', 'false', 'no', 'lenient')


def strictness(strict=None):
    """{feature: value} for Lab(strict=...): True (all strict), False (all lenient), a dict of features over the
    strict set, or None: STOREDESK_LAB_STRICT (1/0, or a comma list of the strict features), else
    DEFAULT_STRICT."""
    if strict is None:
        env = os.environ.get('STOREDESK_LAB_STRICT')
        if env is None:
            strict = list(DEFAULT_STRICT)
        elif env.lower() in _NO or env.lower() in ('1', 'true', 'yes', 'strict'):
            strict = env.lower() not in _NO
        else:
            strict = [f.strip() for f in env.split(',') if f.strip()]
    if isinstance(strict, (list, tuple)):
        unknown = set(strict) - set(STRICT)
        if unknown:
            raise ValueError('unknown strictness feature(s) {0}; known: {1}'.format(
                ', '.join(sorted(unknown)), ', '.join(sorted(STRICT))))
        return dict((k, STRICT[k] if k in strict else LENIENT[k]) for k in STRICT)
    if isinstance(strict, dict):
        unknown = set(strict) - set(STRICT)
        if unknown:
            raise ValueError('unknown strictness feature(s) {0}; known: {1}'.format(
                ', '.join(sorted(unknown)), ', '.join(sorted(STRICT))))
        return dict(STRICT, **strict)
    return dict(STRICT if strict else LENIENT)


class Lab(object):
    """The lab. `regions` maps a region name to its LabPve once started."""

    def __init__(self, topology_path=None, time_scale=0.05, state_dir=None, port=None, password=None,
                 control_port=0, host_offset=0, strict=None, pve_version=None):
        self.topo = topology.load(topology_path)
        # PVE release served (topology `pve_version`, else STOREDESK_LAB_PVE_VERSION, else 9.1) and how
        # strict the lab is (True/False, or {feature: value}; default STOREDESK_LAB_STRICT, else strict).
        self.pve_version = pve_version or self.topo.get('pve_version') or \
            os.environ.get('STOREDESK_LAB_PVE_VERSION') or '9.1'
        self.strictness = strictness(strict)
        self.time_scale = time_scale
        self.state_dir = state_dir or STATE_DIR
        self.port = 8006 if port is None else port
        self.password = password or secrets.token_urlsafe(18)
        self.token_secret = secrets.token_hex(16)
        self.winrm_password = WINRM_PASSWORD
        self.staff_password = secrets.token_urlsafe(12)
        self.control_port = control_port
        self.host_offset = host_offset
        self.regions = {}
        self.fleets = {}
        self.loop = None
        self._thread = None
        self._control = None
        self.control_url = None
        self.cafile = None

    # -------------------------------------------------------------- lifecycle

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name='storedesk-lab', daemon=True)
        self._thread.start()
        self.call(self._start())
        return self

    def call(self, coro, timeout=60):
        """Run a coroutine on the lab's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        if self.loop is None:
            return
        try:
            self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop = None

    async def _start(self):
        hosts = []
        net = 10 + self.host_offset    # every lab instance has its own 127.<net>.0.0/16
        for index, name in enumerate(sorted(self.topo['regions'])):
            spec = self.topo['regions'][name]
            host = spec.get('host') if not self.host_offset and spec.get('host') else \
                '127.{0}.{1}.1'.format(net, index + 1)
            hosts.append(host)
            # Desktops: a /18 per region (16k addresses), apart from the API hosts.
            pve = LabPve(name, spec, self.topo.get('time_model'), password=self.password, host=host,
                         port=self.port, guest_net='127.{0}.{1}.0/18'.format(net, 64 * (index + 1)),
                         pve_version=self.pve_version, strictness=self.strictness)
            pve.time_scale = self.time_scale
            pve.apitokens['root@pam!' + TOKEN_NAME] = self.token_secret
            self.regions[name] = pve
        certfile, keyfile, _ = make_cert(self.state_dir, name='lab-ca', hosts=tuple(hosts))
        self.cafile = certfile
        for pve in self.regions.values():
            await pve.start(certfile, keyfile)
        await self._start_fleets()
        await self._start_control()

    async def _start_fleets(self):
        """Fake Windows desktops behind every VM (lab/storedesk_lab/windows)."""
        try:
            from .windows import WindowsFleet
        except ImportError:
            return
        for name, pve in self.regions.items():
            lookup = getattr(pve, 'usb_mapping_device', None)
            fleet = WindowsFleet(pve, boot_secs=self.topo.get('time_model', {}).get('boot', 20),
                                 users={'storedesk-admin': self.winrm_password}, usb_mapping_lookup=lookup)
            pve.on_created.append(self._attacher(pve, fleet))
            pve.on_destroyed.append(self._forgetter(fleet))
            for vm in pve.vms:
                if not vm.template:
                    await self._attacher(pve, fleet)(vm.vmid, pve.ip_of(vm.vmid))
            self.fleets[name] = fleet

    @staticmethod
    def _forgetter(fleet):
        async def forget(vmid):
            # A destroyed VM's disk is gone: a new VM that reuses the id starts from a blank Windows.
            await fleet.detach(vmid)
            fleet.desktops.pop(vmid, None)
        return forget

    def _attacher(self, pve, fleet):
        async def attach(vmid, ip):
            await fleet.attach(vmid, ip)
            desktop = fleet.desktop(vmid)
            desktop.network = StoreNetwork(pve, vmid, self.topo)
            desktop.spice_shared = StoreThinClient(pve, vmid, self.topo)
            desktop.unc_files = copy.deepcopy(self.topo.get('unc_files') or {})
        return attach

    async def _stop(self):
        for fleet in self.fleets.values():
            await fleet.close()
        if self._control:
            await self._control.cleanup()
        for pve in self.regions.values():
            await pve.stop()

    # ------------------------------------------------------------ control API

    async def _start_control(self):
        app = web.Application()
        app.router.add_get('/state', self._h_state)
        app.router.add_get('/requests', self._h_requests)
        app.router.add_post('/requests/reset', self._h_reset)
        app.router.add_post('/fault', self._h_fault)
        self._control = web.AppRunner(app)
        await self._control.setup()
        site = web.TCPSite(self._control, '127.0.0.1', self.control_port)
        await site.start()
        port = self._control.addresses[0][1]
        self.control_url = 'http://127.0.0.1:{0}'.format(port)

    async def _h_state(self, request):
        return web.json_response(self.state())

    async def _h_requests(self, request):
        region = request.query.get('region')
        return web.json_response(dict((name, [[m, p] for m, p, _b in pve.requests])
                                      for name, pve in self.regions.items() if region in (None, name)))

    async def _h_reset(self, request):
        for pve in self.regions.values():
            pve.requests.clear()
        return web.json_response({'ok': True})

    async def _h_fault(self, request):
        body = await request.json()
        names = [body['region']] if body.get('region') else sorted(self.regions)
        try:
            done = [await faults.apply(self.regions[n], body['name'], body.get('args') or {}) for n in names]
        except (KeyError, ValueError) as exc:
            return web.json_response({'ok': False, 'error': str(exc).strip('"\'')}, status=400)
        return web.json_response({'ok': True, 'applied': dict(zip(names, done))})

    # ------------------------------------------------------------------- info

    def state(self):
        out = {'control': self.control_url, 'time_scale': self.time_scale, 'cafile': self.cafile, 'regions': {},
               'pve_version': self.pve_version, 'strictness': self.strictness}
        for name, pve in sorted(self.regions.items()):
            out['regions'][name] = {
                'url': pve.url, 'host': pve.host, 'port': pve.port, 'cluster': pve.cluster_name,
                'version': pve.version,
                'nodes': dict((n, 'online' if s.get('online', True) else 'offline') for n, s in pve.nodes.items()),
                'quorate': pve.quorate, 'vms': len([v for v in pve.vms if not v.template]),
                'templates': len([v for v in pve.vms if v.template]), 'requests': len(pve.requests)}
        return out

    def env(self):
        """Environment variables that point the collection at this lab (secrets included)."""
        names = sorted(self.regions)
        env = {'STOREDESK_LAB_REGIONS': ','.join(names), 'STOREDESK_LAB_CONTROL': self.control_url or '',
               'PROXMOX_USER': 'root@pam', 'PROXMOX_PASSWORD': self.password,
               'PROXMOX_TOKEN_ID': 'root@pam!' + TOKEN_NAME, 'PROXMOX_TOKEN_SECRET': self.token_secret,
               'PROXMOX_CA_PATH': self.cafile, 'PROXMOX_VALIDATE_CERTS': 'true',
               'STOREDESK_WINRM_USER': 'storedesk-admin', 'STOREDESK_WINRM_PASSWORD': self.winrm_password,
               'STOREDESK_STAFF_PASSWORD': self.staff_password}
        for name in names:
            pve = self.regions[name]
            env['PROXMOX_HOST_' + name.upper()] = pve.host
            env['PROXMOX_PORT_' + name.upper()] = str(pve.port)
        env['PROXMOX_HOST'] = self.regions[names[0]].host
        env['PROXMOX_PORT'] = str(self.regions[names[0]].port)
        return env

    def write_files(self, pid=None):
        """lab.env (shell, mode 600) and lab.json (regions, control URL, pid) in the state dir."""
        env_path = os.path.join(self.state_dir, 'lab.env')
        fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as fh:
            for key, value in sorted(self.env().items()):
                fh.write("export {0}='{1}'\n".format(key, value))
        state = dict(self.state(), pid=pid or os.getpid(), env_file=env_path)
        with open(os.path.join(self.state_dir, 'lab.json'), 'w') as fh:
            json.dump(state, fh, indent=2)
        return env_path

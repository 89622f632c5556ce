"""Each node's bridges, and a VM start that fails on a NIC whose bridge is not there, as PVE does.

Listing: pve-manager PVE/API2/Network.pm `index` (GET /nodes/{node}/network; stable-8 and master alike):
- permissions `user => 'all'`; `type=any_bridge` (also `any_local_bridge`) keeps the `bridge` and `OVSBridge`
  interfaces (any_bridge adds the node's SDN VNets; the lab has none); `lo` is never listed;
- a bridge is then dropped unless the user is root@pam or has SDN.Audit or SDN.Use on
  /sdn/zones/localnetwork/<bridge> or on one of its VLANs (pve-access-control src/PVE/RPCEnvironment.pm
  `check_sdn_bridge`): a bridge the API user may not see looks missing;
- entries carry `bridge_vlan_aware` and `bridge_ports` (`json_config_properties`).

Start: qemu-server src/PVE/QemuServer.pm `vm_start` loads the config under the VM lock inside the qmstart worker
(refusing a template, a lock, a running VM first), `vm_start_nolock` applies pending changes, then
`print_netdevice_full` (from `config_to_command`; master, and stable-bookworm for 8.x) reads the bridge MTU of
every virtio NIC with pve-common src/PVE/Network.pm `read_bridge_mtu`: no such bridge on the node ->
"bridge '<b>' does not exist" (the task fails, the VM stays stopped). A VLAN `tag` on a Linux bridge that is
not VLAN-aware is not refused: pve-common Network.pm `tap_plug` calls `activate_bridge_vlan`, which builds
`<bridge>v<tag>` on the bridge's physical ports and dies "no physical interface on bridge '<b>'" only when it has
none (the tap is plugged by qemu-server src/usr/pve-bridge, also inside the start).
So the lab checks in the worker, with the config as the worker finds it (a bridge removed or added, or net0
changed, after the request counts).
Create with `start=1`: qemu-server src/PVE/API2/Qemu.pm `create_vm` runs `vm_start` after the create worker
("Execute autostart", `eval {...}; warn $@ if $@`): in pvedaemon that start is a task of its own
(pve-common src/PVE/RESTEnvironment.pm `fork_worker`: synchronous only for the CLI), so the create task ends OK,
the qmstart task fails and the VM stays stopped.
Not modelled: SDN VNets in `any_bridge` (pve-manager Network.pm `index` adds PVE::Network::SDN
`get_local_vnets`), nor a NIC check of HA-managed starts (ha-manager starts the VM later, outside the request).
"""

import asyncio
import re

from fakepve.model import TaskError
from fakepve.routing import StatefulRoutes

__all__ = ['NodeNetworkApi', 'DEFAULT_BRIDGES']

# A fresh PVE install: vmbr0 on the first NIC, not VLAN-aware.
DEFAULT_BRIDGES = {'vmbr0': {'ports': 'eno1', 'vlan_aware': False}}
NET_KEY = re.compile(r'net\d+')


def _props(value):
    """netN 'virtio=MAC,bridge=vmbr1,tag=2' -> {'virtio': MAC, 'bridge': ..., 'tag': ...}."""
    out = {}
    for part in str(value or '').split(','):
        key, _, val = part.partition('=')
        out[key.strip()] = val.strip()
    return out


class NodeNetworkApi(StatefulRoutes):
    """Mixin of the lab's FakePve: `node_bridges` {node: {bridge: {'ports': 'eno1', 'vlan_aware': bool}}}."""

    def setup_bridges(self, spec):
        """Bridges of each node: the node's `bridges`, else the region's, else DEFAULT_BRIDGES (topology)."""
        region = spec.get('bridges') or DEFAULT_BRIDGES
        self.node_bridges = dict((node, self._bridge_table((nspec or {}).get('bridges') or region))
                                 for node, nspec in spec['nodes'].items())

    @staticmethod
    def _bridge_table(table):
        return dict((name, {'ports': str((b or {}).get('ports') or ''),
                            'vlan_aware': bool((b or {}).get('vlan_aware'))}) for name, b in table.items())

    def add_bridge(self, node, name, ports='eno1', vlan_aware=False):
        self.node_bridges.setdefault(node, {})[name] = {'ports': ports, 'vlan_aware': bool(vlan_aware)}

    def remove_bridge(self, node, name):
        self.node_bridges.get(node, {}).pop(name, None)

    def _routes_lab_network(self):
        return [('GET', '/nodes/{node}/network', self._lab_network_index)]

    def _sees_bridge(self, user, bridge):
        """check_sdn_bridge(..., ['SDN.Audit', 'SDN.Use'], noerr): the bridge itself, or any VLAN below it."""
        if user == 'root@pam':
            return True
        base = '/sdn/zones/localnetwork/' + bridge
        paths = [base] + [p for p in getattr(self, 'acl_entries', {}) if p.startswith(base + '/')]
        return any(self.allowed(user, p, priv) for p in paths for priv in ('SDN.Audit', 'SDN.Use'))

    async def _lab_network_index(self, v, user):
        node = v['node']
        ifaces = []
        for name, bridge in sorted(getattr(self, 'node_bridges', {}).get(node, {}).items()):
            entry = {'iface': name, 'type': 'bridge', 'method': 'manual', 'method6': 'manual', 'families': ['inet'],
                     'active': 1, 'autostart': 1, 'priority': 3, 'bridge_stp': 'off', 'bridge_fd': '0',
                     'bridge_ports': bridge['ports']}
            if bridge['vlan_aware']:
                entry.update(bridge_vlan_aware=1, bridge_vids='2-4094')
            ifaces.append(entry)
            for port in bridge['ports'].split():
                ifaces.append({'iface': port, 'type': 'eth', 'method': 'manual', 'method6': 'manual',
                               'families': ['inet'], 'active': 1, 'exists': 1, 'priority': 2})
        wanted = v.get('type')
        if wanted:
            bridges = wanted in ('any_bridge', 'any_local_bridge', 'include_sdn')
            ifaces = [i for i in ifaces if i['type'] == wanted or (bridges and i['type'] in ('bridge', 'OVSBridge'))
                      or wanted == 'include_sdn']
        return [i for i in ifaces if i['type'] not in ('bridge', 'OVSBridge') or self._sees_bridge(user, i['iface'])]

    def bridge_start_error(self, vm):
        """Why the start worker dies on the VM's NICs (its config with pending changes applied), or None."""
        cfg = dict(vm.config)
        for key, val in vm.pending.items():         # vm_start_nolock: vmconfig_apply_pending first
            if val is None:
                cfg.pop(key, None)
            else:
                cfg[key] = val
        bridges = getattr(self, 'node_bridges', {}).get(vm.node)
        if bridges is None:
            return None
        for key in sorted(k for k in cfg if NET_KEY.fullmatch(k)):
            net = _props(cfg[key])
            bridge = net.get('bridge')
            if not bridge:
                continue
            if bridge not in bridges:
                return "bridge '{0}' does not exist".format(bridge)        # read_bridge_mtu
            if net.get('tag') and not bridges[bridge]['vlan_aware'] and not bridges[bridge]['ports'].split():
                return "no physical interface on bridge '{0}'".format(bridge)   # activate_bridge_vlan
        return None

    async def _do_start(self, vm, user, p):
        """Marks the qmstart task fakepve is about to make: its worker checks the NICs (see task()). Not for an
        HA-managed VM (fakepve's HA start is a `hastart` request; the lab models no HA start failure)."""
        if not (vm.ha_managed and not vm.template):
            vm.__dict__['net_check'] = True
        return await super()._do_start(vm, user, p)

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        """A marked qmstart: inside the worker, under the VM lock, after vm_start's own refusals (template, lock,
        running: fakepve's body raises those), the NICs of the config as it is then (config_to_command)."""
        if ttype == 'qmstart' and vm is not None and vm.__dict__.pop('net_check', False):
            inner = body

            async def body():
                if not (vm.template or (vm.lock and vm.lock != 'suspended') or vm.status == 'running'):
                    why = self.bridge_start_error(vm)
                    if why is not None:
                        raise TaskError(why)
                return await inner()
        return await super().task(node, ttype, tid, user, body, vm=vm, lock=lock, log=log)

    async def _qm_create(self, v, user):
        """start=1 (not HA-managed): the create task, then a qmstart task of its own (create_vm's autostart)."""
        if not v.get('start') or v.get('ha-managed'):
            return await super()._qm_create(v, user)
        # create_vm checks VM.PowerMgmt for start=1 before the worker: keep that refusal, then start on its own
        self._qm_perm(user, int(v['vmid']), v.get('pool'), 'VM.PowerMgmt')
        upid = await super()._qm_create(dict((k, x) for k, x in v.items() if k != 'start'), user)
        asyncio.ensure_future(self._autostart(upid, int(v['vmid']), user))
        if not self.time_scale:
            await asyncio.sleep(0)
        return upid

    async def _autostart(self, upid, vmid, user):
        """'Execute autostart' once the create task has ended OK: a qmstart task of its own."""
        record = self.tasks.get(upid) or {}
        while record.get('status') == 'running':
            await asyncio.sleep(0.02)
        vm = self.vm(vmid)
        if record.get('exitstatus') == 'OK' and vm is not None:
            record['log'].insert(-1, 'Execute autostart')
            await self._do_start(vm, user, {})

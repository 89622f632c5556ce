"""Node and storage capacity for the lab's fakepve: figures from the topology, usage from the VMs.

fakepve reports the same fixed figures for every node; the assessment plans with these, so the lab
derives them: memory used = the node's base load + the memory of its running VMs; CPU use from the
running vCPUs; storage used = the volumes allocated on it.
"""

import json
import time

from aiohttp import web
from fakepve.routing import StatefulRoutes

GIB = 1024 ** 3
BASE_MEM = 4 * GIB          # the node's own use (PVE, ZFS ARC ...)
VCPU_LOAD = 0.05            # share of a core a running idle desktop uses


class NodeCapacityApi(StatefulRoutes):
    """Mixin of the lab's FakePve: `node_specs` {node: {cores, memory_gib}}, `storage_sizes` {sid: bytes}."""

    def _routes_lab_nodes(self):
        return [('GET', '/nodes/{node}/status', self._lab_node_status)]

    def node_usage(self, node):
        """{cpu, maxcpu, mem, maxmem, ...} of an online node, from its running VMs."""
        spec = self.node_specs.get(node, {'cores': 4, 'memory_gib': 8})
        running = [vm for vm in self.vms if vm.node == node and vm.status == 'running']
        mem = BASE_MEM + sum(int(str(vm.config.get('memory', 512)).split('=')[-1]) * 1048576 for vm in running)
        vcpus = sum(int(vm.config.get('cores', 1)) * int(vm.config.get('sockets', 1)) for vm in running)
        return {'cpu': round(min(1.0, 0.01 + vcpus * VCPU_LOAD / spec['cores']), 4), 'maxcpu': spec['cores'],
                'mem': mem, 'maxmem': spec['memory_gib'] * GIB, 'disk': 8 * GIB, 'maxdisk': 128 * GIB,
                'uptime': int(time.time() - self.started)}

    def storage_used(self, sid):
        return sum(int(v.get('size') or 0) for v in self.storages[sid].get('volumes', {}).values())

    def _patch_capacity(self, items):
        for item in items:
            if item.get('type') == 'node' and item.get('status') == 'online':
                item.update(self.node_usage(item['node']))
            elif item.get('type') == 'storage' and item.get('storage') in self.storage_sizes:
                item.update(maxdisk=self.storage_sizes[item['storage']], disk=self.storage_used(item['storage']))
            elif 'node' in item and 'type' not in item and item.get('status') == 'online':
                item.update(self.node_usage(item['node']))  # the /nodes listing
        return items

    async def _resources(self, request):
        response = await super()._resources(request)
        return web.json_response({'data': self._patch_capacity(json.loads(response.text)['data'])})

    async def _nodes(self, request):
        response = await super()._nodes(request)
        return web.json_response({'data': self._patch_capacity(json.loads(response.text)['data'])})

    async def _lab_node_status(self, v, user):
        node = v['node']
        self.require(user, '/nodes/' + node, 'Sys.Audit')
        use = self.node_usage(node)
        return {'cpu': use['cpu'], 'uptime': use['uptime'], 'loadavg': ['0.30', '0.25', '0.20'],
                'memory': {'total': use['maxmem'], 'used': use['mem'], 'free': use['maxmem'] - use['mem']},
                'swap': {'total': 0, 'used': 0, 'free': 0},
                'rootfs': {'total': use['maxdisk'], 'used': use['disk'], 'avail': use['maxdisk'] - use['disk'],
                           'free': use['maxdisk'] - use['disk']},
                'cpuinfo': {'cpus': use['maxcpu'], 'cores': use['maxcpu'] // 2, 'sockets': 2,
                            'model': 'Lab vCPU', 'mhz': '2400.000', 'hvm': '1', 'flags': '', 'user_hz': 100},
                'kversion': 'Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC', 'pveversion': 'pve-manager/' + self.version,
                'current-kernel': {'sysname': 'Linux', 'release': '6.14.8-2-pve', 'version': '#1 SMP',
                                   'machine': 'x86_64'},
                'boot-info': {'mode': 'efi', 'secureboot': 0}, 'ksm': {'shared': 0}, 'idle': 0, 'wait': 0}

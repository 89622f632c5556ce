"""`/cluster/resources` lagging as on PVE: a guest's RRD fields come from pvestatd's last broadcast.

pve-manager PVE/API2/Cluster.pm `resources` builds each guest entry from
- the live vmlist (pve-cluster `get_vmlist`): the guest's existence, `vmid`, `node`, `type`;
- user.cfg (live): `pool`; the live guest configs (`get_guest_config_properties([lock tags])`): `lock`, `tags`;
- the RRD cache (`rrd_dump`) through PVE/API2Tools.pm `extract_vm_stats`: `uptime`, `name`, `status`,
  `template`, `maxcpu`, `cpu`, `maxmem`, `mem`, `maxdisk`, `disk`, `netin`, `netout`, `diskread`,
  `diskwrite`, `memhost`. A guest with no RRD entry yet (a new clone) is listed with `status: "unknown"`
  and none of those fields (no name, no template flag).
pvestatd (PVE/Service/pvestatd.pm, `$updatetime = 10`) refreshes the RRD data of every guest about every
10 s. The lab refreshes its copy every `resources_lag` real seconds on a clock of its own (not on read),
so a read right after a write sees the state of up to `resources_lag` seconds ago. 0 turns the lag off.
The lab's default is pve.STRICT's 3 real seconds (runtime.DEFAULT_STRICT): a few seconds even when task times
are scaled down, so a rerun started right after a run lands inside the window as it does on PVE.
Per-VM reads (status/current, config) stay live, as on PVE. Nodes and storages are served live (not modelled).
"""

import asyncio
import json
import time

from aiohttp import web

__all__ = ['ResourcesLagApi', 'RRD_FIELDS']

RRD_FIELDS = ('uptime', 'name', 'status', 'template', 'maxcpu', 'cpu', 'maxmem', 'mem', 'maxdisk', 'disk',
              'netin', 'netout', 'diskread', 'diskwrite', 'memhost')


class ResourcesLagApi(object):
    """Mixin of the lab's FakePve: `resources_lag` (real seconds; 0 = live)."""

    resources_lag = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rrd = {}            # vmid -> {field: value} as of the last refresh
        self.rrd_at = None       # time.time() of the last refresh
        self._rrd_task = None

    def rrd_refresh(self):
        """What pvestatd broadcasts: the RRD fields of every guest, from its state now."""
        snap = {}
        for vm in self.vms:
            data = self._vm_usage(vm)
            data.update(name=vm.name, status=vm.status, template=1 if vm.template else 0)
            snap[vm.vmid] = dict((k, data[k]) for k in RRD_FIELDS if k in data)
        self.rrd = snap
        self.rrd_at = time.time()

    async def _rrd_loop(self):
        while True:
            await asyncio.sleep(self.resources_lag)
            self.rrd_refresh()

    async def start(self, certfile, keyfile):
        await super().start(certfile, keyfile)
        if self.resources_lag:
            self.rrd_refresh()
            self._rrd_task = asyncio.ensure_future(self._rrd_loop())

    async def stop(self):
        if self._rrd_task:
            self._rrd_task.cancel()
            self._rrd_task = None
        await super().stop()

    async def _resources(self, request):
        response = await super()._resources(request)
        if not self.resources_lag:
            return response
        items = json.loads(response.text)['data']
        for item in items:
            if item.get('type') != 'qemu':
                continue
            offline = item.get('status') == 'unknown'     # fakepve: the node is offline
            for key in RRD_FIELDS:
                item.pop(key, None)
            cached = self.rrd.get(item['vmid'])
            item['status'] = 'unknown'
            if cached:
                item.update(cached)
                if offline:
                    item['status'] = 'unknown'
        return web.json_response({'data': items})

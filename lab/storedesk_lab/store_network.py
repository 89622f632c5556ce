"""What a fake desktop's network answers: TCP connect time to each backend, from its store's link.

A desktop learns its store from its VM's tags (`store-<code>`) when it is asked, so a desktop
cloned before its tags were written still measures the right link.
"""

DEFAULT_LINK_MS = 10


class StoreNetwork(dict):
    """host -> connect ms, computed from the lab topology and the VM's current tags."""

    def __init__(self, pve, vmid, topo):
        super().__init__()
        self.pve, self.vmid, self.topo = pve, vmid, topo

    def _link_ms(self):
        vm = self.pve.vm(self.vmid)
        tags = str((vm.config.get('tags') if vm is not None else '') or '')
        for tag in tags.replace(',', ';').split(';'):
            if tag.startswith('store-'):
                store = (self.topo.get('stores') or {}).get(tag[len('store-'):]) or {}
                return store.get('link_ms', DEFAULT_LINK_MS)
        return DEFAULT_LINK_MS

    def _table(self):
        link = self._link_ms()
        table = dict((host, ms + link) for host, ms in (self.topo.get('backends') or {}).items())
        table.update(dict.items(self))   # explicit overrides set by tests
        return table

    def __contains__(self, host):
        return host in self._table()

    def __getitem__(self, host):
        return self._table()[host]

    def get(self, host, default=None):
        return self._table().get(host, default)

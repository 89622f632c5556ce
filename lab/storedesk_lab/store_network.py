"""What a fake desktop sees of its store: TCP connect time to each backend over the store's link, and the
USB devices the store's thin client redirects over SPICE.

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
        return store_of(self.pve, self.vmid, self.topo).get('link_ms', DEFAULT_LINK_MS)

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


def store_of(pve, vmid, topo):
    """The topology entry of the store a VM belongs to (from its `store-<code>` tag), or {}."""
    vm = pve.vm(vmid)
    tags = str((vm.config.get('tags') if vm is not None else '') or '')
    for tag in tags.replace(',', ';').split(';'):
        if tag.startswith('store-'):
            return (topo.get('stores') or {}).get(tag[len('store-'):]) or {}
    return {}


class StoreThinClient(list):
    """The USB devices the store's thin client redirects over SPICE (`thin_client_usb` of the store in the
    topology), plus any a test shares by hand (fleet.share_spice)."""

    def __init__(self, pve, vmid, topo):
        super().__init__()
        self.pve, self.vmid, self.topo = pve, vmid, topo

    def _all(self):
        shared = [d.upper() for d in store_of(self.pve, self.vmid, self.topo).get('thin_client_usb') or []]
        return shared + [d for d in list.__iter__(self) if d not in shared]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())

    def __getitem__(self, index):
        return self._all()[index]

    def __contains__(self, item):
        return item in self._all()

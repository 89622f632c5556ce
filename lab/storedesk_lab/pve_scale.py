"""What the lab's fakepve needs to keep its own CPU flat at 1,000 desktops, with PVE's semantics.

- `GET /nodes/{node}/tasks` honours `since`, `until`, `typefilter` and `source` as PVE does: see pve_tasks.py.
- A new disk's name (`vm-<vmid>-disk-<n>`) is found by looking up the candidate names, not by scanning
  every volume and guest config of the storage on every allocation.
- A storage's volumes are the ones allocated on it (and its files): every disk in the lab is allocated
  (seeds included), so fakepve's scan of every guest config for unallocated references is skipped.
"""

from fakepve.storage import _is_file


class ScaleApi(object):
    """Mixin of the lab's FakePve (subclass overrides of fakepve methods, each with PVE's behaviour)."""

    def _volumes(self, name):
        store = self.storages[name]
        out = dict(('iso/' + f, {'content': 'iso', 'format': 'iso', 'size': 0, 'ctime': 0})
                   for f in sorted(store['files']))
        out.update(store.get('volumes', {}))
        return out

    def _qm_free_name(self, sid, vmid, fmt):
        store = self.storages[sid]
        volumes = store.get('volumes', {})
        guest = self.vm(int(vmid))
        used = ' '.join(str(v) for v in (guest.config.values() if guest else ()))
        n = 0
        while True:
            name = 'vm-{0}-disk-{1}'.format(vmid, n)
            full = name if not _is_file(store) else '{0}.{1}'.format(name, fmt)
            taken = any(k.endswith(full) or k.endswith('base-{0}-disk-{1}'.format(vmid, n)) for k in
                        (full, 'base-{0}-disk-{1}'.format(vmid, n)) if k in volumes) or \
                (':' + name) in used or ('/' + name) in used
            if not taken:
                return full
            n += 1


__all__ = ['ScaleApi']

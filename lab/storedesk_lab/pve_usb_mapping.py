"""Cluster USB mappings for the lab, and PVE's rules for usbN in VM configs.

A mixin of FakePve (fakepve keeps no state under /cluster/mapping/usb). Modelled on
pve-manager's PVE/API2/Cluster/Mapping/USB.pm, pve-guest-common's PVE/Mapping/USB.pm and
qemu-server's check_usb_perm (PVE/API2/Qemu.pm) and PVE/QemuServer/USB.pm:

- /cluster/mapping/usb: list (filtered by Mapping.Modify|Use|Audit on /mapping/usb/<id>; with
  `check-node`, each entry gets PVE's `errors` list), create, read, update (digest, delete,
  description, map) and delete. Map entries are 'node=<node>,id=VVVV:PPPP[,path=B-P(.P)*]
  [,description=...]'. As in PVE, a map entry may name a node the cluster does not have (the
  check-node listing then warns "No mapping for node X.").
- usbN writes (PUT/POST config, and create): root@pam (not its tokens) may set anything. Others need
  VM.Config.HWType, and then: host=spice is fine; another host= value fails with "only root can set
  'usbN' config for real devices"; mapping=<id> needs Mapping.Use on /mapping/usb/<id>; neither
  fails with "either 'host' or 'mapping' must be set.". The value replaced or deleted is checked too.
- As in PVE, a mapping is only resolved when the VM starts: no mapping, or none for the VM's node,
  fails the start task with "USB device mapping not found for '<id>'" (two entries for the node:
  "More than one USB mapping per host not supported"). `usb_host_devices[node]` (a list of
  {'id', 'path'}) stands for the node's plugged devices; a node not listed has every mapped device.

Hooks: the mixin overrides fakepve's `_apply_config` (server.py, both config routes), `_qm_create`
(qemu.py) and `_do_start` (server.py), each calling super(). check_usb_config() is the same check
for a class that cannot use the mixin.
"""

import re

from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, check_digest, die, param_error, sha1, split_list

__all__ = ['UsbMappingApi', 'check_usb_config', 'parse_usb']

USB_ID = re.compile(r'[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}')
USB_PATH = re.compile(r'\d+-\d+(?:\.\d+)*')
USB_HOST = re.compile(r'(?:0x)?[0-9A-Fa-f]{4}:(?:0x)?[0-9A-Fa-f]{4}|\d+-\d+(?:\.\d+)*|[Ss][Pp][Ii][Cc][Ee]')
USB_KEY = re.compile(r'usb\d+')
MAP_KEYS = ('node', 'id', 'path', 'description')


HOTPLUG_OSTYPES = ('l26', 'win8', 'win10', 'win11')


def usb_hotplug(config):
    """PVE hot-plugs USB when `hotplug` has usb (the default), the machine is >= 7.1 and the OS is modern."""
    hotplug = str(config.get('hotplug', 'network,disk,usb'))
    if hotplug not in ('1',) and 'usb' not in hotplug.split(','):
        return False
    found = re.search(r'-(\d+)\.(\d+)', str(config.get('machine', '')))
    if found and (int(found.group(1)), int(found.group(2))) < (7, 1):
        return False
    return str(config.get('ostype', 'other')) in HOTPLUG_OSTYPES


def parse_props(text, default_key=None):
    """A property string as a dict (the bare value goes to default_key)."""
    out = {}
    for part in str(text or '').split(','):
        key, eq, val = part.partition('=')
        if eq:
            out[key.strip()] = val
        elif part.strip() and default_key:
            out[default_key] = part.strip()
    return out


def parse_usb(value):
    """The host/mapping/usb3 keys of a usbN value."""
    return parse_props(value, 'host')


def _format_error(name, errs):
    return param_error(**{name: 'invalid format - format error\n' + ''.join(
        '{0}.{1}: {2}\n'.format(name, k, errs[k]) for k in sorted(errs))})


def check_usb_config(pve, vm, user, updates, vmid=None, pool=None):
    """qemu-server's check_usb_perm for the usbN keys a config write sets or deletes; raises PveError.

    updates: the request's parameters (may hold 'delete'). vm: the FakeVm, or None on create (then vmid
    and pool). Set values are checked against PVE's pattern first (400), as PVE's schema does.
    """
    sets = dict((k, v) for k, v in updates.items() if USB_KEY.fullmatch(k))
    deletes = [k for k in split_list(updates.get('delete')) if USB_KEY.fullmatch(k)]
    for key, value in sorted(sets.items()):
        host = parse_usb(value).get('host')
        if host is not None and not USB_HOST.fullmatch(host):
            raise _format_error(key, {'host': 'value does not match the regex pattern'})
    if user == 'root@pam' or not (sets or deletes):
        return
    vmid = vm.vmid if vm is not None else vmid
    pool = pool if vm is None else next((n for n, ids in pve.pools.items() if vm.vmid in ids), None)

    def check(key, value):
        path = '/vms/{0}'.format(vmid)
        if not (pve.allowed(user, path, 'VM.Config.HWType')
                or (pool and pve.allowed(user, '/pool/' + pool, 'VM.Config.HWType'))):
            raise PveError(403, 'Permission check failed ({0}, VM.Config.HWType)'.format(path))
        device = parse_usb(value)
        if device.get('host') and device['host'].lower() != 'spice':
            raise die("only root can set '{0}' config for real devices".format(key))
        if device.get('mapping'):
            pve.require(user, '/mapping/usb/' + device['mapping'], 'Mapping.Use')
        elif not device.get('host'):
            raise die("either 'host' or 'mapping' must be set.")

    current = vm.config if vm is not None else {}
    for key in deletes:
        value = current.get(key) or (vm.pending.get(key) if vm is not None else None)
        if value:
            check(key, value)
    for key, value in sorted(sets.items()):
        if current.get(key):
            check(key, current[key])
        check(key, value)


class UsbMappingApi(StatefulRoutes):
    """Mixin of FakePve: /cluster/mapping/usb and the usbN rules (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # id -> {'description': str, 'map': [{'node', 'id', 'path'?, 'description'?}]}
        self.usb_mappings = {}
        # node -> [{'id': 'VVVV:PPPP', 'path': 'B-P'}]: devices plugged in; a node absent here has them all
        self.usb_host_devices = {}

    # ------------------------------------------------------------ lab helpers

    def add_usb_mapping(self, mapping_id, entries, description=''):
        """Define a mapping; entries are dicts or 'node=..,id=..[,path=..]' strings."""
        items = [parse_props(e) if isinstance(e, str) else dict(e) for e in entries]
        self.usb_mappings[mapping_id] = {'description': description, 'map': items}
        return mapping_id

    def usb_mapping_device(self, mapping_id, node):
        """The vendor:product id the mapping has for the node, or None."""
        entries = self._usb_node_entries(mapping_id, node) or []
        return entries[0]['id'] if entries else None

    # ------------------------------------------------------------ state

    @staticmethod
    def _usb_map_text(entry):
        return ','.join('{0}={1}'.format(k, entry[k]) for k in MAP_KEYS if entry.get(k))

    def _usb_digest(self):
        """The digest of mapping/usb.cfg as a whole (PVE's digest is per file)."""
        lines = []
        for mid in sorted(self.usb_mappings):
            conf = self.usb_mappings[mid]
            lines.append(mid)
            if conf.get('description'):
                lines.append('\tdescription ' + conf['description'])
            lines.extend('\tmap ' + self._usb_map_text(e) for e in conf['map'])
            lines.append('')
        return sha1('\n'.join(lines))

    def _usb_node_entries(self, mapping_id, node):
        """PVE::Mapping::USB::get_node_mapping: None if the mapping does not exist."""
        conf = self.usb_mappings.get(mapping_id)
        return None if conf is None else [e for e in conf['map'] if e.get('node') == node]

    def _usb_assert_valid(self, name, entry, node):
        """PVE::Mapping::USB::assert_valid against usb_host_devices: None or PVE's message."""
        present = self.usb_host_devices.get(node)
        if present is None:
            return None
        if entry.get('path'):
            found = next((d for d in present if d.get('path') == entry['path']), None)
            if found is None:
                return "usb device '{0}' not found".format(entry['path'])
            if found['id'] != entry['id']:
                return "'id' does not match for '{0}' ({1} != {2})".format(name, found['id'], entry['id'])
            return None
        if not any(d['id'] == entry['id'] for d in present):
            return "usb device '{0}' not found".format(entry['id'])
        return None

    def _usb_view(self, mid):
        conf = self.usb_mappings[mid]
        out = {'type': 'usb', 'map': [self._usb_map_text(e) for e in conf['map']], 'digest': self._usb_digest()}
        if conf.get('description'):
            out['description'] = conf['description']
        return out

    @staticmethod
    def _usb_parse_map(values):
        """The map parameter as entries, with the pattern checks fakepve's schema leaves out (400)."""
        items = values if isinstance(values, list) else [values]
        entries = []
        for n, text in enumerate(items):
            entry = parse_props(text)
            errs = {}
            if entry.get('id') is not None and not USB_ID.fullmatch(entry['id']):
                errs['id'] = 'value does not match the regex pattern'
            if entry.get('path') is not None and not USB_PATH.fullmatch(entry['path']):
                errs['path'] = 'value does not match the regex pattern'
            if errs:
                raise _format_error('map[{0}]'.format(n), errs)
            entries.append(dict((k, entry[k]) for k in MAP_KEYS if entry.get(k)))
        return entries

    # ------------------------------------------------------------ routes

    def _routes_lab_usb_mapping(self):
        base, one = '/cluster/mapping/usb', '/cluster/mapping/usb/{id}'
        return [('GET', base, self._usb_index), ('POST', base, self._usb_create), ('GET', one, self._usb_read),
                ('PUT', one, self._usb_update), ('DELETE', one, self._usb_delete)]

    async def _usb_index(self, v, user):
        node = v.get('check-node')
        if node is not None and node not in self.nodes:
            raise PveError(500, "hostname lookup '{0}' failed - failed to get address info for: {0}: "
                                "Name or service not known".format(node))
        out = []
        for mid in sorted(self.usb_mappings):
            if not any(self.allowed(user, '/mapping/usb/' + mid, p)
                       for p in ('Mapping.Modify', 'Mapping.Use', 'Mapping.Audit')):
                continue
            entry = dict(self._usb_view(mid), id=mid)
            if node is not None:
                entry['errors'] = []
                found = self._usb_node_entries(mid, node)
                if not found:
                    entry['errors'].append({'severity': 'warning', 'message': 'No mapping for node {0}.'.format(node)})
                for item in found:
                    why = self._usb_assert_valid(mid, item, node)
                    if why:
                        entry['errors'].append({'severity': 'error', 'message': 'Invalid configuration: ' + why})
            out.append(entry)
        return out

    async def _usb_read(self, v, user):
        if v['id'] not in self.usb_mappings:
            raise die("mapping '{0}' not found".format(v['id']))
        return self._usb_view(v['id'])

    async def _usb_create(self, v, user):
        entries = self._usb_parse_map(v['map'])
        if v['id'] in self.usb_mappings:
            raise die("create hardware mapping failed: usb ID '{0}' already defined".format(v['id']))
        self.usb_mappings[v['id']] = {'description': v.get('description') or '', 'map': entries}

    async def _usb_update(self, v, user):
        fail = 'update hardware mapping failed: '
        entries = self._usb_parse_map(v['map']) if v.get('map') is not None else None
        try:
            check_digest(self._usb_digest(), v.get('digest'))
        except PveError as e:
            raise die(fail + e.message) from None
        conf = self.usb_mappings.get(v['id'])
        if conf is None:
            raise die(fail + "usb ID '{0}' does not exist".format(v['id']))
        for key in split_list(v.get('delete')):
            if key not in ('description', 'map'):
                raise die(fail + "no such option '{0}'".format(key))
            if key == 'map':
                raise die(fail + "unable to delete required option 'map'")
            if v.get(key) is not None:
                raise die(fail + "cannot set and delete property '{0}' at the same time!".format(key))
            conf['description'] = ''
        if v.get('description') is not None:
            conf['description'] = v['description']
        if entries is not None:
            conf['map'] = entries

    async def _usb_delete(self, v, user):
        self.usb_mappings.pop(v['id'], None)  # PVE: no error for an unknown id

    # ------------------------------------------------------------ qemu hooks

    async def _apply_config(self, vm, user, p):
        check_usb_config(self, vm, user, p)
        result = await super()._apply_config(vm, user, p)
        if vm.status == 'running' and usb_hotplug(vm.config):
            # qemu-server hot-plugs usbN (add and remove) instead of leaving it pending.
            for key in [k for k in vm.pending if USB_KEY.fullmatch(k)]:
                value = vm.pending.pop(key)
                if value is None:
                    vm.config.pop(key, None)
                else:
                    vm.config[key] = value
        return result

    async def _qm_create(self, v, user):
        vmid, pool = int(v['vmid']), v.get('pool')
        # PVE checks VM.Allocate before the devices: leave that refusal to fakepve.
        if self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Allocate') or (
                pool and self.allowed(user, '/pool/' + pool, 'VM.Allocate')):
            check_usb_config(self, None, user, v, vmid=vmid, pool=pool)
        return await super()._qm_create(v, user)

    def usb_start_error(self, vm):
        """Why PVE's vm_start would fail on the VM's mapped USB devices (config with pending), or None."""
        cfg = dict(vm.config)
        for key, val in vm.pending.items():
            if val is None:
                cfg.pop(key, None)
            else:
                cfg[key] = val
        for key in sorted(k for k in cfg if USB_KEY.fullmatch(k)):
            mid = parse_usb(cfg[key]).get('mapping')
            if not mid or parse_usb(cfg[key]).get('host'):
                continue
            found = self._usb_node_entries(mid, vm.node)
            if not found:
                return "USB device mapping not found for '{0}'".format(mid)
            if len(found) > 1:
                return 'More than one USB mapping per host not supported'
            why = self._usb_assert_valid(mid, found[0], vm.node)
            if why:
                return 'USB Mapping invalid (hardware probably changed): {0}'.format(why)
        return None

    async def _do_start(self, vm, user, p):
        why = None if vm.ha_managed or vm.template else self.usb_start_error(vm)
        if why is None:
            return await super()._do_start(vm, user, p)

        async def body():
            raise TaskError(why)
        return await self.task(vm.node, 'qmstart', vm.vmid, user, body, vm=vm)

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a region holds of a golden image (private): one bulk read plus only the reads it needs.

read_image(): GET /cluster/resources, the config of each template of the image (description: hash and
build time; disks: base volumes), and one content list per storage holding those base volumes (linked
clones). Used by golden_image (plan, retention) and golden_image_info (the estate's versions).
check_build_inputs(): before a build writes anything, the node, storage, ISOs or clone source exist, and the
build VM's bridge (and VLAN tag) is one PVE can start it on (module_utils/_bridges.py).
"""

from __future__ import annotations

from . import _bridges as bridges
from . import _image_plan as plan_mod
from ._executor import run_bounded
from ._pve_errors import InputError, PveApiError, PveConnectionError


def _storage_flags(resources):
    """{storage: shared?} from the resources' storage items."""
    out = {}
    for item in resources or []:
        if item.get('type') == 'storage':
            out[item['storage']] = out.get(item['storage']) or bool(item.get('shared'))
    return out


def _nodes(resources):
    return dict((i['node'], i.get('status') == 'online') for i in resources or [] if i.get('type') == 'node')


def read_image(client, image, resources=None):
    """{'resources', 'nodes', 'templates', 'users', 'builds', 'contents_read'} for one region.

    `resources`: a /cluster/resources answer already read (golden_image_info reads it once for every image).
    Which guests are templates or build VMs, and their names, come from their configs (live), read for the
    candidates _image_plan.config_candidates picks from the live tags: /cluster/resources serves `name` and
    `template` from the RRD cache, ~10 s behind a conversion (pve-manager PVE/API2Tools.pm `extract_vm_stats`).
    """
    if resources is None:
        resources = client.get('/cluster/resources') or []
    nodes = _nodes(resources)
    mine = plan_mod.config_candidates(resources, image, nodes)
    outcomes = run_bounded(mine, lambda i: client.get(client.path('nodes', i['node'], 'qemu', i['vmid'], 'config')),
                           key=lambda i: i['node'], per_key=4, overall=8)
    configs = {}
    for outcome in outcomes:
        if outcome.ok:
            configs[int(outcome.item['vmid'])] = outcome.value or {}
        elif not isinstance(outcome.error, (PveApiError, PveConnectionError)):
            raise outcome.error
    templates = plan_mod.image_templates(resources, configs, image)
    contents, lists = read_contents(client, templates, _storage_flags(resources), nodes)
    return {'resources': resources, 'nodes': nodes, 'templates': templates,
            'users': plan_mod.usage(resources, contents, templates, image),
            'builds': plan_mod.build_vms(resources, image, configs), 'contents_read': lists}


def read_contents(client, templates, shared, nodes):
    """Image volumes of every storage holding a template's disk: once per shared storage, else per node."""
    wanted = set()
    for tpl in templates:
        for volid in tpl['disks']:
            sid = volid.split(':', maxsplit=1)[0]
            wanted.add((sid, None if shared.get(sid) else tpl['node'], tpl['node']))
    targets = {}
    for sid, local_node, any_node in sorted(wanted, key=str):
        targets.setdefault((sid, local_node), any_node)
    rows, reads = [], 0
    for (sid, _local), node in sorted(targets.items(), key=str):
        if not nodes.get(node):
            continue
        try:
            rows.extend(client.get(client.path('nodes', node, 'storage', sid, 'content'), content='images') or [])
            reads += 1
        except PveApiError:
            continue
    return rows, reads


# ---------------------------------------------------------------------------------- build inputs

def check_build_inputs(client, spec, actual):
    """Raise InputError before anything is written when the node, storage, bridge, ISOs or source are wrong.

    Returns {'source': {...} for a clone, else None}.
    """
    node, storage = spec['node'], spec['storage']
    nodes = actual['nodes']
    if node not in nodes:
        raise InputError('node {0!r} is not in this cluster (nodes: {1})'.format(node, ', '.join(sorted(nodes))),
                         hint='set node to a cluster node that has the image storage')
    if not nodes[node]:
        raise InputError('node {0} is offline'.format(node), hint='build on another node, or bring it back')
    on_node = dict((s['storage'], s) for s in client.get(client.path('nodes', node, 'storage')) or [])
    known = sorted(_storage_flags(actual['resources']))
    _check_storage(storage, node, on_node, known, 'images', 'storage')
    _check_nic(client, node, spec['hardware'])
    _check_pushed(spec['manifest'])
    source = spec['source']
    if source['kind'] == 'iso':
        for key in ('iso', 'virtio_iso', 'answer_iso'):
            if source.get(key):
                _check_iso(client, source[key], node, on_node, known, 'source.' + key)
        return {'source': None}
    return {'source': _clone_source(client, spec, actual)}


def _check_nic(client, node, hw):
    """The build VM's NIC: PVE would create (or clone) it on a bridge the node lacks and fail its first start."""
    found = bridges.node_refusal(client, node, hw['bridge'], hw['vlan'], guests='the build VM',
                                 rename='set hardware.bridge to a bridge of node {0}'.format(node))
    if found:
        field, problem, fix = found
        raise InputError('hardware.{0}: {1}'.format(field, problem), hint=fix)


def _check_pushed(manifest):
    """Every controller path the build pushes over WinRM exists here, before anything is written."""
    import os
    from ._image_sources import source_kind
    for key in ('software', 'drivers', 'files'):
        for i, item in enumerate(manifest[key]):
            source = item.get('source')
            if source and source_kind(source) == 'push' and not os.path.exists(source):
                raise InputError('manifest.{0}[{1}].source: {2} does not exist on the controller'.format(key, i, source),
                                 hint='a path starting with / is a file or folder on the controller, pushed to the '
                                      'build VM over WinRM')


def _check_storage(sid, node, on_node, known, content, field):
    if sid not in on_node or not on_node[sid].get('enabled', 1):   # PVE lists storages of other nodes disabled
        on_node = dict((k, v) for k, v in on_node.items() if v.get('enabled', 1))
        if sid in known:
            raise InputError('{0}: node {1} has no storage {2!r} (it has: {3})'.format(
                field, node, sid, ', '.join(sorted(on_node)) or 'none'),
                hint='build on a node that has it, or enable the storage for this node')
        raise InputError('{0}: unknown storage {1!r} (the cluster has: {2})'.format(field, sid, ', '.join(known)))
    st = on_node[sid]
    if content not in str(st.get('content', '')).split(','):
        raise InputError('{0}: storage {1!r} does not hold {2} (content: {3})'.format(
            field, sid, content, st.get('content')))
    if not st.get('active', 1):
        raise InputError('{0}: storage {1!r} is not active on node {2}'.format(field, sid, node))


def _check_iso(client, volid, node, on_node, known, field):
    sid = volid.split(':', maxsplit=1)[0]
    _check_storage(sid, node, on_node, known, 'iso', field)
    rows = client.get(client.path('nodes', node, 'storage', sid, 'content'), content='iso') or []
    have = [r.get('volid') for r in rows]
    if volid not in have:
        raise InputError('{0}: ISO {1} not found on node {2} (storage {3} has: {4})'.format(
            field, volid, node, sid, ', '.join(v.split('/', 1)[-1] for v in have) or 'no ISOs'),
            hint='upload it to the storage, or correct the file name')


def _clone_source(client, spec, actual):
    ref = spec['source']['vm']
    found = [i for i in actual['resources'] if i.get('type') == 'qemu'
             and (str(i.get('vmid')) == ref or i.get('name') == ref)]
    if not found:
        raise InputError('source.vm: no VM or template {0!r} in this cluster'.format(ref))
    if len(found) > 1:
        raise InputError('source.vm: {0!r} names {1} VMs (vmids {2})'.format(
            ref, len(found), ', '.join(str(i['vmid']) for i in found)), hint='give the vmid instead')
    item = found[0]
    config = client.get(client.path('nodes', item['node'], 'qemu', item['vmid'], 'config')) or {}
    where = 'source.vm {0} (vmid {1})'.format(config.get('name') or item.get('name'), item['vmid'])
    if config.get('bios') != 'ovmf' or not config.get('efidisk0'):
        raise InputError('{0} boots with {1}, not UEFI (OVMF with an EFI disk)'.format(
            where, config.get('bios') or 'seabios'), hint='Windows 11 needs UEFI with Secure Boot; use a UEFI base')
    if 'version=v2.0' not in str(config.get('tpmstate0', '')):
        raise InputError('{0} has no TPM 2.0 state (tpmstate0)'.format(where), hint='Windows 11 needs TPM 2.0')
    shared = _storage_flags(actual['resources'])
    if item['node'] != spec['node']:
        for key, value in config.items():
            sid = str(value).split(':', maxsplit=1)[0]
            if key[:4] in ('scsi', 'virt', 'sata', 'efid', 'tpms') and sid in shared and not shared[sid] \
                    and 'media=cdrom' not in str(value):
                raise InputError('{0} is on node {1} with disk {2} on local storage {3}: it cannot be cloned to '
                                 'node {4}'.format(where, item['node'], key, sid, spec['node']),
                                 hint='build on node {0}'.format(item['node']))
    return {'vmid': int(item['vmid']), 'node': item['node'], 'name': config.get('name') or item.get('name'),
            'template': str(config.get('template', '0')) in ('1', 'true'), 'config': config}

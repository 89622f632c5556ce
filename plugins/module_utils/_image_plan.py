# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's plan (private, pure): desired image x what the region holds -> what to do.

- build / up_to_date / unverified for the requested version (a changed spec under an existing version
  is an error: versions are immutable);
- retention: keep the newest N versions; beyond them remove oldest first, but never a version any
  desktop uses (tags image-<name> + v-<version>, or disks that are linked clones of its base volumes),
  never a pinned one, never a protected one; every kept version says why;
- pin tags: the template of every pinned version carries the tag `pinned` (golden_image_info reads it).
"""

from __future__ import annotations

import re

from . import _tags
from ._image_spec import parse_description, template_tags, version_key
from ._pve_errors import InputError, StoredeskError

BASE_VOL = re.compile(r'(?:^|[:/\s])(base-(\d+)-disk-\d+)')


def _is_vm(item):
    return item.get('type') == 'qemu'


def _live(item, configs):
    """(is a template, name) of a guest: from its config when read (live), else from /cluster/resources.

    /cluster/resources takes `name` and `template` from the RRD cache that pvestatd refreshes every ~10 s
    (pve-manager PVE/API2/Cluster.pm `resources` -> PVE/API2Tools.pm `extract_vm_stats`); only `lock` and `tags`
    there are live. A config read is live."""
    config = configs.get(int(item['vmid']))
    if config is None:
        return bool(item.get('template')), item.get('name') or ''
    return str(config.get('template', '0')) in ('1', 'true'), config.get('name') or item.get('name') or ''


def config_candidates(resources, image, nodes=None):
    """Guests whose config read_image needs: maybe a template of the image, or maybe a build VM.

    From what /cluster/resources serves live (tags) plus its cached name/template: a template of the image
    carries image-<image> and v-<version> and no role or store tag (desktops carry both); a build VM carries
    role-build. A cached name or template flag only adds candidates (it may be ~10 s old)."""
    out = []
    for item in resources or []:
        if not _is_vm(item) or (nodes is not None and not nodes.get(item.get('node'))):
            continue
        meta = _tags.parse(item.get('tags'))
        name = str(item.get('name') or '')
        tagged = meta['image'] == image and meta['version']
        if (tagged and (item.get('template') or not (meta['role'] or meta['store']))) \
                or 'role-build' in meta['tags'] \
                or name.startswith('build-{0}-'.format(image)) or name.startswith('failed-{0}-'.format(image)):
            out.append(item)
    return out


def image_templates(resources, configs, image):
    """Templates tagged image-<image> and v-<version>, with hash/build time from their description.

    `configs`: {vmid: config} read live; whether a guest is a template, and its name, come from there."""
    out = []
    for item in resources or []:
        if not _is_vm(item):
            continue
        meta = _tags.parse(item.get('tags'))
        if meta['image'] != image or not meta['version']:
            continue
        is_template, name = _live(item, configs)
        if not is_template:
            continue
        vmid = int(item['vmid'])
        config = configs.get(vmid) or {}
        desc = parse_description(config.get('description'))
        disks = [str(v).split(',', maxsplit=1)[0] for k, v in sorted(config.items())
                 if re.match(r'^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$', k) and 'media=cdrom' not in str(v)]
        out.append({'vmid': vmid, 'name': name, 'node': item.get('node'),
                    'version': meta['version'], 'tags': meta['tags'], 'pinned': 'pinned' in meta['tags'],
                    'hash': desc['hash'], 'built': desc['built'], 'disks': disks,
                    'protected': str(config.get('protection', '0')) in ('1', 'true'),
                    'config_read': vmid in configs})
    return sorted(out, key=lambda t: (version_key(t['version']), t['vmid']))


def build_vms(resources, image, configs=None):
    """Build VMs of this image: in progress/interrupted (build-<image>-*) and kept failures (failed-<image>-*).

    The name comes from the VM's config when read (`configs`, live), else from /cluster/resources."""
    out = []
    for item in resources or []:
        if not _is_vm(item):
            continue
        is_template, name = _live(item, configs or {})
        if name.startswith('build-{0}-'.format(image)) or name.startswith('failed-{0}-'.format(image)):
            out.append({'vmid': int(item['vmid']), 'name': name, 'node': item.get('node'),
                        'status': item.get('status'), 'failed': name.startswith('failed-'),
                        'template': is_template})
    return out


def usage(resources, contents, templates, image):
    """{version: [{'vmid', 'name', 'node', 'store', 'via'}]}: desktops using each version of the image.

    By tags (image-<image> + v-<version>, build VMs excluded), and by disks: a volume whose name or
    `parent` refers to a base volume of the version's template (a linked clone), whatever its tags.
    """
    versions = set(t['version'] for t in templates)
    by_vmid = dict((int(i['vmid']), i) for i in resources or [] if _is_vm(i))
    out = dict((v, []) for v in versions)
    seen = set()

    def add(version, item, via):
        if (version, int(item['vmid'])) in seen:
            return
        seen.add((version, int(item['vmid'])))
        meta = _tags.parse(item.get('tags'))
        out[version].append({'vmid': int(item['vmid']), 'name': item.get('name') or '', 'node': item.get('node'),
                             'store': meta['store'], 'via': via})

    live_templates = set(t['vmid'] for t in templates)

    def template(item):      # a template just converted is still `template: 0` in /cluster/resources
        return int(item['vmid']) in live_templates or item.get('template')

    for item in by_vmid.values():
        meta = _tags.parse(item.get('tags'))
        if template(item) or 'role-build' in meta['tags']:
            continue
        if meta['image'] == image and meta['version'] in versions:
            add(meta['version'], item, 'tags')
    bases = {}
    for tpl in templates:
        for volid in tpl['disks']:
            found = BASE_VOL.search(volid)
            if found:
                bases[found.group(1)] = (tpl['version'], tpl['vmid'])
    for row in contents or []:
        owner = row.get('vmid')
        text = '{0} {1}'.format(row.get('volid') or '', row.get('parent') or '')
        for found in BASE_VOL.finditer(text):
            hit = bases.get(found.group(1))
            if hit and owner is not None and int(owner) != hit[1] and int(owner) in by_vmid:
                item = by_vmid[int(owner)]
                if not template(item):
                    add(hit[0], item, 'linked-clone')
    for users in out.values():
        users.sort(key=lambda u: (u['name'], u['vmid']))
    return out


def retention(spec, templates, users, present_version=True):
    """(remove, keep): per version, newest first kept up to spec['retention']; the rest removed unless
    requested, pinned, protected or in use. `present_version`: the requested version exists (or will)."""
    versions = sorted(set(t['version'] for t in templates) | ({spec['version']} if present_version else set()),
                      key=version_key, reverse=True)
    pinned = set(spec['pinned'])
    remove, keep = [], []
    for rank, version in enumerate(versions):
        tpls = [t for t in templates if t['version'] == version]
        reasons = []
        if version == spec['version']:
            reasons.append('requested version')
        if rank < spec['retention']:
            reasons.append('within retention (newest {0})'.format(spec['retention']))
        if version in pinned:
            reasons.append('pinned')
        in_use = users.get(version) or []
        if in_use:
            # the VMID always (a name in /cluster/resources lags behind a fresh clone), the name when known
            names = ', '.join('{0} ({1})'.format(u['vmid'], u['name']) if u['name'] else str(u['vmid'])
                              for u in in_use[:5])
            more = ' and {0} more'.format(len(in_use) - 5) if len(in_use) > 5 else ''
            reasons.append('in use by {0} desktop(s): {1}{2}'.format(len(in_use), names, more))
        if any(t['protected'] for t in tpls):
            reasons.append('protected (protection=1)')
        if any(not t['config_read'] for t in tpls):
            reasons.append('its config could not be read (node offline?)')
        entry = {'version': version, 'templates': [t['name'] for t in tpls]}
        if reasons:
            keep.append(dict(entry, reasons=reasons))
        else:
            remove.append(dict(entry, vmids=[(t['node'], t['vmid']) for t in tpls]))
    remove.sort(key=lambda r: version_key(r['version']))   # oldest first
    return remove, keep


def pin_changes(spec, templates, removing=()):
    """Tag writes so that exactly the pinned versions carry `pinned` (skipping templates about to go)."""
    pinned = set(spec['pinned'])
    out = []
    for tpl in templates:
        if tpl['version'] in removing:
            continue
        want = tpl['version'] in pinned
        if want != tpl['pinned']:
            tags = [t for t in tpl['tags'] if t != 'pinned'] + (['pinned'] if want else [])
            out.append({'version': tpl['version'], 'vmid': tpl['vmid'], 'node': tpl['node'], 'template': tpl['name'],
                        'pinned': want, 'tags': _tags.join_tags(tags)})
    return out


def plan(spec, templates, users, builds):
    """The whole plan; raises InputError when the requested version exists with another manifest."""
    mine = [t for t in templates if t['version'] == spec['version']]
    warnings = []
    if not mine:
        action = 'build'
    elif all(t['hash'] == spec['hash'] for t in mine):
        action = 'up_to_date'
    elif any(t['hash'] and t['hash'] != spec['hash'] for t in mine):
        other = [t for t in mine if t['hash'] and t['hash'] != spec['hash']][0]
        raise InputError('version {0} of image {1} already exists as {2} (vmid {3}) built from another manifest '
                         '(sha256 {4}..., requested {5}...)'.format(
                             spec['version'], spec['name'], other['name'], other['vmid'], other['hash'][:12],
                             spec['hash'][:12]),
                         hint='versions are immutable: give the changed manifest a new version, or restore the '
                              'manifest {0} was built from'.format(spec['version']))
    else:
        action = 'unverified'
        warnings.append('{0} has no manifest hash in its description (not built by golden_image); it is kept as '
                        'version {1} and not rebuilt'.format(', '.join(t['name'] for t in mine), spec['version']))
    if action == 'build':
        running = [b for b in builds if not b['failed'] and b['name'] == spec['build_name']]
        if running:
            b = running[0]
            raise StoredeskError('a build VM {0} (vmid {1}, {2}) already exists: another run is building this version, '
                                 'or a run was interrupted'.format(b['name'], b['vmid'], b['status']),
                                 hint='wait for the other run, or remove vmid {0} and run again'.format(b['vmid']))
    for b in builds:
        if b['failed']:
            warnings.append('failed build {0} (vmid {1}) is kept for inspection; remove it when done'.format(
                b['name'], b['vmid']))
    remove, keep = retention(spec, templates, users)
    removing = set(r['version'] for r in remove)
    missing_pins = sorted(set(spec['pinned']) - set(t['version'] for t in templates) - {spec['version']})
    if missing_pins:
        warnings.append('pinned version(s) {0} do not exist in this region'.format(', '.join(missing_pins)))
    return {'image': spec['name'], 'version': spec['version'], 'action': action, 'template': spec['template_name'],
            'hash': spec['hash'], 'pinned': spec['version'] in spec['pinned'], 'remove': remove, 'keep': keep, 'tags': pin_changes(spec, templates, removing),
            'warnings': warnings}


def diff(plan_doc, templates):
    """before/after: the image's versions with template name and pinned state."""
    before = dict((t['version'], {'template': t['name'], 'pinned': t['pinned']}) for t in templates)
    after = dict((v, dict(s)) for v, s in before.items())
    if plan_doc['action'] == 'build':
        after[plan_doc['version']] = {'template': plan_doc['template'], 'pinned': plan_doc['pinned']}
    for change in plan_doc['tags']:
        after[change['version']]['pinned'] = change['pinned']
    for item in plan_doc['remove']:
        after.pop(item['version'], None)
    return {'before': {'versions': before}, 'after': {'versions': after}}


def new_template_tags(spec):
    return template_tags(spec['name'], spec['version'], pinned=spec['version'] in spec['pinned'])

# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image_info's logic (private): read every region (in parallel), then merge per image and version.

Per region the reads are golden_image's (read_image): /cluster/resources, the image templates'
configs, one content list per storage of their base volumes. merge() is pure.
"""

from __future__ import annotations

from . import _tags
from ._executor import run_bounded
from ._image_spec import version_key
from ._image_state import read_image


def image_names(resources):
    """Every image name a template (or a guest tagged like one: tags are live, `template` is not) is tagged with."""
    names = set()
    for item in resources or []:
        if item.get('type') == 'qemu':
            meta = _tags.parse(item.get('tags'))
            if meta['image'] and meta['version'] and (item.get('template') or not (meta['role'] or meta['store'])):
                names.add(meta['image'])
    return names


def read_region(client, image=None):
    """{image: read_image(...)} for one region (all images when image is None)."""
    if image:
        return {image: read_image(client, image)}
    resources = client.get('/cluster/resources') or []
    found = dict((name, read_image(client, name, resources)) for name in sorted(image_names(resources)))
    return dict((name, actual) for name, actual in found.items() if actual['templates'] or actual['builds'])


def merge(regions):
    """regions: {region: {image: read_image result}} -> [{'name', 'versions': [...]}] (newest version first)."""
    images = {}
    region_names = sorted(regions)
    for region in region_names:
        for name, actual in regions[region].items():
            versions = images.setdefault(name, {})
            for tpl in actual['templates']:
                entry = versions.setdefault(tpl['version'], {'version': tpl['version'], 'regions': {}, 'users': {}})
                entry['regions'][region] = {'template': tpl['name'], 'vmid': tpl['vmid'], 'node': tpl['node'],
                                            'hash': tpl['hash'], 'built': tpl['built'], 'pinned': tpl['pinned'],
                                            'protected': tpl['protected']}
                entry['users'][region] = actual['users'].get(tpl['version']) or []
            for build in actual['builds']:
                images[name].setdefault('_builds', []).append(dict(build, region=region))
    out = []
    for name in sorted(images):
        versions = images[name]
        builds = versions.pop('_builds', [])
        rows = []
        for version in sorted(versions, key=version_key, reverse=True):
            entry = versions[version]
            hashes = set(r['hash'] for r in entry['regions'].values())
            users = [dict(u, region=region) for region, us in sorted(entry['users'].items()) for u in us]
            built = sorted(r['built'] for r in entry['regions'].values() if r['built'])
            rows.append({
                'version': version,
                'regions': entry['regions'],
                'missing_in': [r for r in region_names if r not in entry['regions']],
                'hash': hashes.pop() if len(hashes) == 1 else None,
                'hash_consistent': len(set(r['hash'] for r in entry['regions'].values())) == 1
                and None not in set(r['hash'] for r in entry['regions'].values()),
                'built': built[0] if built else None,
                'pinned': any(r['pinned'] for r in entry['regions'].values()),
                'desktops': len(users),
                'desktops_by_region': dict((r, len(us)) for r, us in sorted(entry['users'].items())),
                'stores': sorted(set(u['store'] for u in users if u['store'])),
                'users': users,
            })
        for index, row in enumerate(rows):
            row['latest'] = index == 0
            row['rollback_candidate'] = index > 0 and not row['missing_in'] and row['hash_consistent']
        out.append({'name': name, 'versions': rows, 'failed_builds': [b for b in builds if b['failed']],
                    'builds_in_progress': [b for b in builds if not b['failed']]})
    return out


def read_estate(clients, image=None, concurrency=4):
    """clients: {region: PveClient}. Returns ({region: {image: actual}}, {region: error text})."""
    outcomes = run_bounded(sorted(clients.items()), lambda item: read_region(item[1], image), overall=concurrency)
    found, errors = {}, {}
    for outcome in outcomes:
        region = outcome.item[0]
        if outcome.ok:
            found[region] = outcome.value
        else:
            errors[region] = str(outcome.error)
    return found, errors

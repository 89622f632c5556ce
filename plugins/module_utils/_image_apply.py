# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image wired end to end (private): read -> plan -> [build] -> retention and pins -> result.

Check mode stops after the plan (and the input checks a build would make). Retention is planned again
from a fresh read after a build, right before anything is removed, so a desktop cloned from an old
version while the build ran still keeps that version.
"""

from __future__ import annotations

from . import _image_plan as plan_mod
from ._vm_ops import DesktopOps
from ._image_build import ImageBuild
from ._image_state import check_build_inputs, read_image
from ._pve_errors import StoredeskError


def _template_record(templates, version):
    for tpl in templates:
        if tpl['version'] == version:
            return dict((k, tpl[k]) for k in ('vmid', 'name', 'node', 'version', 'hash', 'built', 'pinned'))
    return None


def run(client, spec, check_mode=False, diff_mode=False, winrm_options=None, run_script=None):
    """The module's result dict. `winrm_options`: a callable returning runner options (only built for a build)."""
    actual = read_image(client, spec['name'])
    doc = plan_mod.plan(spec, actual['templates'], actual['users'], actual['builds'])
    prepared = check_build_inputs(client, spec, actual) if doc['action'] == 'build' else None
    result = {'changed': bool(doc['action'] == 'build' or doc['remove'] or doc['tags']), 'plan': doc,
              'image': spec['name'], 'version': spec['version'], 'hash': spec['hash'],
              'template': _template_record(actual['templates'], spec['version']), 'build': None, 'removed': [],
              'kept': doc['keep'], 'pins': doc['tags'], 'users': _users_summary(actual['users'])}
    if diff_mode:
        result['diff'] = plan_mod.diff(doc, actual['templates'])
    if check_mode:
        result['api_requests'] = client.stats['requests']
        return result

    if doc['action'] == 'build':
        builder = ImageBuild(client, spec, winrm_options(), run_script=run_script, timeouts=spec['timeouts'])
        try:
            result['build'] = builder.run(prepared['source'])
        except StoredeskError as exc:
            # run_module passes `plan` on to fail_json (`failed` is Ansible's own boolean)
            exc.details['plan'] = dict(doc, failure={'step': exc.details.get('step'), 'stage': builder.stage,
                                                     'build_vm': builder.vm, 'steps': builder.steps})
            raise
        actual = read_image(client, spec['name'])
    elif not (doc['remove'] or doc['tags']):
        result['api_requests'] = client.stats['requests']
        return result
    else:
        actual = read_image(client, spec['name'])

    remove, keep = plan_mod.retention(spec, actual['templates'], actual['users'])
    pins = plan_mod.pin_changes(spec, actual['templates'], set(r['version'] for r in remove))
    ops = DesktopOps(client)
    for change in pins:
        ops.put_config(change['node'], change['vmid'], 'template ' + change['template'], tags=change['tags'])
    for item in remove:
        for node, vmid in item['vmids']:
            ops.destroy(node, vmid, 'template of {0} {1}'.format(spec['name'], item['version']))
        result['removed'].append({'version': item['version'], 'templates': item['templates']})
    templates = [t for t in actual['templates'] if t['version'] not in set(r['version'] for r in remove)]
    result.update(kept=keep, pins=pins, changed=bool(result['build'] or remove or pins),
                  template=_template_record(templates, spec['version']), users=_users_summary(actual['users']),
                  api_requests=client.stats['requests'])
    return result


def _users_summary(users):
    """{version: {'desktops': n, 'stores': [...]}} for the result."""
    return dict((v, {'desktops': len(u), 'stores': sorted(set(x['store'] for x in u if x['store']))})
                for v, u in users.items())

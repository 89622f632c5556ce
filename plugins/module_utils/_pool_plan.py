# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's planner (private, pure): desired x actual -> one op per desktop. This IS check mode.

An op: {store, name, index, vmid, node, actions: [...], reason, spec, vm, batch}. Actions, in order:
  adopt        a clone left by an interrupted run is still locked: wait for it, then configure it
  create       linked clone of the pinned template (+ config, + start when it should run)
  replace      image push: clone the new version under the same name, then destroy the old desktop
  reconfigure  net/SPICE/agent/protection/address changed (tag cfg-<hash> differs): config PUT
  retag        only tags differ (role, city, ...): config PUT of tags
  start | shutdown | hibernate
  destroy      scale-down or a duplicate (backup first by policy)
  keep         nothing will be done although something differs; `reason` says why
plan() may ask for details (configs, logged-in users) in plan['needs']; the module reads them and plans again.
Nodes for new desktops, push batches and the memory a push needs are decided in _pool_place.
"""

from __future__ import annotations

from . import _pool_desired as desired_mod
from ._pool_place import batches, place, push_room

POWER_RANK = {'stopped': 0, 'hibernated': 1, 'running': 2}
POWER_ACTIONS = ('start', 'shutdown', 'hibernate', 'resume')
REMOVALS = ('destroy', 'replace')


def find_template(actual, image, version):
    """The template tagged image-<name> + v-<version> (lowest vmid if several), or None."""
    found = [vm for vm in actual['vms'] if vm['template'] and vm['meta']['image'] == image
             and vm['meta']['version'] == version]
    return min(found, key=lambda vm: vm['vmid']) if found else None


def _members(store, actual):
    out = []
    for vm in actual['vms']:
        if vm['template'] or 'reclaimed' in vm['tags']:
            continue
        meta = vm['meta']
        mine = meta['managed'] and meta['store'] == store['code']
        if mine or (vm['pool'] == store['pool'] and store['name_re'].match(vm['name'])):
            found = store['name_re'].match(vm['name'])
            out.append(dict(vm, index=int(found.group(1)) if found else None))
    return out


def _version(vm, details):
    """Image version of a desktop: its tag, or for an untagged half-clone the description the clone wrote."""
    if vm['meta']['version']:
        return vm['meta']['version']
    parsed = desired_mod.parse_description(((details.get(vm['vmid']) or {}).get('config') or {}).get('description'))
    return parsed[2] if parsed else None


def blocker(vm, details, params):
    """Why a desktop must not be stopped, replaced or destroyed (None if it may). Fails closed: anything
    not known (a config or guest-agent read that failed) keeps the desktop."""
    if not vm.get('online', True):
        return 'its node {0} is offline'.format(vm['node'])
    checks = params.get('in_use_check') or []
    if 'tag' in checks and 'inuse' in vm['tags']:
        return 'in use (tag inuse)'
    info = details.get(vm['vmid'])
    if info is None:
        return 'details not read'
    if info.get('error'):
        return 'its config could not be read ({0})'.format(info['error'])
    if str(info['config'].get('protection', 0)) in ('1', 'true'):
        return 'protection is on'
    hibernated = vm['power'] == 'hibernated' or info['config'].get('vmstate') or \
        info['config'].get('lock') == 'suspended'
    if hibernated and (params.get('saved_sessions') or 'keep') == 'keep':
        return 'hibernated: a saved session (saved_sessions=keep)'
    if 'agent' in checks and 'users' in info and info['users'] is None:
        return 'in use unknown: the guest agent did not answer ({0})'.format(info.get('users_error') or 'no answer')
    ignore = set(u.lower() for u in params.get('in_use_ignore_users') or [])
    users = [u for u in info.get('users') or [] if u.split('@')[0].split('\\')[-1].lower() not in ignore]
    if 'agent' in checks and users:
        return 'in use (logged in: {0})'.format(', '.join(sorted(set(users))))
    return None


def _needs_for(vm, needs, params, full=False):
    needs['config'].add(vm['vmid'])
    if full and vm['power'] == 'running' and 'agent' in (params.get('in_use_check') or []):
        needs['users'].add(vm['vmid'])


def _power_actions(vm_power, want):
    if want == 'running' and vm_power in ('stopped', 'hibernated'):
        return ['start']
    if want == 'stopped' and vm_power == 'running':
        return ['shutdown']
    if want == 'hibernated' and vm_power == 'running':
        return ['hibernate']
    return []


def _op(store, spec, vm=None, actions=(), reason=None, node=None):
    return {'store': store['code'], 'name': spec['name'] if spec else vm['name'],
            'index': spec['index'] if spec else vm.get('index'), 'vmid': vm['vmid'] if vm else None,
            'node': node or (vm['node'] if vm else None), 'actions': list(actions), 'reason': reason,
            'spec': spec, 'vm': vm, 'batch': None}


def _existing_op(store, params, vm, spec, version, details, problems):
    """The op of a desktop that stays: adopt, replace, reconfigure, retag, power."""
    if not vm['online']:
        return _op(store, spec, vm, ['keep'], 'its node {0} is offline; it is reported, not changed'.format(
            vm['node']))
    actions = []
    if vm['lock'] == 'clone':
        return _op(store, spec, vm, ['adopt', 'reconfigure'] + _power_actions('stopped', spec['power']))
    if version != spec['version']:
        why = blocker(vm, details, params)
        if why:
            mode = (params.get('push') or {}).get('in_use', 'skip')
            if mode == 'wait' and why.startswith('in use'):
                return _op(store, spec, vm, ['replace'], 'waits: ' + why)
            return _op(store, spec, vm, ['keep'], 'image push skipped: ' + why)
        return _op(store, spec, vm, ['replace'])
    want_tags = set(spec['tags'].split(';'))
    have = set(t.lower() for t in vm['tags'])
    extra = set(t for t in have if t == 'inuse')
    if 'cfg-' + spec['cfg'] not in have or not vm['meta']['managed']:
        change = 'reconfigure'
    elif have - extra != want_tags:
        change = 'retag'
    else:
        change = None
    power = _power_actions(vm['power'], spec['power'])
    if change and vm['power'] == 'hibernated':
        if power == ['start']:
            return _op(store, spec, vm, ['start', change])
        return _op(store, spec, vm, ['keep'] + power,
                   'hibernated: its settings change when it is next resumed by desktop_pool')
    actions = ([change] if change else []) + power
    return _op(store, spec, vm, actions or ['none'])


def _plan_store(store, params, actual, details, needs, tpl):
    ops, members = [], _members(store, actual)
    by_index = {}
    for pos, vm in enumerate(members):
        if vm['status'] not in ('running', 'stopped', 'paused') and vm.get('online', True):
            # /cluster/resources has no status for it yet (RRD cache): the live one from status/current
            info = details.get(vm['vmid'])
            if info is None or not info.get('status'):
                needs['config'].add(vm['vmid'])
            else:
                saved = info['config'].get('lock') == 'suspended' or bool(info['config'].get('vmstate'))
                vm = members[pos] = dict(vm, status=info['status'], power='hibernated' if saved and
                                         info['status'] == 'stopped' else info['status'])
    for vm in members:
        if vm['index'] is None and vm['meta']['managed']:
            # /cluster/resources takes `name` from the RRD cache (pve-manager PVE/API2Tools.pm
            # extract_vm_stats, ~10 s behind); tags are live. A desktop of ours under an old name: ask its config.
            info = details.get(vm['vmid'])
            found = store['name_re'].match(str(((info or {}).get('config') or {}).get('name') or ''))
            if info is None:
                needs['config'].add(vm['vmid'])
                ops.append(_op(store, None, vm, ['keep'], 'name not confirmed yet'))
                continue
            if found:
                vm = dict(vm, name=found.group(0), index=int(found.group(1)))
        if vm['index'] is None:
            ops.append(_op(store, None, vm, ['keep'], 'its name does not match name_pattern'))
            continue
        if not vm['meta']['managed'] or vm['lock'] == 'clone':
            if vm['vmid'] not in details:
                needs['config'].add(vm['vmid'])
        by_index.setdefault(vm['index'], []).append(vm)
    want = store['image']['version']
    primaries = []
    for index in sorted(by_index):
        group = sorted(by_index[index], key=lambda vm: (
            _version(vm, details) != want, not vm['meta']['managed'], vm['power'] != 'running', vm['vmid']))
        primaries.append(group[0])
        for dup in group[1:]:
            if dup['vmid'] not in details:
                _needs_for(dup, needs, params, full=True)
            why = blocker(dup, details, params)
            ops.append(_op(store, None, dup, ['keep'] if why else ['destroy'],
                           'duplicate of vmid {0}{1}'.format(group[0]['vmid'], '; kept: ' + why if why else '')))
    total = store['total']
    surplus = len(primaries) - total
    keep = list(primaries)
    if surplus > 0:
        order = sorted(primaries, key=lambda vm: (not vm['online'], POWER_RANK.get(vm['power'], 3), -vm['index']))
        for vm in order:
            if vm['vmid'] not in details:
                _needs_for(vm, needs, params, full=True)
        blocked = []
        for vm in order:
            if surplus <= 0:
                break
            why = blocker(vm, details, params)
            if why is None:
                keep.remove(vm)
                ops.append(_op(store, None, vm, ['destroy'], 'scale down to {0}'.format(total)))
                surplus -= 1
            else:
                blocked.append((vm, why))
        # Above count and not known to be free: kept as they are and reported, never reconfigured as spares.
        for vm, why in blocked[:max(0, surplus)]:
            keep.remove(vm)
            ops.append(_op(store, None, vm, ['keep'], 'above count {0}, kept: {1}'.format(total, why)))
        skipped = dict((vm['vmid'], why) for vm, why in blocked[max(0, surplus):])
        if surplus > 0:
            ops.append({'store': store['code'], 'warning': '{0} desktop(s) above count kept: {1}'.format(
                surplus, '; '.join('{0}: {1}'.format(vm['name'], why) for vm, why in blocked[:surplus]))})
    else:
        skipped = {}
    taken = set(vm['index'] for vm in keep)
    free = [i for i in range(1, total + len(taken) + 1) if i not in taken][:max(0, total - len(keep))]
    slots = sorted([(vm['index'], vm) for vm in keep] + [(i, None) for i in free], key=lambda x: x[0])
    for position, (index, vm) in enumerate(slots):
        role = 'desktop' if position < store['count'] else 'spare'
        spec = desired_mod.desktop_spec(store, params, index, role)
        if vm is None:
            ops.append(_op(store, spec, None, ['create'] + (['start'] if spec['power'] == 'running' else [])))
            continue
        version = _version(vm, details)
        if version != want and vm['vmid'] not in details and vm['online']:
            _needs_for(vm, needs, params, full=True)
        ops.append(_existing_op(store, params, vm, spec, version, details, []))
        if vm['vmid'] in skipped:       # stays in the pool, but the report says why it was not the one removed
            ops[-1]['kept'] = 'not removed on scale-down: ' + skipped[vm['vmid']]
    for op in ops:
        op['template'] = tpl
    return ops


def plan(stores, params, actual, details=None):
    """{'ops': [...], 'needs': {'config': set, 'users': set}, 'warnings': [...], 'templates': {...}}."""
    details = details or {}
    needs = {'config': set(), 'users': set()}
    problems = desired_mod.Problems()
    unknown = sorted(set(params.get('nodes') or []) - set(actual['nodes']))
    if unknown:   # a placement node this cluster does not have is an error, never silently left out
        problems.add_global('nodes', '{0} not in this cluster (its nodes: {1})'.format(
            ', '.join(unknown), ', '.join(sorted(actual['nodes']))), 'name nodes of the region, or leave nodes out')
    templates = {}
    for store in stores:
        tpl = find_template(actual, store['image']['name'], store['image']['version'])
        if tpl is None:
            have = sorted(set(vm['meta']['version'] for vm in actual['vms'] if vm['template']
                              and vm['meta']['image'] == store['image']['name'] and vm['meta']['version']))
            text = 'no template tagged image-{0} and v-{1} in this region (versions here: {2})'.format(
                store['image']['name'], store['image']['version'], ', '.join(have) or 'none')
            problems.add(store['code'], 'image.version', text,
                         'publish that version with golden_image or pin one that exists')
        templates[store['code']] = tpl
    problems.raise_if_any([s['code'] for s in stores])
    ops, warnings = [], []
    for store in stores:
        for op in _plan_store(store, params, actual, details, needs, templates[store['code']]):
            if 'warning' in op:
                warnings.append('store {0}: {1}'.format(op['store'], op['warning']))
            else:
                ops.append(op)
    if any(set(op['actions']) & {'create', 'replace'} for op in ops):
        for tpl in set((t['vmid'], t['node']) for t in templates.values()):
            if tpl[0] not in details:
                needs['config'].add(tpl[0])
    room = place(stores, ops, actual, params, details, templates)
    batches(ops, params)
    push_room(ops, actual, params, templates, room)
    needs['config'] -= set(details)
    needs['users'] -= set(vmid for vmid, info in details.items() if 'users' in info)
    return {'ops': ops, 'needs': needs, 'warnings': warnings, 'templates': templates}


def live_nodes(ops, actual):
    """Nodes whose guests' power must be read live before this plan may be applied. /cluster/resources' status is
    the RRD cache (~10 s old): a desktop resumed seconds ago reads `stopped`, so it would be ranked first to go and
    its logged-in users never asked. Wanted: the nodes of a power change, and of every desktop of a store where the
    plan destroys or replaces one (the ranking and the in-use checks depend on all of them). A plan that removes
    nothing and changes no power needs no read (the no-op rerun stays at its bulk reads)."""
    touched = set(op['store'] for op in ops if set(op['actions']) & set(REMOVALS))
    nodes = set()
    for op in ops:
        if op['vmid'] is None or not op['node'] or 'adopt' in op['actions']:
            continue
        if op['store'] in touched or set(op['actions']) & set(POWER_ACTIONS):
            nodes.add(op['node'])
    return sorted(n for n in nodes if actual['nodes'].get(n, {}).get('online', True))


def changes(ops):
    """Ops that write something."""
    return [op for op in ops if set(op['actions']) - {'none', 'keep'}]


def action_label(op):
    return '+'.join(a for a in op['actions'] if a != 'none') or 'none'


def summary(stores, ops):
    """Per store: desired, desktops before, and the count of each action."""
    out = {}
    for store in stores:
        mine = [op for op in ops if op['store'] == store['code']]
        counts = {}
        for op in mine:
            for action in op['actions']:
                counts[action] = counts.get(action, 0) + 1
        out[store['code']] = {'pool': store['pool'], 'count': store['count'], 'spares': store['spares'] or 0,
                              'image': store['image'], 'power': store['power'],
                              'desktops_before': len([op for op in mine if op['vmid']]),
                              'actions': counts,
                              'kept': [{'name': op['name'], 'vmid': op['vmid'],
                                        'reason': op.get('kept') or op['reason']}
                                       for op in mine if 'keep' in op['actions'] or op.get('kept')]}
    return out


def diff(ops):
    """Before/after per store: {name: 'v<version> <power> on <node>'}."""
    before, after = {}, {}
    for op in ops:
        vm, spec = op['vm'], op['spec']
        if vm:
            before.setdefault(op['store'], {})[vm['name'] + ('' if spec else ' (vmid {0})'.format(vm['vmid']))] = \
                'v{0} {1} on {2}'.format(vm['meta']['version'] or '?', vm['power'], vm['node'])
        if 'destroy' in op['actions']:
            continue
        if spec and 'keep' not in op['actions']:
            after.setdefault(op['store'], {})[spec['name']] = 'v{0} {1} on {2}'.format(
                spec['version'], spec['power'], op['node'] or '?')
        elif vm:
            key = vm['name'] + ('' if spec else ' (vmid {0})'.format(vm['vmid']))
            after.setdefault(op['store'], {})[key] = before[op['store']][key]
    return {'before': before, 'after': after}

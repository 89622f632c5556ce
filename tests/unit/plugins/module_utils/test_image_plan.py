"""golden_image's plan: build / up to date / conflict, retention that never removes what is used or pinned."""

import pytest

from ansible_collections.storedesk.vdi.plugins.module_utils import _image_plan as plan_mod
from ansible_collections.storedesk.vdi.plugins.module_utils import _image_spec as spec_mod
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import InputError, StoredeskError


def spec(version='1.3.0', retention=2, pinned=(), **manifest):
    return spec_mod.normalise({
        'name': 'store', 'version': version, 'node': 'n1', 'storage': 'ceph', 'retention': retention,
        'pinned': list(pinned), 'source': {'vm': 'win11-base'}, 'winrm_user': 'storedesk-admin', 'winrm_password': 'pw',
        'manifest': manifest or {'registry': [{'path': r'HKLM:\X', 'name': 'v', 'value': version}]}})


def tpl(vmid, version, hash_=None, tags=None, node='n1'):
    item = {'type': 'qemu', 'vmid': vmid, 'node': node, 'name': 'tpl-store-' + version, 'template': 1,
            'status': 'stopped', 'tags': tags or 'image-store;storedesk;v-' + version}
    desc = 'storedesk golden image store {0}\nmanifest-sha256: {1}\nbuilt: 2026-01-0{2}T00:00:00Z by x'.format(
        version, hash_ or spec(version)['hash'], vmid % 9 + 1)
    config = {'name': item['name'], 'template': 1, 'description': desc, 'scsi0': 'ceph:base-{0}-disk-0,size=64G'.format(vmid),
              'efidisk0': 'ceph:base-{0}-disk-1,size=528K'.format(vmid), 'ide2': 'none,media=cdrom'}
    return item, config


def desktop(vmid, version, store='sh-0001', name=None, extra=''):
    return {'type': 'qemu', 'vmid': vmid, 'node': 'n1', 'name': name or 'd{0}'.format(vmid), 'status': 'running',
            'tags': 'storedesk;store-{0};image-store;v-{1}{2}'.format(store, version, extra)}


def region(versions, desktops=(), contents=(), configs_missing=()):
    resources, configs = [{'type': 'node', 'node': 'n1', 'status': 'online'}], {}
    for i, version in enumerate(versions):
        item, config = tpl(900 + i, version)
        resources.append(item)
        if item['vmid'] not in configs_missing:
            configs[item['vmid']] = config
    resources.extend(desktops)
    templates = plan_mod.image_templates(resources, configs, 'store')
    return resources, templates, plan_mod.usage(resources, list(contents), templates, 'store')


def test_new_version_is_built_and_old_ones_beyond_retention_removed_oldest_first():
    _res, templates, users = region(['1.0.0', '1.1.0', '1.2.0'])
    doc = plan_mod.plan(spec('1.3.0', retention=2), templates, users, [])
    assert doc['action'] == 'build' and doc['template'] == 'tpl-store-1.3.0'
    assert [r['version'] for r in doc['remove']] == ['1.0.0', '1.1.0']
    assert [(k['version'], k['reasons']) for k in doc['keep']] == [
        ('1.3.0', ['requested version', 'within retention (newest 2)']),
        ('1.2.0', ['within retention (newest 2)'])]


def test_same_manifest_is_up_to_date_and_changed_manifest_is_an_error():
    _res, templates, users = region(['1.2.0', '1.3.0'])
    assert plan_mod.plan(spec('1.3.0'), templates, users, [])['action'] == 'up_to_date'
    changed = spec('1.3.0', registry=[{'path': r'HKLM:\X', 'name': 'v', 'value': 'other'}])
    with pytest.raises(InputError) as err:
        plan_mod.plan(changed, templates, users, [])
    assert 'already exists as tpl-store-1.3.0' in str(err.value) and 'versions are immutable' in str(err.value)


def test_template_without_hash_is_not_rebuilt_but_warned_about():
    resources = [{'type': 'node', 'node': 'n1', 'status': 'online'}, tpl(900, '1.3.0')[0]]
    templates = plan_mod.image_templates(resources, {900: {'template': 1, 'description': 'seeded'}}, 'store')
    doc = plan_mod.plan(spec('1.3.0'), templates, {}, [])
    assert doc['action'] == 'unverified' and 'no manifest hash' in doc['warnings'][0]


def test_retention_keeps_versions_in_use_by_tags_and_pinned_ones():
    desktops = [desktop(100, '1.0.0'), desktop(101, '1.0.0', store='sh-0002'),
                desktop(102, '1.1.0', extra=';role-build')]   # a build VM uses nothing
    _res, templates, users = region(['1.0.0', '1.1.0', '1.2.0', '1.2.1'], desktops)
    doc = plan_mod.plan(spec('1.3.0', retention=2, pinned=['1.1.0']), templates, users, [])
    keep = dict((k['version'], k['reasons']) for k in doc['keep'])
    assert keep['1.0.0'] == ['in use by 2 desktop(s): 100 (d100), 101 (d101)']
    assert keep['1.1.0'] == ['pinned']
    assert [r['version'] for r in doc['remove']] == ['1.2.0']       # third newest, unused, not pinned
    assert users['1.1.0'] == []                                      # the build VM is no user


def test_retention_order_and_removal_list():
    desktops = [desktop(100, '1.0.0')]
    _res, templates, users = region(['1.0.0', '1.1.0', '1.2.0', '1.2.1'], desktops)
    doc = plan_mod.plan(spec('1.3.0', retention=2, pinned=['1.1.0']), templates, users, [])
    assert [r['version'] for r in doc['remove']] == ['1.2.0']
    assert doc['remove'][0]['vmids'] == [('n1', 902)]
    assert [k['version'] for k in doc['keep']] == ['1.3.0', '1.2.1', '1.1.0', '1.0.0']


def test_linked_clones_count_as_users_whatever_their_tags():
    untagged = {'type': 'qemu', 'vmid': 300, 'node': 'n1', 'name': 'renamed-desk', 'status': 'stopped'}
    contents = [
        # directory storage: the base volume is part of the clone's volume name
        {'volid': 'ceph:900/base-900-disk-0/vm-300-disk-0', 'vmid': 300},
        # RBD / LVM-thin: the API's `parent`
        {'volid': 'ceph:vm-301-disk-0', 'vmid': 301, 'parent': 'base-901-disk-0@__base__'},
        # the template's own base volume is no user
        {'volid': 'ceph:base-900-disk-0', 'vmid': 900},
    ]
    other = {'type': 'qemu', 'vmid': 301, 'node': 'n1', 'name': 'other', 'status': 'running', 'tags': 'foo'}
    _res, templates, users = region(['1.0.0', '1.1.0'], [untagged, other], contents)
    assert [(u['name'], u['via']) for u in users['1.0.0']] == [('renamed-desk', 'linked-clone')]
    assert [(u['name'], u['via']) for u in users['1.1.0']] == [('other', 'linked-clone')]
    doc = plan_mod.plan(spec('1.3.0', retention=1), templates, users, [])
    assert doc['remove'] == []


def test_protected_or_unreadable_templates_are_kept():
    resources, templates, users = region(['1.0.0', '1.1.0', '1.2.0'], configs_missing=(901,))
    templates[0]['protected'] = True
    doc = plan_mod.plan(spec('1.3.0', retention=1), templates, users, [])
    keep = dict((k['version'], k['reasons']) for k in doc['keep'])
    assert keep['1.0.0'] == ['protected (protection=1)']
    assert keep['1.1.0'] == ['its config could not be read (node offline?)']
    assert [r['version'] for r in doc['remove']] == ['1.2.0']


def test_requested_old_version_is_never_removed():
    _res, templates, users = region(['1.0.0', '2.0.0', '3.0.0'])
    doc = plan_mod.plan(spec('1.0.0', retention=1), templates, users, [])
    assert doc['action'] == 'up_to_date'
    assert [r['version'] for r in doc['remove']] == ['2.0.0']
    assert 'requested version' in dict((k['version'], k['reasons']) for k in doc['keep'])['1.0.0']


def test_pin_tags_follow_the_pinned_list():
    resources, templates, users = region(['1.0.0', '1.1.0'])
    resources[1]['tags'] = 'image-store;pinned;storedesk;v-1.0.0'
    templates = plan_mod.image_templates(resources, {900: tpl(900, '1.0.0')[1], 901: tpl(901, '1.1.0')[1]}, 'store')
    doc = plan_mod.plan(spec('1.1.0', retention=5, pinned=['1.1.0', '0.1.0']), templates, users, [])
    assert [(t['version'], t['pinned'], t['tags']) for t in doc['tags']] == [
        ('1.0.0', False, 'image-store;storedesk;v-1.0.0'), ('1.1.0', True, 'image-store;pinned;storedesk;v-1.1.0')]
    assert any('0.1.0' in w for w in doc['warnings'])
    d = plan_mod.diff(doc, templates)
    assert d['before']['versions']['1.0.0']['pinned'] and not d['after']['versions']['1.0.0']['pinned']


def test_a_running_build_blocks_a_second_one_and_failed_builds_are_mentioned():
    _res, templates, users = region(['1.2.0'])
    builds = [{'vmid': 5, 'name': 'build-store-1.3.0', 'node': 'n1', 'status': 'running', 'failed': False},
              {'vmid': 6, 'name': 'failed-store-1.2.5', 'node': 'n1', 'status': 'running', 'failed': True}]
    with pytest.raises(StoredeskError) as err:
        plan_mod.plan(spec('1.3.0'), templates, users, builds)
    assert 'already exists' in str(err.value) and 'vmid 5' in str(err.value)
    doc = plan_mod.plan(spec('1.3.1'), templates, users, builds)
    assert any('failed-store-1.2.5' in w for w in doc['warnings'])


def test_build_vms_are_found_by_name():
    resources = [{'type': 'qemu', 'vmid': 5, 'name': 'build-store-1.3.0', 'node': 'n1', 'status': 'running'},
                 {'type': 'qemu', 'vmid': 6, 'name': 'failed-store-1.2.5', 'node': 'n1', 'status': 'stopped'},
                 {'type': 'qemu', 'vmid': 7, 'name': 'build-kiosk-1.0.0', 'node': 'n1', 'status': 'stopped'}]
    assert [(b['vmid'], b['failed']) for b in plan_mod.build_vms(resources, 'store')] == [(5, False), (6, True)]


def test_diff_shows_new_and_removed_versions():
    _res, templates, users = region(['1.0.0', '1.1.0'])
    doc = plan_mod.plan(spec('1.2.0', retention=2), templates, users, [])
    d = plan_mod.diff(doc, templates)
    assert sorted(d['before']['versions']) == ['1.0.0', '1.1.0']
    assert sorted(d['after']['versions']) == ['1.1.0', '1.2.0']


def test_a_template_just_converted_is_a_version_though_cluster_resources_lags():
    """/cluster/resources still says `template: 0` (RRD cache, ~10 s): the config read says what it is."""
    item, config = tpl(905, '1.4.0')
    stale = dict(item, template=0, name='build-store-1.4.0')
    resources = [{'type': 'node', 'node': 'n1', 'status': 'online'}, stale,
                 desktop(4801, '1.4.0'), {'type': 'qemu', 'vmid': 906, 'node': 'n1', 'status': 'unknown',
                                          'tags': 'image-store;storedesk;v-1.5.0'}]
    assert [i['vmid'] for i in plan_mod.config_candidates(resources, 'store')] == [905, 906]   # not the desktop
    templates = plan_mod.image_templates(resources, {905: config, 906: {'name': 'tpl-store-1.5.0'}}, 'store')
    assert [(t['vmid'], t['name'], t['version']) for t in templates] == [(905, 'tpl-store-1.4.0', '1.4.0')]
    users = plan_mod.usage(resources, [], templates, 'store')
    assert [u['vmid'] for u in users['1.4.0']] == [4801]                 # the template is not its own user
    assert plan_mod.build_vms(resources, 'store', {905: config, 906: {}}) == []


def test_build_vms_are_named_by_their_config():
    """A build VM just created has no name in /cluster/resources (no RRD entry yet); its tags are live."""
    resources = [{'type': 'qemu', 'vmid': 5, 'node': 'n1', 'status': 'unknown', 'tags': 'role-build;storedesk'},
                 {'type': 'qemu', 'vmid': 6, 'node': 'n1', 'name': 'build-store-1.2.0', 'status': 'stopped',
                  'tags': 'storedesk;role-build'}]
    assert [i['vmid'] for i in plan_mod.config_candidates(resources, 'store')] == [5, 6]
    configs = {5: {'name': 'build-store-1.3.0', 'lock': 'create'}, 6: {'name': 'tpl-store-1.2.0', 'template': 1}}
    assert [(b['vmid'], b['name']) for b in plan_mod.build_vms(resources, 'store', configs)] == [
        (5, 'build-store-1.3.0')]

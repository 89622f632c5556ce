"""The multi-region pre-flight's verdict from plain registered results: every line names the region."""

from ansible_collections.storedesk.vdi.plugins.plugin_utils._preflight import preflight_problems
from ansible_collections.storedesk.vdi.plugins.plugin_utils._filters import filter_module
from ansible_collections.storedesk.vdi.plugins.filter import preflight_errors


def cluster(region, nodes, storages=(), quorate=True):
    return {'item': region, 'failed': False, 'cluster': {'quorate': quorate},
            'nodes': [{'name': n, 'online': up} for n, up in nodes],
            'storages': [dict(s, active=True) for s in storages]}


EAST = cluster('east', [('pve-e1', True), ('pve-e2', True)],
               [{'storage': 'local', 'node': 'pve-e1', 'content': ['backup', 'iso']},
                {'storage': 'local', 'node': 'pve-e2', 'content': ['backup', 'iso']}])
WEST = cluster('west', [('pve-w1', True), ('pve-w2', False)],
               [{'storage': 'local', 'node': 'pve-w1', 'content': ['iso']}])


def test_ready_regions_have_no_problem():
    assert preflight_problems([EAST], [{'item': 'east', 'failed': False}], {'east': {'nodes': ['pve-e2']}},
                              backup_storage='local') == []


def test_placement_nodes_unknown_or_offline_are_named_with_their_region():
    out = preflight_problems([EAST, WEST], None, {'east': {}, 'west': {'nodes': ['pve-w2', 'pve-w9']}})
    assert out == [
        'region west: storedesk_regions.west.nodes: pve-w9 not in this cluster (its nodes: pve-w1, pve-w2) '
        '(name nodes of region west, or leave nodes out)',
        'region west: storedesk_regions.west.nodes: pve-w2 offline (bring it back, or take it out of nodes for '
        'this run)']


def test_a_failed_plan_is_split_per_problem_and_its_nodes_line_left_to_the_cluster_check():
    msg = ('2 problem(s) in the input, nothing was changed: nodes: pve-w9 not in this cluster (its nodes: pve-w1) '
           '(name nodes of the region, or leave nodes out); store cd-0201: image.version: no template tagged '
           'image-store and v-1.2.0 in this region (versions here: 1.0.0) (publish that version)')
    out = preflight_problems([WEST], [{'item': 'west', 'failed': True, 'msg': msg}, {'item': 'east', 'skipped': True}])
    assert out == ['region west: store cd-0201: image.version: no template tagged image-store and v-1.2.0 in this '
                   'region (versions here: 1.0.0) (publish that version)']


def test_unreadable_or_quorumless_cluster_and_backup_storage():
    bad = {'item': 'north', 'failed': True, 'msg': 'connection refused'}
    out = preflight_problems([bad, cluster('south', [('s1', True)], quorate=False), WEST], None, {},
                             backup_storage='local')
    assert out[0].startswith('region north: the cluster could not be read: connection refused (check '
                             'storedesk_regions.north.api_host')
    assert out[1].startswith('region south: the cluster has no quorum')
    assert out[2].startswith("region south: store_pool_backup_storage: storage 'local' is not available on s1")
    assert out[3] == ("region west: store_pool_backup_storage: storage 'local' does not hold backups (content: iso) "
                      "(name a storage with content backup, or enable backup on it)")


def test_the_filter_files_share_one_filter_module_class():
    assert preflight_errors.FilterModule().filters() == {'preflight_errors': preflight_problems}
    assert filter_module(a=len)().filters() == {'a': len}

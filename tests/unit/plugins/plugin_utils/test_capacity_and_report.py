"""The capacity plan and the HTML report's content."""

from ansible_collections.storedesk.vdi.plugins.plugin_utils import _capacity, _report_html

GIB = 1024 ** 3


def cluster(free_gib=(100, 50), quorate=True, ceph_avail_gib=1000):
    nodes = []
    for i, free in enumerate(free_gib):
        nodes.append({'name': 'n%d' % i, 'online': True, 'memory_total_bytes': 128 * GIB,
                      'memory_used_bytes': (128 - free) * GIB, 'memory_free_bytes': free * GIB,
                      'storages': [{'storage': 'vdi-ceph', 'avail_bytes': ceph_avail_gib * GIB}]})
    return {'cluster': {'quorate': quorate}, 'nodes': nodes, 'stores': {}}


STORES = [{'region': 'east', 'desktops': {'baseline': 4, 'event': 10, 'spares': 2},
           'profile': {'memory_mib': 4096, 'cores': 2}}] * 3


def test_event_peak_fits_and_nodes_share_by_free_memory():
    out = _capacity.plan({'east': cluster()}, STORES, {'east': {'nodes_reserved_memory_gib': 0}})
    east = out['regions']['east']
    assert (east['desktops_baseline'], east['desktops_event'], east['memory_event_gib']) == (18, 36, 144.0)
    assert east['fits_event'] is True and east['headroom_event_gib'] == 6.0
    n0, n1 = out['nodes']
    assert n0['memory_event_peak_gib'] == 28 + 96 and n1['memory_event_peak_gib'] == 78 + 48


def test_event_peak_that_does_not_fit_says_by_how_much():
    out = _capacity.plan({'east': cluster(free_gib=(60, 50))}, STORES, {'east': {'nodes_reserved_memory_gib': 10}})
    assert out['regions']['east']['fits_event'] is False
    assert out['regions']['east']['reason'] == 'event peak needs 144 GiB, 90 GiB free'


def test_report_is_self_contained_and_escapes():
    html = _report_html.render({'title': 'Pilot <gate>', 'verdict': {'ok': False, 'text': 'cd-0204 missed'},
                                'summary': [{'label': 'KPIs met', 'value': 4}],
                                'sections': [{'title': 'Latency', 'chart': {'unit': 'ms', 'bars': [
                                    {'label': 'sh-0001', 'value': 20, 'limit': 80, 'ok': True},
                                    {'label': 'cd-0204', 'value': 158, 'limit': 80, 'ok': False}]}},
                                    {'title': 'Stores', 'table': {'rows': [{'store': 'sh-0001', 'verdict': 'PASS'}]}}]})
    assert 'Pilot &lt;gate&gt;' in html and '<script' not in html and 'http' not in html
    assert html.count('<rect') == 2 and '#d0432f' in html        # the missed KPI bar is red
    assert '<td class="tag-ok">PASS</td>' in html


def test_kpi_gate_names_every_miss():
    from ansible_collections.storedesk.vdi.plugins.plugin_utils import _kpi
    thresholds = {'ready_seconds': 120, 'backend_latency_ms': 80, 'scanner_present_pct': 100}
    results = [{'store': 'sh-0001', 'ready_seconds': 40, 'backend_latency_ms': 20, 'scanner_present_pct': 100},
               {'store': 'cd-0204', 'ready_seconds': 40, 'backend_latency_ms': 158, 'scanner_present_pct': None}]
    gate = _kpi.gate(results, thresholds)
    assert gate['passed'] is False
    assert gate['misses'] == ['cd-0204: backend_latency_ms 158ms above 80ms', 'cd-0204: scanner_present_pct: measurement failed (no value)']
    assert [s['verdict'] for s in gate['stores']] == ['PASS', 'FAIL']
    assert [b['ok'] for b in _kpi.bars(results, 'backend_latency_ms', thresholds)] == [True, False]


def test_kpi_that_does_not_apply_is_left_out():
    from ansible_collections.storedesk.vdi.plugins.plugin_utils import _kpi
    gate = _kpi.gate([{'store': 'hq-0001', 'ready_seconds': 10, 'account_switch_seconds': 'n/a'}],
                     {'ready_seconds': 120, 'account_switch_seconds': 30})
    assert gate['passed'] is True and gate['stores'][0]['account_switch_seconds'] == 'n/a'

"""The review's bulk probe, pure: which desktops one desktop_probe call covers (all, or a moving sample per store),
each store's KPIs split back out of that one result, version switch times from rollout reports, library freshness;
and the review rows and the dashboard carrying plan and version for every store."""

import json

from ansible_collections.storedesk.vdi.plugins.plugin_utils import _dashboard, _estate, _kpi, _review
from ansible_collections.storedesk.vdi.plugins.plugin_utils._review_probe import library_freshness, probe_targets, \
    store_results, switch_times


def info(store, n, running=None, version='1.1.0'):
    return [{'name': '{0}-d{1:02d}'.format(store, i), 'store': store, 'version': version,
             'address': '10.0.{0}.{1}'.format(len(store), i) if (running is None or i in running) else None}
            for i in range(1, n + 1)]


def probe_record(name, ok=True, latency=20.0, missing=()):
    if not ok:
        return {'name': name, 'ok': False, 'error': 'no connection', 'error_category': 'unreachable'}
    return {'name': name, 'ok': True, 'backends': [{'name': 'erp', 'ok': True, 'latency_ms': latency}],
            'usb': {'devices': [], 'present': [], 'missing': list(missing)}}


def test_targets_cover_every_running_desktop_of_every_store_with_its_own_scanners():
    desks = info('sh-0001', 3, running={1, 3}) + info('cd-0204', 2)
    targets = probe_targets(desks, {'sh-0001': ['05e0:1200'], 'cd-0204': []})
    assert [t['name'] for t in targets] == ['cd-0204-d01', 'cd-0204-d02', 'sh-0001-d01', 'sh-0001-d03']
    assert {t['name']: t['expect_usb'] for t in targets}['sh-0001-d03'] == ['05E0:1200']
    assert {t['name']: t['expect_usb'] for t in targets}['cd-0204-d01'] == []


def test_sample_takes_n_per_store_and_moves_with_the_review():
    desks = info('sh-0001', 10) + info('cd-0204', 2)
    picked = {}
    for seed in ('20261101T000000Z', '20261102T000000Z', '20261103T000000Z', '20261104T000000Z'):
        targets = probe_targets(desks, {}, 3, seed)
        mine = [t['name'] for t in targets if t['name'].startswith('sh-')]
        assert len(mine) == 3 and len([t for t in targets if t['name'].startswith('cd-')]) == 2
        assert probe_targets(desks, {}, 3, seed) == targets, 'the same review picks the same desktops'
        picked[seed] = tuple(mine)
    assert len(set(picked.values())) > 1, 'another review looks at other desktops'
    assert len(probe_targets(desks, {}, 0, 'x')) == 12, '0: every desktop'


def test_one_probe_result_split_per_store():
    desks = info('sh-0001', 3) + info('cd-0204', 2, version='1.0.0')
    probe = {'desktops': [probe_record('sh-0001-d01', latency=30.0), probe_record('sh-0001-d02', missing=['05E0:1200']),
                          probe_record('sh-0001-d03', ok=False), probe_record('cd-0204-d01', latency=250.0),
                          probe_record('cd-0204-d02', latency=12.5)]}
    out = store_results([{'store': 'sh-0001', 'print_success_pct': 100.0}, {'store': 'cd-0204'}], desks, probe,
                        {'sh-0001': ['05E0:1200']}, {'sh-0001': 5, 'cd-0204': 3},
                        {'sh-0001': {'seconds': 24, 'version': '1.1.0'}}, {'sh-0001': 50.0})
    sh, cd = out
    assert (sh['desktops'], sh['probed'], sh['reachable'], sh['unreachable']) == (3, 3, 2, ['sh-0001-d03'])
    assert sh['backend_latency_ms'] == 30.0 and sh['scanner_present_pct'] == 50.0 and sh['print_success_pct'] == 100.0
    assert (sh['plan'], sh['version'], sh['version_switch_seconds'], sh['library_current_pct']) == (5, '1.1.0', 24, 50.0)
    assert cd['backend_latency_ms'] == 250.0 and cd['scanner_present_pct'] == 'n/a', 'no scanner declared'
    assert (cd['plan'], cd['version'], cd['reachable']) == (3, '1.0.0', 2)
    assert (cd['version_switch_seconds'], cd['library_current_pct']) == ('not measured', 'not measured'), 'no source'


def test_switch_time_is_the_last_done_rollout_of_the_store():
    reports = [
        ('rollout-a', 'rollout', '2026-11-01T08:00:00Z', {'image': {'version': '1.0.0'}, 'stores': [
            {'store': 'sh-0001', 'status': 'done', 'started': '08:00:00', 'finished': '08:01:40'},
            {'store': 'cd-0204', 'status': 'done', 'started': '23:59:30', 'finished': '00:00:20'}]}),
        ('rollout-c', 'rollout', '2026-11-03T08:00:00Z', {'image': {'version': '1.1.0'}, 'stores': [
            {'store': 'sh-0001', 'status': 'done', 'started': '10:00:00', 'finished': '10:00:42'},
            {'store': 'cd-0204', 'status': 'failed', 'started': '10:00:00', 'finished': '10:09:00'}]}),
        ('rollout-plan-d', 'rollout', '2026-11-03T09:00:00Z', {'image': {'version': '9.9.9'}, 'stores': [
            {'store': 'sh-0001', 'status': 'done', 'started': '08:00:00', 'finished': '09:00:00'}]}),
        ('pilot-e', 'pilot', '2026-11-04T08:00:00Z', {'stores': []}),
    ]
    out = switch_times(reports)
    assert out['sh-0001'] == {'seconds': 42, 'version': '1.1.0', 'at': '2026-11-03T08:00:00Z'}
    assert out['cd-0204']['seconds'] == 50 and out['cd-0204']['version'] == '1.0.0', 'over midnight; failed ignored'


def test_library_is_current_where_desktops_see_the_newest_stamp():
    markers = {'sh-0001': [{'visible': True, 'content': '2026.11-w48'}, {'visible': True, 'content': '2026.11-w47'}],
               'cd-0204': [{'visible': True, 'content': '2026.11-w48'}, {'visible': False, 'content': None}],
               'hz-0101': []}
    assert library_freshness(markers) == {'sh-0001': 50.0, 'cd-0204': 50.0}
    assert library_freshness(markers, '2026.11-w47') == {'sh-0001': 50.0, 'cd-0204': 0.0}


def _judged(rows, review='r1'):
    return [dict(r, review=review, text=r['value'] if isinstance(r['value'], str) else None,
                 value=None if isinstance(r['value'], str) else r['value'],
                 ok=None if r['threshold'] is None or not isinstance(r['value'], (int, float)) else
                 (r['value'] <= r['threshold'] if r['sense'] == 'max' else r['value'] >= r['threshold']))
            for r in rows]


def test_review_rows_carry_the_new_kpis_with_the_users_thresholds():
    rows = _review.history_rows([{'store': 'sh-0001', 'version_switch_seconds': 42, 'library_current_pct': 50.0,
                                  'backend_latency_ms': 20.0, 'thresholds': {'version_switch_seconds': 30}}],
                                dict(_kpi.SUGGESTED, library_current_pct=90))
    by_kpi = {r['kpi']: r for r in rows}
    assert by_kpi['version_switch_seconds']['threshold'] == 30, 'the store\'s own threshold over the common one'
    assert by_kpi['library_current_pct']['threshold'] == 90 and by_kpi['library_current_pct']['sense'] == 'min'
    data, page = _review.view(_judged(rows), ['r1'], estate={'sh-0001': {'plan': 5, 'version': '1.1.0', 'desktops': 4}})
    store = data['stores'][0]
    assert (store['plan'], store['version'], store['desktops']) == (5, '1.1.0', 4)
    assert store['verdict'] == 'FAIL'
    assert sorted(store['misses']) == ['library_current_pct 50', 'version_switch_seconds 42']
    assert any(s['title'].startswith('Image version switch') for s in page['sections'])


def test_not_measured_is_shown_and_neither_passes_nor_fails():
    results = [{'store': 'sh-0001', 'backend_latency_ms': 20.0, 'print_success_pct': None,
                'version_switch_seconds': 'not measured', 'library_current_pct': 100.0},
               {'store': 'cd-0204', 'backend_latency_ms': 20.0, 'library_current_pct': 'not measured'}]
    rows = _review.history_rows(results, _kpi.SUGGESTED)
    data, page = _review.view(_judged(rows), ['r1'])
    by = {s['store']: s for s in data['stores']}
    assert by['cd-0204']['verdict'] == 'PASS' and by['cd-0204']['misses'] == []
    assert by['sh-0001']['misses'] == ['print_success_pct no value'], 'measured without a value is a miss'
    shown = {(t['store'], t['kpi']): t for t in data['trends']}
    assert shown[('cd-0204', 'library_current_pct')]['verdict'] == 'not measured'
    assert shown[('cd-0204', 'library_current_pct')]['trend'] == 'not measured'
    gate = _kpi.gate(results, _kpi.SUGGESTED)
    assert gate['misses'] == ['sh-0001: print_success_pct: measurement failed (no value)']
    assert 'sh-0001: version_switch_seconds' in gate['not_measured'] and gate['passed'] is False
    assert 'cd-0204: library_current_pct' in gate['not_measured']
    cd = gate['stores'][1]
    assert cd['verdict'] == 'PASS' and 'library_current_pct' in cd['not_measured']
    assert cd['library_current_pct'] == 'not measured'
    assert [b['label'] for b in _kpi.bars(results, 'library_current_pct', _kpi.SUGGESTED)] == ['sh-0001']


def test_dashboard_shows_plan_and_version_for_stores_a_rollout_never_reported(tmp_path):
    (tmp_path / 'pilot-20261101T080000Z.json').write_text(json.dumps({
        'phase': 'pilot', 'generated': '2026-11-01T08:00:00Z',
        'gate': {'stores': [{'store': 'cd-0204', 'verdict': 'PASS', 'desktops': 5},
                            {'store': 'sh-0001', 'verdict': 'PASS', 'desktops': 5}]},
        'results': [{'store': 'cd-0204', 'version': '1.0.0'}, {'store': 'sh-0001', 'version': '1.0.0'}]}))
    (tmp_path / 'review-20261102T080000Z.json').write_text(json.dumps({
        'phase': 'review', 'generated': '2026-11-02T08:00:00Z',
        'stores': [{'store': 'cd-0204', 'verdict': 'PASS', 'plan': 5, 'version': '1.1.0', 'desktops': 5}]}))
    (tmp_path / 'inspect-hq-0001-20261103T080000Z.json').write_text(json.dumps({
        'phase': 'inspect-hq-0001', 'generated': '2026-11-03T08:00:00Z',
        'stores': [{'store': 'hq-0001', 'desktops': 3, 'plan': 3, 'version': '1.0.0, 1.1.0', 'open_problems': 0,
                    'drift': []}]}))
    stores = {s['store']: s for s in _dashboard.estate(_dashboard.load(str(tmp_path)))}
    assert (stores['cd-0204']['plan'], stores['cd-0204']['version']) == (5, '1.1.0')
    assert (stores['hq-0001']['plan'], stores['hq-0001']['version']) == (3, '1.0.0, 1.1.0')
    assert stores['sh-0001']['version'] == '1.0.0', 'a pilot store no review has seen yet: from the pilot report'
    html = _dashboard.render(str(tmp_path))
    row = html[html.index('<td>hq-0001</td>'):]
    assert '<td>1.0.0, 1.1.0</td>' in row[:row.index('</tr>')]


def test_the_assessment_gives_every_store_its_plan():
    rows = _estate.readiness([{'code': 'sh-0001', 'desktops': {'baseline': 4, 'event': 8, 'spares': 1}},
                              {'code': 'hq-0001', 'desktops': {'baseline': 3, 'event': 3, 'spares': 0}},
                              {'code': 'zz-0001'}], {}, {})
    assert [r['plan'] for r in rows] == [5, 3, None]

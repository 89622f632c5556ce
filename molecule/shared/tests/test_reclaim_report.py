"""The reclaim scenario: the report says what went and what stayed (the pools themselves are checked by
test_lab_state at their baseline). Prepare raised sh-0002, hz-0101 and cd-0201 to their event size; converge
brought them back, so each lost exactly event - baseline desktops, each named in the JSON and on the page."""

import collections
import glob
import json
import os

import pytest

from test_lab_state import INVENTORY, REPORTS, load

CODES = ('sh-0002', 'hz-0101', 'cd-0201')


def event_surplus(code):
    desk = dict(load('group_vars', 'stores', 'main.yml')['store_desktops'])
    if os.path.exists(os.path.join(INVENTORY, 'host_vars', code + '.yml')):
        desk.update(load('host_vars', code + '.yml').get('store_desktops') or {})
    return desk['event'] - desk['baseline']


def check_reclaim(report, html, surplus):
    """What a reader of the reclaim report must find; `surplus` is {store: desktops it had to lose}."""
    destroyed = report['destroyed']
    assert collections.Counter(d['store'] for d in destroyed) == collections.Counter(surplus), destroyed
    assert all(d['action'] == 'destroy' and d['status'] == 'ok' for d in destroyed), destroyed
    assert all(k.get('reason') for k in report['kept']), report['kept']
    for entry in destroyed + report['kept']:
        assert entry['name'] in html, entry['name'] + ' is not on the reclaim page'
    assert '{0} desktop(s) destroyed, {1} kept'.format(len(destroyed), len(report['kept'])) in html


@pytest.mark.skipif(os.environ.get('MOLECULE_SCENARIO_NAME') != 'reclaim', reason='reclaim scenario only')
def test_reclaim_report_lists_what_was_destroyed_and_kept(host):
    reports = sorted(glob.glob(os.path.join(REPORTS, 'reclaim-*.json')))
    assert len(reports) >= 2, 'converge and idempotence each write one'
    with open(reports[0]) as fh:
        report = json.load(fh)
    with open(reports[0][:-len('.json')] + '.html') as fh:
        html = fh.read()
    check_reclaim(report, html, dict((code, event_surplus(code)) for code in CODES))
    with open(reports[-1]) as fh:
        assert json.load(fh)['destroyed'] == [], 'the idempotence run found something left to reclaim'

"""The reclaim scenario: the report says what went and what stayed (the pools themselves are checked by
test_lab_state at their baseline)."""

import glob
import json
import os

import pytest

from test_lab_state import REPORTS


@pytest.mark.skipif(os.environ.get('MOLECULE_SCENARIO_NAME') != 'reclaim', reason='reclaim scenario only')
def test_reclaim_report_lists_what_was_destroyed(host):
    reports = sorted(glob.glob(os.path.join(REPORTS, 'reclaim-*.json')))
    assert len(reports) >= 2, 'converge and idempotence each write one'
    with open(reports[0]) as fh:
        first = json.dumps(json.load(fh))
    assert 'destroy' in first
    for code in ('sh-0002', 'hz-0101', 'cd-0201'):
        assert code in first

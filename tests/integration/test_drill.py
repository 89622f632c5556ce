"""The issue-14 drill at a small size on the strict lab (bench/drill.py has the full size for the note).

Each case reads its counts through the API: lost, duplicated, orphaned, in-use destroyed must all be 0.
"""

import os
import sys

import pytest

from conftest import ROOT, start_lab

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import drill  # noqa: E402


@pytest.fixture(scope='module')
def drill_lab(tmp_path_factory):
    """Tasks take time (linked clone 2 s -> 0.1 s), so runs overlap and signals land mid-run; /cluster/resources
    lags 10 s as on PVE."""
    lab = start_lab(tmp_path_factory, time_scale=0.05, strict={'resources_lag': 10.0})
    yield lab
    lab.stop()


@pytest.mark.parametrize('case', drill.Drill.CASES)
def test_drill_case_loses_duplicates_orphans_and_destroys_nothing(drill_lab, tmp_path, case):
    label, counts, note = getattr(drill.Drill(drill_lab, per_store=3, tmp=str(tmp_path)), case)()
    assert counts == {'lost': 0, 'duplicated': 0, 'orphaned': 0, 'in_use_destroyed': 0}, (label, note)
    if case == 'case_sigterm':
        assert 'cancel rc 2 (cancelled' in note and 'leases left 0' in note, note
    if case == 'case_bigger_push':
        assert 'writes 0' in note and 'GiB short' in note, note
    if case == 'case_hibernated_protected':
        assert 'saved session' in note and 'protection is on' in note, note


def test_drill_bad_input_changes_nothing(drill_lab, tmp_path):
    rows = drill.Drill(drill_lab, per_store=2, tmp=str(tmp_path)).bad_input()
    assert [(label, writes) for label, rc, writes in rows if writes or rc == 0] == [], rows
